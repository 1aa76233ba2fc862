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

/// Who may act on each task once nobody holds it: its candidate users and groups, folded
/// from the events (the create, then candidates added and removed).
fn candidates_by_task(events: &[StoredEvent]) -> std::collections::BTreeMap<String, usize> {
    use std::collections::{BTreeMap, BTreeSet};
    let mut who: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for e in events {
        match &e.event {
            DomainEvent::Task(TaskEvent::TaskCreated(t)) => {
                let all = who.entry(t.id.clone()).or_default();
                all.extend(t.candidate_users.iter().map(|u| format!("user:{u}")));
                all.extend(t.candidate_groups.iter().map(|g| format!("group:{g}")));
            }
            DomainEvent::Task(TaskEvent::TaskCandidateUsersAdded(c)) => {
                let all = who.entry(c.id.clone()).or_default();
                all.extend(c.users.iter().map(|u| format!("user:{u}")));
            }
            DomainEvent::Task(TaskEvent::TaskCandidateGroupsAdded(c)) => {
                let all = who.entry(c.id.clone()).or_default();
                all.extend(c.groups.iter().map(|g| format!("group:{g}")));
            }
            DomainEvent::Task(TaskEvent::TaskCandidateUsersDeleted(c)) => {
                let all = who.entry(c.id.clone()).or_default();
                c.users.iter().for_each(|u| {
                    all.remove(&format!("user:{u}"));
                });
            }
            DomainEvent::Task(TaskEvent::TaskCandidateGroupsDeleted(c)) => {
                let all = who.entry(c.id.clone()).or_default();
                c.groups.iter().for_each(|g| {
                    all.remove(&format!("group:{g}"));
                });
            }
            _ => {}
        }
    }
    who.into_iter().map(|(id, all)| (id, all.len())).collect()
}

#[test]
fn every_kind_of_example_task_given_back_stays_visible_to_someone() {
    let stack = Stack::new();
    let p = SenderProperties::default();
    let collector = Arc::new(Collector::new(
        p.clone(),
        EnricherConfig::default(),
        Arc::new(stack.sender(&p)),
        Arc::new(EngineVariables),
    ));
    let mut app = ExampleApplication::open("example", stack.app_db(), collector).expect("app");
    app.deploy().expect("deploy");
    let ctx = CommandContext::default();
    let mut reader = stack.store.reader().expect("reader");
    let mut act = |app: &mut ExampleApplication, command: TaskCommand| {
        assert!(stack
            .gateway
            .send(command.into(), &ctx)
            .expect("send")
            .is_accepted());
        app.process_interactions(&mut reader).expect("act");
    };
    let claim = |id: &str, user: &str| {
        TaskCommand::ClaimInteraction(UserInteraction {
            id: id.into(),
            user: user.into(),
        })
    };
    let unclaim = |id: &str, user: &str| {
        TaskCommand::UnclaimInteraction(UserInteraction {
            id: id.into(),
            user: user.into(),
        })
    };
    let complete = |id: &str, user: &str, values: serde_json::Value| {
        TaskCommand::CompleteInteraction(taskpool_core::command::CompleteInteraction {
            id: id.into(),
            user: user.into(),
            payload: values.as_object().cloned().unwrap_or_default(),
        })
    };
    // An approval, rejected: its amend task goes to the requester, who gives it back.
    let (_, approve) = app
        .start_approve_request("alice", "A new chair", 300)
        .expect("start");
    act(&mut app, claim(&approve, "carol"));
    act(
        &mut app,
        complete(&approve, "carol", json!({"decision": "reject"})),
    );
    let amend = app
        .active_tasks()
        .expect("tasks")
        .into_iter()
        .find(|t| t.1 == "amend")
        .expect("an amend task");
    assert_eq!(amend.2.as_deref(), Some("alice"));
    act(&mut app, unclaim(&amend.0, "alice"));
    // An incident: triage, then resolve (held by the chosen resolver), both given back.
    let (_, triage) = app
        .start_handle_incident("alice", "Printer jam", 3)
        .expect("start");
    act(&mut app, claim(&triage, "bob"));
    act(
        &mut app,
        complete(&triage, "bob", json!({"assignTo": "carol"})),
    );
    let resolve = app
        .active_tasks()
        .expect("tasks")
        .into_iter()
        .find(|t| t.1 == "resolve")
        .expect("a resolve task");
    act(&mut app, unclaim(&resolve.0, "carol"));
    let open: Vec<String> = app
        .active_tasks()
        .expect("tasks")
        .into_iter()
        .map(|t| t.0)
        .collect();
    assert!(
        open.contains(&amend.0) && open.contains(&resolve.0),
        "{open:?}"
    );
    let candidates = candidates_by_task(&stack.events());
    for id in [&approve, &amend.0, &triage, &resolve.0] {
        assert!(
            candidates.get(id).copied().unwrap_or(0) > 0,
            "task {id} has nobody who could claim it once given back: {candidates:?}"
        );
    }
}
