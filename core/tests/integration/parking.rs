//! A stored event the view cannot read is parked, not a crash loop: the projector goes
//! on with the events after it, the parked one is listed with why, and a rebuild parks
//! the same (the view stays equal to a rebuild).

use taskpool_core::command::TaskCommand;
use taskpool_core::projector::Projector;
use taskpool_core::testing::fixtures;
use taskpool_core::view::{self, View};
use taskpool_core::{BatchMode, Command, CommandContext, CommandGateway, EventStore};

fn create(id: &str) -> Command {
    TaskCommand::CreateTask(fixtures::task(id, "app")).into()
}

#[test]
fn an_unreadable_event_is_parked_and_the_view_goes_on() {
    let dir = tempfile::tempdir().expect("dir");
    let store = EventStore::open(dir.path().join("events.db")).expect("store");
    let gateway = CommandGateway::new(&store).expect("gateway");
    for id in ["t1", "t2", "t3"] {
        gateway
            .handle(
                vec![create(id)],
                BatchMode::Atomic,
                &CommandContext::default(),
            )
            .expect("handled");
    }
    // t2's event, as a newer build (or a bug) might have written it.
    let raw = store.connect().expect("conn");
    raw.execute(
        "UPDATE events SET payload = '{\"unexpected\": true}' WHERE aggregate_id = 't2'",
        [],
    )
    .expect("poison");
    let view = View::open(dir.path().join("view.db")).expect("view");
    let mut projector = Projector::new(&view).expect("projector");
    let mut reader = store.reader().expect("reader");
    projector.catch_up(&mut reader).expect("no crash, no loop");
    assert_eq!(projector.position().expect("position"), 3, "past it");
    let conn = view.connect().expect("conn");
    let parked = view::parked_events(&conn).expect("parked");
    assert_eq!(parked.len(), 1, "{parked:?}");
    assert_eq!(parked[0].0, 2);
    assert!(parked[0].1.contains("could not be decoded"), "{parked:?}");
    let ids: Vec<String> = conn
        .prepare("SELECT id FROM tasks ORDER BY id")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("ids");
    assert_eq!(ids, ["t1", "t3"], "the events after it are applied");
    // Later events go on too.
    gateway
        .handle(
            vec![create("t4")],
            BatchMode::Atomic,
            &CommandContext::default(),
        )
        .expect("handled");
    projector.catch_up(&mut reader).expect("caught up");
    assert_eq!(projector.position().expect("position"), 4);
    // A rebuild parks the same: the view equals its rebuild.
    let live = view::dump(&conn).expect("dump");
    let fresh = View::open(dir.path().join("rebuilt.db")).expect("view");
    Projector::new(&fresh)
        .expect("projector")
        .rebuild(&mut reader, &mut |_, _| {})
        .expect("rebuild");
    assert_eq!(
        view::dump(&fresh.connect().expect("conn")).expect("dump"),
        live
    );
    // Discarding clears the list; the event stays unapplied.
    assert_eq!(view::discard_parked_events(&conn).expect("discard"), 1);
    assert!(view::parked_events(&conn).expect("parked").is_empty());
}

/// The change log keeps the last changes only (retention); a stream resuming from before
/// them is told so with a fresh snapshot, never left with a silent gap.
#[test]
fn a_resume_older_than_the_change_log_gets_a_fresh_snapshot_marked_reset() {
    use taskpool_core::live::Subscription;
    use taskpool_core::query::{TaskQuery, Viewer};
    let dir = tempfile::tempdir().expect("dir");
    let store = EventStore::open(dir.path().join("events.db")).expect("store");
    let gateway = CommandGateway::new(&store).expect("gateway");
    let view = View::open(dir.path().join("view.db")).expect("view");
    let mut projector = Projector::new(&view)
        .expect("projector")
        .with_change_retention(Some(10));
    let mut reader = store.reader().expect("reader");
    let alice = || TaskQuery::for_viewer(Viewer::user("alice", &[]));
    let mine = |id: &str| -> Command {
        let mut t = fixtures::task(id, "app");
        t.assignee = Some("alice".into());
        TaskCommand::CreateTask(t).into()
    };
    gateway
        .handle(
            vec![mine("t0")],
            BatchMode::Atomic,
            &CommandContext::default(),
        )
        .expect("handled");
    projector.catch_up(&mut reader).expect("caught up");
    let early = projector.position().expect("position");
    for i in 1..30 {
        gateway
            .handle(
                vec![mine(&format!("t{i}"))],
                BatchMode::Atomic,
                &CommandContext::default(),
            )
            .expect("handled");
    }
    projector.catch_up(&mut reader).expect("caught up");
    while projector.maintain().expect("upkeep") {}
    let conn = view.connect().expect("conn");
    let kept: i64 = conn
        .query_row("SELECT COUNT(*) FROM task_changes", [], |r| r.get(0))
        .expect("count");
    assert!(kept <= 10, "{kept} changes kept");
    // From before what is kept: a fresh snapshot, marked.
    let signal = projector.signal();
    let (_, snapshot) =
        Subscription::open(&view, signal.clone(), alice(), Some(early)).expect("resume");
    let snapshot = snapshot.expect("a fresh snapshot");
    assert!(snapshot.reset);
    assert_eq!(snapshot.total, 30);
    // From within it: exact, no snapshot.
    let recent = projector.position().expect("position") - 3;
    let (mut sub, snapshot) =
        Subscription::open(&view, signal, alice(), Some(recent)).expect("resume");
    assert!(snapshot.is_none());
    assert_eq!(sub.poll().expect("items").len(), 3);
}
