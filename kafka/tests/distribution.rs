//! Against the real broker (Apache Kafka, started per test): the publisher and the
//! tasklist-node consumer. A view fed over Kafka ends equal to a rebuild from the event
//! store; re-sent stretches change nothing; unreadable messages are parked, never
//! blocking; a consumer and a publisher SIGKILLed mid-stream ten times each end equal to
//! a rebuild; an event the broker refuses is parked with its task's later events and the
//! rest flows.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use taskpool_core::command::{AssignTask, TaskCommand};
use taskpool_core::projector::Projector;
use taskpool_core::testing::fixtures;
use taskpool_core::view::{self, View};
use taskpool_core::{BatchMode, Command as Cmd, CommandContext, CommandGateway, EventStore};
use taskpool_kafka::test_broker::TestBroker;
use taskpool_kafka::topics::ensure_topics;
use taskpool_kafka::{KafkaConfig, Publisher, TasklistConsumer};

/// A broker with the task pool's topics (`partitions` each), and the settings to reach
/// it.
fn broker_with_topics(partitions: i32) -> (TestBroker, KafkaConfig) {
    let broker = TestBroker::start();
    let config = KafkaConfig {
        brokers: broker.brokers(),
        partitions,
        ..Default::default()
    };
    ensure_topics(&config).expect("topics");
    (broker, config)
}

fn fill(store: &EventStore, tasks: usize) -> i64 {
    let gateway = CommandGateway::new(store).expect("gateway");
    for chunk in (0..tasks).step_by(50) {
        let mut batch: Vec<Cmd> = Vec::new();
        for i in chunk..(chunk + 50).min(tasks) {
            let mut t = fixtures::task(&format!("t-{i:05}"), "shop");
            t.candidate_groups.insert(format!("g{}", i % 7));
            batch.push(TaskCommand::CreateTask(t).into());
        }
        gateway
            .handle(batch, BatchMode::Atomic, &CommandContext::default())
            .expect("create");
    }
    for i in (0..tasks).step_by(3) {
        let c = TaskCommand::AssignTask(AssignTask {
            id: format!("t-{i:05}"),
            assignee: Some(format!("u{}", i % 11)),
        });
        gateway
            .handle(
                vec![c.into()],
                BatchMode::Atomic,
                &CommandContext::default(),
            )
            .expect("assign");
    }
    store
        .reader()
        .expect("reader")
        .head_position()
        .expect("head")
}

fn rebuild_dump(store: &EventStore, dir: &std::path::Path) -> Vec<String> {
    let view = View::open(dir.join("rebuild.db")).expect("view");
    let mut p = Projector::new(&view).expect("projector");
    p.catch_up(&mut store.reader().expect("reader"))
        .expect("catch up");
    view::dump_state(&view.connect().expect("conn")).expect("dump")
}

fn consume_until(consumer: &mut TasklistConsumer, applied: i64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while consumer.signal().head() < applied {
        assert!(
            Instant::now() < deadline,
            "the view reached {} of {applied}",
            consumer.signal().head()
        );
        consumer
            .poll_batch(500, Duration::from_millis(100))
            .expect("poll");
    }
}

/// How far the publisher of application `shop` got (its checkpoint in `kafka_db`; 0
/// before its first batch).
fn published_up_to(kafka_db: &std::path::Path) -> i64 {
    rusqlite::Connection::open(kafka_db)
        .and_then(|c| {
            c.query_row(
                "SELECT position FROM publisher_checkpoint WHERE origin = 'shop'",
                [],
                |r| r.get::<_, i64>(0),
            )
        })
        .unwrap_or(0)
}

/// How far the tasklist view at `view_path` applied (0 before its first batch).
fn applied_up_to(view_path: &std::path::Path) -> i64 {
    View::open(view_path)
        .and_then(|v| v.connect())
        .and_then(|c| view::checkpoint(&c, taskpool_core::projector::TASKLIST_PROJECTOR))
        .unwrap_or(0)
}

/// SIGKILLs what `spawn` starts ten times, each a few milliseconds after `progress`
/// moved (so that the kill lands while it works); at least five kills must land
/// mid-stream (progress moved, and short of `head`).
fn kill_ten_times_mid_stream(
    what: &str,
    head: i64,
    progress: impl Fn() -> i64,
    mut spawn: impl FnMut() -> std::process::Child,
) {
    let mut rng = rand::thread_rng();
    let mut kills_mid_stream = 0;
    for round in 0..10 {
        let before = progress();
        let mut child = spawn();
        let deadline = Instant::now() + Duration::from_secs(20);
        while progress() == before && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(Duration::from_millis(rand::Rng::gen_range(&mut rng, 0..25)));
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        let after = progress();
        if after > before && after < head {
            kills_mid_stream += 1;
        }
        eprintln!("round {round}: {what} {before} -> {after} of {head} when killed");
    }
    assert!(
        kills_mid_stream >= 5,
        "only {kills_mid_stream} kills landed mid-stream"
    );
}

#[test]
fn a_kafka_fed_view_equals_a_rebuild_and_duplicates_change_nothing() {
    let (_broker, config) = broker_with_topics(KafkaConfig::default().partitions);
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EventStore::open(dir.path().join("events.db")).expect("store");
    let head = fill(&store, 300);
    let mut publisher =
        Publisher::new(&config, "shop", &dir.path().join("kafka.db")).expect("publisher");
    let published = publisher
        .publish_pending(&mut store.reader().expect("reader"))
        .expect("publish");
    assert_eq!(published as i64, head);
    assert_eq!(
        taskpool_core::listener::Listener::checkpoint(&mut publisher).expect("checkpoint"),
        head
    );

    // A long stretch sent twice, for certain (what a publisher dying between the acks
    // and its checkpoint does to one batch; the SIGKILL test below kills a real one):
    // readers absorb every duplicate.
    rusqlite::Connection::open(dir.path().join("kafka.db"))
        .and_then(|c| c.execute("UPDATE publisher_checkpoint SET position = 100", []))
        .expect("roll the checkpoint back");
    let mut restarted =
        Publisher::new(&config, "shop", &dir.path().join("kafka.db")).expect("publisher");
    let again = restarted
        .publish_pending(&mut store.reader().expect("reader"))
        .expect("publish");
    assert_eq!(
        again as i64,
        head - 100,
        "the unacknowledged stretch is sent again"
    );

    let view = View::open(dir.path().join("node.db")).expect("view");
    let mut consumer = TasklistConsumer::new(&config, &view, None).expect("consumer");
    consume_until(&mut consumer, head);
    // Let the duplicates arrive too: nothing more is applied.
    for _ in 0..20 {
        consumer
            .poll_batch(500, Duration::from_millis(100))
            .expect("poll");
    }
    assert_eq!(
        consumer.signal().head(),
        head,
        "every event applied once, duplicates absorbed"
    );
    let conn = view.connect().expect("conn");
    assert_eq!(
        view::dump_state(&conn).expect("dump"),
        rebuild_dump(&store, dir.path())
    );
}

#[test]
fn unreadable_messages_are_parked_and_do_not_block_later_events() {
    let (_broker, config) = broker_with_topics(1);
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EventStore::open(dir.path().join("events.db")).expect("store");
    let head = fill(&store, 20);
    let producer: BaseProducer = config.client().create().expect("producer");
    let valid = taskpool_kafka::message::EventMessage::of(
        &store
            .reader()
            .expect("reader")
            .read_after(0, 1)
            .expect("read")[0],
        "shop",
    )
    .expect("message");
    let mut unknown = serde_json::to_value(&valid).expect("json");
    unknown["type"] = "TaskTeleported".into();
    let mut future = serde_json::to_value(&valid).expect("json");
    future["version"] = 7.into();
    for bad in [
        b"{{ not json at all".to_vec(),
        unknown.to_string().into_bytes(),
        future.to_string().into_bytes(),
    ] {
        producer
            .send(
                BaseRecord::to(&config.topics.tasks)
                    .key("bad")
                    .payload(&bad),
            )
            .expect("send");
    }
    producer.flush(Duration::from_secs(10)).expect("flush");
    let mut publisher =
        Publisher::new(&config, "shop", &dir.path().join("kafka.db")).expect("publisher");
    publisher
        .publish_pending(&mut store.reader().expect("reader"))
        .expect("publish");

    let view = View::open(dir.path().join("node.db")).expect("view");
    let mut consumer = TasklistConsumer::new(&config, &view, None).expect("consumer");
    consume_until(&mut consumer, head);
    let conn = view.connect().expect("conn");
    let parked: Vec<(i64, String)> = conn
        .prepare("SELECT offset, error FROM parked_deliveries ORDER BY offset")
        .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
        .expect("parked");
    assert_eq!(
        parked.iter().map(|p| p.0).collect::<Vec<_>>(),
        vec![0, 1, 2],
        "{parked:?}"
    );
    assert!(parked[0].1.contains("not an event message"), "{parked:?}");
    assert!(parked[1].1.contains("TaskTeleported"), "{parked:?}");
    assert!(parked[2].1.contains('7'), "{parked:?}");
    assert_eq!(
        view::dump_state(&conn).expect("dump"),
        rebuild_dump(&store, dir.path())
    );
}

#[test]
fn a_consumer_killed_mid_batch_ten_times_ends_equal_to_a_rebuild() {
    let (broker, config) = broker_with_topics(KafkaConfig::default().partitions);
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EventStore::open(dir.path().join("events.db")).expect("store");
    let head = fill(&store, 6000);
    Publisher::new(&config, "shop", &dir.path().join("kafka.db"))
        .expect("publisher")
        .publish_pending(&mut store.reader().expect("reader"))
        .expect("publish");
    let view_path = dir.path().join("node.db");
    let bin = env!("CARGO_BIN_EXE_taskpool-kafka-consume");
    let applied_now = || applied_up_to(&view_path);
    kill_ten_times_mid_stream("applied", head, applied_now, || {
        Command::new(bin)
            // A slow node (200 messages a transaction, 10 ms between), so that kills land
            // mid-stream and often mid-transaction, however fast or loaded the machine.
            .args([
                "--brokers",
                &broker.brokers(),
                "--batch",
                "200",
                "--pause-ms",
                "10",
                "--view",
            ])
            .arg(&view_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("consumer starts")
    });
    let status = Command::new(bin)
        .args([
            "--brokers",
            &broker.brokers(),
            "--until",
            &head.to_string(),
            "--view",
        ])
        .arg(&view_path)
        .status()
        .expect("consumer runs");
    assert!(status.success());
    let conn = View::open(&view_path)
        .and_then(|v| v.connect())
        .expect("conn");
    assert_eq!(
        view::checkpoint(&conn, taskpool_core::projector::TASKLIST_PROJECTOR).expect("checkpoint"),
        head
    );
    assert_eq!(
        view::dump_state(&conn).expect("dump"),
        rebuild_dump(&store, dir.path())
    );
}

fn handle(gateway: &CommandGateway, c: TaskCommand) {
    gateway
        .handle(
            vec![c.into()],
            BatchMode::Atomic,
            &CommandContext::default(),
        )
        .expect("command");
}

/// The tasks the view holds (ids), in order.
fn task_ids(view: &View) -> Vec<String> {
    view.connect()
        .expect("conn")
        .prepare("SELECT id FROM tasks ORDER BY id")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("ids")
}

#[test]
fn an_event_the_broker_refuses_is_parked_holds_back_only_its_task_and_goes_out_after_the_limit_is_raised(
) {
    let (_broker, config) = broker_with_topics(KafkaConfig::default().partitions);
    let dir = tempfile::tempdir().expect("tempdir");
    // The node stored events under a larger limit than its producer now has (the
    // operator lowered it to the broker's): the door check did not stop them.
    let mut small = config.clone();
    small
        .properties
        .insert("message.max.bytes".into(), "20000".into());
    let store = EventStore::open(dir.path().join("events.db")).expect("store");
    let gateway = CommandGateway::new(&store).expect("gateway");
    handle(
        &gateway,
        TaskCommand::CreateTask(fixtures::task("a-before", "shop")),
    );
    let mut big = fixtures::task("big", "shop");
    big.payload
        .insert("scan".into(), serde_json::Value::String("x".repeat(50_000)));
    handle(&gateway, TaskCommand::CreateTask(big));
    handle(
        &gateway,
        TaskCommand::CreateTask(fixtures::task("c-after", "shop")),
    );
    // A later event of the refused task waits behind it; others flow.
    handle(
        &gateway,
        TaskCommand::AssignTask(AssignTask {
            id: "big".into(),
            assignee: Some("alice".into()),
        }),
    );
    handle(
        &gateway,
        TaskCommand::AssignTask(AssignTask {
            id: "c-after".into(),
            assignee: Some("bob".into()),
        }),
    );
    let head = store
        .reader()
        .expect("reader")
        .head_position()
        .expect("head");
    let kafka_db = dir.path().join("kafka.db");

    let mut publisher = Publisher::new(&small, "shop", &kafka_db).expect("publisher");
    let status = publisher.status();
    publisher
        .publish_pending(&mut store.reader().expect("reader"))
        .expect("the publisher goes on past the refused event");
    assert_eq!(
        taskpool_core::listener::Listener::checkpoint(&mut publisher).expect("checkpoint"),
        head
    );
    let conn = rusqlite::Connection::open(&kafka_db).expect("kafka.db");
    let parked = taskpool_kafka::parked::list(&conn, "shop").expect("parked");
    assert_eq!(
        parked
            .iter()
            .map(|p| (p.aggregate_id.as_str(), p.error.contains("refuses")))
            .collect::<Vec<_>>(),
        vec![("big", true), ("big", false)],
        "{parked:?}"
    );
    assert_eq!(status.lock().expect("status").parked, 2);

    let view = View::open(dir.path().join("node.db")).expect("view");
    let mut consumer = TasklistConsumer::new(&config, &view, None).expect("consumer");
    consume_until(&mut consumer, head - 2);
    assert_eq!(task_ids(&view), vec!["a-before", "c-after"]);

    // Started again with the same limit: still parked, nothing sent twice.
    let mut again = Publisher::new(&small, "shop", &kafka_db).expect("publisher");
    again
        .publish_pending(&mut store.reader().expect("reader"))
        .expect("publish");
    assert_eq!(
        taskpool_kafka::parked::count(&conn, "shop").expect("count"),
        2
    );

    // The limit raised, the next start sends them, in order: the view equals a rebuild.
    let mut raised = Publisher::new(&config, "shop", &kafka_db).expect("publisher");
    raised
        .publish_pending(&mut store.reader().expect("reader"))
        .expect("publish");
    assert_eq!(
        taskpool_kafka::parked::count(&conn, "shop").expect("count"),
        0
    );
    consume_until(&mut consumer, head);
    assert_eq!(
        view::dump_state(&view.connect().expect("conn")).expect("dump"),
        rebuild_dump(&store, dir.path())
    );
}

#[test]
fn a_publisher_killed_mid_batch_ten_times_publishes_everything_and_the_view_equals_a_rebuild() {
    let (broker, config) = broker_with_topics(KafkaConfig::default().partitions);
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EventStore::open(dir.path().join("events.db")).expect("store");
    let head = fill(&store, 3000);
    let kafka_db = dir.path().join("kafka.db");
    let checkpoint_now = || published_up_to(&kafka_db);
    let bin = env!("CARGO_BIN_EXE_taskpool-publisher");
    let publisher = |extra: &[&str]| {
        let mut c = Command::new(bin);
        c.args(["publish", "--application", "shop", "--brokers"])
            .arg(broker.brokers())
            .arg("--data-dir")
            .arg(dir.path())
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c
    };
    // A slow publisher (50 events a batch, 10 ms between), so that kills land while it
    // has events in flight, however fast or loaded the machine.
    kill_ten_times_mid_stream("checkpoint", head, checkpoint_now, || {
        publisher(&["--batch", "50", "--pause-ms", "10"])
            .spawn()
            .expect("publisher starts")
    });
    let status = publisher(&["--until-done"])
        .status()
        .expect("publisher runs");
    assert!(status.success());
    assert_eq!(checkpoint_now(), head);

    let view = View::open(dir.path().join("node.db")).expect("view");
    let mut consumer = TasklistConsumer::new(&config, &view, None).expect("consumer");
    consume_until(&mut consumer, head);
    for _ in 0..10 {
        consumer
            .poll_batch(500, Duration::from_millis(100))
            .expect("poll");
    }
    assert_eq!(consumer.signal().head(), head, "every event applied once");
    assert_eq!(
        view::dump_state(&view.connect().expect("conn")).expect("dump"),
        rebuild_dump(&store, dir.path())
    );
}

/// A child process killed when dropped (a failing test leaves none behind).
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits for `child` to exit successfully within `patience`; kills it and fails if not.
fn exits_well(what: &str, child: &mut std::process::Child, patience: Duration) {
    let deadline = Instant::now() + patience;
    loop {
        match child.try_wait().expect("a child's state") {
            Some(status) => {
                assert!(status.success(), "the {what} failed: {status}");
                return;
            }
            None if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the {what} did not finish within {patience:?}");
            }
            None => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

#[test]
fn a_broker_killed_mid_stream_and_restarted_on_its_log_loses_nothing_and_doubles_nothing() {
    let (mut broker, config) = broker_with_topics(KafkaConfig::default().partitions);
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EventStore::open(dir.path().join("events.db")).expect("store");
    let head = fill(&store, 3000);
    let kafka_db = dir.path().join("kafka.db");
    let published_now = || published_up_to(&kafka_db);
    let view_path = dir.path().join("node.db");
    let applied_now = || applied_up_to(&view_path);
    // A slow publisher and a slow tasklist node, both as processes of their own, working
    // while the broker dies under them.
    let mut publisher = Reaped(
        Command::new(env!("CARGO_BIN_EXE_taskpool-publisher"))
            .args(["publish", "--application", "shop", "--brokers"])
            .arg(broker.brokers())
            .arg("--data-dir")
            .arg(dir.path())
            .args(["--batch", "50", "--pause-ms", "30", "--until-done"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("publisher starts"),
    );
    let mut consumer = Reaped(
        Command::new(env!("CARGO_BIN_EXE_taskpool-kafka-consume"))
            .args(["--brokers", &broker.brokers(), "--batch", "200"])
            .args(["--pause-ms", "5", "--until", &head.to_string(), "--view"])
            .arg(&view_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("consumer starts"),
    );
    let mut rng = rand::thread_rng();
    let mut mid_stream = 0;
    for round in 0..3 {
        let before = published_now();
        let deadline = Instant::now() + Duration::from_secs(30);
        while published_now() == before && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(Duration::from_millis(rand::Rng::gen_range(&mut rng, 0..25)));
        let (published, applied) = (published_now(), applied_now());
        broker.kill();
        if published < head {
            mid_stream += 1;
        }
        eprintln!(
            "round {round}: broker SIGKILLed with {published} published, {applied} applied of {head}"
        );
        std::thread::sleep(Duration::from_millis(500));
        broker.restart();
    }
    assert!(mid_stream >= 2, "only {mid_stream} kills landed mid-stream");
    exits_well("publisher", &mut publisher.0, Duration::from_secs(180));
    exits_well(
        "tasklist consumer",
        &mut consumer.0,
        Duration::from_secs(180),
    );
    assert_eq!(published_now(), head, "every event published");
    // Whatever was sent twice around the kills is absorbed.
    let view = View::open(&view_path).expect("view");
    let mut again = TasklistConsumer::new(&config, &view, None).expect("consumer");
    for _ in 0..10 {
        again
            .poll_batch(500, Duration::from_millis(100))
            .expect("poll");
    }
    assert_eq!(again.signal().head(), head, "every event applied once");
    assert_eq!(
        view::dump_state(&view.connect().expect("conn")).expect("dump"),
        rebuild_dump(&store, dir.path())
    );
}
