//! The example process application against the real core (SQLite event store,
//! gateway): its engine acts on interaction requests exactly once and its processes
//! move on.

use std::sync::Arc;

use rusqlite::Connection;
use serde_json::json;
use taskpool_collector::enricher::EnricherConfig;
use taskpool_collector::properties::SenderProperties;
use taskpool_collector::sender::GatewaySender;
use taskpool_collector::Collector;
use taskpool_core::command::{TaskCommand, UserInteraction};
use taskpool_core::event::TaskEvent;
use taskpool_core::{CommandContext, CommandGateway, DomainEvent, EventStore, StoredEvent};
use taskpool_example::{EngineVariables, ExampleApplication};

struct Stack {
    dir: tempfile::TempDir,
    store: EventStore,
    gateway: Arc<CommandGateway>,
}

impl Stack {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("dir");
        let store = EventStore::open(dir.path().join("events.db")).expect("store");
        let gateway = Arc::new(CommandGateway::new(&store).expect("gateway"));
        Self {
            dir,
            store,
            gateway,
        }
    }
    fn sender(&self, props: &SenderProperties) -> GatewaySender {
        GatewaySender::new(self.gateway.clone(), "app", props.clone())
    }
    fn app_db(&self) -> Connection {
        Connection::open(self.dir.path().join("app.db")).expect("app db")
    }
    fn events(&self) -> Vec<StoredEvent> {
        self.store
            .reader()
            .expect("reader")
            .read_after(0, usize::MAX)
            .expect("read")
    }
}

#[test]
fn example_application_claim_then_complete_round_trip() {
    let stack = Stack::new();
    let p = SenderProperties::default();
    let enricher = EnricherConfig {
        enabled: true,
        ..Default::default()
    };
    let collector = Arc::new(Collector::new(
        p.clone(),
        enricher,
        Arc::new(stack.sender(&p)),
        Arc::new(EngineVariables),
    ));
    let mut app = ExampleApplication::open("example", stack.app_db(), collector).expect("app");
    app.deploy().expect("deploy");
    let (_, task_id) = app
        .start_handle_incident("alice", "VPN drops", 2)
        .expect("start");
    let ctx = CommandContext::default();
    let claim = TaskCommand::ClaimInteraction(UserInteraction {
        id: task_id.clone(),
        user: "bob".into(),
    });
    assert!(stack
        .gateway
        .send(claim.into(), &ctx)
        .expect("claim")
        .is_accepted());
    let mut reader = stack.store.reader().expect("reader");
    assert_eq!(app.process_interactions(&mut reader).expect("act"), 1);
    assert_eq!(
        app.process_interactions(&mut reader).expect("act"),
        0,
        "acted on once"
    );
    let complete = TaskCommand::CompleteInteraction(taskpool_core::command::CompleteInteraction {
        id: task_id.clone(),
        user: "bob".into(),
        payload: json!({"assignTo": "carol"})
            .as_object()
            .cloned()
            .unwrap_or_default(),
    });
    assert!(stack
        .gateway
        .send(complete.into(), &ctx)
        .expect("complete")
        .is_accepted());
    app.process_interactions(&mut reader).expect("act");
    let task_events: Vec<_> = stack
        .events()
        .into_iter()
        .filter(|e| e.aggregate_id == task_id)
        .map(|e| e.event.type_name())
        .collect();
    assert_eq!(
        task_events,
        vec![
            "TaskCreated",
            "TaskClaimRequested",
            "TaskAssigned",
            "TaskInteractionAnswered",
            "TaskCompleteRequested",
            "TaskCompleted",
            "TaskInteractionAnswered"
        ],
        "each request answered in the engine transaction that performed it"
    );
    // The process moved on: a resolve task for carol exists in the engine and the pool.
    let active = app.active_tasks().expect("tasks");
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].1, "resolve");
    assert_eq!(active[0].2.as_deref(), Some("carol"));
    let created = stack.events().into_iter().any(|e| matches!(&e.event, DomainEvent::Task(TaskEvent::TaskCreated(t)) if t.id == active[0].0 && t.assignee.as_deref() == Some("carol") && t.enriched));
    assert!(
        created,
        "the resolve task reached the task pool, assigned and enriched"
    );
}
