use chrono::{TimeZone, Utc};
use serde_json::json;

use crate::aggregate::{Aggregate, DataEntryAggregate};
use crate::command::*;
use crate::event::*;
use crate::model::*;
use crate::testing::AggregateTest;
use crate::RejectionCode;

type T = AggregateTest<DataEntryAggregate>;

fn modification(user: &str, message: Option<&str>) -> Modification {
    Modification {
        time: Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 0).unwrap(),
        username: Some(user.into()),
        log_message: message.map(String::from),
        log_notes: None,
    }
}

fn upsert(name: &str, message: Option<&str>, auth: Vec<AuthorizationChange>) -> DataEntryCommand {
    let mut payload = Payload::new();
    payload.insert("amount".into(), json!(100));
    DataEntryCommand::CreateOrUpdateDataEntry(CreateOrUpdateDataEntry {
        entry_type: "request".into(),
        entry_id: "r-1".into(),
        name: name.into(),
        description: None,
        type_name: "Request".into(),
        application_name: "app".into(),
        form_key: None,
        state: DataEntryState::new(ProcessingType::InProgress, "submitted"),
        payload,
        correlations: Default::default(),
        modification: modification("alice", message),
        authorization_changes: auth,
    })
}

fn events_of(command: &DataEntryCommand, given: &[DataEntryEvent]) -> Vec<DataEntryEvent> {
    let mut s = DataEntryAggregate::default();
    given.iter().for_each(|e| s.evolve(e));
    s.decide(command).expect("accepted")
}

#[test]
fn create_appends_first_protocol_entry_and_authorizations() {
    let cmd = upsert(
        "Request 1",
        Some("created"),
        vec![
            AuthorizationChange::AddUser("alice".into()),
            AuthorizationChange::AddGroup("g".into()),
        ],
    );
    let events = events_of(&cmd, &[]);
    let [DataEntryEvent::DataEntryCreated(e)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(e.data_entry.protocol.len(), 1);
    assert_eq!(
        e.data_entry.protocol[0].log_message.as_deref(),
        Some("created")
    );
    assert_eq!(e.data_entry.authorized_users, ["alice".to_string()].into());
    assert_eq!(e.data_entry.authorized_groups, ["g".to_string()].into());
    T::given_no_events()
        .when(&cmd)
        .then_expect_events(events.clone());
}

#[test]
fn update_appends_to_protocol_and_changes_authorizations() {
    let created = events_of(
        &upsert(
            "Request 1",
            Some("created"),
            vec![AuthorizationChange::AddUser("alice".into())],
        ),
        &[],
    );
    let update = upsert(
        "Request 1 (amended)",
        Some("amended"),
        vec![
            AuthorizationChange::RemoveUser("alice".into()),
            AuthorizationChange::AddUser("bob".into()),
        ],
    );
    let events = events_of(&update, &created);
    let [DataEntryEvent::DataEntryUpdated(e)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(e.data_entry.name, "Request 1 (amended)");
    assert_eq!(e.data_entry.authorized_users, ["bob".to_string()].into());
    let mut state = DataEntryAggregate::default();
    created
        .iter()
        .chain(events.iter())
        .for_each(|e| state.evolve(e));
    let entry = state.entry.expect("exists");
    assert_eq!(entry.protocol.len(), 2, "the protocol is append-only");
    assert_eq!(entry.protocol[1].log_message.as_deref(), Some("amended"));
}

#[test]
fn update_with_nothing_new_and_no_message_emits_nothing() {
    let created = events_of(&upsert("Request 1", Some("created"), vec![]), &[]);
    T::given(created)
        .when(&upsert("Request 1", None, vec![]))
        .then_expect_no_events();
}

#[test]
fn delete_and_anonymize_need_an_existing_entry() {
    let delete = DataEntryCommand::DeleteDataEntry(DeleteDataEntry {
        entry_type: "request".into(),
        entry_id: "r-1".into(),
        modification: modification("alice", Some("gone")),
        state: None,
    });
    let anonymize = DataEntryCommand::AnonymizeDataEntry(AnonymizeDataEntry {
        entry_type: "request".into(),
        entry_id: "r-1".into(),
        user: "alice".into(),
        replacement: "***".into(),
        authorization_changes: vec![],
        modification: modification("admin", Some("anonymized")),
    });
    T::given_no_events()
        .when(&delete)
        .then_expect_rejection(RejectionCode::DataEntryNotFound);
    T::given_no_events()
        .when(&anonymize)
        .then_expect_rejection(RejectionCode::DataEntryNotFound);
    let created = events_of(&upsert("Request 1", Some("created"), vec![]), &[]);
    let deleted = events_of(&delete, &created);
    assert!(matches!(
        deleted.as_slice(),
        [DataEntryEvent::DataEntryDeleted(_)]
    ));
    let after_delete: Vec<_> = created.iter().chain(deleted.iter()).cloned().collect();
    T::given(after_delete.clone())
        .when(&delete)
        .then_expect_rejection(RejectionCode::DataEntryDeleted);
    T::given(after_delete.clone())
        .when(&anonymize)
        .then_expect_rejection(RejectionCode::DataEntryDeleted);
    // The lax strategy (the default): an update brings a deleted entry back. (The
    // strict one is the gateway's: it refuses before asking the aggregate.)
    let again = T::given(after_delete.clone())
        .when(&upsert("again", Some("x"), vec![]))
        .then_accepted();
    assert!(
        matches!(again.as_slice(), [DataEntryEvent::DataEntryUpdated(e)] if e.data_entry.name == "again"),
        "{again:?}"
    );
    // Even an update that changes nothing else.
    let same = T::given(after_delete.clone())
        .when(&upsert("Request 1", None, vec![]))
        .then_accepted();
    assert!(matches!(
        same.as_slice(),
        [DataEntryEvent::DataEntryUpdated(_)]
    ));
    let mut state = DataEntryAggregate::default();
    for e in after_delete.iter().chain(again.iter()) {
        state.evolve(e);
    }
    assert!(!state.deleted, "un-deleted");
}

#[test]
fn anonymize_replaces_the_user_in_the_protocol() {
    let created = events_of(
        &upsert(
            "Request 1",
            Some("created"),
            vec![AuthorizationChange::AddUser("alice".into())],
        ),
        &[],
    );
    let anonymize = DataEntryCommand::AnonymizeDataEntry(AnonymizeDataEntry {
        entry_type: "request".into(),
        entry_id: "r-1".into(),
        user: "alice".into(),
        replacement: "anonymous".into(),
        authorization_changes: vec![AuthorizationChange::RemoveUser("alice".into())],
        modification: modification("admin", Some("data protection request")),
    });
    let events = events_of(&anonymize, &created);
    let mut state = DataEntryAggregate::default();
    created
        .iter()
        .chain(events.iter())
        .for_each(|e| state.evolve(e));
    let entry = state.entry.expect("exists");
    assert!(entry
        .protocol
        .iter()
        .all(|p| p.username.as_deref() != Some("alice")));
    assert_eq!(entry.protocol[0].username.as_deref(), Some("anonymous"));
    assert!(entry.authorized_users.is_empty());
    let blank = DataEntryCommand::AnonymizeDataEntry(AnonymizeDataEntry {
        entry_type: "request".into(),
        entry_id: "r-1".into(),
        user: "alice".into(),
        replacement: "".into(),
        authorization_changes: vec![],
        modification: modification("admin", None),
    });
    T::given(created)
        .when(&blank)
        .then_expect_rejection(RejectionCode::InvalidCommand);
}
