//! Throughput through the real broker (`cargo bench -p taskpool-kafka --bench
//! kafka_flow`; EVENTS=100000 by default): the publisher's events/s and the
//! tasklist consumer's events/s into its view, beside the broker's raw produce and
//! consume rates for the very same messages in the same run, then the end-to-end
//! latency from an engine commit in the process application to a live subscriber on a
//! tasklist node.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use taskpool_core::command::TaskCommand;
use taskpool_core::live::{ChangeFeed, Subscription};
use taskpool_core::query::{TaskQuery, Viewer};
use taskpool_core::testing::fixtures;
use taskpool_core::view::View;
use taskpool_core::{BatchMode, Command, CommandContext, CommandGateway, EventStore};
use taskpool_kafka::message::EventMessage;
use taskpool_kafka::test_broker::TestBroker;
use taskpool_kafka::topics::ensure_topics;
use taskpool_kafka::{KafkaConfig, Publisher, TasklistConsumer};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let events: usize = std::env::var("EVENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let broker = TestBroker::start();
    let dir = tempfile::tempdir()?;
    let config = KafkaConfig {
        brokers: broker.brokers(),
        partitions: 3,
        ..Default::default()
    };
    ensure_topics(&config)?;
    let store = EventStore::open(dir.path().join("events.db"))?;
    let gateway = Arc::new(CommandGateway::new(&store)?);
    for chunk in (0..events).step_by(1000) {
        let batch: Vec<Command> = (chunk..(chunk + 1000).min(events))
            .map(|i| {
                let mut t = fixtures::task(&format!("t-{i:07}"), "shop");
                t.candidate_groups.insert(format!("g{}", i % 50));
                TaskCommand::CreateTask(t).into()
            })
            .collect();
        gateway.handle(batch, BatchMode::Atomic, &CommandContext::default())?;
    }
    let stored = store.reader()?.read_after(0, events)?;
    let payloads: Vec<(String, Vec<u8>)> = stored
        .iter()
        .map(|e| {
            Ok((
                e.aggregate_id.clone(),
                serde_json::to_vec(&EventMessage::of(e, "shop")?)?,
            ))
        })
        .collect::<Result<_, serde_json::Error>>()?;
    let avg = payloads.iter().map(|p| p.1.len()).sum::<usize>() / payloads.len().max(1);
    println!("kafka flow benchmark: {events} events of {avg} bytes on average, Apache Kafka {} on loopback, 3 partitions, acks=all, idempotent producer", taskpool_kafka::test_broker::KAFKA_VERSION);

    // Raw: the same messages with a bare producer and consumer.
    let raw_topic = "raw.bench";
    let raw_config = KafkaConfig {
        topics: taskpool_kafka::Topics {
            tasks: raw_topic.into(),
            ..Default::default()
        },
        ..config.clone()
    };
    ensure_topics(&raw_config)?;
    let producer: FutureProducer = config
        .client()
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "2")
        .create()?;
    let started = Instant::now();
    let mut deliveries = Vec::with_capacity(payloads.len());
    for (key, payload) in &payloads {
        loop {
            match producer.send_result(FutureRecord::to(raw_topic).key(key).payload(payload)) {
                Ok(d) => {
                    deliveries.push(d);
                    break;
                }
                Err((e, _)) if e.to_string().contains("QueueFull") => {
                    std::thread::sleep(Duration::from_millis(1))
                }
                Err((e, _)) => return Err(e.into()),
            }
        }
    }
    for d in deliveries {
        if let Ok(Err((e, _))) = futures::executor::block_on(d) {
            return Err(e.into());
        }
    }
    let raw_produce = rate(events, started.elapsed());
    let consumer: BaseConsumer = config.client().set("group.id", "bench-raw").create()?;
    let mut list = TopicPartitionList::new();
    for p in taskpool_kafka::topics::partitions(&consumer, raw_topic, Duration::from_secs(5))? {
        list.add_partition_offset(raw_topic, p, Offset::Beginning)?;
    }
    consumer.assign(&list)?;
    let started = Instant::now();
    let mut seen = 0;
    while seen < events {
        if let Some(Ok(_)) = consumer.poll(Duration::from_millis(100)) {
            seen += 1;
        }
    }
    let raw_consume = rate(events, started.elapsed());

    // Taskpool: publisher (read the store, produce, wait for acks, checkpoint) ...
    let mut publisher = Publisher::new(&config, "shop", &dir.path().join("kafka.db"))?;
    let started = Instant::now();
    let published = publisher.publish_pending(&mut store.reader()?)?;
    let publish = rate(published, started.elapsed());
    // ... and the tasklist consumer (decode, dedup, project, offsets in one transaction).
    let view = View::open(dir.path().join("node.db"))?;
    let mut node = TasklistConsumer::new(&config, &view, None)?;
    let started = Instant::now();
    let head = events as i64;
    while node.signal().head() < head {
        node.poll_batch(5000, Duration::from_millis(100))?;
    }
    let consume = rate(events, started.elapsed());
    println!(
        "{:<46} {:>10.0} events/s",
        "raw produce (same messages, acks=all)", raw_produce
    );
    println!(
        "{:<46} {:>10.0} events/s   ratio {:.2}",
        "publisher (store -> broker, checkpointed)",
        publish,
        publish / raw_produce
    );
    println!(
        "{:<46} {:>10.0} events/s",
        "raw consume (same messages)", raw_consume
    );
    println!(
        "{:<46} {:>10.0} events/s   ratio {:.2}",
        "tasklist consumer (broker -> view)",
        consume,
        consume / raw_consume
    );

    // End to end: engine commit -> publisher -> broker -> tasklist node -> subscriber.
    let stop = Arc::new(AtomicBool::new(false));
    let signal = node.signal();
    let (feed, _feed_thread) = ChangeFeed::start(&view, signal)?;
    {
        let stop = stop.clone();
        std::thread::spawn(move || node.run(stop));
    }
    {
        let (store, commits, stop) = (store.clone(), gateway.commit_signal(), stop.clone());
        std::thread::spawn(move || publisher.run(&store, commits, stop));
    }
    let (mut sub, _) = Subscription::open_on_feed(
        &view,
        &feed,
        TaskQuery::for_viewer(Viewer::user("u", &["live"])),
        None,
    )?;
    let mut samples = Vec::new();
    for i in 0..200 {
        let mut t = fixtures::task(&format!("live-{i}"), "shop");
        t.candidate_groups.insert("live".into());
        let sent = Instant::now();
        gateway.handle(
            vec![TaskCommand::CreateTask(t).into()],
            BatchMode::Atomic,
            &CommandContext::default(),
        )?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let items = sub.next(Duration::from_millis(50))?;
            if !items.is_empty() {
                samples.push(sent.elapsed());
                break;
            }
            if Instant::now() > deadline {
                return Err("a change did not arrive within 10 s".into());
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, Ordering::Relaxed);
    gateway.commit_signal().wake_all();
    samples.sort();
    let pct =
        |p: f64| samples[((samples.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1e3;
    println!(
        "{:<46} p50 {:>6.1} ms   p99 {:>6.1} ms   ({} changes)",
        "engine commit -> live subscriber on the node",
        pct(0.5),
        pct(0.99),
        samples.len()
    );
    Ok(())
}
