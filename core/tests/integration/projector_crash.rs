//! The projector killed with SIGKILL mid-stream, 20 times, while commands keep coming:
//! the view ends equal to a rebuild from the event store.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use taskpool_core::command::{AssignTask, CompleteTask, TaskCommand, UpdateTaskAttributes};
use taskpool_core::projector::Projector;
use taskpool_core::testing::fixtures;
use taskpool_core::view::{self, View};
use taskpool_core::{
    BatchMode, Command as TaskpoolCommand, CommandContext, CommandGateway, EventStore,
};

const VIEW_BIN: &str = env!("CARGO_BIN_EXE_taskpool-view");

fn follow(dir: &std::path::Path) -> std::process::Child {
    Command::new(VIEW_BIN)
        .args([
            "follow",
            "--data-dir",
            dir.to_str().expect("utf8"),
            "--batch",
            "50",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn projector")
}

#[test]
fn projector_killed_twenty_times_ends_equal_to_a_rebuild() {
    let dir = tempfile::tempdir().expect("dir");
    let store = EventStore::open(dir.path().join("events.db")).expect("store");
    View::open(dir.path().join("view.db")).expect("view");
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (store, stop) = (store.clone(), stop.clone());
        std::thread::spawn(move || {
            let gateway = CommandGateway::new(&store).expect("gateway");
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let id = |k: u64| format!("t{k}");
                let mut batch: Vec<TaskpoolCommand> = Vec::new();
                let mut t = fixtures::task(&id(n), "app");
                t.candidate_groups.insert(format!("g{}", n % 3));
                t.payload.insert("amount".into(), serde_json::json!(n));
                batch.push(TaskCommand::CreateTask(t).into());
                if n >= 1 {
                    batch.push(
                        TaskCommand::AssignTask(AssignTask {
                            id: id(n - 1),
                            assignee: Some(format!("u{}", n % 5)),
                        })
                        .into(),
                    );
                    batch.push(
                        TaskCommand::UpdateTaskAttributes(UpdateTaskAttributes {
                            id: id(n - 1),
                            priority: Some((n % 90) as i32),
                            ..Default::default()
                        })
                        .into(),
                    );
                }
                if n >= 3 && n % 2 == 0 {
                    batch.push(
                        TaskCommand::CompleteTask(CompleteTask {
                            id: id(n - 3),
                            assignee: None,
                        })
                        .into(),
                    );
                }
                gateway
                    .handle(batch, BatchMode::PerCommand, &CommandContext::default())
                    .expect("written");
                n += 1;
                std::thread::sleep(Duration::from_millis(2));
            }
            n
        })
    };
    let mut rng = rand::thread_rng();
    let checkpoint = || {
        view::checkpoint(
            &View::open(dir.path().join("view.db"))
                .expect("view")
                .connect()
                .expect("conn"),
            "tasklist",
        )
        .expect("checkpoint")
    };
    // Kills that landed with work pending (the projector behind the store's head), and
    // runs that moved the checkpoint: the kills must hit a projector at work.
    let (mut behind, mut progressed) = (0, 0);
    let mut last = checkpoint();
    for _ in 0..20 {
        let mut child = follow(dir.path());
        std::thread::sleep(Duration::from_millis(rng.gen_range(30..200)));
        let head = store
            .reader()
            .expect("reader")
            .head_position()
            .expect("head");
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        let now = checkpoint();
        behind += usize::from(now < head);
        progressed += usize::from(now > last);
        last = now;
    }
    assert!(behind >= 10, "only {behind} of 20 kills found work pending");
    assert!(
        progressed >= 10,
        "only {progressed} of 20 runs moved the checkpoint"
    );
    stop.store(true, Ordering::Relaxed);
    let batches = writer.join().expect("writer");
    assert!(batches > 20, "the writer kept writing ({batches} batches)");

    // One last run catches up to the head.
    let head = store
        .reader()
        .expect("reader")
        .head_position()
        .expect("head");
    let mut child = follow(dir.path());
    let stdout = child.stdout.take().expect("stdout");
    let reached = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .any(|line| line.trim_start_matches("position ").parse::<i64>().ok() == Some(head));
    child.kill().expect("kill");
    child.wait().expect("reaped");
    let followed = View::open(dir.path().join("view.db")).expect("view");
    let conn = followed.connect().expect("conn");
    assert!(
        reached || view::checkpoint(&conn, "tasklist").expect("cp") == head,
        "caught up to {head}"
    );

    let rebuilt_dir = tempfile::tempdir().expect("dir");
    let rebuilt = View::open(rebuilt_dir.path().join("view.db")).expect("view");
    let mut projector = Projector::new(&rebuilt).expect("projector");
    projector
        .rebuild(&mut store.reader().expect("reader"), &mut |_, _| {})
        .expect("rebuild");
    let a = view::dump(&conn).expect("dump");
    let b = view::dump(&rebuilt.connect().expect("conn")).expect("dump");
    assert_eq!(a.len(), b.len());
    assert!(a == b, "the view after 20 kills differs from a rebuild");
}
