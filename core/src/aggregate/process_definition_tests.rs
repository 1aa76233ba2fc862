use crate::aggregate::ProcessDefinitionAggregate;
use crate::command::ProcessDefinitionCommand;
use crate::event::ProcessDefinitionEvent;
use crate::model::ProcessDefinition;
use crate::testing::AggregateTest;
use crate::RejectionCode;

type T = AggregateTest<ProcessDefinitionAggregate>;

fn definition() -> ProcessDefinition {
    ProcessDefinition {
        id: "approve:1:1".into(),
        key: "approve".into(),
        version: 1,
        application_name: "app".into(),
        name: "Approve request".into(),
        description: None,
        start_form_key: Some("start-approve".into()),
        candidate_starter_users: Default::default(),
        candidate_starter_groups: ["clerks".to_string()].into(),
        startable_from_tasklist: true,
        forms: Default::default(),
        diagram: None,
    }
}

#[test]
fn register_is_idempotent_and_reregisters_changes() {
    let registered = ProcessDefinitionEvent::ProcessDefinitionRegistered(definition());
    T::given_no_events()
        .when(&ProcessDefinitionCommand::RegisterProcessDefinition(
            definition(),
        ))
        .then_expect_events(vec![registered.clone()]);
    T::given(vec![registered.clone()])
        .when(&ProcessDefinitionCommand::RegisterProcessDefinition(
            definition(),
        ))
        .then_expect_no_events();
    let changed = ProcessDefinition {
        startable_from_tasklist: false,
        ..definition()
    };
    T::given(vec![registered])
        .when(&ProcessDefinitionCommand::RegisterProcessDefinition(
            changed.clone(),
        ))
        .then_expect_events(vec![ProcessDefinitionEvent::ProcessDefinitionRegistered(
            changed,
        )]);
}

#[test]
fn register_without_key_is_invalid() {
    T::given_no_events()
        .when(&ProcessDefinitionCommand::RegisterProcessDefinition(
            ProcessDefinition {
                key: "".into(),
                ..definition()
            },
        ))
        .then_expect_rejection(RejectionCode::InvalidCommand);
}

#[test]
fn a_form_must_be_a_form_js_schema() {
    let mut forms = std::collections::BTreeMap::new();
    forms.insert(
        "start-approve".to_string(),
        serde_json::json!({"title": "no components"})
            .as_object()
            .cloned()
            .expect("object"),
    );
    T::given_no_events()
        .when(&ProcessDefinitionCommand::RegisterProcessDefinition(
            ProcessDefinition {
                forms,
                ..definition()
            },
        ))
        .then_expect_rejection(RejectionCode::InvalidCommand);
}

fn start(user: &str) -> ProcessDefinitionCommand {
    ProcessDefinitionCommand::StartProcessInteraction(crate::command::StartInteraction {
        definition_id: "approve:1:1".into(),
        user: user.into(),
        values: serde_json::json!({"subject": "Laptop"})
            .as_object()
            .cloned()
            .expect("object"),
        business_key: None,
    })
}

#[test]
fn a_start_request_names_the_owning_application_and_changes_nothing_else() {
    T::given(vec![ProcessDefinitionEvent::ProcessDefinitionRegistered(
        definition(),
    )])
    .when(&start("alice"))
    .then_expect_events(vec![ProcessDefinitionEvent::ProcessStartRequested(
        crate::event::ProcessStartRequested {
            definition_id: "approve:1:1".into(),
            user: "alice".into(),
            application_name: "app".into(),
            values: serde_json::json!({"subject": "Laptop"})
                .as_object()
                .cloned()
                .expect("object"),
            business_key: None,
        },
    )]);
}

#[test]
fn a_start_of_an_unknown_or_unstartable_definition_is_refused() {
    T::given_no_events()
        .when(&start("alice"))
        .then_expect_rejection(RejectionCode::ProcessDefinitionNotFound);
    T::given(vec![ProcessDefinitionEvent::ProcessDefinitionRegistered(
        ProcessDefinition {
            startable_from_tasklist: false,
            ..definition()
        },
    )])
    .when(&start("alice"))
    .then_expect_rejection(RejectionCode::ProcessDefinitionNotStartable);
    T::given(vec![ProcessDefinitionEvent::ProcessDefinitionRegistered(
        definition(),
    )])
    .when(&start(" "))
    .then_expect_rejection(RejectionCode::InvalidCommand);
}
