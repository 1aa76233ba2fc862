use std::collections::BTreeSet;

use taskpool_core::command::*;
use taskpool_core::patch::Patch;
use taskpool_core::testing::fixtures;

use super::*;

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}
fn create(id: &str) -> TaskCommand {
    TaskCommand::CreateTask(fixtures::task(id, "app"))
}
fn assign(id: &str, who: Option<&str>) -> TaskCommand {
    TaskCommand::AssignTask(AssignTask {
        id: id.into(),
        assignee: who.map(String::from),
    })
}
fn add_users(id: &str, u: &[&str]) -> TaskCommand {
    TaskCommand::AddCandidateUsers(CandidateUsers {
        id: id.into(),
        users: set(u),
    })
}
fn del_users(id: &str, u: &[&str]) -> TaskCommand {
    TaskCommand::DeleteCandidateUsers(CandidateUsers {
        id: id.into(),
        users: set(u),
    })
}
fn add_groups(id: &str, g: &[&str]) -> TaskCommand {
    TaskCommand::AddCandidateGroups(CandidateGroups {
        id: id.into(),
        groups: set(g),
    })
}
fn del_groups(id: &str, g: &[&str]) -> TaskCommand {
    TaskCommand::DeleteCandidateGroups(CandidateGroups {
        id: id.into(),
        groups: set(g),
    })
}
fn priority(id: &str, p: i32) -> TaskCommand {
    TaskCommand::UpdateTaskAttributes(UpdateTaskAttributes {
        id: id.into(),
        priority: Some(p),
        ..Default::default()
    })
}
fn key(id: &str, k: &str) -> TaskCommand {
    TaskCommand::UpdateTaskAttributes(UpdateTaskAttributes {
        id: id.into(),
        business_key: Patch::Set(k.into()),
        ..Default::default()
    })
}
fn complete(id: &str) -> TaskCommand {
    TaskCommand::CompleteTask(CompleteTask {
        id: id.into(),
        assignee: None,
    })
}
fn delete(id: &str) -> TaskCommand {
    TaskCommand::DeleteTask(DeleteTask {
        id: id.into(),
        delete_reason: None,
    })
}

fn project(c: Vec<TaskCommand>) -> Vec<TaskCommand> {
    AccumulatorKind::Projecting.accumulate(c)
}

#[test]
fn direct_keeps_everything_in_order() {
    let c = vec![priority("t", 1), assign("t", Some("a")), create("t")];
    assert_eq!(AccumulatorKind::Direct.accumulate(c.clone()), c);
}

#[test]
fn sorting_orders_create_complete_delete_assign_candidates_update() {
    let c = vec![
        priority("t", 1),
        add_users("t", &["u"]),
        assign("t", Some("a")),
        delete("t"),
        complete("t"),
        create("t"),
    ];
    let sorted = AccumulatorKind::Sorting.accumulate(c);
    let kinds: Vec<_> = sorted.iter().map(|c| c.type_name()).collect();
    assert_eq!(
        kinds,
        vec![
            "createTask",
            "completeTask",
            "deleteTask",
            "assignTask",
            "addCandidateUsers",
            "updateTaskAttributes"
        ]
    );
}

#[test]
fn create_absorbs_assign_candidates_and_updates() {
    let out = project(vec![
        create("t"),
        assign("t", Some("bob")),
        add_users("t", &["u1", "u2"]),
        del_users("t", &["u2"]),
        add_groups("t", &["g"]),
        priority("t", 80),
        key("t", "BK"),
    ]);
    let mut expected = fixtures::task("t", "app");
    expected.assignee = Some("bob".into());
    expected.candidate_users = set(&["u1"]);
    expected.candidate_groups = set(&["g"]);
    expected.priority = 80;
    expected.business_key = Some("BK".into());
    assert_eq!(out, vec![TaskCommand::CreateTask(expected)]);
}

#[test]
fn create_and_complete_in_one_transaction_send_both() {
    let out = project(vec![create("t"), assign("t", Some("bob")), complete("t")]);
    let mut expected = fixtures::task("t", "app");
    expected.assignee = Some("bob".into());
    assert_eq!(out, vec![TaskCommand::CreateTask(expected), complete("t")]);
}

#[test]
fn create_and_delete_in_one_transaction_send_both() {
    let out = project(vec![create("t"), priority("t", 1), delete("t")]);
    let mut expected = fixtures::task("t", "app");
    expected.priority = 1;
    assert_eq!(out, vec![TaskCommand::CreateTask(expected), delete("t")]);
}

#[test]
fn assign_absorbs_candidate_user_changes_but_not_group_changes() {
    let out = project(vec![
        add_users("t", &["u"]),
        assign("t", Some("bob")),
        add_groups("t", &["g"]),
    ]);
    assert_eq!(out, vec![assign("t", Some("bob")), add_groups("t", &["g"])]);
}

#[test]
fn several_assigns_collapse_to_the_last() {
    assert_eq!(
        project(vec![
            assign("t", Some("a")),
            assign("t", Some("b")),
            assign("t", None)
        ]),
        vec![assign("t", None)]
    );
}

#[test]
fn complete_absorbs_an_assign() {
    let out = project(vec![
        assign("t", Some("carol")),
        priority("t", 3),
        complete("t"),
    ]);
    assert_eq!(
        out,
        vec![TaskCommand::CompleteTask(CompleteTask {
            id: "t".into(),
            assignee: Some("carol".into())
        })]
    );
}

#[test]
fn delete_makes_other_changes_moot() {
    assert_eq!(
        project(vec![assign("t", Some("a")), priority("t", 3), delete("t")]),
        vec![delete("t")]
    );
}

#[test]
fn candidate_adds_union_and_deletes_subtract() {
    let out = project(vec![
        add_groups("t", &["a", "b"]),
        add_groups("t", &["c"]),
        del_groups("t", &["b", "x"]),
        add_groups("t", &["x"]),
    ]);
    assert_eq!(
        out,
        vec![add_groups("t", &["a", "c", "x"]), del_groups("t", &["b"])]
    );
    let out = project(vec![add_users("t", &["u1"]), del_users("t", &["u1"])]);
    assert_eq!(
        out,
        vec![del_users("t", &["u1"])],
        "the later delete wins over the add"
    );
}

#[test]
fn attribute_updates_merge_later_value_winning() {
    let out = project(vec![priority("t", 1), key("t", "A"), priority("t", 2)]);
    assert_eq!(
        out,
        vec![TaskCommand::UpdateTaskAttributes(UpdateTaskAttributes {
            id: "t".into(),
            priority: Some(2),
            business_key: Patch::Set("A".into()),
            ..Default::default()
        })]
    );
}

#[test]
fn thirty_mixed_events_for_five_tasks_reduce_to_the_minimal_commands() {
    let c = vec![
        create("t1"),
        add_groups("t2", &["g"]),
        assign("t1", Some("a")),
        priority("t3", 10),
        create("t4"),
        add_users("t1", &["u"]),
        assign("t2", Some("b")),
        key("t3", "K"),
        add_groups("t4", &["g1"]),
        delete("t5"),
        priority("t1", 70),
        add_users("t2", &["x"]),
        priority("t3", 20),
        del_groups("t4", &["g1"]),
        assign("t5", Some("z")),
        complete("t1"),
        assign("t3", Some("c")),
        add_groups("t4", &["g2"]),
        priority("t5", 1),
        add_users("t3", &["v"]),
        assign("t2", Some("d")),
        priority("t4", 99),
        del_users("t3", &["w"]),
        assign("t4", Some("e")),
        key("t5", "Z"),
        priority("t2", 5),
        add_groups("t3", &["h"]),
        complete("t2"),
        key("t4", "K4"),
        add_users("t5", &["q"]),
    ];
    assert_eq!(c.len(), 30);
    let out = project(c);
    let mut t1 = fixtures::task("t1", "app");
    t1.assignee = Some("a".into());
    t1.candidate_users = set(&["u"]);
    t1.priority = 70;
    let mut t4 = fixtures::task("t4", "app");
    t4.candidate_groups = set(&["g2"]);
    t4.priority = 99;
    t4.assignee = Some("e".into());
    t4.business_key = Some("K4".into());
    let expected = vec![
        // t1: create absorbs assign, users, priority; complete stays.
        TaskCommand::CreateTask(t1),
        complete("t1"),
        // t2: complete absorbs the last assign; candidates and update are moot.
        TaskCommand::CompleteTask(CompleteTask {
            id: "t2".into(),
            assignee: Some("d".into()),
        }),
        // t3: assign absorbs candidate users; groups and merged update stay.
        assign("t3", Some("c")),
        add_groups("t3", &["h"]),
        TaskCommand::UpdateTaskAttributes(UpdateTaskAttributes {
            id: "t3".into(),
            priority: Some(20),
            business_key: Patch::Set("K".into()),
            ..Default::default()
        }),
        // t4: everything folded into the create.
        TaskCommand::CreateTask(t4),
        // t5: delete only.
        delete("t5"),
    ];
    assert_eq!(out, expected);
}
