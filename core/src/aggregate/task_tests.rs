use std::collections::BTreeSet;

use chrono::{TimeZone, Utc};
use serde_json::json;

use crate::aggregate::TaskAggregate;
use crate::command::*;
use crate::event::*;
use crate::model::{Correlation, Task};
use crate::patch::Patch;
use crate::testing::{fixtures, AggregateTest};
use crate::RejectionCode;

type T = AggregateTest<TaskAggregate>;

fn created(id: &str) -> TaskEvent {
    TaskEvent::TaskCreated(fixtures::task(id, "app"))
}

fn assigned(id: &str, who: &str) -> TaskEvent {
    TaskEvent::TaskAssigned(TaskAssigned {
        id: id.into(),
        assignee: Some(who.into()),
    })
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn all_commands(id: &str) -> Vec<TaskCommand> {
    let user = |u: &str| UserInteraction {
        id: id.into(),
        user: u.into(),
    };
    vec![
        TaskCommand::AssignTask(AssignTask {
            id: id.into(),
            assignee: Some("bob".into()),
        }),
        TaskCommand::UpdateTaskAttributes(UpdateTaskAttributes {
            id: id.into(),
            priority: Some(80),
            ..Default::default()
        }),
        TaskCommand::AddCandidateUsers(CandidateUsers {
            id: id.into(),
            users: set(&["x"]),
        }),
        TaskCommand::DeleteCandidateUsers(CandidateUsers {
            id: id.into(),
            users: set(&["x"]),
        }),
        TaskCommand::AddCandidateGroups(CandidateGroups {
            id: id.into(),
            groups: set(&["g"]),
        }),
        TaskCommand::DeleteCandidateGroups(CandidateGroups {
            id: id.into(),
            groups: set(&["g"]),
        }),
        TaskCommand::CompleteTask(CompleteTask {
            id: id.into(),
            assignee: None,
        }),
        TaskCommand::DeleteTask(DeleteTask {
            id: id.into(),
            delete_reason: None,
        }),
        TaskCommand::ClaimInteraction(user("alice")),
        TaskCommand::UnclaimInteraction(user("alice")),
        TaskCommand::CompleteInteraction(CompleteInteraction {
            id: id.into(),
            user: "alice".into(),
            payload: Default::default(),
        }),
        TaskCommand::DeferInteraction(DeferInteraction {
            id: id.into(),
            user: "alice".into(),
            follow_up_date: Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap(),
        }),
        TaskCommand::UndeferInteraction(user("alice")),
    ]
}

#[test]
fn create_emits_task_created() {
    let task = fixtures::task("t1", "app");
    T::given_no_events()
        .when(&TaskCommand::CreateTask(task.clone()))
        .then_expect_events(vec![TaskEvent::TaskCreated(task)]);
}

#[test]
fn a_create_resent_for_an_existing_task_makes_it_the_task_sent() {
    let mut first = fixtures::task("t1", "app");
    first.assignee = Some("alice".into());
    first.candidate_users = set(&["carol"]);
    first.candidate_groups = set(&["approvers"]);
    let mut sent = first.clone();
    sent.name = "Approve the request again".into();
    sent.assignee = Some("bob".into());
    sent.candidate_users = set(&["dave"]);
    sent.candidate_groups = set(&["approvers", "support"]);
    T::given(vec![TaskEvent::TaskCreated(first)])
        .when(&TaskCommand::CreateTask(sent))
        .then_expect_events(vec![
            TaskEvent::TaskAttributesUpdated(UpdateTaskAttributes {
                id: "t1".into(),
                name: Some("Approve the request again".into()),
                ..Default::default()
            }),
            assigned("t1", "bob"),
            TaskEvent::TaskCandidateUsersAdded(TaskCandidateUsersChanged {
                id: "t1".into(),
                users: set(&["dave"]),
            }),
            TaskEvent::TaskCandidateUsersDeleted(TaskCandidateUsersChanged {
                id: "t1".into(),
                users: set(&["carol"]),
            }),
            TaskEvent::TaskCandidateGroupsAdded(TaskCandidateGroupsChanged {
                id: "t1".into(),
                groups: set(&["support"]),
            }),
        ]);
}

#[test]
fn the_same_create_resent_changes_nothing() {
    T::given(vec![created("t1")])
        .when(&TaskCommand::CreateTask(fixtures::task("t1", "app")))
        .then_expect_no_events();
}

#[test]
fn a_resent_create_clears_what_the_sent_task_lacks() {
    let mut first = fixtures::task("t1", "app");
    first.description = Some("old".into());
    first.follow_up_date = Some(Utc.with_ymd_and_hms(2099, 1, 1, 0, 0, 0).unwrap());
    T::given(vec![TaskEvent::TaskCreated(first)])
        .when(&TaskCommand::CreateTask(fixtures::task("t1", "app")))
        .then_expect_events(vec![TaskEvent::TaskAttributesUpdated(
            UpdateTaskAttributes {
                id: "t1".into(),
                description: Patch::Clear,
                follow_up_date: Patch::Clear,
                ..Default::default()
            },
        )]);
}

#[test]
fn a_create_for_a_completed_task_is_refused_as_completed_which_the_gateway_ignores() {
    let done = TaskEvent::TaskCompleted(TaskCompleted {
        id: "t1".into(),
        assignee: None,
    });
    T::given(vec![created("t1"), done])
        .when(&TaskCommand::CreateTask(fixtures::task("t1", "app")))
        .then_expect_rejection(RejectionCode::TaskCompleted);
}

#[test]
fn create_without_name_or_id_is_invalid() {
    let mut task = fixtures::task("t1", "app");
    task.name = " ".into();
    T::given_no_events()
        .when(&TaskCommand::CreateTask(task))
        .then_expect_rejection(RejectionCode::InvalidCommand);
    let task = fixtures::task("", "app");
    let r = T::given_no_events()
        .when(&TaskCommand::CreateTask(task))
        .then_expect_rejection(RejectionCode::InvalidCommand);
    assert!(r.message.contains("`id`"), "{}", r.message);
}

#[test]
fn every_command_on_a_missing_task_is_rejected() {
    for command in all_commands("nope") {
        T::given_no_events()
            .when(&command)
            .then_expect_rejection(RejectionCode::TaskNotFound);
    }
}

#[test]
fn every_command_on_a_completed_task_is_rejected() {
    let done = TaskEvent::TaskCompleted(TaskCompleted {
        id: "t1".into(),
        assignee: None,
    });
    for command in all_commands("t1") {
        T::given(vec![created("t1"), done.clone()])
            .when(&command)
            .then_expect_rejection(RejectionCode::TaskCompleted);
    }
}

#[test]
fn every_command_on_a_deleted_task_is_rejected() {
    let deleted = TaskEvent::TaskDeleted(TaskDeleted {
        id: "t1".into(),
        delete_reason: None,
    });
    for command in all_commands("t1") {
        T::given(vec![created("t1"), deleted.clone()])
            .when(&command)
            .then_expect_rejection(RejectionCode::TaskDeleted);
    }
}

#[test]
fn assign_emits_assigned() {
    T::given(vec![created("t1")])
        .when(&TaskCommand::AssignTask(AssignTask {
            id: "t1".into(),
            assignee: Some("bob".into()),
        }))
        .then_expect_events(vec![assigned("t1", "bob")]);
}

#[test]
fn assign_to_current_assignee_changes_nothing() {
    T::given(vec![created("t1"), assigned("t1", "bob")])
        .when(&TaskCommand::AssignTask(AssignTask {
            id: "t1".into(),
            assignee: Some("bob".into()),
        }))
        .then_expect_no_events();
}

#[test]
fn unassign_emits_assigned_to_nobody() {
    T::given(vec![created("t1"), assigned("t1", "bob")])
        .when(&TaskCommand::AssignTask(AssignTask {
            id: "t1".into(),
            assignee: None,
        }))
        .then_expect_events(vec![TaskEvent::TaskAssigned(TaskAssigned {
            id: "t1".into(),
            assignee: None,
        })]);
}

#[test]
fn update_emits_only_what_changed() {
    let due = Utc.with_ymd_and_hms(2026, 2, 1, 12, 0, 0).unwrap();
    let mut payload = serde_json::Map::new();
    payload.insert("amount".into(), json!(120));
    let command = UpdateTaskAttributes {
        id: "t1".into(),
        name: Some("Approve request".into()), // unchanged: dropped
        priority: Some(90),
        due_date: Patch::Set(due),
        description: Patch::Clear, // already none: dropped
        business_key: Patch::Set("BK-1".into()),
        payload: Some(payload.clone()),
        correlations: Some([Correlation::new("request", "r-1")].into()),
        ..Default::default()
    };
    T::given(vec![created("t1")])
        .when(&TaskCommand::UpdateTaskAttributes(command))
        .then_expect_events(vec![TaskEvent::TaskAttributesUpdated(
            UpdateTaskAttributes {
                id: "t1".into(),
                priority: Some(90),
                due_date: Patch::Set(due),
                business_key: Patch::Set("BK-1".into()),
                payload: Some(payload),
                correlations: Some([Correlation::new("request", "r-1")].into()),
                ..Default::default()
            },
        )]);
}

#[test]
fn update_that_changes_nothing_emits_nothing() {
    T::given(vec![created("t1")])
        .when(&TaskCommand::UpdateTaskAttributes(UpdateTaskAttributes {
            id: "t1".into(),
            priority: Some(50),
            form_key: Patch::Clear,
            ..Default::default()
        }))
        .then_expect_no_events();
}

#[test]
fn update_clears_a_value() {
    let mut task = fixtures::task("t1", "app");
    task.description = Some("old".into());
    T::given(vec![TaskEvent::TaskCreated(task)])
        .when(&TaskCommand::UpdateTaskAttributes(UpdateTaskAttributes {
            id: "t1".into(),
            description: Patch::Clear,
            ..Default::default()
        }))
        .then_expect_events(vec![TaskEvent::TaskAttributesUpdated(
            UpdateTaskAttributes {
                id: "t1".into(),
                description: Patch::Clear,
                ..Default::default()
            },
        )]);
}

#[test]
fn update_with_empty_name_is_invalid() {
    T::given(vec![created("t1")])
        .when(&TaskCommand::UpdateTaskAttributes(UpdateTaskAttributes {
            id: "t1".into(),
            name: Some("".into()),
            ..Default::default()
        }))
        .then_expect_rejection(RejectionCode::InvalidCommand);
}

#[test]
fn candidate_users_add_only_new_and_delete_only_present() {
    let added = TaskEvent::TaskCandidateUsersAdded(TaskCandidateUsersChanged {
        id: "t1".into(),
        users: set(&["a", "b"]),
    });
    T::given(vec![created("t1")])
        .when(&TaskCommand::AddCandidateUsers(CandidateUsers {
            id: "t1".into(),
            users: set(&["a", "b"]),
        }))
        .then_expect_events(vec![added.clone()]);
    T::given(vec![created("t1"), added.clone()])
        .when(&TaskCommand::AddCandidateUsers(CandidateUsers {
            id: "t1".into(),
            users: set(&["b", "c"]),
        }))
        .then_expect_events(vec![TaskEvent::TaskCandidateUsersAdded(
            TaskCandidateUsersChanged {
                id: "t1".into(),
                users: set(&["c"]),
            },
        )]);
    T::given(vec![created("t1"), added.clone()])
        .when(&TaskCommand::AddCandidateUsers(CandidateUsers {
            id: "t1".into(),
            users: set(&["a"]),
        }))
        .then_expect_no_events();
    T::given(vec![created("t1"), added.clone()])
        .when(&TaskCommand::DeleteCandidateUsers(CandidateUsers {
            id: "t1".into(),
            users: set(&["b", "z"]),
        }))
        .then_expect_events(vec![TaskEvent::TaskCandidateUsersDeleted(
            TaskCandidateUsersChanged {
                id: "t1".into(),
                users: set(&["b"]),
            },
        )]);
    T::given(vec![created("t1")])
        .when(&TaskCommand::DeleteCandidateUsers(CandidateUsers {
            id: "t1".into(),
            users: set(&["z"]),
        }))
        .then_expect_no_events();
}

#[test]
fn candidate_groups_add_only_new_and_delete_only_present() {
    let added = TaskEvent::TaskCandidateGroupsAdded(TaskCandidateGroupsChanged {
        id: "t1".into(),
        groups: set(&["g1"]),
    });
    T::given(vec![created("t1")])
        .when(&TaskCommand::AddCandidateGroups(CandidateGroups {
            id: "t1".into(),
            groups: set(&["g1"]),
        }))
        .then_expect_events(vec![added.clone()]);
    T::given(vec![created("t1"), added.clone()])
        .when(&TaskCommand::AddCandidateGroups(CandidateGroups {
            id: "t1".into(),
            groups: set(&["g1"]),
        }))
        .then_expect_no_events();
    T::given(vec![created("t1"), added.clone()])
        .when(&TaskCommand::DeleteCandidateGroups(CandidateGroups {
            id: "t1".into(),
            groups: set(&["g1", "g2"]),
        }))
        .then_expect_events(vec![TaskEvent::TaskCandidateGroupsDeleted(
            TaskCandidateGroupsChanged {
                id: "t1".into(),
                groups: set(&["g1"]),
            },
        )]);
    T::given(vec![created("t1")])
        .when(&TaskCommand::DeleteCandidateGroups(CandidateGroups {
            id: "t1".into(),
            groups: set(&["g1"]),
        }))
        .then_expect_no_events();
}

#[test]
fn complete_keeps_the_assignee_unless_given() {
    T::given(vec![created("t1"), assigned("t1", "bob")])
        .when(&TaskCommand::CompleteTask(CompleteTask {
            id: "t1".into(),
            assignee: None,
        }))
        .then_expect_events(vec![TaskEvent::TaskCompleted(TaskCompleted {
            id: "t1".into(),
            assignee: Some("bob".into()),
        })]);
    T::given(vec![created("t1")])
        .when(&TaskCommand::CompleteTask(CompleteTask {
            id: "t1".into(),
            assignee: Some("carol".into()),
        }))
        .then_expect_events(vec![TaskEvent::TaskCompleted(TaskCompleted {
            id: "t1".into(),
            assignee: Some("carol".into()),
        })]);
}

#[test]
fn delete_emits_deleted_with_reason() {
    T::given(vec![created("t1")])
        .when(&TaskCommand::DeleteTask(DeleteTask {
            id: "t1".into(),
            delete_reason: Some("cancelled".into()),
        }))
        .then_expect_events(vec![TaskEvent::TaskDeleted(TaskDeleted {
            id: "t1".into(),
            delete_reason: Some("cancelled".into()),
        })]);
}

fn request(user: &str) -> TaskInteractionRequested {
    TaskInteractionRequested {
        id: "t1".into(),
        user: user.into(),
        application_name: "app".into(),
        payload: None,
        follow_up_date: None,
        assignee: None,
    }
}

#[test]
fn claim_of_an_unassigned_task_is_requested_from_the_engine() {
    T::given(vec![created("t1")])
        .when(&TaskCommand::ClaimInteraction(UserInteraction {
            id: "t1".into(),
            user: "alice".into(),
        }))
        .then_expect_events(vec![TaskEvent::TaskClaimRequested(request("alice"))]);
}

#[test]
fn claim_does_not_change_the_task_until_the_engine_confirms() {
    let mut state = TaskAggregate::default();
    crate::aggregate::Aggregate::evolve(&mut state, &created("t1"));
    crate::aggregate::Aggregate::evolve(
        &mut state,
        &TaskEvent::TaskClaimRequested(request("alice")),
    );
    assert_eq!(
        state.task.as_ref().and_then(|t: &Task| t.assignee.clone()),
        None
    );
}

#[test]
fn claim_of_own_task_changes_nothing_and_of_anothers_is_rejected() {
    T::given(vec![created("t1"), assigned("t1", "alice")])
        .when(&TaskCommand::ClaimInteraction(UserInteraction {
            id: "t1".into(),
            user: "alice".into(),
        }))
        .then_expect_no_events();
    T::given(vec![created("t1"), assigned("t1", "bob")])
        .when(&TaskCommand::ClaimInteraction(UserInteraction {
            id: "t1".into(),
            user: "alice".into(),
        }))
        .then_expect_rejection(RejectionCode::TaskAssignedToOtherUser);
}

#[test]
fn claim_without_user_is_invalid() {
    T::given(vec![created("t1")])
        .when(&TaskCommand::ClaimInteraction(UserInteraction {
            id: "t1".into(),
            user: "".into(),
        }))
        .then_expect_rejection(RejectionCode::InvalidCommand);
}

#[test]
fn unclaim_rules() {
    T::given(vec![created("t1"), assigned("t1", "alice")])
        .when(&TaskCommand::UnclaimInteraction(UserInteraction {
            id: "t1".into(),
            user: "alice".into(),
        }))
        .then_expect_events(vec![TaskEvent::TaskUnclaimRequested(request("alice"))]);
    T::given(vec![created("t1")])
        .when(&TaskCommand::UnclaimInteraction(UserInteraction {
            id: "t1".into(),
            user: "alice".into(),
        }))
        .then_expect_no_events();
    T::given(vec![created("t1"), assigned("t1", "bob")])
        .when(&TaskCommand::UnclaimInteraction(UserInteraction {
            id: "t1".into(),
            user: "alice".into(),
        }))
        .then_expect_rejection(RejectionCode::TaskNotAssignedToUser);
}

#[test]
fn complete_interaction_rules() {
    let mut payload = serde_json::Map::new();
    payload.insert("approved".into(), json!(true));
    let command = TaskCommand::CompleteInteraction(CompleteInteraction {
        id: "t1".into(),
        user: "alice".into(),
        payload: payload.clone(),
    });
    let expected = TaskEvent::TaskCompleteRequested(TaskInteractionRequested {
        payload: Some(payload),
        ..request("alice")
    });
    T::given(vec![created("t1"), assigned("t1", "alice")])
        .when(&command)
        .then_expect_events(vec![expected.clone()]);
    T::given(vec![created("t1")])
        .when(&command)
        .then_expect_events(vec![expected]);
    T::given(vec![created("t1"), assigned("t1", "bob")])
        .when(&command)
        .then_expect_rejection(RejectionCode::TaskAssignedToOtherUser);
}

#[test]
fn defer_and_undefer_rules() {
    let until = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
    let defer = TaskCommand::DeferInteraction(DeferInteraction {
        id: "t1".into(),
        user: "alice".into(),
        follow_up_date: until,
    });
    T::given(vec![created("t1")])
        .when(&defer)
        .then_expect_events(vec![TaskEvent::TaskDeferRequested(
            TaskInteractionRequested {
                follow_up_date: Some(until),
                ..request("alice")
            },
        )]);
    let deferred = TaskEvent::TaskAttributesUpdated(UpdateTaskAttributes {
        id: "t1".into(),
        follow_up_date: Patch::Set(until),
        ..Default::default()
    });
    T::given(vec![created("t1"), deferred.clone()])
        .when(&defer)
        .then_expect_no_events();
    let undefer = TaskCommand::UndeferInteraction(UserInteraction {
        id: "t1".into(),
        user: "alice".into(),
    });
    T::given(vec![created("t1"), deferred])
        .when(&undefer)
        .then_expect_events(vec![TaskEvent::TaskUndeferRequested(request("alice"))]);
    T::given(vec![created("t1")])
        .when(&undefer)
        .then_expect_no_events();
    // Claimed by bob: alice, a candidate, may not defer it out of his sight, nor undefer.
    T::given(vec![created("t1"), assigned("t1", "bob")])
        .when(&defer)
        .then_expect_rejection(RejectionCode::TaskAssignedToOtherUser);
    T::given(vec![
        created("t1"),
        assigned("t1", "bob"),
        deferred_again(until),
    ])
    .when(&undefer)
    .then_expect_rejection(RejectionCode::TaskAssignedToOtherUser);
    // Her own: she may.
    T::given(vec![created("t1"), assigned("t1", "alice")])
        .when(&defer)
        .then_expect_events(vec![TaskEvent::TaskDeferRequested(
            TaskInteractionRequested {
                follow_up_date: Some(until),
                ..request("alice")
            },
        )]);
}

fn deferred_again(until: chrono::DateTime<Utc>) -> TaskEvent {
    TaskEvent::TaskAttributesUpdated(UpdateTaskAttributes {
        id: "t1".into(),
        follow_up_date: Patch::Set(until),
        ..Default::default()
    })
}

#[test]
fn only_the_assignee_gives_a_task_on_and_the_engine_is_asked() {
    let assign = |user: &str, to: &str| {
        TaskCommand::AssignInteraction(crate::command::AssignInteraction {
            id: "t1".into(),
            user: user.into(),
            assignee: to.into(),
        })
    };
    let assigned_to_alice = || {
        T::given(vec![
            TaskEvent::TaskCreated(fixtures::task("t1", "app")),
            TaskEvent::TaskAssigned(TaskAssigned {
                id: "t1".into(),
                assignee: Some("alice".into()),
            }),
        ])
    };
    assigned_to_alice()
        .when(&assign("alice", "bob"))
        .then_expect_events(vec![TaskEvent::TaskAssignRequested(
            TaskInteractionRequested {
                assignee: Some("bob".into()),
                ..request("alice")
            },
        )]);
    assigned_to_alice()
        .when(&assign("bob", "bob"))
        .then_expect_rejection(RejectionCode::TaskNotAssignedToUser);
    assigned_to_alice()
        .when(&assign("alice", "alice"))
        .then_expect_no_events();
    assigned_to_alice()
        .when(&assign("alice", " "))
        .then_expect_rejection(RejectionCode::InvalidCommand);
    T::given(vec![TaskEvent::TaskCreated(fixtures::task("t1", "app"))])
        .when(&assign("alice", "bob"))
        .then_expect_rejection(RejectionCode::TaskNotAssignedToUser);
}
