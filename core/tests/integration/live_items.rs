//! Live items are exact per position, proven on random histories:
//! - the in-memory evaluator of a task query agrees with its SQL on random tasks,
//!   data entries and filters (valid or not);
//! - on random command sequences and random subscribers (filtered or not), the snapshot
//!   plus the items so far equals a fresh query after every command, each item's kind is
//!   the difference it makes, and its body is the task as it was at its position; the
//!   same with random disconnects and resumes, some after more than a batch (1,000) of
//!   changes the subscriber cannot see.

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use serde_json::json;
use taskpool_core::command::*;
use taskpool_core::live::{LiveItem, Subscription};
use taskpool_core::model::*;
use taskpool_core::patch::Patch;
use taskpool_core::query::{
    self, Deferred, Filter, MemoryQuery, Paging, QueryError, TaskQuery, Viewer,
};
use taskpool_core::{BatchMode, Command, CommandContext};

use crate::query_side::{payload, set, task, update, Pool};

const IDS: &[&str] = &["t0", "t1", "t2", "t3", "t4"];
const USERS: &[&str] = &["alice", "bob", "carol"];
const GROUPS: &[&str] = &["approvers", "support"];
/// Texts for names, keys and payload strings: ASCII, accents (composed and not), other
/// scripts, punctuation, and what a LIKE pattern or a FTS query would take specially.
const TEXTS: &[&str] = &[
    "Invoice 42",
    "invoice",
    "Müller GmbH",
    "Mu\u{308}ller",
    "MÜLLER-Lüdenscheid",
    "Straße",
    "Ελλάδα",
    "Москва",
    "100% _done_",
    "a\\b",
    "\"quoted\" * OR NOT",
    "order#7",
    "",
    "Zebra",
    "ärger",
    "İstanbul",
];

fn text() -> impl Strategy<Value = String> {
    prop::sample::select(TEXTS).prop_map(String::from)
}

fn date() -> impl Strategy<Value = chrono::DateTime<Utc>> {
    prop::sample::select(vec![
        Utc.with_ymd_and_hms(2026, 1, 1, 9, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2099, 1, 1, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2020, 6, 15, 12, 30, 0).unwrap(),
    ])
}

fn some_payload() -> impl Strategy<Value = Payload> {
    (
        prop::option::of(prop_oneof![
            (-5i64..2000).prop_map(|n| json!(n)),
            (0.0f64..1000.0).prop_map(|n| json!(n)),
            text().prop_map(|t| json!(t)),
        ]),
        prop::option::of(text()),
        prop::collection::vec(text(), 0..3),
        prop::option::of(any::<bool>()),
        prop::option::of((0i64..100, text())),
    )
        .prop_map(|(amount, customer, tags, urgent, nested)| {
            let mut p = serde_json::Map::new();
            if let Some(a) = amount {
                p.insert("amount".into(), a);
            }
            if let Some(c) = customer {
                p.insert("customer".into(), json!(c));
            }
            if !tags.is_empty() {
                p.insert("tags".into(), json!(tags));
            }
            if let Some(u) = urgent {
                p.insert("urgent".into(), json!(u));
            }
            if let Some((n, t)) = nested {
                p.insert("order".into(), json!({"lines": n, "city": t}));
            }
            payload(serde_json::Value::Object(p))
        })
}

fn some_task(id: &'static str) -> impl Strategy<Value = Task> {
    (
        (
            text(),
            prop::option::of(text()),
            prop::option::of(text()),
            prop::option::of(prop::sample::select(USERS)),
            prop::sample::subsequence(USERS, 0..2),
            prop::sample::subsequence(GROUPS, 0..2),
            prop::option::weighted(0.3, prop::sample::select(USERS)),
        ),
        (
            0i32..100,
            prop::option::of(date()),
            prop::option::of(date()),
            some_payload(),
            prop::sample::subsequence(vec!["e0", "e1", "e2"], 0..3),
            prop::option::of(text()),
        ),
    )
        .prop_map(
            move |(
                (name, description, business_key, assignee, users, groups, owner),
                (priority, due, follow_up, payload, correlated, form_key),
            )| {
                let mut t = taskpool_core::testing::fixtures::task(id, "app");
                t.name = if name.is_empty() { "Task".into() } else { name };
                t.description = description;
                t.business_key = business_key;
                t.form_key = form_key;
                t.assignee = assignee.map(String::from);
                t.owner = owner.map(String::from);
                t.candidate_users = users.into_iter().map(String::from).collect();
                t.candidate_groups = groups.into_iter().map(String::from).collect();
                t.priority = priority;
                t.due_date = due;
                t.follow_up_date = follow_up;
                t.payload = payload;
                t.correlations = correlated
                    .into_iter()
                    .map(|e| Correlation {
                        entry_type: "request".into(),
                        entry_id: e.into(),
                    })
                    .collect();
                t
            },
        )
}

fn entry(id: &str, name: String, state: &str, deleted: bool) -> Vec<Command> {
    let modification = Modification {
        time: Utc.with_ymd_and_hms(2026, 1, 1, 9, 0, 0).unwrap(),
        username: Some("alice".into()),
        log_message: None,
        log_notes: None,
    };
    let mut commands = vec![
        DataEntryCommand::CreateOrUpdateDataEntry(CreateOrUpdateDataEntry {
            entry_type: "request".into(),
            entry_id: id.into(),
            name,
            description: None,
            type_name: "Request".into(),
            application_name: "app".into(),
            form_key: None,
            state: DataEntryState::new(ProcessingType::InProgress, state),
            payload: Payload::new(),
            correlations: Default::default(),
            modification: modification.clone(),
            authorization_changes: vec![AuthorizationChange::AddUser("alice".into())],
        })
        .into(),
    ];
    if deleted {
        commands.push(
            DataEntryCommand::DeleteDataEntry(DeleteDataEntry {
                entry_type: "request".into(),
                entry_id: id.into(),
                modification,
                state: None,
            })
            .into(),
        );
    }
    commands
}

/// A filter of one to three clauses, over every kind of field, with values that fit or
/// do not fit the field (a wrong value must be refused the same way by both).
fn some_filter() -> impl Strategy<Value = String> {
    let field = prop::sample::select(vec![
        "task.name",
        "task.description",
        "task.businessKey",
        "task.formKey",
        "task.priority",
        "task.assignee",
        "task.owner",
        "task.createTime",
        "task.dueDate",
        "task.followUp",
        "task.candidateUser",
        "task.candidateGroup",
        "task.id",
        "data.name",
        "data.state",
        "data.entryId",
        "amount",
        "customer",
        "tags",
        "urgent",
        "order.lines",
        "order.city",
        "task.nope",
    ]);
    let value = prop_oneof![
        3 => text(),
        1 => prop::sample::select(USERS).prop_map(String::from),
        1 => prop::sample::select(GROUPS).prop_map(String::from),
        1 => (-5i64..2000).prop_map(|n| n.to_string()),
        2 => prop::sample::select(vec![
            "2026-02-01",
            "2026-03-01T00:00:00Z",
            "2099-01-01",
            "e1",
            "open",
            "true",
            "50",
            "Mü",
            "gmbh",
            "t2",
            "voice",
            "a",
            "5",
            "%",
            "_",
        ])
        .prop_map(String::from),
    ];
    let quote = |v: &str| format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""));
    let clause = (
        field,
        prop::sample::select(vec![
            "=", "!=", "!=", "<", "<=", ">", ">=", "~", "~", "~", "in", "between",
        ]),
        value.clone(),
        value,
    )
        .prop_map(move |(field, op, a, b)| match op {
            "in" => format!("{field} in ({}, {})", quote(&a), quote(&b)),
            "between" => format!("{field} between {} and {}", quote(&a), quote(&b)),
            op => format!("{field} {op} {}", quote(&a)),
        });
    prop::collection::vec(clause, 1..3).prop_map(|c| c.join(" and "))
}

fn viewer() -> impl Strategy<Value = Viewer> {
    prop_oneof![
        1 => Just(Viewer::user("alice", &["approvers"])),
        1 => Just(Viewer::user("bob", &["support"])),
        1 => Just(Viewer::user("carol", &[])),
        3 => Just(Viewer::Admin),
    ]
}

fn deferred() -> impl Strategy<Value = Deferred> {
    prop::sample::select(vec![Deferred::Exclude, Deferred::Include, Deferred::Only])
}

fn all_of(mut q: TaskQuery) -> TaskQuery {
    q.paging = Paging::Offset {
        offset: 0,
        limit: query::MAX_PAGE,
    };
    q
}

/// The tasks a fresh query returns, by id.
fn fresh(pool: &Pool, q: &TaskQuery) -> BTreeMap<String, Task> {
    let mut q = all_of(q.clone());
    q.now = Utc::now();
    query::tasks(&pool.view.connect().expect("conn"), &q)
        .expect("query")
        .tasks
        .into_iter()
        .map(|t| (t.id.clone(), t))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_memory_evaluator_agrees_with_the_sql(
        tasks in (some_task("t0"), some_task("t1"), some_task("t2"), some_task("t3"), some_task("t4")),
        entries in prop::collection::vec((text(), prop::sample::select(vec!["open", "done"]), any::<bool>()), 3),
        filters in prop::collection::vec(some_filter(), 1..16),
        search in prop::option::weighted(0.25, prop_oneof![
            text(),
            prop::sample::select(vec!["inv", "Mü", "mull", "ZEB", "stra", "4", "gmbh mü", "москв", "ελλα"]).prop_map(String::from),
        ]),
        viewer in viewer(),
        deferred in deferred(),
        (assigned_to_me, claimable_only, involvements_only) in (prop::bool::weighted(0.2), prop::bool::weighted(0.2), prop::bool::weighted(0.2)),
    ) {
        let mut pool = Pool::new();
        for (i, (name, state, deleted)) in entries.into_iter().enumerate() {
            pool.send(entry(&format!("e{i}"), name, state, deleted));
        }
        let (t0, t1, t2, t3, t4) = tasks;
        pool.send([t0, t1, t2, t3, t4].into_iter().map(|t| TaskCommand::CreateTask(t).into()).collect());
        let conn = pool.view.connect().expect("conn");
        let now = Utc::now();
        for filter in filters {
            let Ok(filter) = Filter::parse(&filter) else { continue };
            let mut q = all_of(TaskQuery::for_viewer(viewer.clone()));
            q.filter = filter;
            q.text = search.clone();
            q.deferred = deferred;
            q.assigned_to_me = assigned_to_me;
            q.claimable_only = claimable_only;
            q.involvements_only = involvements_only;
            q.now = now;
            let sql = query::tasks(&conn, &q);
            let memory = MemoryQuery::compile(&q);
            match (sql, memory) {
                (Ok(page), Ok(memory)) => {
                    let by_sql: Vec<String> = page.tasks.iter().map(|t| t.id.clone()).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
                    let mut by_memory = Vec::new();
                    for id in IDS {
                        let Some(task) = query::task_by_id(&conn, &Viewer::Admin, id).expect("task") else { continue };
                        let hit: Result<bool, QueryError> = memory.matches(&task, now, |t| query::correlated_entries(&conn, &q.viewer, t));
                        if hit.expect("judged") {
                            by_memory.push(id.to_string());
                        }
                    }
                    eprintln!("HITS {}", by_sql.len());
                    prop_assert_eq!(by_sql, by_memory, "filter {:?} text {:?}", q.filter, q.text);
                }
                (Err(_), Err(_)) => {}
                (sql, memory) => prop_assert!(false, "one refused, the other not: sql {:?} memory {:?} for {:?}", sql.map(|p| p.total), memory.map(|_| ()), q.filter),
            }
        }
    }
}

/// One step of a random history.
#[derive(Debug, Clone)]
enum Step {
    Send(Box<Command>),
    /// The subscribers go away; while away, `noise` changes they cannot see happen (more
    /// than a batch of the change table when large), then `away`; then they resume.
    Reconnect {
        noise: usize,
        away: Vec<Command>,
    },
}

fn command() -> impl Strategy<Value = Command> {
    let id = prop::sample::select(IDS);
    let who = prop::option::of(prop::sample::select(USERS));
    let group = prop::sample::select(GROUPS);
    prop_oneof![
        (
            id.clone(),
            who.clone(),
            group.clone(),
            some_payload(),
            prop::sample::subsequence(vec!["e0", "e1"], 0..2)
        )
            .prop_map(|(id, who, g, p, correlated)| task(id, |t| {
                t.assignee = who.map(String::from);
                t.candidate_groups = set(&[g]);
                t.payload = p;
                t.correlations = correlated
                    .into_iter()
                    .map(|e| Correlation {
                        entry_type: "request".into(),
                        entry_id: e.into(),
                    })
                    .collect();
            })),
        (id.clone(), who.clone()).prop_map(|(id, who)| TaskCommand::AssignTask(AssignTask {
            id: id.into(),
            assignee: who.map(String::from),
        })
        .into()),
        (id.clone(), prop::sample::select(USERS)).prop_map(|(id, u)| {
            TaskCommand::AddCandidateUsers(CandidateUsers {
                id: id.into(),
                users: set(&[u]),
            })
            .into()
        }),
        (id.clone(), group.clone()).prop_map(|(id, g)| TaskCommand::AddCandidateGroups(
            CandidateGroups {
                id: id.into(),
                groups: set(&[g]),
            }
        )
        .into()),
        (id.clone(), group).prop_map(|(id, g)| TaskCommand::DeleteCandidateGroups(
            CandidateGroups {
                id: id.into(),
                groups: set(&[g]),
            }
        )
        .into()),
        (id.clone(), 0..100i32, some_payload(), text()).prop_map(|(id, p, payload, name)| update(
            UpdateTaskAttributes {
                id: id.into(),
                priority: Some(p),
                payload: Some(payload),
                name: (!name.is_empty()).then_some(name),
                ..Default::default()
            }
        )),
        (id.clone(), prop::option::of(prop::sample::select(USERS))).prop_map(|(id, owner)| update(
            UpdateTaskAttributes {
                id: id.into(),
                owner: Patch::to(owner.map(String::from)),
                ..Default::default()
            }
        )),
        (id.clone(), any::<bool>()).prop_map(|(id, defer)| update(UpdateTaskAttributes {
            id: id.into(),
            follow_up_date: if defer {
                Patch::Set(Utc.with_ymd_and_hms(2099, 1, 1, 0, 0, 0).unwrap())
            } else {
                Patch::Clear
            },
            ..Default::default()
        })),
        id.clone()
            .prop_map(|id| TaskCommand::CompleteTask(CompleteTask {
                id: id.into(),
                assignee: None
            })
            .into()),
        id.prop_map(|id| TaskCommand::DeleteTask(DeleteTask {
            id: id.into(),
            delete_reason: None
        })
        .into()),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => command().prop_map(|c| Step::Send(Box::new(c))),
        1 => (prop::sample::select(vec![0usize, 3, 1100]), prop::collection::vec(command(), 0..6))
            .prop_map(|(noise, away)| Step::Reconnect { noise, away }),
    ]
}

fn subscriber_query() -> impl Strategy<Value = TaskQuery> {
    (
        viewer(),
        prop::option::of(prop::sample::select(vec![
            "amount > 500",
            "task.priority >= 50",
            "customer ~ \"müller\"",
            "tags = \"invoice\"",
            "task.assignee != \"bob\"",
            "task.candidateUser = \"carol\"",
            "data.state = \"open\"",
        ])),
        prop::option::of(prop::sample::select(vec!["invoice", "mull", "Zeb"])),
        deferred(),
        (any::<bool>(), any::<bool>(), any::<bool>()),
    )
        .prop_map(
            |(viewer, filter, text, deferred, (mine, claimable, involved))| {
                let mut q = all_of(TaskQuery::for_viewer(viewer));
                q.filter = filter
                    .map(|f| Filter::parse(f).expect("filter"))
                    .unwrap_or_default();
                q.text = text.map(String::from);
                q.deferred = deferred;
                q.assigned_to_me = mine;
                q.claimable_only = claimable;
                q.involvements_only = involved;
                q
            },
        )
}

/// A task nobody in these tests can see: its changes are noise to every subscriber but
/// the admin.
fn noise(pool: &mut Pool, n: usize) {
    if n == 0 {
        return;
    }
    let mut commands: Vec<Command> = vec![task("noise", |t| t.assignee = Some("zed".into()))];
    commands.extend((1..n).map(|i| {
        update(UpdateTaskAttributes {
            id: "noise".into(),
            priority: Some((i % 100) as i32),
            ..Default::default()
        })
    }));
    commands.push(
        TaskCommand::DeleteTask(DeleteTask {
            id: "noise".into(),
            delete_reason: None,
        })
        .into(),
    );
    pool.gateway
        .handle(commands, BatchMode::Atomic, &CommandContext::default())
        .expect("noise");
    pool.project();
}

/// Sends one command; a refused one (a task that does not exist...) changes nothing.
fn send(pool: &mut Pool, command: Command) {
    pool.gateway
        .handle(
            vec![command],
            BatchMode::PerCommand,
            &CommandContext::default(),
        )
        .expect("handled");
    pool.project();
}

/// Applies items to what the subscriber shows, checking each is the difference it
/// claims: `entered` only for a task not shown, `changed` and `left` only for one shown.
fn apply(
    shown: &mut BTreeMap<String, Task>,
    items: Vec<LiveItem>,
    last: &mut i64,
) -> Result<(), TestCaseError> {
    for item in items {
        prop_assert!(
            item.position() > *last,
            "items in position order, never twice: {} after {}",
            item.position(),
            last
        );
        *last = item.position();
        match item {
            LiveItem::Entered { task, .. } => {
                prop_assert!(
                    !shown.contains_key(&task.id),
                    "entered, but already shown: {}",
                    task.id
                );
                shown.insert(task.id.clone(), *task);
            }
            LiveItem::Changed { task, .. } => {
                prop_assert!(
                    shown.contains_key(&task.id),
                    "changed, but not shown: {}",
                    task.id
                );
                shown.insert(task.id.clone(), *task);
            }
            LiveItem::Left { task_id, .. } => {
                prop_assert!(
                    shown.remove(&task_id).is_some(),
                    "left, but not shown: {}",
                    task_id
                );
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn snapshot_and_items_equal_a_fresh_query_after_every_change(
        steps in prop::collection::vec(step(), 1..40),
        queries in prop::collection::vec(subscriber_query(), 1..4),
    ) {
        let mut pool = Pool::new();
        pool.send(entry("e0", "Laptop".into(), "open", false));
        pool.send(entry("e1", "Phone".into(), "done", false));
        let signal = pool.projector.signal();
        // Each subscriber: its query, its subscription, what it shows, its last item.
        let mut subscribers: Vec<(TaskQuery, Subscription, BTreeMap<String, Task>, i64)> = Vec::new();
        for q in queries {
            let (sub, snapshot) = Subscription::open(&pool.view, signal.clone(), q.clone(), None).expect("subscribe");
            let snapshot = snapshot.expect("snapshot");
            let shown = snapshot.tasks.into_iter().map(|t| (t.id.clone(), t)).collect();
            subscribers.push((q, sub, shown, snapshot.position));
        }
        for step in steps {
            match step {
                Step::Send(command) => send(&mut pool, *command),
                Step::Reconnect { noise: n, away } => {
                    let positions: Vec<i64> = subscribers.iter().map(|s| s.1.position()).collect();
                    for s in subscribers.iter_mut() {
                        // Gone: a placeholder until it resumes.
                        let (placeholder, _) = Subscription::open(&pool.view, signal.clone(), s.0.clone(), Some(i64::MAX)).expect("placeholder");
                        drop(std::mem::replace(&mut s.1, placeholder));
                    }
                    noise(&mut pool, n);
                    for command in away {
                        send(&mut pool, command);
                    }
                    for (s, position) in subscribers.iter_mut().zip(positions) {
                        let (resumed, snapshot) = Subscription::open(&pool.view, signal.clone(), s.0.clone(), Some(position)).expect("resume");
                        prop_assert!(snapshot.is_none());
                        s.1 = resumed;
                    }
                }
            }
            for (q, sub, shown, last) in subscribers.iter_mut() {
                // Everything there is to read now (past any run of changes it cannot see).
                loop {
                    let items = sub.next(std::time::Duration::ZERO).expect("read");
                    if items.is_empty() {
                        break;
                    }
                    apply(shown, items, last)?;
                }
                let expected = fresh(&pool, q);
                prop_assert_eq!(&*shown, &expected, "viewer {:?} filter {:?} text {:?}", q.viewer, q.filter, q.text);
            }
        }
    }
}

/// A `data.*` clause sees only the data entries the viewer may read: bob may see the
/// task, but not its request (only alice may), so filtering on it reveals nothing.
#[test]
fn data_filters_respect_data_entry_authorization() {
    let mut pool = Pool::new();
    pool.send(entry("e0", "Secret raise".into(), "open", false));
    pool.send(vec![task("t0", |t| {
        t.candidate_users = set(&["alice", "bob"]);
        t.correlations = [Correlation {
            entry_type: "request".into(),
            entry_id: "e0".into(),
        }]
        .into();
    })]);
    let matching = |viewer: Viewer| {
        let mut q = all_of(TaskQuery::for_viewer(viewer));
        q.filter = Filter::parse("data.name = \"Secret raise\"").expect("filter");
        let conn = pool.view.connect().expect("conn");
        let by_sql = query::tasks(&conn, &q).expect("query").total;
        let task = query::task_by_id(&conn, &Viewer::Admin, "t0")
            .expect("task")
            .expect("t0");
        let by_memory = MemoryQuery::compile(&q)
            .expect("compile")
            .matches(&task, Utc::now(), |t| {
                query::correlated_entries(&conn, &q.viewer, t)
            })
            .expect("judged");
        (by_sql, by_memory)
    };
    assert_eq!(matching(Viewer::user("alice", &[])), (1, true));
    assert_eq!(
        matching(Viewer::user("bob", &[])),
        (0, false),
        "bob may not read e0"
    );
}
