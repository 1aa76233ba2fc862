//! The query side at scale: builds a view of TASKS tasks (default 1,000,000; 10,000
//! users, 500 groups, payloads of 10 fields) and prints projector events/s, query
//! latencies (first page of my tasks by due date, a payload filter, a full-text query)
//! and change-to-subscriber latency with 1,000 live subscribers, served the way the
//! server serves live streams (woken by the change feed, read by one worker per core).
//!
//! `cargo bench -p taskpool-core --bench query_side` (`TASKS=100000` for a quick run;
//! `SUBS=N` live subscribers instead of 1,000; `LIVE_DEBUG=1` lists the slowest
//! deliveries split into store commit and projection; `STORE_SYNC=normal` runs the event
//! store without an fsync per commit; `STORE_DIR=path` keeps the filled event store
//! there for the next run; `BATCH=N` events per read; `GROUP=N` events per catch-up transaction; `PROJECT_ONLY=1` stops after the
//! build)

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use taskpool_core::command::{AssignTask, TaskCommand};
use taskpool_core::live::{ChangeFeed, LiveItem, Subscription};
use taskpool_core::position_signal::PositionSignal;
use taskpool_core::projector::{CommitGroup, Follow, Projector};
use taskpool_core::query::{self, Filter, Paging, TaskQuery, Viewer};
use taskpool_core::view::search::SearchProjector;
use taskpool_core::view::View;
use taskpool_core::{CommandContext, CommandGateway, EventStore};

// The allocator every Taskpool binary uses (see ARCHITECTURE.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "support/tasks.rs"]
mod tasks;
use tasks::{groups_of, user, Audience, TaskGenerator, GROUPS, USERS};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{name:<48} p50 {:>8.2} ms   p99 {:>8.2} ms   ({} samples)",
        percentile(&samples, 0.5).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        samples.len()
    );
}

/// When `signal` passed each position, recorded by a thread of its own until `stop`
/// (`log`: each move printed with the wall clock, to line up with other logs).
type Passed = Arc<Mutex<Vec<(i64, Instant)>>>;

fn record_positions(
    signal: PositionSignal,
    stop: Arc<AtomicBool>,
    log: bool,
) -> (Passed, std::thread::JoinHandle<()>) {
    let passed: Passed = Arc::default();
    let record = passed.clone();
    let thread = std::thread::spawn(move || {
        let mut seen = signal.head();
        while !stop.load(Ordering::Relaxed) {
            let head = signal.wait_beyond(seen, Duration::from_millis(200));
            if head > seen {
                let now = Instant::now();
                if log {
                    let t = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_micros())
                        .unwrap_or(0);
                    eprintln!("projected {t}: head {head}");
                }
                let mut p = record.lock().unwrap_or_else(|p| p.into_inner());
                p.extend((seen + 1..=head).map(|pos| (pos, now)));
                seen = head;
            }
        }
    });
    (passed, thread)
}

/// What a [`record_positions`] thread recorded, by position.
fn passed_at(passed: &Passed) -> HashMap<i64, Instant> {
    passed
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .copied()
        .collect()
}

fn knob(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|s| s.parse().ok())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tasks: usize = std::env::var("TASKS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir()?;
    // `STORE_DIR=path`: keep the filled event store there and reuse it on the next run
    // (the view is always built afresh).
    let store_dir = std::env::var_os("STORE_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| dir.path().to_path_buf());
    std::fs::create_dir_all(&store_dir)?;
    // `STORE_SYNC=normal`: the event store without an fsync per commit (to tell the
    // disk's share of the live latency).
    let durability = match std::env::var("STORE_SYNC").as_deref() {
        Ok("normal") => taskpool_core::event_store::Durability::Normal,
        _ => taskpool_core::event_store::Durability::default(),
    };
    let store = EventStore::open_with(store_dir.join("events.db"), durability)?;
    let gateway = Arc::new(CommandGateway::new(&store)?);
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    println!(
        "query side benchmark: {tasks} tasks, {USERS} users, {GROUPS} groups, 10 payload fields"
    );

    let started = Instant::now();
    let filled = store.reader()?.head_position()? > 0;
    TaskGenerator::new(7, Audience::Population, 10).fill(
        &gateway,
        0..if filled { 0 } else { tasks },
        |i| format!("app-{}", i % 5),
    )?;
    println!("event store filled in {:.1?}", started.elapsed());

    let view = View::open(dir.path().join("view.db"))?;
    let mut projector = Projector::new(&view)?
        .with_batch_size(knob("BATCH").unwrap_or(5000))
        .with_commit_group(match knob("GROUP") {
            Some(events) => CommitGroup {
                events,
                ..CommitGroup::default()
            },
            None => CommitGroup::default(),
        });
    let mut reader = store.reader()?;
    let started = Instant::now();
    let applied = projector.catch_up(&mut reader)?;
    let elapsed = started.elapsed();
    println!(
        "projector: {applied} events in {elapsed:.1?} = {:.0} events/s (target >= 50,000)",
        applied as f64 / elapsed.as_secs_f64()
    );
    // The search index (payload and full text) is a projection of its own, following
    // the view: measured alone, over the same events.
    let mut search = SearchProjector::new(&view)?;
    let started = Instant::now();
    let indexed = search.catch_up()?;
    let elapsed = started.elapsed();
    println!(
        "search projection: {indexed} tasks indexed, covering the {applied} events, in {elapsed:.1?} = {:.0} events/s (target >= 50,000)",
        applied as f64 / elapsed.as_secs_f64()
    );
    if std::env::var_os("PROJECT_ONLY").is_some() {
        return Ok(());
    }
    let conn = view.connect()?;
    conn.execute_batch("ANALYZE")?;

    let viewer = |u: usize| Viewer::User {
        user: user(u),
        groups: groups_of(u),
    };
    let mut first_page = Vec::new();
    let mut payload = Vec::new();
    let mut fulltext = Vec::new();
    for _ in 0..500 {
        let u = rng.gen_range(0..USERS);
        let mut q = TaskQuery::for_viewer(viewer(u));
        q.paging = Paging::Offset {
            offset: 0,
            limit: 50,
        };
        let t = Instant::now();
        query::tasks(&conn, &q)?;
        first_page.push(t.elapsed());

        q.filter = Filter::parse(&format!(
            "amount > {} and country = DE",
            rng.gen_range(0..90_000)
        ))?;
        let t = Instant::now();
        query::tasks(&conn, &q)?;
        payload.push(t.elapsed());

        q.filter = Filter::default();
        q.text = Some(format!("order {}", rng.gen_range(0..1000)));
        let t = Instant::now();
        query::tasks(&conn, &q)?;
        fulltext.push(t.elapsed());
    }
    report("first page (50) of my tasks by due date", first_page);
    println!("  (target p99 <= 10 ms)");
    report("payload filter (amount > N and country = DE)", payload);
    report("full-text query (q=\"order N\")", fulltext);

    // Live: 1,000 subscribers on the change feed, each a thread following its inbox.
    let signal = projector.signal();
    let (feed, feed_thread) = ChangeFeed::start(&view, signal.clone())?;
    let stop = Arc::new(AtomicBool::new(false));
    // When the view's position passed each position (to split a delivery's latency
    // into store commit, projection and delivery under LIVE_DEBUG).
    let (projected, watcher) = record_positions(
        signal.clone(),
        stop.clone(),
        std::env::var_os("X_FEEDLOG").is_some(),
    );
    let projector_thread = {
        let (store, stop, commit) = (store.clone(), stop.clone(), gateway.commit_signal());
        std::thread::spawn(move || projector.run(&store, Follow::Signal(commit), stop))
    };
    // The search projection follows the view as on a node; when it covered each
    // position, to tell how far it trails the view.
    let search_signal = search.signal();
    let search_thread = {
        let (signal, stop) = (signal.clone(), stop.clone());
        std::thread::spawn(move || search.run(signal, stop))
    };
    let (indexed_at, search_watcher) = record_positions(search_signal, stop.clone(), false);
    let received: Arc<Mutex<Vec<(i64, Instant)>>> = Arc::default();
    let nsubs: usize = std::env::var("SUBS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let subscribers: Vec<usize> = (0..nsubs).map(|k| k * (USERS / nsubs)).collect();
    // Subscribers are served the way the server serves its live streams: the feed wakes
    // a subscription, and a small pool of workers (one per core) reads it.
    let ready: Arc<(Mutex<VecDeque<usize>>, Condvar)> = Arc::default();
    let mut subscriptions = Vec::with_capacity(subscribers.len());
    for (k, &u) in subscribers.iter().enumerate() {
        let (mut sub, _) =
            Subscription::open_on_feed(&view, &feed, TaskQuery::for_viewer(viewer(u)), None)?;
        let ready = ready.clone();
        sub.set_waker(Arc::new(move || {
            let (queue, wake) = &*ready;
            queue.lock().unwrap_or_else(|p| p.into_inner()).push_back(k);
            wake.notify_one();
        }));
        subscriptions.push(Mutex::new(sub));
    }
    let subscriptions = Arc::new(subscriptions);
    let mut handles = Vec::new();
    for _ in 0..std::thread::available_parallelism().map_or(2, |n| n.get()) {
        let (stop, received, ready, subscriptions) = (
            stop.clone(),
            received.clone(),
            ready.clone(),
            subscriptions.clone(),
        );
        handles.push(std::thread::spawn(move || {
            let (queue, wake) = &*ready;
            while !stop.load(Ordering::Relaxed) {
                let next = {
                    let mut q = queue.lock().unwrap_or_else(|p| p.into_inner());
                    if q.is_empty() {
                        q = wake
                            .wait_timeout(q, Duration::from_millis(100))
                            .map(|(q, _)| q)
                            .unwrap_or_else(|p| p.into_inner().0);
                    }
                    q.pop_front()
                };
                let Some(k) = next else { continue };
                let items = subscriptions[k]
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .try_next();
                if let Ok(Some(items)) = items {
                    let now = Instant::now();
                    let mut r = received.lock().unwrap_or_else(|p| p.into_inner());
                    r.extend(
                        items
                            .iter()
                            .filter(|i| {
                                matches!(i, LiveItem::Changed { .. } | LiveItem::Entered { .. })
                            })
                            .map(|i| (i.position(), now)),
                    );
                }
            }
        }));
    }
    std::thread::sleep(Duration::from_millis(500));
    let wal_size = || {
        std::fs::metadata(dir.path().join("view.db-wal"))
            .map(|m| m.len() >> 20)
            .unwrap_or(0)
    };
    if std::env::var_os("LIVE_DEBUG").is_some() {
        println!("live: view WAL {} MiB at the start", wal_size());
    }
    let live_started = Instant::now();
    let mut sent: HashMap<i64, Instant> = HashMap::new();
    let mut stored: HashMap<i64, Instant> = HashMap::new();
    // The first changes after the projector, the feed and the subscribers start are
    // measured apart (warm-up: statements prepared, pages first read).
    let mut warmup: HashMap<i64, Instant> = HashMap::new();
    const WARMUP: usize = 10;
    // Seeded by the store's head: a reused store (STORE_DIR) gets new assignments.
    let mut rng = rand::rngs::StdRng::seed_from_u64(store.reader()?.head_position()? as u64);
    for k in 0..200 + WARMUP {
        let u = subscribers[rng.gen_range(0..subscribers.len())];
        let id = format!("task-{:07}", rng.gen_range(0..tasks));
        let t = Instant::now();
        let out = gateway.send(
            TaskCommand::AssignTask(AssignTask {
                id,
                assignee: Some(user(u)),
            })
            .into(),
            &CommandContext::default(),
        )?;
        if let Some(r) = out.rejection() {
            println!("live: assignment refused: {r:?}");
        }
        if let Some(p) = out.position() {
            stored.insert(p, Instant::now());
            if k < WARMUP {
                warmup.insert(p, t);
            } else {
                sent.insert(p, t);
            }
        }
        std::thread::sleep(Duration::from_millis(if k % 10 == 0 { 50 } else { 10 }));
    }
    std::thread::sleep(Duration::from_secs(2));
    if std::env::var_os("LIVE_DEBUG").is_some() {
        println!("live: view WAL {} MiB at the end", wal_size());
    }
    stop.store(true, Ordering::Relaxed);
    gateway.commit_signal().wake_all();
    for h in handles {
        let _ = h.join();
    }
    let _ = projector_thread.join();
    signal.wake_all();
    let _ = search_thread.join();
    let _ = search_watcher.join();
    let _ = watcher.join();
    feed.stop();
    let _ = feed_thread.join();
    // Every thread has stopped: take what they recorded once.
    let received: Vec<(i64, Instant)> =
        std::mem::take(&mut *received.lock().unwrap_or_else(|p| p.into_inner()));
    let projected = passed_at(&projected);
    let indexed_at = passed_at(&indexed_at);
    // (delay, position) of each delivery of a change sent at a time in `from`.
    let delays = |from: &HashMap<i64, Instant>| -> Vec<(Duration, i64)> {
        received
            .iter()
            .filter_map(|(p, at)| from.get(p).map(|s| (at.duration_since(*s), *p)))
            .collect()
    };
    let mut by = delays(&sent);
    let reached: std::collections::HashSet<i64> = by.iter().map(|(_, p)| *p).collect();
    println!("live: {} of {} assignments reached the assigned subscriber ({} deliveries in all, group members included)", reached.len(), sent.len(), by.len());
    if std::env::var_os("LIVE_DEBUG").is_some() {
        by.sort();
        let first = sent.keys().min().copied().unwrap_or(0);
        let stage = |p: i64| {
            let (s, st, pr) = (sent.get(&p)?, stored.get(&p)?, projected.get(&p)?);
            Some((st.duration_since(*s), pr.saturating_duration_since(*st)))
        };
        for (d, p) in by.iter().rev().take(40) {
            let (store, projection) = stage(*p).unwrap_or_default();
            println!(
                "  slow: {d:.1?} for the change at position {p} (send #{}, {:.1?} into the run): store commit {store:.1?}, then projected {projection:.1?}",
                p - first,
                sent.get(p).map(|s| s.duration_since(live_started)).unwrap_or_default()
            );
        }
    }
    let warm = delays(&warmup).into_iter().map(|(d, _)| d).collect();
    report("  the first 10 changes (warm-up, apart)", warm);
    report(
        &format!("change to subscriber, {nsubs} live subscribers"),
        by.into_iter().map(|(d, _)| d).collect(),
    );
    println!("  (target p99 <= 50 ms)");
    // How far text search and payload filters trail the view: from the view reaching a
    // change's position to the search index covering it.
    let trail: Vec<Duration> = sent
        .keys()
        .filter_map(|p| {
            Some(
                indexed_at
                    .get(p)?
                    .saturating_duration_since(*projected.get(p)?),
            )
        })
        .collect();
    println!(
        "search index covered {} of {} changes",
        trail.len(),
        sent.len()
    );
    report("search index behind the view, per change", trail);
    Ok(())
}
