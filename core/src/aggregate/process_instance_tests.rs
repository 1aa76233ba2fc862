use serde_json::json;

use crate::aggregate::ProcessInstanceAggregate;
use crate::command::*;
use crate::event::ProcessInstanceEvent as E;
use crate::testing::AggregateTest;
use crate::RejectionCode;

type T = AggregateTest<ProcessInstanceAggregate>;
type C = ProcessInstanceCommand;

fn start() -> StartProcessInstance {
    StartProcessInstance {
        instance_id: "pi-1".into(),
        definition_id: "approve:1:1".into(),
        definition_key: "approve".into(),
        application_name: "app".into(),
        name: Some("Approve request".into()),
        business_key: Some("BK-1".into()),
        started_by: Some("alice".into()),
    }
}

fn tr() -> ProcessInstanceTransition {
    ProcessInstanceTransition {
        instance_id: "pi-1".into(),
        reason: None,
    }
}

fn vars(changes: Vec<VariableChange>) -> ChangeProcessVariables {
    ChangeProcessVariables {
        instance_id: "pi-1".into(),
        changes,
    }
}

#[test]
fn lifecycle() {
    T::given_no_events()
        .when(&C::StartProcessInstance(start()))
        .then_expect_events(vec![E::ProcessInstanceStarted(start())]);
    T::given(vec![E::ProcessInstanceStarted(start())])
        .when(&C::StartProcessInstance(start()))
        .then_expect_rejection(RejectionCode::ProcessInstanceAlreadyExists);
    T::given(vec![E::ProcessInstanceStarted(start())])
        .when(&C::SuspendProcessInstance(tr()))
        .then_expect_events(vec![E::ProcessInstanceSuspended(tr())]);
    T::given(vec![E::ProcessInstanceStarted(start())])
        .when(&C::ResumeProcessInstance(tr()))
        .then_expect_no_events();
    T::given(vec![
        E::ProcessInstanceStarted(start()),
        E::ProcessInstanceSuspended(tr()),
    ])
    .when(&C::SuspendProcessInstance(tr()))
    .then_expect_no_events();
    T::given(vec![
        E::ProcessInstanceStarted(start()),
        E::ProcessInstanceSuspended(tr()),
    ])
    .when(&C::ResumeProcessInstance(tr()))
    .then_expect_events(vec![E::ProcessInstanceResumed(tr())]);
    T::given(vec![E::ProcessInstanceStarted(start())])
        .when(&C::FinishProcessInstance(tr()))
        .then_expect_events(vec![E::ProcessInstanceFinished(tr())]);
    T::given(vec![E::ProcessInstanceStarted(start())])
        .when(&C::CancelProcessInstance(tr()))
        .then_expect_events(vec![E::ProcessInstanceCancelled(tr())]);
}

#[test]
fn commands_on_missing_or_ended_instances_are_rejected() {
    for c in [
        C::FinishProcessInstance(tr()),
        C::CancelProcessInstance(tr()),
        C::SuspendProcessInstance(tr()),
        C::ResumeProcessInstance(tr()),
        C::ChangeProcessVariables(vars(vec![])),
    ] {
        T::given_no_events()
            .when(&c)
            .then_expect_rejection(RejectionCode::ProcessInstanceNotFound);
        T::given(vec![
            E::ProcessInstanceStarted(start()),
            E::ProcessInstanceFinished(tr()),
        ])
        .when(&c)
        .then_expect_rejection(RejectionCode::ProcessInstanceEnded);
        T::given(vec![
            E::ProcessInstanceStarted(start()),
            E::ProcessInstanceCancelled(tr()),
        ])
        .when(&c)
        .then_expect_rejection(RejectionCode::ProcessInstanceEnded);
    }
}

#[test]
fn variable_changes() {
    let started = E::ProcessInstanceStarted(start());
    let create = VariableChange::Create {
        name: "amount".into(),
        value: json!(10),
    };
    let created = E::ProcessVariablesChanged(vars(vec![create.clone()]));
    T::given(vec![started.clone()])
        .when(&C::ChangeProcessVariables(vars(vec![create.clone()])))
        .then_expect_events(vec![created.clone()]);
    T::given(vec![started.clone(), created.clone()])
        .when(&C::ChangeProcessVariables(vars(vec![create.clone()])))
        .then_expect_rejection(RejectionCode::ProcessVariableAlreadyExists);
    let update_same = VariableChange::Update {
        name: "amount".into(),
        value: json!(10),
    };
    T::given(vec![started.clone(), created.clone()])
        .when(&C::ChangeProcessVariables(vars(vec![update_same])))
        .then_expect_no_events();
    let update = VariableChange::Update {
        name: "amount".into(),
        value: json!(20),
    };
    T::given(vec![started.clone(), created.clone()])
        .when(&C::ChangeProcessVariables(vars(vec![update.clone()])))
        .then_expect_events(vec![E::ProcessVariablesChanged(vars(vec![update.clone()]))]);
    T::given(vec![started.clone()])
        .when(&C::ChangeProcessVariables(vars(vec![update])))
        .then_expect_rejection(RejectionCode::ProcessVariableNotFound);
    let delete = VariableChange::Delete {
        name: "amount".into(),
    };
    T::given(vec![started.clone()])
        .when(&C::ChangeProcessVariables(vars(vec![delete.clone()])))
        .then_expect_rejection(RejectionCode::ProcessVariableNotFound);
    // Create then delete in one change set: both stand, checked in order.
    T::given(vec![started])
        .when(&C::ChangeProcessVariables(vars(vec![
            create.clone(),
            delete.clone(),
        ])))
        .then_expect_events(vec![E::ProcessVariablesChanged(vars(vec![create, delete]))]);
}
