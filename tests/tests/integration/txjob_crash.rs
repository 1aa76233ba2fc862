//! The txjob sender survives SIGKILL between the engine commit and the send, and
//! between the send and the job's completion: the commands reach the task pool exactly
//! once.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use taskpool_core::{EventStore, StoredEvent};

const APP: &str = env!("CARGO_BIN_EXE_txjob-app");

/// Runs the app until it prints `expect`, then SIGKILLs it.
fn run_until_then_kill(dir: &std::path::Path, args: &[&str], expect: &str) {
    let mut child = Command::new(APP)
        .arg(dir)
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let line = BufReader::new(stdout)
        .lines()
        .next()
        .expect("a line")
        .expect("utf8");
    assert_eq!(line, expect);
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
}

fn run(dir: &std::path::Path, args: &[&str]) {
    let out = Command::new(APP).arg(dir).args(args).output().expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn events(dir: &std::path::Path) -> Vec<StoredEvent> {
    let store = EventStore::open(dir.join("events.db")).expect("store");
    store
        .reader()
        .expect("reader")
        .read_after(0, usize::MAX)
        .expect("read")
}

#[test]
fn killed_after_engine_commit_before_send_the_worker_sends_exactly_once() {
    let dir = tempfile::tempdir().expect("dir");
    run_until_then_kill(dir.path(), &["enqueue", "t1"], "job committed");
    assert!(
        events(dir.path()).is_empty(),
        "nothing was sent before the kill"
    );
    run(dir.path(), &["work"]);
    run(dir.path(), &["work"]); // a second restart finds nothing left to send
    let e = events(dir.path());
    // The task and its order, once each: a second send would add an order update (a
    // protocol entry), which a resent create would not show.
    let ids: Vec<&str> = e.iter().map(|e| e.aggregate_id.as_str()).collect();
    assert_eq!(ids, ["order:t1", "t1"], "{e:?}");
}

#[test]
fn killed_after_send_before_the_job_is_finished_the_resend_is_absorbed() {
    let dir = tempfile::tempdir().expect("dir");
    run_until_then_kill(dir.path(), &["enqueue", "t2"], "job committed");
    run_until_then_kill(dir.path(), &["send-then-wait"], "sent");
    assert_eq!(
        events(dir.path()).len(),
        2,
        "sent once: the task and its order"
    );
    run(dir.path(), &["work"]); // resends the unfinished job with the same key
    let e = events(dir.path());
    assert_eq!(
        e.len(),
        2,
        "the resend was answered from the stored outcome (without the key it would add an order update): {e:?}"
    );
}
