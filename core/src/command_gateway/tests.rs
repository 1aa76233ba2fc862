use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::command::*;
use crate::event::TaskEvent;
use crate::event_store::EventStore;
use crate::testing::fixtures;

fn store() -> (tempfile::TempDir, EventStore) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EventStore::open(dir.path().join("events.db")).expect("open");
    (dir, store)
}

fn create(id: &str) -> Command {
    TaskCommand::CreateTask(fixtures::task(id, "app")).into()
}

fn complete(id: &str) -> Command {
    TaskCommand::CompleteTask(CompleteTask {
        id: id.into(),
        assignee: None,
    })
    .into()
}

fn assign(id: &str, who: &str) -> Command {
    TaskCommand::AssignTask(AssignTask {
        id: id.into(),
        assignee: Some(who.into()),
    })
    .into()
}

fn add_user(id: &str, user: &str) -> Command {
    TaskCommand::AddCandidateUsers(CandidateUsers {
        id: id.into(),
        users: [user.to_string()].into(),
    })
    .into()
}

fn all_events(store: &EventStore) -> Vec<crate::StoredEvent> {
    store
        .reader()
        .expect("reader")
        .read_after(0, usize::MAX)
        .expect("read")
}

#[test]
fn accepted_batch_appends_events_in_order_with_positions() {
    let (_d, store) = store();
    let gateway = CommandGateway::new(&store).expect("gateway");
    let ctx = CommandContext {
        application: Some("app".into()),
        ..Default::default()
    };
    let out = gateway
        .handle(
            vec![
                create("t1"),
                assign("t1", "bob"),
                assign("t1", "bob"),
                create("t2"),
            ],
            BatchMode::Atomic,
            &ctx,
        )
        .expect("handled");
    assert!(out.all_accepted(), "{out:?}");
    assert_eq!(out.events_appended(), 3);
    assert_eq!(out.position, Some(3));
    assert_eq!(
        out.outcomes[2].status,
        OutcomeStatus::Accepted {
            events: 0,
            position: None,
            ignored: None
        }
    );
    let events = all_events(&store);
    let shape: Vec<_> = events
        .iter()
        .map(|e| {
            (
                e.position,
                e.aggregate_id.as_str(),
                e.aggregate_version,
                e.event.type_name(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        vec![
            (1, "t1", 1, "TaskCreated"),
            (2, "t1", 2, "TaskAssigned"),
            (3, "t2", 1, "TaskCreated")
        ]
    );
    assert!(events
        .iter()
        .all(|e| e.metadata.correlation_id == out.correlation_id));
    assert_eq!(events[1].metadata.causation_id, out.outcomes[1].command_id);
    assert_eq!(events[0].metadata.application.as_deref(), Some("app"));
}

#[test]
fn atomic_batch_with_a_rejected_third_command_stores_nothing() {
    let (_d, store) = store();
    let gateway = CommandGateway::new(&store).expect("gateway");
    let out = gateway
        .handle(
            vec![
                create("t1"),
                assign("t1", "bob"),
                assign("missing", "bob"),
                create("t2"),
            ],
            BatchMode::Atomic,
            &CommandContext::default(),
        )
        .expect("handled");
    let codes: Vec<_> = out
        .outcomes
        .iter()
        .map(|o| o.rejection().map(|r| r.code))
        .collect();
    assert_eq!(
        codes,
        vec![
            Some(RejectionCode::BatchRejected),
            Some(RejectionCode::BatchRejected),
            Some(RejectionCode::TaskNotFound),
            Some(RejectionCode::BatchRejected)
        ]
    );
    assert_eq!(out.position, None);
    assert!(
        all_events(&store).is_empty(),
        "an atomic batch is all or nothing"
    );
    // The aggregates are untouched: the same create is accepted afterwards.
    assert!(gateway
        .send(create("t1"), &CommandContext::default())
        .expect("sent")
        .is_accepted());
}

#[test]
fn per_command_batch_with_a_rejected_third_command_stores_the_others() {
    let (_d, store) = store();
    let gateway = CommandGateway::new(&store).expect("gateway");
    let out = gateway
        .handle(
            vec![
                create("t1"),
                assign("t1", "bob"),
                assign("missing", "bob"),
                create("t2"),
            ],
            BatchMode::PerCommand,
            &CommandContext::default(),
        )
        .expect("handled");
    let accepted: Vec<_> = out
        .outcomes
        .iter()
        .map(CommandOutcome::is_accepted)
        .collect();
    assert_eq!(accepted, vec![true, true, false, true]);
    assert_eq!(
        out.outcomes[2].rejection().map(|r| r.code),
        Some(RejectionCode::TaskNotFound)
    );
    assert_eq!(all_events(&store).len(), 3);
    assert_eq!(out.position, Some(3));
}

#[test]
fn a_rejected_command_in_per_command_mode_leaves_its_aggregate_usable() {
    let (_d, store) = store();
    let gateway = CommandGateway::new(&store).expect("gateway");
    let out = gateway
        .handle(
            vec![
                create("t1"),
                TaskCommand::ClaimInteraction(UserInteraction {
                    id: "t1".into(),
                    user: " ".into(),
                })
                .into(),
                assign("t1", "bob"),
            ],
            BatchMode::PerCommand,
            &CommandContext::default(),
        )
        .expect("handled");
    let versions: Vec<_> = all_events(&store)
        .iter()
        .map(|e| e.aggregate_version)
        .collect();
    assert_eq!(versions, vec![1, 2]);
    assert_eq!(
        out.outcomes[1].rejection().map(|r| r.code),
        Some(RejectionCode::InvalidCommand)
    );
}

#[test]
fn state_is_replayed_after_reopening() {
    let (_d, store) = store();
    {
        let gateway = CommandGateway::new(&store).expect("gateway");
        gateway
            .handle(
                vec![create("t1"), assign("t1", "bob")],
                BatchMode::Atomic,
                &CommandContext::default(),
            )
            .expect("ok");
    }
    let gateway = CommandGateway::new(&store).expect("gateway");
    let out = gateway
        .send(assign("t1", "bob"), &CommandContext::default())
        .expect("sent");
    assert_eq!(
        out.status,
        OutcomeStatus::Accepted {
            events: 0,
            position: None,
            ignored: None
        },
        "bob is already the assignee"
    );
    let out = gateway
        .send(create("t1"), &CommandContext::default())
        .expect("sent");
    assert_eq!(
        out.status,
        OutcomeStatus::Accepted {
            events: 1,
            position: Some(3),
            ignored: None
        },
        "a resent create makes the task the one sent: it unassigns bob"
    );
}

#[test]
fn an_engine_resending_what_the_pool_has_done_is_acknowledged_as_ignored_in_its_transaction() {
    let (_d, store) = store();
    let gateway = CommandGateway::new(&store).expect("gateway");
    gateway
        .handle(
            vec![create("t1"), complete("t1"), create("t2")],
            BatchMode::Atomic,
            &CommandContext::default(),
        )
        .expect("ok");
    // One engine transaction: a create for a task the pool has, a complete for one it
    // completed, and new work. The resends fail nothing.
    let out = gateway
        .handle(
            vec![
                create("t2"),
                complete("t1"),
                assign("t1", "bob"),
                create("t3"),
            ],
            BatchMode::Atomic,
            &CommandContext::default(),
        )
        .expect("handled");
    assert!(out.all_accepted(), "{out:?}");
    assert_eq!(out.events_appended(), 1, "only t3 is new");
    let ignored: Vec<_> = out
        .outcomes
        .iter()
        .map(|o| o.ignored().map(|r| r.code))
        .collect();
    assert_eq!(
        ignored,
        vec![
            None,
            Some(RejectionCode::TaskCompleted),
            Some(RejectionCode::TaskCompleted),
            None
        ]
    );
    // A user's action on the completed task is still refused: the user is told.
    let out = gateway
        .send(
            TaskCommand::ClaimInteraction(UserInteraction {
                id: "t1".into(),
                user: "alice".into(),
            })
            .into(),
            &CommandContext::default(),
        )
        .expect("sent");
    assert_eq!(
        out.rejection().map(|r| r.code),
        Some(RejectionCode::TaskCompleted)
    );
}

#[test]
fn a_second_gateway_on_the_same_store_never_decides_on_stale_state() {
    let (_d, store) = store();
    let a = CommandGateway::new(&store).expect("a");
    let b = CommandGateway::new(&store).expect("b");
    a.send(create("t1"), &CommandContext::default())
        .expect("create");
    a.send(assign("t1", "alice"), &CommandContext::default())
        .expect("assign"); // cached in a
    b.send(assign("t1", "bob"), &CommandContext::default())
        .expect("assign by b");
    // a's cache says alice; the store says bob. Assigning alice again must be an event.
    let out = a
        .send(assign("t1", "alice"), &CommandContext::default())
        .expect("assign again");
    assert!(
        matches!(out.status, OutcomeStatus::Accepted { events: 1, .. }),
        "{out:?}"
    );
    let versions: Vec<_> = all_events(&store)
        .iter()
        .map(|e| e.aggregate_version)
        .collect();
    assert_eq!(versions, vec![1, 2, 3, 4]);
}

#[test]
fn concurrent_threads_and_gateways_lose_no_update() {
    let (_d, store) = store();
    let shared = Arc::new(CommandGateway::new(&store).expect("gateway"));
    shared
        .handle(
            vec![create("t1"), create("t2")],
            BatchMode::Atomic,
            &CommandContext::default(),
        )
        .expect("create");
    let mut handles = Vec::new();
    for thread in 0..4 {
        let store = store.clone();
        let shared = Arc::clone(&shared);
        handles.push(std::thread::spawn(move || {
            // Two threads share one gateway, two have one each.
            let own = (thread % 2 == 1).then(|| CommandGateway::new(&store).expect("own gateway"));
            let gateway = own.as_ref().unwrap_or(&shared);
            for i in 0..50 {
                let user = format!("u{thread}-{i}");
                let out = gateway
                    .handle(
                        vec![add_user("t1", &user), add_user("t2", &user)],
                        BatchMode::Atomic,
                        &CommandContext::default(),
                    )
                    .expect("handled");
                assert!(out.all_accepted());
            }
        }));
    }
    for h in handles {
        h.join().expect("thread");
    }
    let events = all_events(&store);
    for task in ["t1", "t2"] {
        let mut users = BTreeSet::new();
        let versions: Vec<i64> = events
            .iter()
            .filter(|e| e.aggregate_id == task)
            .map(|e| e.aggregate_version)
            .collect();
        assert_eq!(
            versions,
            (1..=201).collect::<Vec<_>>(),
            "contiguous versions for {task}"
        );
        for e in events.iter().filter(|e| e.aggregate_id == task) {
            if let crate::DomainEvent::Task(TaskEvent::TaskCandidateUsersAdded(c)) = &e.event {
                users.extend(c.users.iter().cloned());
            }
        }
        assert_eq!(users.len(), 200, "no lost update on {task}");
    }
}

#[test]
fn malformed_json_is_refused_with_the_field_named_and_nothing_stored() {
    let (_d, store) = store();
    let gateway = CommandGateway::new(&store).expect("gateway");
    let limits = InputLimits::default();
    let ctx = CommandContext::default();
    let task = serde_json::to_value(fixtures::task("t1", "app")).expect("json");
    let mut unknown_field = task.clone();
    unknown_field["colour"] = json!("red");
    unknown_field["type"] = json!("createTask");
    let mut wrong_type = task.clone();
    wrong_type["priority"] = json!("high");
    wrong_type["type"] = json!("createTask");
    let mut missing_id = task.clone();
    missing_id.as_object_mut().expect("object").remove("id");
    missing_id["type"] = json!("createTask");
    let mut nested = task.clone();
    nested["sourceReference"]["kind"] = json!("workflow");
    nested["type"] = json!("createTask");
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            json!([unknown_field]).to_string().into_bytes(),
            "unknown field `colour`",
        ),
        (
            json!([wrong_type]).to_string().into_bytes(),
            "invalid command at [0].priority: createTask: invalid type",
        ),
        (
            json!([missing_id]).to_string().into_bytes(),
            "missing field `id`",
        ),
        (
            json!([nested]).to_string().into_bytes(),
            "invalid command at [0].sourceReference.kind: createTask: unknown variant",
        ),
        (
            json!([{"type": "launchRocket"}]).to_string().into_bytes(),
            "unknown command type `launchRocket`",
        ),
        (
            json!([{"id": "t1"}]).to_string().into_bytes(),
            "missing field `type`",
        ),
        (b"[{\"type\": \"createTask\",".to_vec(), "EOF"),
        (b"not json".to_vec(), "expected"),
    ];
    for (input, expected) in cases {
        let err = gateway
            .handle_json(&input, &limits, BatchMode::Atomic, &ctx)
            .expect_err("refused");
        let message = err.to_string();
        assert!(
            message.contains(expected),
            "`{message}` should mention `{expected}`"
        );
    }
    // A 10 MB payload.
    let mut big = task.clone();
    big["type"] = json!("createTask");
    big["payload"] = json!({ "blob": "x".repeat(10 * 1024 * 1024) });
    let err = gateway
        .handle_json(
            json!([big]).to_string().as_bytes(),
            &limits,
            BatchMode::Atomic,
            &ctx,
        )
        .expect_err("refused");
    assert!(
        matches!(
            err,
            HandleJsonError::Parse(CommandParseError::TooLarge { .. })
        ),
        "{err}"
    );
    assert!(err.to_string().contains("larger than the limit"), "{err}");
    assert!(all_events(&store).is_empty());
    // And the well-formed one is accepted.
    let mut good = task;
    good["type"] = json!("createTask");
    let out = gateway
        .handle_json(
            json!([good]).to_string().as_bytes(),
            &limits,
            BatchMode::Atomic,
            &ctx,
        )
        .expect("ok");
    assert!(out.all_accepted());
}

#[test]
fn commands_round_trip_through_json() {
    let commands = vec![
        create("t1"),
        TaskCommand::UpdateTaskAttributes(UpdateTaskAttributes {
            id: "t1".into(),
            description: crate::patch::Patch::Clear,
            priority: Some(3),
            ..Default::default()
        })
        .into(),
        TaskCommand::CompleteInteraction(CompleteInteraction {
            id: "t1".into(),
            user: "alice".into(),
            payload: Default::default(),
        })
        .into(),
        ProcessInstanceCommand::ChangeProcessVariables(ChangeProcessVariables {
            instance_id: "pi".into(),
            changes: vec![
                VariableChange::Create {
                    name: "a".into(),
                    value: json!(1),
                },
                VariableChange::Delete { name: "b".into() },
            ],
        })
        .into(),
    ];
    let text = serde_json::to_string(&commands).expect("serialize");
    let back = parse_commands(text.as_bytes(), &InputLimits::default()).expect("parse");
    assert_eq!(back, commands);
    assert!(
        text.contains(r#""description":null"#),
        "a clear is an explicit null: {text}"
    );
}

#[test]
fn a_unit_of_work_with_a_known_idempotency_key_is_applied_once() {
    let (_d, store) = store();
    let ctx = CommandContext {
        idempotency_key: Some("job-1".into()),
        ..Default::default()
    };
    let first = CommandGateway::new(&store)
        .expect("gateway")
        .handle(
            vec![create("t1"), assign("t1", "bob")],
            BatchMode::Atomic,
            &ctx,
        )
        .expect("first");
    // Again, from a fresh gateway (as after a restart).
    let again = CommandGateway::new(&store)
        .expect("gateway")
        .handle(
            vec![create("t1"), assign("t1", "bob")],
            BatchMode::Atomic,
            &ctx,
        )
        .expect("again");
    assert_eq!(first, again, "the stored outcome is returned");
    assert_eq!(all_events(&store).len(), 2);
}

#[test]
fn a_known_idempotency_key_with_another_request_is_refused() {
    // Given a unit of work handled under a key, with its request's fingerprint
    let (_d, store) = store();
    let keyed = |fingerprint: Option<&str>| CommandContext {
        idempotency_key: Some("tx-7".into()),
        request_fingerprint: fingerprint.map(String::from),
        ..Default::default()
    };
    let first = CommandGateway::new(&store)
        .expect("gateway")
        .handle(vec![create("t1")], BatchMode::Atomic, &keyed(Some("aaa")))
        .expect("first");
    // When the same key comes with the same request (after a restart): the outcome
    let gateway = CommandGateway::new(&store).expect("gateway");
    let again = gateway
        .handle(vec![create("t1")], BatchMode::Atomic, &keyed(Some("aaa")))
        .expect("again");
    assert_eq!(again, first);
    // When it comes with another request: refused, and nothing is stored
    let other = gateway.handle(vec![create("t2")], BatchMode::Atomic, &keyed(Some("bbb")));
    assert!(
        matches!(&other, Err(GatewayError::IdempotencyKeyReused { key }) if key == "tx-7"),
        "{other:?}"
    );
    assert_eq!(all_events(&store).len(), 1);
    // A sender that gives no fingerprint is answered by the key alone
    let unfingerprinted = gateway
        .handle(vec![create("t2")], BatchMode::Atomic, &keyed(None))
        .expect("by key");
    assert_eq!(unfingerprinted, first);
}

fn entry_update(name: &str) -> Command {
    DataEntryCommand::CreateOrUpdateDataEntry(CreateOrUpdateDataEntry {
        entry_type: "request".into(),
        entry_id: "r-1".into(),
        name: name.into(),
        description: None,
        type_name: "Request".into(),
        application_name: "app".into(),
        form_key: None,
        state: crate::model::DataEntryState::new(crate::model::ProcessingType::InProgress, "open"),
        payload: Default::default(),
        correlations: Default::default(),
        modification: crate::model::Modification {
            time: chrono::Utc::now(),
            username: None,
            log_message: None,
            log_notes: None,
        },
        authorization_changes: vec![],
    })
    .into()
}

fn entry_delete() -> Command {
    DataEntryCommand::DeleteDataEntry(DeleteDataEntry {
        entry_type: "request".into(),
        entry_id: "r-1".into(),
        modification: crate::model::Modification {
            time: chrono::Utc::now(),
            username: None,
            log_message: None,
            log_notes: None,
        },
        state: None,
    })
    .into()
}

#[test]
fn an_update_of_a_deleted_data_entry_brings_it_back_unless_deletion_is_strict() {
    for (strategy, back) in [
        (DeletionStrategy::Lax, true),
        (DeletionStrategy::Strict, false),
    ] {
        let (_d, store) = store();
        let gateway = CommandGateway::with_config(
            &store,
            GatewayConfig {
                data_entry_deletion: strategy,
                ..Default::default()
            },
        )
        .expect("gateway");
        let ctx = CommandContext::default();
        for c in [entry_update("first"), entry_delete()] {
            assert!(gateway.send(c, &ctx).expect("sent").is_accepted());
        }
        let out = gateway.send(entry_update("again"), &ctx).expect("sent");
        assert_eq!(out.is_accepted(), back, "{strategy:?}: {out:?}");
        if !back {
            assert_eq!(
                out.rejection().map(|r| r.code),
                Some(RejectionCode::DataEntryDeleted)
            );
        }
    }
}

#[test]
fn an_event_larger_than_the_node_can_pass_on_is_refused_and_nothing_is_stored() {
    let (_d, store) = store();
    let gateway = CommandGateway::with_config(
        &store,
        GatewayConfig {
            max_event_bytes: Some(2_000),
            ..Default::default()
        },
    )
    .expect("gateway");
    let mut big = fixtures::task("big", "app");
    big.payload.insert("text".into(), json!("x".repeat(3_000)));
    let err = gateway
        .handle(
            vec![create("small"), TaskCommand::CreateTask(big).into()],
            BatchMode::Atomic,
            &CommandContext::default(),
        )
        .expect_err("refused");
    assert!(
        matches!(&err, GatewayError::EventTooLarge { aggregate_id, limit: 2_000, .. } if aggregate_id == "big"),
        "{err}"
    );
    assert!(all_events(&store).is_empty(), "nothing of the unit stored");
    assert!(gateway
        .send(create("small"), &CommandContext::default())
        .expect("sent")
        .is_accepted());
}

#[test]
fn idempotency_keys_are_let_go_after_the_window() {
    let (_d, store) = store();
    let gateway = CommandGateway::with_config(
        &store,
        GatewayConfig {
            idempotency_window: std::time::Duration::from_secs(3600),
            ..Default::default()
        },
    )
    .expect("gateway");
    let at = |hours: i64, key: &str| CommandContext {
        idempotency_key: Some(key.to_string()),
        time: Some(chrono::Utc::now() + chrono::Duration::hours(hours)),
        ..Default::default()
    };
    let first = gateway
        .handle(vec![create("t1")], BatchMode::Atomic, &at(0, "tx-1"))
        .expect("handled");
    // Within the window: the stored outcome.
    let again = gateway
        .handle(vec![create("t1")], BatchMode::Atomic, &at(0, "tx-1"))
        .expect("handled");
    assert_eq!(first, again);
    // Two hours later a unit whose key prunes (one in 256 does) lets tx-1 go.
    let pruning = (0..100_000)
        .map(|i| format!("k{i}"))
        .find(|k| prunes_expired_keys(k))
        .expect("a pruning key");
    gateway
        .handle(vec![create("t2")], BatchMode::Atomic, &at(2, &pruning))
        .expect("handled");
    let later = gateway
        .handle(vec![assign("t1", "bob")], BatchMode::Atomic, &at(2, "tx-1"))
        .expect("handled");
    assert_ne!(later, first, "a new unit after the window");
    assert!(later.all_accepted());
}
