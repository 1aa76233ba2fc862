//! The collector and senders against the real core (SQLite event store, gateway).

use std::io::Write;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use serde_json::json;
use taskpool_collector::engine_transaction::NoVariables;
use taskpool_collector::outcome_log::{OutcomeLog, OutcomeQuery};
use taskpool_collector::properties::{SenderProperties, SenderType};
use taskpool_collector::sender::{
    CommandErrorHandler, CommandSender, CommandSuccessHandler, GatewaySender, JobWorker, SendError,
};
use taskpool_collector::{Collector, EngineEvent};
use taskpool_core::event::TaskEvent;
use taskpool_core::testing::fixtures;
use taskpool_core::{
    Command, CommandGateway, CommandOutcome, DomainEvent, EventStore, StoredEvent,
};

struct Stack {
    dir: tempfile::TempDir,
    store: EventStore,
    gateway: Arc<CommandGateway>,
    log: Arc<OutcomeLog>,
}

impl Stack {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("dir");
        let store = EventStore::open(dir.path().join("events.db")).expect("store");
        let gateway = Arc::new(CommandGateway::new(&store).expect("gateway"));
        let log = Arc::new(OutcomeLog::open(&dir.path().join("outcomes.db"), 1000).expect("log"));
        Self {
            dir,
            store,
            gateway,
            log,
        }
    }
    fn sender(&self, props: &SenderProperties) -> GatewaySender {
        GatewaySender::new(self.gateway.clone(), "app", props.clone())
            .with_outcome_log(self.log.clone())
    }
    fn collector(&self, props: SenderProperties) -> Collector {
        Collector::new(
            props.clone(),
            Default::default(),
            Arc::new(self.sender(&props)),
            Arc::new(NoVariables),
        )
    }
    fn app_db(&self) -> Connection {
        let c = Connection::open(self.dir.path().join("app.db")).expect("app db");
        c.execute_batch("CREATE TABLE IF NOT EXISTS marks (name TEXT)")
            .expect("schema");
        c
    }
    fn events(&self) -> Vec<StoredEvent> {
        self.store
            .reader()
            .expect("reader")
            .read_after(0, usize::MAX)
            .expect("read")
    }
}

fn props(t: SenderType, within: bool) -> SenderProperties {
    SenderProperties {
        sender_type: t,
        send_within_transaction: within,
        ..Default::default()
    }
}

fn created(id: &str) -> EngineEvent {
    EngineEvent::TaskCreated {
        task: Box::new(fixtures::task(id, "app")),
    }
}

#[test]
fn rollback_sends_nothing_for_tx_and_txjob() {
    for t in [SenderType::Tx, SenderType::Txjob] {
        let stack = Stack::new();
        let collector = stack.collector(props(t, true));
        let mut db = stack.app_db();
        let mut tx = collector.begin(&mut db).expect("begin");
        tx.record(created("t1")).expect("record");
        tx.rollback().expect("rollback");
        // A dropped transaction is a rollback too.
        let mut tx = collector.begin(&mut db).expect("begin");
        tx.record(created("t2")).expect("record");
        drop(tx);
        assert!(stack.events().is_empty(), "{t:?} sent something");
        if t == SenderType::Txjob {
            let pending: i64 = db
                .query_row("SELECT COUNT(*) FROM taskpool_jobs", [], |r| r.get(0))
                .expect("count");
            assert_eq!(pending, 0);
        }
    }
}

/// A custom sender that records, for each send, whether the engine's write of this
/// transaction was already visible to another connection (i.e. committed).
struct ObservingSender {
    inner: GatewaySender,
    db_path: std::path::PathBuf,
    seen: Mutex<Vec<bool>>,
}

impl CommandSender for ObservingSender {
    fn send(&self, commands: Vec<Command>, key: Option<String>) -> Result<(), SendError> {
        let other = Connection::open(&self.db_path)?;
        let committed: i64 = other.query_row("SELECT COUNT(*) FROM marks", [], |r| r.get(0))?;
        self.seen
            .lock()
            .map_err(|_| SendError::Other("poisoned".into()))?
            .push(committed > 0);
        self.inner.send(commands, key)
    }
}

#[test]
fn send_within_transaction_true_sends_before_commit_and_false_after() {
    for within in [true, false] {
        let stack = Stack::new();
        let p = props(SenderType::Custom, within);
        let observer = Arc::new(ObservingSender {
            inner: stack.sender(&p),
            db_path: stack.dir.path().join("app.db"),
            seen: Mutex::new(vec![]),
        });
        let collector = stack.collector(p).with_custom_sender(observer.clone());
        let mut db = stack.app_db();
        let mut tx = collector.begin(&mut db).expect("begin");
        tx.conn()
            .execute("INSERT INTO marks VALUES ('engine wrote')", [])
            .expect("engine write");
        tx.record(created("t1")).expect("record");
        tx.commit().expect("commit");
        assert_eq!(
            *observer.seen.lock().expect("lock"),
            vec![!within],
            "within={within}"
        );
        assert_eq!(stack.events().len(), 1);
    }
}

#[test]
fn a_send_fault_within_the_transaction_rolls_the_engine_back() {
    struct Failing;
    impl CommandSender for Failing {
        fn send(&self, _: Vec<Command>, _: Option<String>) -> Result<(), SendError> {
            Err(SendError::Other("gateway unreachable".into()))
        }
    }
    let stack = Stack::new();
    let collector = stack
        .collector(props(SenderType::Custom, true))
        .with_custom_sender(Arc::new(Failing));
    let mut db = stack.app_db();
    let mut tx = collector.begin(&mut db).expect("begin");
    tx.conn()
        .execute("INSERT INTO marks VALUES ('x')", [])
        .expect("write");
    tx.record(created("t1")).expect("record");
    assert!(tx.commit().is_err());
    let n: i64 = db
        .query_row("SELECT COUNT(*) FROM marks", [], |r| r.get(0))
        .expect("count");
    assert_eq!(n, 0, "the engine rolled back");
}

#[test]
fn simple_sends_each_command_at_once() {
    let stack = Stack::new();
    let collector = stack.collector(props(SenderType::Simple, true));
    let mut db = stack.app_db();
    let mut tx = collector.begin(&mut db).expect("begin");
    tx.record(created("t1")).expect("record");
    assert_eq!(stack.events().len(), 1, "sent before commit");
    tx.record(EngineEvent::TaskAssigned {
        task_id: "t1".into(),
        assignee: Some("bob".into()),
    })
    .expect("record");
    tx.commit().expect("commit");
    assert_eq!(stack.events().len(), 2, "not accumulated");
}

#[test]
fn txjob_sends_through_the_worker_until_done() {
    let stack = Stack::new();
    let p = props(SenderType::Txjob, true);
    let collector = stack.collector(p.clone());
    let mut db = stack.app_db();
    let mut tx = collector.begin(&mut db).expect("begin");
    tx.record(created("t1")).expect("record");
    tx.record(EngineEvent::TaskAssigned {
        task_id: "t1".into(),
        assignee: Some("bob".into()),
    })
    .expect("record");
    let report = tx.commit().expect("commit");
    assert!(report.job_id.is_some());
    assert!(
        stack.events().is_empty(),
        "nothing sent in the engine transaction"
    );
    let mut worker = JobWorker::new(
        stack.app_db(),
        Arc::new(stack.sender(&p)),
        std::time::Duration::from_secs(1),
    )
    .expect("worker");
    assert_eq!(worker.run_due().expect("round"), 1);
    assert_eq!(
        worker.run_due().expect("round"),
        0,
        "a finished job is gone"
    );
    let events = stack.events();
    assert_eq!(events.len(), 1, "create with the assignee folded in");
    assert!(
        matches!(&events[0].event, DomainEvent::Task(TaskEvent::TaskCreated(t)) if t.assignee.as_deref() == Some("bob"))
    );
}

/// Captures tracing output.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);
impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("lock")).into_owned()
    }
}

fn with_logs<T>(f: impl FnOnce() -> T) -> (T, String) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let out = tracing::subscriber::with_default(subscriber, f);
    (out, captured.text())
}

#[test]
fn sender_disabled_logs_sender_001_and_sends_nothing() {
    let stack = Stack::new();
    let (_, logs) = with_logs(|| {
        let collector = stack.collector(SenderProperties {
            enabled: false,
            ..Default::default()
        });
        let mut db = stack.app_db();
        let mut tx = collector.begin(&mut db).expect("begin");
        tx.record(created("t1")).expect("record");
        tx.commit().expect("commit");
    });
    assert!(stack.events().is_empty());
    assert!(logs.contains("SENDER-001"), "{logs}");
    assert!(
        logs.contains("SENDER-012"),
        "startup says task distribution is off: {logs}"
    );
}

#[test]
fn task_sending_disabled_logs_sender_004_and_sends_no_task() {
    let stack = Stack::new();
    let (_, logs) = with_logs(|| {
        let mut p = SenderProperties::default();
        p.task.enabled = false;
        let collector = stack.collector(p);
        let mut db = stack.app_db();
        let mut tx = collector.begin(&mut db).expect("begin");
        tx.record(created("t1")).expect("record");
        tx.commit().expect("commit");
    });
    assert!(stack.events().is_empty());
    assert!(logs.contains("SENDER-004"), "{logs}");
    assert!(logs.contains("SENDER-013"), "{logs}");
}

#[test]
fn a_rejected_command_reaches_the_error_handler_and_the_outcome_log() {
    #[derive(Default)]
    struct Recorder(Mutex<Vec<String>>);
    impl CommandSuccessHandler for Recorder {
        fn on_success(&self, o: &CommandOutcome) {
            self.0
                .lock()
                .expect("lock")
                .push(format!("ok {}", o.command_type));
        }
    }
    impl CommandErrorHandler for Recorder {
        fn on_error(&self, o: &CommandOutcome) {
            self.0.lock().expect("lock").push(format!(
                "error {}",
                o.rejection().map(|r| r.to_string()).unwrap_or_default()
            ));
        }
    }
    let stack = Stack::new();
    let live = stack.log.subscribe(16);
    let recorder = Arc::new(Recorder::default());
    let p = props(SenderType::Tx, true);
    let sender = stack
        .sender(&p)
        .with_handlers(recorder.clone(), recorder.clone());
    let collector = Collector::new(
        p,
        Default::default(),
        Arc::new(sender),
        Arc::new(NoVariables),
    );
    let mut db = stack.app_db();
    let mut tx = collector.begin(&mut db).expect("begin");
    tx.record(EngineEvent::TaskAssigned {
        task_id: "ghost".into(),
        assignee: Some("bob".into()),
    })
    .expect("record");
    tx.commit()
        .expect("engine commits; the rejection is an outcome");
    let calls = recorder.0.lock().expect("lock").clone();
    assert_eq!(calls.len(), 1);
    assert!(calls[0].starts_with("error TASK_NOT_FOUND"), "{calls:?}");
    let logged = stack
        .log
        .list(&OutcomeQuery {
            only_rejected: true,
            ..Default::default()
        })
        .expect("list");
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0].code, "TASK_NOT_FOUND");
    assert_eq!(logged[0].aggregate_id, "ghost");
    assert!(logged[0].message.contains("ghost"));
    let streamed = live.try_recv().expect("streamed live");
    assert_eq!(streamed, logged[0]);
}

#[test]
fn serialize_payload_true_makes_a_generic_map_and_false_passes_objects_through() {
    use taskpool_collector::engine_transaction::typed_payload;
    #[derive(serde::Serialize)]
    struct Order {
        number: u32,
        customer: &'static str,
    }
    let map = typed_payload(
        &Order {
            number: 7,
            customer: "ACME",
        },
        true,
    )
    .expect("map");
    assert_eq!(
        serde_json::Value::Object(map),
        json!({"number": 7, "customer": "ACME"})
    );
    let wrapped = typed_payload(&42, true).expect("wrapped");
    assert_eq!(serde_json::Value::Object(wrapped), json!({"value": 42}));
    assert!(typed_payload(
        &Order {
            number: 1,
            customer: "x"
        },
        false
    )
    .is_ok());
    assert!(typed_payload(&"not an object", false).is_err());
}
