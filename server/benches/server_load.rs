//! Load benchmark of the real server on loopback (`cargo bench -p taskpool-server --bench
//! server_load`): `GET /tasks` requests/s with p50 / p99 latency over a view of TASKS
//! tasks (default 1,000,000), then how many concurrent SSE subscribers the server holds
//! while keeping change-to-subscriber latency p99 under 100 ms, and the server's peak RSS.
//!
//! Then one user's 1,000 filtered streams held open while tasks change, and the other
//! users' `GET /tasks` latency meanwhile (a reader's cost stays bounded).
//!
//! Environment: TASKS (view size), SUBSCRIBERS (comma-separated steps, default
//! 1000,5000,10000), SECONDS (per load phase, default 10), CONCURRENCY (default 32),
//! BENCH_DATA (where the generated data directory is kept between runs; default under
//! ~/.cache, so a second run skips generating).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use taskpool_server::auth::{application_token, load_or_create_secret, user_token};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../../core/benches/support/tasks.rs"]
mod tasks;
use tasks::{group, groups_of, user, Audience, TaskGenerator, GROUPS, USERS};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Generates the event store and view once (kept for later runs).
fn prepare(dir: &Path, tasks: usize) -> Result<(), Box<dyn std::error::Error>> {
    let generator = TaskGenerator::new(7, Audience::Population, 3);
    tasks::prepare_once(dir, dir, tasks, generator, |i| format!("app-{}", i % 5))
}

struct Server {
    child: Child,
    base: String,
}

fn start(dir: &Path) -> Result<Server, Box<dyn std::error::Error>> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_taskpool-server"))
        .args(["--listen", "127.0.0.1:0", "--print-address", "--data-dir"])
        .arg(dir)
        .env("RUST_LOG", "warn")
        // The benchmark holds more streams than a node allows by default.
        .env("TASKPOOL_MAX_STREAMS_PER_USER", "2000")
        .env("TASKPOOL_MAX_STREAMS", "100000")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().ok_or("stdout")?).read_line(&mut line)?;
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .ok_or("address")?
        .to_string();
    Ok(Server { child, base })
}

/// A memory figure of the server from /proc (VmHWM: peak resident set; RssAnon: heap
/// and stacks now; RssFile: mapped file pages now, the memory-mapped view) in MiB.
fn memory_mib(pid: u32, field: &str) -> f64 {
    let file = if field == "Pss:" {
        "smaps_rollup"
    } else {
        "status"
    };
    std::fs::read_to_string(format!("/proc/{pid}/{file}"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with(field)).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

async fn query_load(
    base: &str,
    secret: &[u8],
    concurrency: usize,
    seconds: u64,
    path: &str,
    name: &str,
) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .expect("client");
    let stop = Arc::new(AtomicBool::new(false));
    let samples: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let errors = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for w in 0..concurrency {
        let (client, stop, samples, errors) = (
            client.clone(),
            stop.clone(),
            samples.clone(),
            errors.clone(),
        );
        let tokens: Vec<String> = (0..50)
            .map(|k| {
                let u = (w * 50 + k) * 37 % USERS;
                user_token(secret, &user(u), &groups_of(u), 3600).expect("token")
            })
            .collect();
        let url = format!("{base}{path}");
        workers.push(tokio::spawn(async move {
            let mut local = Vec::new();
            let mut k = 0;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                match client
                    .get(&url)
                    .bearer_auth(&tokens[k % tokens.len()])
                    .send()
                    .await
                {
                    Ok(r) if r.status() == 200 => {
                        let _ = r.bytes().await;
                        local.push(t.elapsed());
                    }
                    _ => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                k += 1;
            }
            samples.lock().expect("lock").extend(local);
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.await;
    }
    let mut s = samples.lock().expect("lock").clone();
    s.sort();
    println!(
        "{name:<44} {:>8.0} req/s   p50 {:>7.2} ms   p99 {:>7.2} ms   ({} requests, {} errors, {concurrency} connections)",
        s.len() as f64 / seconds as f64,
        percentile(&s, 0.5).as_secs_f64() * 1e3,
        percentile(&s, 0.99).as_secs_f64() * 1e3,
        s.len(),
        errors.load(Ordering::Relaxed)
    );
}

/// One user holds 1,000 filtered streams (judged in memory per change) while tasks of
/// their group change; meanwhile the others' `GET /tasks` is measured.
async fn one_users_filtered_streams(base: &str, secret: &[u8], seconds: u64, concurrency: usize) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    let heavy = 0;
    let token = user_token(secret, &user(heavy), &groups_of(heavy), 3600).expect("token");
    let connected = Arc::new(AtomicUsize::new(0));
    let mut streams = Vec::new();
    for _ in 0..1000 {
        let (client, token, connected) = (client.clone(), token.clone(), connected.clone());
        let url = format!("{base}/api/v1/stream/tasks?limit=20&filter=amount%20%3E%2050000%20and%20task.priority%20%3E%3D%2010");
        streams.push(tokio::spawn(async move {
            let Ok(resp) = client.get(&url).bearer_auth(token).send().await else {
                return;
            };
            if resp.status() != 200 {
                return;
            }
            connected.fetch_add(1, Ordering::Relaxed);
            let mut body = resp.bytes_stream();
            while let Some(Ok(_)) = body.next().await {}
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while connected.load(Ordering::Relaxed) < 1000 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "one user's filtered streams open: {}",
        connected.load(Ordering::Relaxed)
    );
    // Changes for that user's group, 20 a second, while the others query.
    let app = application_token(secret, "bench", 3600).expect("token");
    let stop = Arc::new(AtomicBool::new(false));
    let changes = {
        let (client, base, stop) = (client.clone(), base.to_string(), stop.clone());
        let g = groups_of(heavy)
            .first()
            .cloned()
            .unwrap_or_else(|| group(0));
        tokio::spawn(async move {
            let mut k = 0;
            while !stop.load(Ordering::Relaxed) {
                let id = format!("heavy-{k}");
                let body = serde_json::json!({"events": [{"type": "taskCreated", "task": {
                    "id": id, "sourceReference": {"kind": "process", "instanceId": id, "executionId": id, "definitionId": "d:1",
                        "definitionKey": "d", "name": "D", "applicationName": "bench"},
                    "taskDefinitionKey": "k", "name": "heavy", "candidateGroups": [g], "priority": 60,
                    "payload": {"amount": 60000 + k},
                    "createTime": "2026-01-01T00:00:00Z"}}]});
                let _ = client
                    .post(format!("{base}/api/v1/engine-events"))
                    .bearer_auth(&app)
                    .json(&body)
                    .send()
                    .await;
                k += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    query_load(
        base,
        secret,
        concurrency,
        seconds,
        "/api/v1/tasks?limit=50",
        "GET /tasks meanwhile (the others' inbox)",
    )
    .await;
    stop.store(true, Ordering::Relaxed);
    let _ = changes.await;
    for s in streams {
        s.abort();
    }
}

/// Opens `n` SSE subscribers (distinct users), then sends changes to their groups and
/// measures change-to-subscriber latency. Returns the p99.
async fn live_load(base: &str, secret: &[u8], n: usize, seconds: u64) -> Option<Duration> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    let received: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let connected = Arc::new(AtomicUsize::new(0));
    let epoch = Instant::now();
    let started = Instant::now();
    let mut subscribers = Vec::with_capacity(n);
    for i in 0..n {
        let u = i % USERS;
        let token = user_token(secret, &user(u), &groups_of(u), 3600).expect("token");
        let (client, received, connected) = (client.clone(), received.clone(), connected.clone());
        let url = format!("{base}/api/v1/stream/tasks?limit=20");
        subscribers.push(tokio::spawn(async move {
            let Ok(resp) = client.get(&url).bearer_auth(token).send().await else {
                return;
            };
            if resp.status() != 200 {
                return;
            }
            let mut stream = resp.bytes_stream();
            let mut buf = String::new();
            let mut counted = false;
            while let Some(Ok(chunk)) = stream.next().await {
                buf.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buf.find("\n\n") {
                    let block: String = buf.drain(..end + 2).collect();
                    if block.contains("event: snapshot") && !counted {
                        counted = true;
                        connected.fetch_add(1, Ordering::Relaxed);
                    } else if block.contains("event: entered") {
                        // The task name carries the send time (µs since the epoch).
                        if let Some(sent) = block
                            .split("\"name\":\"live ")
                            .nth(1)
                            .and_then(|r| r.split('"').next())
                            .and_then(|s| s.parse::<u64>().ok())
                        {
                            let now = epoch.elapsed();
                            received
                                .lock()
                                .expect("lock")
                                .push(now.saturating_sub(Duration::from_micros(sent)));
                        }
                    }
                }
            }
        }));
        if i % 500 == 499 {
            tokio::task::yield_now().await;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(300);
    while connected.load(Ordering::Relaxed) < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let held = connected.load(Ordering::Relaxed);
    println!(
        "  {held} of {n} subscribers connected (snapshot received) in {:.1?}",
        started.elapsed()
    );
    // Changes: a task for one group at a time, 20 per second; each reaches the
    // subscribers in that group (about {n} * 3 / 500 of them).
    let app = application_token(secret, "bench", 3600).expect("token");
    let mut k = 0;
    let end = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < end {
        let sent = epoch.elapsed().as_micros();
        let id = format!("live-{n}-{k}");
        let g = group((k * 97) % GROUPS);
        let body = serde_json::json!({"events": [{"type": "taskCreated", "task": {
            "id": id, "sourceReference": {"kind": "process", "instanceId": id, "executionId": id, "definitionId": "d:1",
                "definitionKey": "d", "name": "D", "applicationName": "bench"},
            "taskDefinitionKey": "k", "name": format!("live {sent}"), "candidateGroups": [g],
            "createTime": "2026-01-01T00:00:00Z"}}]});
        let _ = client
            .post(format!("{base}/api/v1/engine-events"))
            .bearer_auth(&app)
            .json(&body)
            .send()
            .await;
        k += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    for s in subscribers {
        s.abort();
    }
    let mut r = received.lock().expect("lock").clone();
    r.sort();
    if r.is_empty() {
        println!("  no change reached a subscriber");
        return None;
    }
    let p99 = percentile(&r, 0.99);
    println!(
        "  {k} changes, {} deliveries: change-to-subscriber p50 {:.1} ms, p99 {:.1} ms",
        r.len(),
        percentile(&r, 0.5).as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3
    );
    Some(p99)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let tasks: usize = env_or("TASKS", 1_000_000);
    let seconds: u64 = env_or("SECONDS", 10);
    let concurrency: usize = env_or("CONCURRENCY", 32);
    let steps: Vec<usize> = std::env::var("SUBSCRIBERS")
        .unwrap_or_else(|_| "1000,5000,10000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let dir: PathBuf = std::env::var("BENCH_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/tmp".into()))
                .join(".cache/taskpool-bench")
                .join(format!("server-{tasks}"))
        });
    println!("server load benchmark: {tasks} tasks, {USERS} users in {GROUPS} groups, loopback");
    prepare(&dir, tasks)?;
    let work = tempfile::tempdir()?;
    // Each run starts from a copy: the live phase adds tasks.
    for f in ["events.db", "view.db"] {
        std::fs::copy(dir.join(f), work.path().join(f))?;
    }
    let server = start(work.path())?;
    let secret = load_or_create_secret(work.path(), None)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    println!(
        "server heap and stacks at start: {:.0} MiB",
        memory_mib(server.child.id(), "RssAnon:")
    );
    rt.block_on(async {
        query_load(
            &server.base,
            &secret,
            concurrency,
            seconds,
            "/api/v1/tasks?limit=50",
            "GET /tasks (my inbox, first page by due)",
        )
        .await;
        query_load(
            &server.base,
            &secret,
            concurrency,
            seconds,
            "/api/v1/tasks?limit=50&filter=amount%20%3E%2050000%20and%20country%20%3D%20DE",
            "GET /tasks with a payload filter",
        )
        .await;
        println!(
            "server heap and stacks after the query load: {:.0} MiB",
            memory_mib(server.child.id(), "RssAnon:")
        );
        one_users_filtered_streams(&server.base, &secret, seconds, concurrency).await;
        for n in &steps {
            println!("SSE subscribers: {n}");
            match live_load(&server.base, &secret, *n, seconds).await {
                Some(p99) if p99 <= Duration::from_millis(100) => {
                    println!("  held {n} subscribers with live p99 under 100 ms")
                }
                Some(_) => println!("  live p99 above 100 ms at {n} subscribers"),
                None => {}
            }
            println!(
                "  server heap and stacks now: {:.0} MiB",
                memory_mib(server.child.id(), "RssAnon:")
            );
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    });
    let pid = server.child.id();
    // RSS counts a file page once per mapping: each pooled view connection maps the
    // view file, so RssFile (and the peak RSS) count the same page-cache pages several
    // times. PSS counts each page once.
    println!(
        "server memory: peak RSS {:.0} MiB; now RSS {:.0} MiB = {:.0} MiB heap and stacks + {:.0} MiB mapped view pages (counted per mapping); PSS {:.0} MiB",
        memory_mib(pid, "VmHWM:"),
        memory_mib(pid, "VmRSS:"),
        memory_mib(pid, "RssAnon:"),
        memory_mib(pid, "RssFile:"),
        memory_mib(pid, "Pss:")
    );
    let mut child = server.child;
    let _ = child.kill();
    let _ = child.wait();
    Ok(())
}
