//! The query side against real SQLite files: projector, view, queries, filters, live
//! stream. All in one test binary.

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use serde_json::json;
use taskpool_core::command::*;
use taskpool_core::live::{LiveItem, Subscription};
use taskpool_core::model::*;
use taskpool_core::patch::Patch;
use taskpool_core::projector::{Follow, Projector};
use taskpool_core::query::{self, Deferred, Filter, Paging, QueryError, TaskQuery, Viewer};
use taskpool_core::testing::fixtures;
use taskpool_core::view::search::SearchProjector;
use taskpool_core::view::{self, View};
use taskpool_core::{BatchMode, Command, CommandContext, CommandGateway, EventStore};

pub(crate) struct Pool {
    _dir: tempfile::TempDir,
    pub(crate) store: EventStore,
    pub(crate) gateway: CommandGateway,
    pub(crate) view: View,
    pub(crate) projector: Projector,
    pub(crate) search: SearchProjector,
}

impl Pool {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().expect("dir");
        let store = EventStore::open(dir.path().join("events.db")).expect("store");
        let gateway = CommandGateway::new(&store).expect("gateway");
        let view = View::open(dir.path().join("view.db")).expect("view");
        let projector = Projector::new(&view).expect("projector");
        let search = SearchProjector::new(&view).expect("search projector");
        Self {
            _dir: dir,
            store,
            gateway,
            view,
            projector,
            search,
        }
    }
    /// Sends commands (all must be accepted) and projects them.
    pub(crate) fn send(&mut self, commands: Vec<Command>) {
        let out = self
            .gateway
            .handle(commands, BatchMode::Atomic, &CommandContext::default())
            .expect("handled");
        assert!(out.all_accepted(), "{out:?}");
        self.project();
    }
    /// Projects what was sent into the view, then into the search index.
    pub(crate) fn project(&mut self) {
        let mut reader = self.store.reader().expect("reader");
        self.projector.catch_up(&mut reader).expect("projected");
        self.search.catch_up().expect("indexed");
    }
    fn conn(&self) -> rusqlite::Connection {
        self.view.connect().expect("conn")
    }
    fn ids(&self, q: &TaskQuery) -> Vec<String> {
        query::tasks(&self.conn(), q)
            .expect("query")
            .tasks
            .into_iter()
            .map(|t| t.id)
            .collect()
    }
}

pub(crate) fn task(id: &str, f: impl FnOnce(&mut Task)) -> Command {
    let mut t = fixtures::task(id, "app");
    f(&mut t);
    TaskCommand::CreateTask(t).into()
}
pub(crate) fn set(items: &[&str]) -> std::collections::BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}
fn assign(id: &str, who: Option<&str>) -> Command {
    TaskCommand::AssignTask(AssignTask {
        id: id.into(),
        assignee: who.map(String::from),
    })
    .into()
}
pub(crate) fn update(u: UpdateTaskAttributes) -> Command {
    TaskCommand::UpdateTaskAttributes(u).into()
}
fn alice() -> Viewer {
    Viewer::user("alice", &["approvers"])
}
fn q(viewer: Viewer) -> TaskQuery {
    TaskQuery::for_viewer(viewer)
}

#[test]
fn tasks_for_user_follow_the_authorization_rule_and_options() {
    let mut pool = Pool::new();
    pool.send(vec![
        task("direct", |t| t.candidate_users = set(&["alice"])),
        task("group", |t| t.candidate_groups = set(&["approvers"])),
        task("mine", |t| t.assignee = Some("alice".into())),
        task("others", |t| t.candidate_groups = set(&["support"])),
        task("taken", |t| {
            t.candidate_groups = set(&["approvers"]);
            t.assignee = Some("bob".into());
        }),
    ]);
    let mut all = pool.ids(&q(alice()));
    all.sort();
    assert_eq!(all, vec!["direct", "group", "mine", "taken"]);
    let mut mine = q(alice());
    mine.assigned_to_me = true;
    assert_eq!(pool.ids(&mine), vec!["mine"]);
    let mut claimable = q(alice());
    claimable.claimable_only = true;
    let mut c = pool.ids(&claimable);
    c.sort();
    assert_eq!(c, vec!["direct", "group"]);
    assert_eq!(
        pool.ids(&q(Viewer::user("mallory", &[]))),
        Vec::<String>::new()
    );
    assert_eq!(pool.ids(&q(Viewer::Admin)).len(), 5);
    let conn = pool.conn();
    assert!(
        query::task_by_id(&conn, &alice(), "others")
            .expect("q")
            .is_none(),
        "invisible is absent"
    );
    assert!(query::task_by_id(&conn, &alice(), "group")
        .expect("q")
        .is_some());
    assert_eq!(
        query::task_counts_by_application(&conn, &alice()).expect("q"),
        vec![("app".to_string(), 4)]
    );
}

#[test]
fn deferred_tasks_are_hidden_until_their_follow_up_date() {
    let mut pool = Pool::new();
    let future = Utc.with_ymd_and_hms(2099, 1, 1, 0, 0, 0).unwrap();
    let past = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap();
    pool.send(vec![
        task("later", |t| {
            t.assignee = Some("alice".into());
            t.follow_up_date = Some(future);
        }),
        task("due-again", |t| {
            t.assignee = Some("alice".into());
            t.follow_up_date = Some(past);
        }),
        task("plain", |t| t.assignee = Some("alice".into())),
    ]);
    let mut ids = pool.ids(&q(alice()));
    ids.sort();
    assert_eq!(ids, vec!["due-again", "plain"]);
    let mut deferred = q(alice());
    deferred.deferred = Deferred::Only;
    assert_eq!(pool.ids(&deferred), vec!["later"]);
    deferred.deferred = Deferred::Include;
    assert_eq!(pool.ids(&deferred).len(), 3);
}

pub(crate) fn payload(v: serde_json::Value) -> Payload {
    v.as_object().cloned().unwrap_or_default()
}

fn filter_pool() -> Pool {
    let mut pool = Pool::new();
    let day = |d: u32| Utc.with_ymd_and_hms(2026, 3, d, 12, 0, 0).unwrap();
    pool.send(vec![
        task("a", |t| {
            t.assignee = Some("alice".into());
            t.priority = 90;
            t.due_date = Some(day(1));
            t.business_key = Some("BK-100".into());
            t.payload = payload(json!({"amount": 120, "customer": {"name": "ACME Corp"}, "tags": ["urgent", "vip"]}));
            t.correlations = [Correlation::new("request", "R-1")].into();
        }),
        task("b", |t| {
            t.assignee = Some("alice".into());
            t.priority = 50;
            t.due_date = Some(day(5));
            t.name = "Review contract".into();
            t.payload = payload(json!({"amount": 80, "customer": {"name": "Globex"}}));
        }),
        task("c", |t| {
            t.assignee = Some("alice".into());
            t.priority = 50;
            t.due_date = None;
            t.payload = payload(json!({"amount": "n/a"}));
        }),
    ]);
    pool.send(vec![DataEntryCommand::CreateOrUpdateDataEntry(
        CreateOrUpdateDataEntry {
            entry_type: "request".into(),
            entry_id: "R-1".into(),
            name: "Laptop".into(),
            description: None,
            type_name: "Request".into(),
            application_name: "app".into(),
            form_key: None,
            state: DataEntryState::new(ProcessingType::InProgress, "submitted"),
            payload: Payload::new(),
            correlations: Default::default(),
            modification: Modification {
                time: day(1),
                username: Some("alice".into()),
                log_message: Some("created".into()),
                log_notes: None,
            },
            authorization_changes: vec![AuthorizationChange::AddUser("alice".into())],
        },
    )
    .into()]);
    pool
}

#[test]
fn the_filter_language_filters_task_fields_payload_and_data_entries() {
    let pool = filter_pool();
    let run = |f: &str| -> Vec<String> {
        let mut query = q(alice());
        query.filter = Filter::parse(f).expect(f);
        query.sort = query::parse_sort("+due").expect("sort");
        pool.ids(&query)
    };
    assert_eq!(run("task.priority >= 60"), vec!["a"]);
    assert_eq!(run("task.priority = 50"), vec!["b", "c"]);
    assert_eq!(run("amount > 100"), vec!["a"]);
    assert_eq!(run("amount between 50 and 130"), vec!["a", "b"]);
    assert_eq!(run("amount in (80, 120)"), vec!["a", "b"]);
    assert_eq!(run("amount = n/a"), vec!["c"]);
    assert_eq!(
        run("customer.name ~ acme"),
        vec!["a"],
        "contains is case-insensitive"
    );
    assert_eq!(
        run("tags = vip"),
        vec!["a"],
        "array elements share their path"
    );
    assert_eq!(
        run("customer.name != Globex"),
        vec!["a", "c"],
        "!= includes tasks without the value"
    );
    assert_eq!(run("task.due < 2026-03-03"), vec!["a"]);
    assert_eq!(
        run("task.due between 2026-03-01 and 2026-03-31"),
        vec!["a", "b"]
    );
    assert_eq!(run("task.businessKey ~ bk-1"), vec!["a"]);
    assert_eq!(
        run("task.name = \"Review contract\" and amount < 100"),
        vec!["b"]
    );
    assert_eq!(run("data.state = submitted"), vec!["a"]);
    assert_eq!(
        run("data.entryType = request and data.entryId = R-1"),
        vec!["a"]
    );
    assert_eq!(
        run("name = \"x' OR 1=1 --\""),
        Vec::<String>::new(),
        "injection is just a value"
    );
    for (bad, says) in [
        ("task.colour = red", "unknown filter field `task.colour`"),
        ("task.priority > high", "is not a number"),
        ("task.due < tomorrow", "is not an ISO date"),
        ("data.owner = x", "unknown filter field `data.owner`"),
    ] {
        let mut query = q(alice());
        query.filter = Filter::parse(bad).expect("parses");
        let err = query::tasks(&pool.conn(), &query)
            .expect_err(bad)
            .to_string();
        assert!(err.contains(says), "{bad}: {err}");
    }
}

#[test]
fn full_text_sort_and_paging() {
    let pool = filter_pool();
    let mut fts = q(alice());
    fts.text = Some("contr".into());
    assert_eq!(pool.ids(&fts), vec!["b"], "prefix search over the name");
    fts.text = Some("globex".into());
    assert_eq!(pool.ids(&fts), vec!["b"], "payload values are searchable");
    fts.text = Some("\"* OR NEAR(".into());
    assert_eq!(
        pool.ids(&fts),
        Vec::<String>::new(),
        "hostile text is just words"
    );

    let mut sorted = q(alice());
    sorted.sort = query::parse_sort("-priority,+due").expect("sort");
    assert_eq!(pool.ids(&sorted), vec!["a", "b", "c"]);
    sorted.sort = query::parse_sort("+priority,-due").expect("sort");
    assert_eq!(
        pool.ids(&sorted),
        vec!["c", "b", "a"],
        "a missing due date sorts last ascending, first descending"
    );
    assert!(query::parse_sort("+colour").is_err());

    let conn = pool.conn();
    let mut paged = q(alice());
    paged.paging = Paging::Offset {
        offset: 1,
        limit: 1,
    };
    let page = query::tasks(&conn, &paged).expect("page");
    assert_eq!(
        (page.total, page.tasks.len(), page.tasks[0].id.as_str()),
        (3, 1, "b")
    );
    let mut cursor = q(alice());
    cursor.sort = query::parse_sort("-priority").expect("sort");
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        cursor.paging = Paging::Cursor {
            after: after.clone(),
            offset: 0,
            limit: 2,
        };
        let page = query::tasks(&conn, &cursor).expect("page");
        assert_eq!(page.total, 3);
        seen.extend(page.tasks.into_iter().map(|t| t.id));
        match page.next_cursor {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, vec!["a", "b", "c"]);
    cursor.paging = Paging::Cursor {
        after: Some("zz".into()),
        offset: 0,
        limit: 2,
    };
    assert!(
        query::tasks(&conn, &cursor).is_err(),
        "a forged cursor is refused"
    );
    cursor.paging = Paging::Offset {
        offset: 0,
        limit: 0,
    };
    assert!(query::tasks(&conn, &cursor).is_err());
}

#[test]
fn attributes_data_entries_definitions_instances_and_variables() {
    let mut pool = filter_pool();
    let conn = pool.conn();
    let names = query::payload_attribute_names(&conn, &alice(), 100).expect("names");
    assert_eq!(names, vec!["amount", "customer.name", "tags"]);
    let values =
        query::payload_attribute_values(&conn, &alice(), "customer.name", 100).expect("values");
    assert_eq!(values, vec!["ACME Corp", "Globex"]);
    let (task, entries) = query::task_with_data_entries(&conn, &alice(), "a")
        .expect("q")
        .expect("visible");
    assert_eq!(task.id, "a");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].protocol.len(), 1);
    assert!(
        query::task_with_data_entries(&conn, &Viewer::user("bob", &[]), "a")
            .expect("q")
            .is_none()
    );
    assert_eq!(
        query::data_entries_for_user(&conn, &alice(), false, 0, 50)
            .expect("q")
            .len(),
        1
    );
    assert_eq!(
        query::data_entries_for_user(&conn, &alice(), true, 0, 50)
            .expect("q")
            .len(),
        1
    );
    assert_eq!(
        query::data_entries_for_user(&conn, &Viewer::user("bob", &[]), false, 0, 50)
            .expect("q")
            .len(),
        0
    );
    assert!(query::data_entry(&conn, &alice(), "request", "R-1")
        .expect("q")
        .is_some());
    assert!(
        query::data_entry(&conn, &Viewer::user("bob", &["x"]), "request", "R-1")
            .expect("q")
            .is_none()
    );

    pool.send(vec![
        ProcessDefinitionCommand::RegisterProcessDefinition(ProcessDefinition {
            id: "p:1".into(),
            key: "p".into(),
            version: 1,
            application_name: "app".into(),
            name: "P".into(),
            description: None,
            start_form_key: None,
            candidate_starter_users: Default::default(),
            candidate_starter_groups: set(&["approvers"]),
            startable_from_tasklist: true,
            forms: Default::default(),
            diagram: None,
        })
        .into(),
        ProcessInstanceCommand::StartProcessInstance(StartProcessInstance {
            instance_id: "pi-1".into(),
            definition_id: "p:1".into(),
            definition_key: "p".into(),
            application_name: "app".into(),
            name: None,
            business_key: None,
            started_by: None,
        })
        .into(),
        ProcessInstanceCommand::ChangeProcessVariables(ChangeProcessVariables {
            instance_id: "pi-1".into(),
            changes: vec![VariableChange::Create {
                name: "amount".into(),
                value: json!(5),
            }],
        })
        .into(),
    ]);
    let conn = pool.conn();
    assert_eq!(
        query::startable_process_definitions(&conn, &alice())
            .expect("q")
            .len(),
        1
    );
    assert_eq!(
        query::startable_process_definitions(&conn, &Viewer::user("bob", &["support"]))
            .expect("q")
            .len(),
        0
    );
    assert_eq!(
        query::process_instances(&conn, Some("running"), 10)
            .expect("q")
            .len(),
        1
    );
    assert_eq!(
        query::process_instances(&conn, Some("finished"), 10)
            .expect("q")
            .len(),
        0
    );
    assert_eq!(
        query::process_variables(&conn, "pi-1")
            .expect("q")
            .get("amount"),
        Some(&json!(5))
    );
}

#[test]
fn the_queries_use_the_indexes() {
    let pool = filter_pool();
    let conn = pool.conn();
    let plan = |sql: &str, params: Vec<rusqlite::types::Value>| -> String {
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("plan");
        let rows = stmt
            .query_map(rusqlite::params_from_iter(params.iter()), |r| {
                r.get::<_, String>(3)
            })
            .expect("rows");
        rows.collect::<Result<Vec<_>, _>>()
            .expect("plan")
            .join("\n")
    };
    let mut query = q(alice());
    query.filter = Filter::parse("amount > 100 and data.state = submitted").expect("f");
    let sql = query::task_conditions(&query).expect("sql");
    let p = plan(
        &format!(
            "SELECT id FROM tasks {} ORDER BY COALESCE(due_date, '9999'), id LIMIT 50",
            sql.where_clause()
        ),
        sql.params,
    );
    assert!(
        p.contains("task_authorizations USING PRIMARY KEY")
            || p.contains("USING COVERING INDEX sqlite_autoindex_task_authorizations"),
        "{p}"
    );
    assert!(
        p.contains("USING PRIMARY KEY (task_id=? AND path=?)"),
        "{p}"
    );
    assert!(
        p.contains("task_correlations") && !p.contains("SCAN d"),
        "{p}"
    );
    assert!(!p.contains("SCAN task_payload"), "{p}");
}

fn live(pool: &Pool, viewer: Viewer) -> Subscription {
    let (sub, snapshot) = Subscription::open(&pool.view, pool.projector.signal(), q(viewer), None)
        .expect("subscribe");
    assert!(snapshot.is_some());
    sub
}

fn kinds(items: &[LiveItem]) -> Vec<String> {
    items
        .iter()
        .map(|i| match i {
            LiveItem::Entered { task, .. } => format!("entered {}", task.id),
            LiveItem::Changed { task, .. } => format!("changed {}", task.id),
            LiveItem::Left { task_id, .. } => format!("left {task_id}"),
        })
        .collect()
}

#[test]
fn every_way_a_task_enters_or_leaves_a_users_view() {
    let mut pool = Pool::new();
    let mut sub = live(&pool, alice());
    let mut step = |pool: &mut Pool, commands: Vec<Command>, expected: &[&str]| {
        pool.send(commands);
        let items = sub.poll().expect("poll");
        assert_eq!(kinds(&items), expected, "after {:?}", items);
    };
    let future = Utc.with_ymd_and_hms(2099, 1, 1, 0, 0, 0).unwrap();
    step(
        &mut pool,
        vec![task("t1", |t| t.candidate_users = set(&["alice"]))],
        &["entered t1"],
    );
    step(
        &mut pool,
        vec![task("t2", |t| t.candidate_groups = set(&["approvers"]))],
        &["entered t2"],
    );
    step(&mut pool, vec![task("t3", |_| {})], &[]);
    step(
        &mut pool,
        vec![assign("t3", Some("alice"))],
        &["entered t3"],
    );
    step(
        &mut pool,
        vec![
            task("t4", |_| {}),
            TaskCommand::AddCandidateUsers(CandidateUsers {
                id: "t4".into(),
                users: set(&["alice"]),
            })
            .into(),
        ],
        &["entered t4"],
    );
    step(
        &mut pool,
        vec![
            task("t5", |_| {}),
            TaskCommand::AddCandidateGroups(CandidateGroups {
                id: "t5".into(),
                groups: set(&["approvers"]),
            })
            .into(),
        ],
        &["entered t5"],
    );
    step(
        &mut pool,
        vec![update(UpdateTaskAttributes {
            id: "t1".into(),
            priority: Some(99),
            ..Default::default()
        })],
        &["changed t1"],
    );
    step(
        &mut pool,
        vec![TaskCommand::CompleteTask(CompleteTask {
            id: "t1".into(),
            assignee: None,
        })
        .into()],
        &["left t1"],
    );
    step(
        &mut pool,
        vec![TaskCommand::DeleteTask(DeleteTask {
            id: "t2".into(),
            delete_reason: None,
        })
        .into()],
        &["left t2"],
    );
    step(&mut pool, vec![assign("t3", Some("bob"))], &["left t3"]);
    step(
        &mut pool,
        vec![TaskCommand::DeleteCandidateUsers(CandidateUsers {
            id: "t4".into(),
            users: set(&["alice"]),
        })
        .into()],
        &["left t4"],
    );
    step(
        &mut pool,
        vec![TaskCommand::DeleteCandidateGroups(CandidateGroups {
            id: "t5".into(),
            groups: set(&["approvers"]),
        })
        .into()],
        &["left t5"],
    );
    step(
        &mut pool,
        vec![task("t6", |t| t.assignee = Some("alice".into()))],
        &["entered t6"],
    );
    step(
        &mut pool,
        vec![update(UpdateTaskAttributes {
            id: "t6".into(),
            follow_up_date: Patch::Set(future),
            ..Default::default()
        })],
        &["left t6"],
    );
    step(
        &mut pool,
        vec![update(UpdateTaskAttributes {
            id: "t6".into(),
            follow_up_date: Patch::Clear,
            ..Default::default()
        })],
        &["entered t6"],
    );
    // Someone else's tasks never reach alice.
    step(
        &mut pool,
        vec![
            task("t7", |t| t.candidate_groups = set(&["support"])),
            assign("t7", Some("bob")),
        ],
        &[],
    );
}

#[test]
fn a_filtered_subscription_sees_tasks_enter_and_leave_the_filter() {
    let mut pool = Pool::new();
    let mut query = q(alice());
    query.filter = Filter::parse("amount > 100").expect("f");
    let (mut sub, _) =
        Subscription::open(&pool.view, pool.projector.signal(), query, None).expect("sub");
    pool.send(vec![task("t", |t| {
        t.assignee = Some("alice".into());
        t.payload = payload(json!({"amount": 50}));
    })]);
    assert_eq!(kinds(&sub.poll().expect("poll")), Vec::<String>::new());
    pool.send(vec![update(UpdateTaskAttributes {
        id: "t".into(),
        payload: Some(payload(json!({"amount": 500}))),
        ..Default::default()
    })]);
    assert_eq!(
        kinds(&sub.poll().expect("poll")),
        vec!["entered t"],
        "judged by the filter before and after the change: it enters the filter"
    );
    pool.send(vec![update(UpdateTaskAttributes {
        id: "t".into(),
        payload: Some(payload(json!({"amount": 5}))),
        ..Default::default()
    })]);
    assert_eq!(kinds(&sub.poll().expect("poll")), vec!["left t"]);
}

#[test]
fn resume_from_the_last_position_gets_exactly_the_missed_relevant_changes() {
    let mut pool = Pool::new();
    pool.send(
        (0..10)
            .map(|i| task(&format!("t{i}"), |t| t.candidate_users = set(&["alice"])))
            .collect(),
    );
    let (sub, snapshot) =
        Subscription::open(&pool.view, pool.projector.signal(), q(alice()), None).expect("sub");
    let snapshot = snapshot.expect("snapshot");
    assert_eq!(snapshot.tasks.len(), 10);
    let last = sub.position();
    drop(sub); // disconnect
    let mut expected = Vec::new();
    for i in 0..100 {
        let id = format!("t{}", i % 10);
        if i % 3 == 0 {
            // Irrelevant to alice: another user's task.
            pool.send(vec![task(&format!("other{i}"), |t| {
                t.assignee = Some("bob".into())
            })]);
        } else {
            pool.send(vec![update(UpdateTaskAttributes {
                id: id.clone(),
                priority: Some(i),
                ..Default::default()
            })]);
            expected.push(format!("changed {id}"));
        }
    }
    let (mut resumed, snap) =
        Subscription::open(&pool.view, pool.projector.signal(), q(alice()), Some(last))
            .expect("resume");
    assert!(snap.is_none());
    let mut got = Vec::new();
    let mut positions = Vec::new();
    loop {
        let items = resumed.poll().expect("poll");
        if items.is_empty() {
            break;
        }
        positions.extend(items.iter().map(LiveItem::position));
        got.extend(kinds(&items));
    }
    assert_eq!(got, expected);
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "in order, no duplicate"
    );
    assert!(positions.iter().all(|p| *p > last));
}

#[test]
fn a_live_subscriber_is_woken_by_the_projector_and_read_your_writes_waits() {
    let pool = Pool::new();
    let view = pool.view.clone();
    let signal = pool.projector.signal();
    let store = pool.store.clone();
    let Pool {
        gateway,
        projector,
        _dir,
        ..
    } = pool;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let store_signal = gateway.commit_signal();
    let runner = {
        let stop = stop.clone();
        std::thread::spawn(move || projector.run(&store, Follow::Signal(store_signal), stop))
    };
    let (mut sub, _) = Subscription::open(&view, signal.clone(), q(alice()), None).expect("sub");
    let out = gateway
        .send(
            task("t1", |t| t.assignee = Some("alice".into())),
            &CommandContext::default(),
        )
        .expect("sent");
    let position = out.position().unwrap_or_default();
    assert!(
        taskpool_core::live::wait_for_position(&signal, position, Duration::from_secs(5)),
        "the view reached the command's position"
    );
    let items = sub.next(Duration::from_secs(5)).expect("next");
    assert_eq!(kinds(&items), vec!["entered t1"]);
    assert!(
        sub.next(Duration::from_millis(50))
            .expect("next")
            .is_empty(),
        "nothing more"
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    gateway.commit_signal().wake_all();
    runner.join().expect("thread").expect("projector ran");
}

#[test]
fn rebuild_replays_everything_and_redelivery_changes_nothing() {
    let mut pool = filter_pool();
    pool.send(vec![
        assign("a", Some("bob")),
        TaskCommand::CompleteTask(CompleteTask {
            id: "b".into(),
            assignee: None,
        })
        .into(),
    ]);
    let before = view::dump(&pool.conn()).expect("dump");
    let mut reader = pool.store.reader().expect("reader");
    let all = reader.read_after(0, usize::MAX).expect("events");
    assert_eq!(
        pool.projector.apply(&all).expect("redelivered"),
        0,
        "everything is at or before the checkpoint"
    );
    assert_eq!(view::dump(&pool.conn()).expect("dump"), before);
    let mut progress = Vec::new();
    pool.projector
        .rebuild(&mut reader, &mut |done, total| progress.push((done, total)))
        .expect("rebuild");
    assert_eq!(view::dump(&pool.conn()).expect("dump"), before);
    assert_eq!(progress.last().map(|p| p.0), progress.last().map(|p| p.1));
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    fn command() -> impl Strategy<Value = Command> {
        let id = prop::sample::select(vec!["t0", "t1", "t2", "t3"]);
        let who = prop::option::of(prop::sample::select(vec!["alice", "bob", "carol"]));
        let group = prop::sample::select(vec!["approvers", "support"]);
        prop_oneof![
            (id.clone(), who.clone(), group.clone()).prop_map(|(id, who, g)| task(id, |t| {
                t.assignee = who.map(String::from);
                t.candidate_groups = set(&[g]);
            })),
            (id.clone(), who).prop_map(|(id, who)| assign(id, who)),
            (id.clone(), group.clone()).prop_map(|(id, g)| TaskCommand::AddCandidateGroups(
                CandidateGroups {
                    id: id.into(),
                    groups: set(&[g])
                }
            )
            .into()),
            (id.clone(), group).prop_map(|(id, g)| TaskCommand::DeleteCandidateGroups(
                CandidateGroups {
                    id: id.into(),
                    groups: set(&[g])
                }
            )
            .into()),
            (id.clone(), 0..100i32, 0..1000i64).prop_map(|(id, p, amount)| update(
                UpdateTaskAttributes {
                    id: id.into(),
                    priority: Some(p),
                    payload: Some(payload(json!({"amount": amount}))),
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

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn incremental_projection_equals_rebuild_and_redelivery_is_harmless(
            commands in prop::collection::vec(command(), 1..40),
            batch in 1usize..5,
            prefix in 0usize..40,
        ) {
            let mut pool = Pool::new();
            for chunk in commands.chunks(batch) {
                pool.gateway.handle(chunk.to_vec(), BatchMode::PerCommand, &CommandContext::default()).expect("handled");
                pool.project();
            }
            let incremental = view::dump(&pool.conn()).expect("dump");

            let mut reader = pool.store.reader().expect("reader");
            let events = reader.read_after(0, usize::MAX).expect("events");
            let redelivered = &events[..prefix.min(events.len())];
            prop_assert_eq!(pool.projector.apply(redelivered).expect("apply"), 0);
            prop_assert_eq!(&view::dump(&pool.conn()).expect("dump"), &incremental);

            let dir = tempfile::tempdir().expect("dir");
            let fresh = View::open(dir.path().join("view.db")).expect("view");
            let mut rebuilt = Projector::new(&fresh).expect("projector").with_batch_size(7);
            rebuilt.rebuild(&mut reader, &mut |_, _| {}).expect("rebuild");
            prop_assert_eq!(&view::dump(&fresh.connect().expect("conn")).expect("dump"), &incremental);
            // The search index followed the view change by change; one built from the
            // rebuilt view's tasks holds the same.
            SearchProjector::new(&fresh).expect("search").catch_up().expect("indexed");
            prop_assert_eq!(
                view::search::dump(&fresh.connect().expect("conn")).expect("dump"),
                view::search::dump(&pool.conn()).expect("dump")
            );
        }
    }
}

#[test]
fn the_change_feed_delivers_the_same_items_and_survives_a_full_buffer() {
    use taskpool_core::live::{ChangeFeed, SUBSCRIBER_BUFFER};
    let mut pool = Pool::new();
    let (feed, feed_thread) = ChangeFeed::start(&pool.view, pool.projector.signal()).expect("feed");
    let (mut fed, _) =
        Subscription::open_on_feed(&pool.view, &feed, q(alice()), None).expect("fed");
    let (mut bob, _) = Subscription::open_on_feed(
        &pool.view,
        &feed,
        q(Viewer::user("bob", &["support"])),
        None,
    )
    .expect("bob");
    let (mut table, _) =
        Subscription::open(&pool.view, pool.projector.signal(), q(alice()), None).expect("table");
    assert_eq!(feed.subscribers(), 2);
    // More changes than a subscription's buffer holds, none read meanwhile.
    let n = SUBSCRIBER_BUFFER + 50;
    for i in 0..n {
        pool.send(vec![task(&format!("t{i}"), |t| {
            t.candidate_users = set(&["alice"])
        })]);
    }
    pool.send(vec![assign("t0", Some("bob"))]);
    let collect = |sub: &mut Subscription| {
        let mut all = Vec::new();
        loop {
            let items = sub.next(Duration::from_millis(1000)).expect("next");
            if items.is_empty() {
                break;
            }
            all.extend(kinds(&items));
        }
        all
    };
    let via_table = collect(&mut table);
    assert_eq!(via_table.len(), n + 1);
    assert_eq!(
        collect(&mut fed),
        via_table,
        "the feed (with a lagging fallback) delivers what the table does"
    );
    assert_eq!(
        collect(&mut bob),
        vec!["entered t0"],
        "bob only hears of his task"
    );
    drop(bob);
    assert_eq!(
        feed.subscribers(),
        1,
        "a dropped subscription leaves the feed"
    );
    feed.stop();
    feed_thread.join().expect("feed thread");
}

/// A data entry (an event that changes no task).
fn data_entry(id: &str) -> Command {
    DataEntryCommand::CreateOrUpdateDataEntry(CreateOrUpdateDataEntry {
        entry_type: "request".into(),
        entry_id: id.into(),
        name: "Laptop".into(),
        description: None,
        type_name: "Request".into(),
        application_name: "app".into(),
        form_key: None,
        state: DataEntryState::new(ProcessingType::InProgress, "submitted"),
        payload: Payload::new(),
        correlations: Default::default(),
        modification: Modification {
            time: Utc::now(),
            username: Some("alice".into()),
            log_message: None,
            log_notes: None,
        },
        authorization_changes: vec![AuthorizationChange::AddUser("alice".into())],
    })
    .into()
}

#[test]
fn an_idle_change_feed_sleeps_whatever_the_newest_event_is() {
    use taskpool_core::live::ChangeFeed;
    // Given a view whose newest event changed no task (a data entry after the tasks)
    let mut pool = filter_pool();
    let (feed, feed_thread) = ChangeFeed::start(&pool.view, pool.projector.signal()).expect("feed");
    let (mut sub, _) =
        Subscription::open_on_feed(&pool.view, &feed, q(alice()), None).expect("sub");
    let settle = || std::thread::sleep(Duration::from_millis(300));
    let idle = |what: &str| {
        settle();
        let before = feed.wake_ups();
        std::thread::sleep(Duration::from_secs(1));
        let woken = feed.wake_ups() - before;
        assert_eq!(
            woken, 0,
            "the feed woke {woken} times in an idle second after {what}"
        );
    };
    // Then the feed sleeps
    idle("a data entry");
    // When one more event that changes no task comes
    let before = feed.wake_ups();
    pool.send(vec![data_entry("R-2")]);
    settle();
    // Then the feed looks once and sleeps again
    assert!(feed.wake_ups() - before <= 1, "one look at a new position");
    idle("a second data entry");
    // And a task change after all that still reaches the subscriber
    pool.send(vec![task("late", |t| t.assignee = Some("alice".into()))]);
    let items = sub.next(Duration::from_secs(10)).expect("next");
    assert_eq!(kinds(&items), vec!["entered late"]);
    idle("a task change");
    // A stop wakes it at once
    feed.stop();
    feed_thread.join().expect("feed thread");
}

#[test]
fn a_resume_after_more_than_a_batch_of_changes_the_viewer_cannot_see_misses_nothing() {
    use taskpool_core::live::ChangeFeed;
    // Given alice's stream at some position, then 2,500 changes of bob's tasks and one of
    // hers, all while she was away
    let mut pool = Pool::new();
    pool.send(vec![task("first", |t| t.assignee = Some("alice".into()))]);
    let resume_from = pool.projector.position().expect("position");
    for chunk in 0..5 {
        pool.send(
            (0..500)
                .map(|i| {
                    task(&format!("bob-{chunk}-{i}"), |t| {
                        t.assignee = Some("bob".into())
                    })
                })
                .collect(),
        );
    }
    pool.send(vec![task("hers", |t| t.assignee = Some("alice".into()))]);
    let (feed, feed_thread) = ChangeFeed::start(&pool.view, pool.projector.signal()).expect("feed");
    // When she resumes after her last position, fed (try_next, as the server's streams)
    // and blocking (next)
    let (mut fed, _) =
        Subscription::open_on_feed(&pool.view, &feed, q(alice()), Some(resume_from)).expect("fed");
    let mut got = Vec::new();
    for _ in 0..10 {
        got.extend(kinds(&fed.try_next().expect("read").unwrap_or_default()));
    }
    let (mut blocking, _) =
        Subscription::open_on_feed(&pool.view, &feed, q(alice()), Some(resume_from))
            .expect("blocking");
    let items = blocking.next(Duration::from_secs(5)).expect("next");
    // Then the change between the old batch and the feed's first row arrives, once
    assert_eq!(got, vec!["entered hers"]);
    assert_eq!(kinds(&items), vec!["entered hers"]);
    // And what comes after is delivered as usual
    pool.send(vec![assign("hers", Some("bob"))]);
    let items = blocking.next(Duration::from_secs(5)).expect("next");
    assert_eq!(kinds(&items), vec!["left hers"]);
    feed.stop();
    feed_thread.join().expect("feed thread");
}

#[test]
fn a_subscription_without_a_feed_waits_out_events_that_change_no_task() {
    let mut pool = filter_pool();
    let (mut sub, _) =
        Subscription::open(&pool.view, pool.projector.signal(), q(alice()), None).expect("sub");
    pool.send(vec![data_entry("R-2")]);
    // The view moved, but not for this subscription: `next` waits out its timeout
    // instead of answering early with nothing.
    let started = std::time::Instant::now();
    assert!(sub
        .next(Duration::from_millis(400))
        .expect("next")
        .is_empty());
    assert!(started.elapsed() >= Duration::from_millis(400));
}

#[test]
fn a_view_of_an_older_schema_is_dropped_with_its_delivery_offsets() {
    // Given a view of schema version 9, with offsets under their old table name
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("view.db");
    {
        let conn = rusqlite::Connection::open(&path).expect("open");
        conn.execute_batch(
            "CREATE TABLE consumer_offsets (topic TEXT, partition INTEGER, next_offset INTEGER);
             INSERT INTO consumer_offsets VALUES ('t', 0, 42);
             PRAGMA user_version = 9;",
        )
        .expect("old view");
    }
    // When it is opened
    let view = View::open(&path).expect("view");
    let conn = view.connect().expect("conn");
    // Then it is the current shape, and the old offsets are gone with the old rows (a
    // rebuilt view reads its sources from the start)
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%offsets'")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("tables");
    assert_eq!(tables, vec!["delivery_offsets"]);
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(version, view::VIEW_SCHEMA_VERSION);
}

#[test]
fn candidate_filters_work_through_the_authorization_rows() {
    let mut pool = Pool::new();
    pool.send(vec![
        task("g", |t| t.candidate_groups = set(&["approvers", "support"])),
        task("u", |t| t.candidate_users = set(&["alice", "bob"])),
    ]);
    let run = |f: &str| {
        let mut query = q(Viewer::Admin);
        query.filter = Filter::parse(f).expect(f);
        let mut ids = pool.ids(&query);
        ids.sort();
        ids
    };
    assert_eq!(run("task.candidateGroup = support"), vec!["g"]);
    assert_eq!(run("task.candidateUser in (bob, carol)"), vec!["u"]);
    assert_eq!(run("task.candidateGroup != support"), vec!["u"]);
}

mod inbox_fast_path {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// The inbox's first pages by due date agree with the general query path.
        #[test]
        fn agrees_with_the_general_path(
            tasks in prop::collection::vec((0..5u32, prop::option::of(0..4u32), 0..3u32, prop::option::of(0..40u32), any::<bool>()), 1..40),
            offset in 0usize..10,
            limit in 1usize..8,
            deferred in prop::sample::select(vec![Deferred::Exclude, Deferred::Include, Deferred::Only]),
        ) {
            let mut pool = Pool::new();
            let users = ["alice", "bob", "carol", "dave"];
            let groups = ["approvers", "support", "managers"];
            let commands = tasks.iter().enumerate().map(|(i, (u, a, g, due, defer))| {
                task(&format!("t{i:02}"), |t| {
                    t.candidate_users = set(&[users[*u as usize % 4]]);
                    t.assignee = a.map(|a| users[a as usize].to_string());
                    t.candidate_groups = set(&[groups[*g as usize]]);
                    t.due_date = due.map(|d| Utc.with_ymd_and_hms(2026, 1, 1 + d % 28, 0, 0, 0).unwrap());
                    if *defer {
                        t.follow_up_date = Some(Utc.with_ymd_and_hms(2099, 1, 1, 0, 0, 0).unwrap());
                    }
                })
            }).collect();
            pool.send(commands);
            let conn = pool.conn();
            for viewer in [Viewer::user("alice", &["approvers"]), Viewer::user("bob", &["support", "managers"]), Viewer::user("zed", &[])] {
                let mut query = q(viewer);
                query.paging = Paging::Offset { offset, limit };
                query.deferred = deferred;
                let fast = query::tasks(&conn, &query).expect("fast");
                let general = query::tasks_without_fast_path(&conn, &query).expect("general");
                prop_assert_eq!(fast.total, general.total);
                let ids = |p: &query::TaskPage| p.tasks.iter().map(|t| t.id.clone()).collect::<Vec<_>>();
                prop_assert_eq!(ids(&fast), ids(&general));
            }
        }
    }
}

#[test]
fn a_reassigned_task_leaves_its_old_assignees_view() {
    let mut pool = Pool::new();
    pool.send(vec![task("only", |t| t.assignee = Some("alice".into()))]);
    pool.send(vec![assign("only", Some("bob"))]);
    pool.send(vec![update(UpdateTaskAttributes {
        id: "only".into(),
        priority: Some(1),
        ..Default::default()
    })]);
    assert_eq!(
        pool.ids(&q(Viewer::user("alice", &[]))),
        Vec::<String>::new()
    );
    assert_eq!(pool.ids(&q(Viewer::user("bob", &[]))), vec!["only"]);
    let stale: i64 = pool
        .conn()
        .query_row(
            "SELECT COUNT(*) FROM task_authorizations WHERE principal = 'alice'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(stale, 0, "no authorization row outlives the change");
}

#[test]
fn the_views_wal_is_checkpointed_in_the_background_not_in_the_projectors_commits() {
    let mut pool = Pool::new();
    let db = pool.view.path().to_path_buf();
    let wal = db.with_extension("db-wal");
    let size = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let before = size(&db);
    for chunk in 0..5 {
        let commands = (0..200)
            .map(|i| {
                task(&format!("t{chunk}-{i}"), |t| {
                    t.payload = payload(json!({"n": i}))
                })
            })
            .collect();
        pool.send(commands);
    }
    // The projector's own threshold is far away (50,000 pages): only the background
    // WAL checkpointer copies the WAL's pages into the view file.
    assert!(size(&wal) > 0, "the projector wrote to the WAL");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while size(&db) <= before {
        assert!(
            std::time::Instant::now() < deadline,
            "the view file did not grow: nothing was checkpointed ({} bytes, WAL {} bytes)",
            size(&db),
            size(&wal)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Dropping the projector stops its WAL checkpointer.
    drop(pool);
}

#[test]
fn a_snapshot_says_when_a_deferred_task_falls_due_and_a_fresh_one_then_shows_it() {
    let mut pool = Pool::new();
    let soon = Utc::now() + chrono::Duration::milliseconds(400);
    let later = Utc.with_ymd_and_hms(2099, 1, 1, 0, 0, 0).unwrap();
    pool.send(vec![
        task("soon", |t| {
            t.candidate_groups = set(&["approvers"]);
            t.follow_up_date = Some(soon);
        }),
        task("later", |t| {
            t.assignee = Some("alice".into());
            t.follow_up_date = Some(later);
        }),
        task("someone-elses", |t| {
            t.assignee = Some("bob".into());
            t.follow_up_date = Some(Utc::now() + chrono::Duration::milliseconds(100));
        }),
        task("plain", |t| t.assignee = Some("alice".into())),
    ]);
    let snapshot = |deferred: Deferred| {
        let mut query = q(alice());
        query.deferred = deferred;
        Subscription::open(&pool.view, pool.projector.signal(), query, None)
            .expect("subscribe")
            .1
            .expect("a snapshot")
    };
    let ids = |s: &taskpool_core::live::Snapshot| {
        s.tasks.iter().map(|t| t.id.clone()).collect::<Vec<_>>()
    };
    let first = snapshot(Deferred::Exclude);
    assert_eq!(ids(&first), vec!["plain"]);
    // Bob's deferral is none of alice's business: hers falls due first.
    let due = first.next_follow_up.expect("a deferral is pending");
    assert_eq!(due.timestamp_millis(), soon.timestamp_millis());
    assert_eq!(
        snapshot(Deferred::Only).next_follow_up,
        first.next_follow_up
    );
    assert_eq!(snapshot(Deferred::Include).next_follow_up, None);
    std::thread::sleep(Duration::from_millis(500));
    let fresh = snapshot(Deferred::Exclude);
    let mut now_ids = ids(&fresh);
    now_ids.sort();
    assert_eq!(now_ids, vec!["plain", "soon"]);
    assert_eq!(
        fresh.next_follow_up.map(|d| d.timestamp_millis()),
        Some(later.timestamp_millis())
    );
}

#[test]
fn full_text_segments_are_merged_in_the_search_projections_upkeep_not_inside_single_changes() {
    let mut pool = Pool::new();
    let automerge: i64 = pool
        .conn()
        .query_row(
            "SELECT v FROM search.tasks_fts_config WHERE k = 'automerge'",
            [],
            |r| r.get(0),
        )
        .expect("automerge setting");
    assert_eq!(
        automerge, 0,
        "FTS5 must not merge inside the search projection's writes"
    );
    let searched = |pool: &Pool| {
        let mut q = TaskQuery::for_viewer(Viewer::Admin);
        q.text = Some("quarterly".into());
        q.paging = Paging::Offset {
            offset: 0,
            limit: 500,
        };
        pool.ids(&q).len()
    };
    // One change per commit, as a live view sees them: each leaves a small segment.
    for i in 0..120 {
        pool.send(vec![task(&format!("single-{i}"), |t| {
            t.name = format!("Quarterly report {i}")
        })]);
    }
    assert_eq!(searched(&pool), 120);
    assert!(
        pool.search.maintain().expect("upkeep"),
        "120 single-change commits left segments to merge"
    );
    let mut steps = 1;
    while pool.search.maintain().expect("upkeep") {
        steps += 1;
        assert!(steps < 10_000, "the upkeep never finishes");
    }
    assert_eq!(searched(&pool), 120, "merging keeps every document");
    // Four more single changes leave a level of four segments to merge; a bulk
    // transaction is merged right after its commit, and that merge takes them too.
    for i in 0..4 {
        pool.send(vec![task(&format!("late-{i}"), |t| {
            t.name = format!("Quarterly memo {i}")
        })]);
    }
    pool.send(
        (0..1000)
            .map(|i| {
                task(&format!("bulk-{i}"), |t| {
                    t.name = format!("Quarterly plan {i}")
                })
            })
            .collect(),
    );
    assert!(
        !pool.search.maintain().expect("upkeep"),
        "the bulk commit was merged"
    );
    assert_eq!(searched(&pool), 500, "a page of the 1,124 matches");
}

fn definition_with_forms(forms: &[(&str, serde_json::Value)]) -> ProcessDefinition {
    ProcessDefinition {
        id: "approve-request:1:app".into(),
        key: "approve-request".into(),
        version: 1,
        application_name: "app".into(),
        name: "Approve a request".into(),
        description: None,
        start_form_key: Some("approve-request-start".into()),
        candidate_starter_users: Default::default(),
        candidate_starter_groups: set(&["approvers"]),
        startable_from_tasklist: true,
        forms: forms
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_object().cloned().expect("an object")))
            .collect(),
        diagram: Some("<bpmn:definitions/>".into()),
    }
}

#[test]
fn forms_are_registered_with_their_definition_and_read_as_the_task_or_start_allows() {
    let mut pool = Pool::new();
    let start = json!({"components": [{"type": "textfield", "key": "subject"}]});
    let approve = json!({"components": [{"type": "checkbox", "key": "approved"}]});
    pool.send(vec![
        ProcessDefinitionCommand::RegisterProcessDefinition(definition_with_forms(&[
            ("approve-request-start", start.clone()),
            ("approve-request-approve", approve.clone()),
        ]))
        .into(),
        task("t-1", |t| {
            t.source_reference.definition_id = "approve-request:1:app".into();
            t.form_key = Some("approve-request-approve".into());
            t.candidate_groups = set(&["approvers"]);
        }),
        task("t-2", |t| {
            t.source_reference.definition_id = "approve-request:1:app".into();
            t.form_key = Some("unregistered".into());
            t.candidate_groups = set(&["approvers"]);
        }),
    ]);
    let conn = pool.conn();
    let form = query::task_form(&conn, &alice(), "t-1")
        .expect("q")
        .expect("a form");
    assert_eq!(serde_json::Value::Object(form.form), approve);
    assert_eq!(form.form_key, "approve-request-approve");
    assert!(query::task_form(&conn, &alice(), "t-2")
        .expect("q")
        .is_none());
    // Not seen, not read: bob may not see the task nor start the process.
    let bob = Viewer::user("bob", &["support"]);
    assert!(query::task_form(&conn, &bob, "t-1").expect("q").is_none());
    assert!(query::start_form(&conn, &bob, "approve-request:1:app")
        .expect("q")
        .is_none());
    let start_form = query::start_form(&conn, &alice(), "approve-request:1:app")
        .expect("q")
        .expect("a start form");
    assert_eq!(serde_json::Value::Object(start_form.form), start);
    // The list of definitions does not carry the forms nor the diagram.
    let listed = query::startable_process_definitions(&conn, &alice()).expect("q");
    assert!(listed[0].forms.is_empty());
    assert!(listed[0].diagram.is_none());
    // The diagram, with where the task stands, for who may see the task.
    let diagram = query::task_diagram(&conn, &alice(), "t-1")
        .expect("q")
        .expect("a diagram");
    assert_eq!(
        (diagram.element_id.as_str(), diagram.xml.as_str()),
        ("approve", "<bpmn:definitions/>")
    );
    assert!(query::task_diagram(&conn, &bob, "t-1")
        .expect("q")
        .is_none());

    // A redeployment with other forms replaces them.
    let approve2 = json!({"components": [{"type": "textarea", "key": "comment"}]});
    pool.send(vec![ProcessDefinitionCommand::RegisterProcessDefinition(
        definition_with_forms(&[("approve-request-approve", approve2.clone())]),
    )
    .into()]);
    let conn = pool.conn();
    let form = query::task_form(&conn, &alice(), "t-1")
        .expect("q")
        .expect("a form");
    assert_eq!(serde_json::Value::Object(form.form), approve2);
    assert!(query::start_form(&conn, &alice(), "approve-request:1:app")
        .expect("q")
        .is_none());
}

#[test]
fn completed_tasks_stay_in_the_history_for_its_retention_with_their_timeline() {
    let mut pool = Pool::new();
    pool.send(vec![task("t-1", |t| {
        t.candidate_groups = set(&["approvers"]);
    })]);
    pool.send(vec![TaskCommand::CompleteTask(CompleteTask {
        id: "t-1".into(),
        assignee: Some("alice".into()),
    })
    .into()]);
    let conn = pool.conn();
    let history = query::completed_tasks(&conn, &alice(), 0, 10).expect("history");
    assert_eq!(history.total, 1);
    assert_eq!(history.tasks[0].completed_by.as_deref(), Some("alice"));
    assert_eq!(history.tasks[0].task.assignee.as_deref(), Some("alice"));
    let timeline = query::task_timeline(&conn, &alice(), "t-1")
        .expect("q")
        .expect("alice could see it");
    assert_eq!(
        timeline.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
        vec!["created", "completed"]
    );
    let bob = Viewer::user("bob", &["support"]);
    assert_eq!(
        query::completed_tasks(&conn, &bob, 0, 10).expect("q").total,
        0
    );
    assert!(query::task_timeline(&conn, &bob, "t-1")
        .expect("q")
        .is_none());

    // Within its retention it stays; past it, the upkeep forgets it and its timeline.
    let upkeep = |retention| {
        let mut p = Projector::new(&pool.view)
            .expect("projector")
            .with_history_retention(Some(retention));
        while p.maintain().expect("upkeep") {}
    };
    upkeep(chrono::Duration::days(1));
    assert_eq!(
        query::completed_tasks(&conn, &alice(), 0, 10)
            .expect("q")
            .total,
        1
    );
    upkeep(chrono::Duration::zero());
    assert_eq!(
        query::completed_tasks(&conn, &alice(), 0, 10)
            .expect("q")
            .total,
        0
    );
    assert!(query::task_timeline(&conn, &alice(), "t-1")
        .expect("q")
        .is_none());
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM task_timeline", [], |r| r.get(0))
        .expect("count");
    assert_eq!(rows, 0);
}

/// Text search and payload filters are answered from the search index, which follows
/// the view on its own: a live snapshot (which must be exact at its position, since
/// what follows is judged from there) waits until the index covers it, and says so
/// when it does not in time, rather than answering from a trailing index.
#[test]
fn a_live_snapshot_with_a_payload_filter_waits_for_the_search_index() {
    let mut pool = Pool::new();
    let mut filtered = q(alice());
    filtered.filter = query::Filter::parse("amount > 100").expect("filter");
    pool.send(vec![task("old", |t| {
        t.candidate_users = set(&["alice"]);
        t.payload.insert("amount".into(), json!(50));
    })]);
    // The view has the raise, the search index not yet.
    pool.gateway
        .handle(
            vec![TaskCommand::UpdateTaskAttributes(UpdateTaskAttributes {
                id: "old".into(),
                payload: Some(payload(json!({"amount": 500}))),
                ..Default::default()
            })
            .into()],
            BatchMode::Atomic,
            &CommandContext::default(),
        )
        .expect("handled");
    let mut reader = pool.store.reader().expect("reader");
    pool.projector.catch_up(&mut reader).expect("projected");
    let started = Instant::now();
    let behind = Subscription::open(&pool.view, pool.projector.signal(), filtered.clone(), None);
    assert!(
        matches!(behind, Err(QueryError::SearchBehind { .. })),
        "a snapshot from a trailing index: {:?}",
        behind.map(|(_, s)| s)
    );
    assert!(started.elapsed() >= taskpool_core::view::search::SEARCH_WAIT);
    // The search projection catches up while a snapshot waits: the snapshot has it.
    let view = pool.view.clone();
    let mut search = SearchProjector::new(&view).expect("search");
    let indexer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        search.catch_up().expect("indexed");
    });
    let (_, snapshot) = Subscription::open(&pool.view, pool.projector.signal(), filtered, None)
        .expect("a snapshot once the index covers the view");
    indexer.join().expect("indexer");
    let ids: Vec<String> = snapshot
        .expect("snapshot")
        .tasks
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(ids, vec!["old"]);
}
