//! The event store under real processes: SIGKILL at random moments, and two processes
//! writing the same aggregates.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use rand::Rng;
use taskpool_core::event::TaskEvent;
use taskpool_core::{DomainEvent, EventStore, StoredEvent};

const WRITER: &str = env!("CARGO_BIN_EXE_store-writer");

fn all_events(db: &std::path::Path) -> Vec<StoredEvent> {
    let store = EventStore::open(db).expect("the store opens after a crash");
    store
        .reader()
        .expect("reader")
        .read_after(0, usize::MAX)
        .expect("all events decode")
}

/// Versions per aggregate are 1, 2, 3, ... with no gap or duplicate.
fn assert_contiguous_versions(events: &[StoredEvent]) {
    let mut versions: BTreeMap<(String, String), Vec<i64>> = BTreeMap::new();
    for e in events {
        versions
            .entry((
                e.aggregate_kind.as_str().to_string(),
                e.aggregate_id.clone(),
            ))
            .or_default()
            .push(e.aggregate_version);
    }
    for (key, v) in versions {
        assert_eq!(
            v,
            (1..=v.len() as i64).collect::<Vec<_>>(),
            "versions of {key:?}"
        );
    }
    let positions: Vec<i64> = events.iter().map(|e| e.position).collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "positions increase"
    );
}

#[test]
fn sigkill_at_random_moments_never_leaves_a_partial_batch_or_loses_a_committed_one() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("events.db");
    let mut rng = rand::thread_rng();
    let mut reported: HashMap<String, usize> = HashMap::new();
    let kills = 24;
    for run in 0..kills {
        let mut child = Command::new(WRITER)
            .args([
                db.to_str().expect("utf8"),
                &run.to_string(),
                "fresh",
                "1000000",
            ])
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn writer");
        let stdout = child.stdout.take().expect("stdout");
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .collect::<Vec<_>>()
        });
        std::thread::sleep(Duration::from_millis(rng.gen_range(30..250)));
        child.kill().expect("SIGKILL"); // Child::kill sends SIGKILL on Unix.
        child.wait().expect("reaped");
        for line in reader.join().expect("reader thread") {
            let mut parts = line.split_whitespace().skip(1);
            let (Some(id), Some(n)) = (parts.next(), parts.next()) else {
                continue;
            };
            reported.insert(id.to_string(), n.parse().expect("count"));
        }

        let events = all_events(&db);
        assert_contiguous_versions(&events);
        let mut per_batch: HashMap<String, usize> = HashMap::new();
        let mut setup: HashMap<String, bool> = HashMap::new();
        for e in &events {
            let batch = e.metadata.correlation_id.to_string();
            *per_batch.entry(batch.clone()).or_default() += 1;
            // The setup batch creates `hot`, `c1` and `c2` (per command; a later run's
            // setup finds them there); every loop batch holds exactly 10 events.
            let is_setup = matches!(e.aggregate_id.as_str(), "hot" | "c1" | "c2")
                && e.event.type_name() == "TaskCreated";
            let all_setup = setup.entry(batch).or_insert(true);
            *all_setup &= is_setup;
        }
        for (batch, count) in &per_batch {
            let is_setup = setup.get(batch).copied().unwrap_or(false);
            assert!(
                (is_setup && *count <= 3) || *count == 10,
                "batch {batch} is partial: {count} events"
            );
        }
        for (batch, count) in &reported {
            assert_eq!(
                per_batch.get(batch),
                Some(count),
                "batch {batch} was reported committed"
            );
        }
    }
    assert!(
        reported.len() > kills,
        "the writer committed batches between kills ({})",
        reported.len()
    );
}

#[test]
fn two_processes_writing_the_same_aggregates_lose_no_update() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("events.db");
    let batches = 150;
    let children: Vec<_> = ["p1", "p2"]
        .iter()
        .map(|run| {
            Command::new(WRITER)
                .args([
                    db.to_str().expect("utf8"),
                    run,
                    "contend",
                    &batches.to_string(),
                ])
                .stdout(Stdio::null())
                .spawn()
                .expect("spawn writer")
        })
        .collect();
    for mut child in children {
        assert!(child.wait().expect("exit").success(), "writer failed");
    }
    let events = all_events(&db);
    assert_contiguous_versions(&events);
    for task in ["c1", "c2"] {
        let users: BTreeSet<String> = events
            .iter()
            .filter(|e| e.aggregate_id == task)
            .filter_map(|e| match &e.event {
                DomainEvent::Task(TaskEvent::TaskCandidateUsersAdded(c)) => Some(c.users.clone()),
                _ => None,
            })
            .flatten()
            .collect();
        assert_eq!(
            users.len(),
            2 * batches,
            "every user of both processes on {task}"
        );
    }
}
