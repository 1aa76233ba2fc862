//! Start-up of the desktop inbox with 100,000 local tasks: time from launch to the
//! first painted inbox (the window reports it after the snapshot is rendered), and the
//! memory of the app with its web view processes at that moment.
//!
//! `cargo bench -p taskpool-desktop --bench startup` (TASKS=100000 RUNS=5). Needs a
//! display: uses $DISPLAY, else starts Xvfb. The generated data is kept in
//! ~/.cache/taskpool-bench/desktop-<TASKS> for later runs.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration as ChronoDuration, TimeZone, Utc};
use rand::{Rng, SeedableRng};
use taskpool_core::command::TaskCommand;
use taskpool_core::projector::Projector;
use taskpool_core::testing::fixtures;
use taskpool_core::view::View;
use taskpool_core::{
    BatchMode, Command as TaskpoolCommand, CommandContext, CommandGateway, EventStore,
};

#[path = "../tests/support/display.rs"]
mod support_display;
use support_display::display;

type Res<T = ()> = Result<T, Box<dyn std::error::Error>>;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The app's data directory with `tasks` tasks of the example application, all visible
/// to alice (candidates: her group approvers; some assigned to her), projected.
fn prepare(dir: &Path, tasks: usize) -> Res {
    let marker = dir.join(format!("ready-{tasks}"));
    if marker.exists() {
        println!("reusing the generated data in {}", dir.display());
        return Ok(());
    }
    let _ = std::fs::remove_dir_all(dir);
    let pool = dir.join("taskpool");
    std::fs::create_dir_all(&pool)?;
    let store = EventStore::open(pool.join("events.db"))?;
    let gateway = Arc::new(CommandGateway::new(&store)?);
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let base = Utc
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .ok_or("date")?;
    let started = Instant::now();
    for chunk in (0..tasks).step_by(1000) {
        let mut batch: Vec<TaskpoolCommand> = Vec::with_capacity(1000);
        for i in chunk..(chunk + 1000).min(tasks) {
            let mut t = fixtures::task(&format!("task-{i:07}"), "example");
            t.name = format!("Review order {i}");
            t.business_key = Some(format!("BK-{i}"));
            t.due_date = Some(base + ChronoDuration::minutes(rng.gen_range(0..525_600)));
            t.priority = rng.gen_range(0..100);
            if rng.gen_bool(0.3) {
                t.assignee = Some("alice".into());
            }
            t.candidate_groups.insert("approvers".into());
            t.payload
                .insert("amount".into(), rng.gen_range(0..100_000).into());
            t.payload.insert(
                "customer".into(),
                format!("Customer {}", rng.gen_range(0..5000)).into(),
            );
            batch.push(TaskCommand::CreateTask(t).into());
        }
        gateway.handle(batch, BatchMode::Atomic, &CommandContext::default())?;
    }
    println!("event store: {tasks} tasks in {:.1?}", started.elapsed());
    let view = View::open(pool.join("view.db"))?;
    let mut projector = Projector::new(&view)?.with_batch_size(5000);
    let started = Instant::now();
    let applied = projector.catch_up(&mut store.reader()?)?;
    println!(
        "view: {applied} events projected in {:.1?}",
        started.elapsed()
    );
    view.connect()?.execute_batch("ANALYZE")?;
    std::fs::write(marker, b"")?;
    Ok(())
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    first_paint_ms: f64,
    rows: usize,
    total: u64,
    app_rss_kib: u64,
    total_rss_kib: u64,
}

fn main() -> Res {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let tasks: usize = env_or("TASKS", 100_000);
    let runs: usize = env_or("RUNS", 5);
    let cache = std::env::var_os("BENCH_DATA")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/taskpool-bench"))
        })
        .ok_or("no HOME")?;
    let dir = cache.join(format!("desktop-{tasks}"));
    prepare(&dir, tasks)?;
    let screen = display(150)?;
    let display = screen.name.clone();
    let report_path =
        std::env::temp_dir().join(format!("taskpool-startup-{}.json", std::process::id()));
    let mut paints = Vec::new();
    let mut walls = Vec::new();
    let mut last = None;
    for run in 0..runs {
        let _ = std::fs::remove_file(&report_path);
        let started = Instant::now();
        let status = Command::new(env!("CARGO_BIN_EXE_taskpool-desktop"))
            .args([
                "--embedded",
                "--demo-rate",
                "0",
                "--user",
                "alice",
                "--data-dir",
            ])
            .arg(&dir)
            .arg("--startup-report")
            .arg(&report_path)
            .env("DISPLAY", &display)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .status()?;
        let wall = started.elapsed();
        let report: Report =
            serde_json::from_slice(&std::fs::read(&report_path).map_err(|e| {
                format!("run {run}: no start-up report ({e}); the app exited with {status}")
            })?)?;
        println!(
            "run {run}: first inbox paint {:.0} ms after main ({} rows of {} tasks); launch to exit {:.0} ms; app RSS {:.0} MiB, with web view processes {:.0} MiB",
            report.first_paint_ms,
            report.rows,
            report.total,
            wall.as_secs_f64() * 1000.0,
            report.app_rss_kib as f64 / 1024.0,
            report.total_rss_kib as f64 / 1024.0
        );
        paints.push(report.first_paint_ms);
        walls.push(wall.as_secs_f64() * 1000.0);
        last = Some(report);
    }
    paints.sort_by(f64::total_cmp);
    walls.sort_by(f64::total_cmp);
    let median = |v: &[f64]| v.get(v.len() / 2).copied().unwrap_or(0.0);
    if let Some(r) = last {
        println!(
            "\nstart-up with {tasks} local tasks over {runs} runs: first inbox paint median {:.0} ms, worst {:.0} ms (target <= 1500 ms); memory at first paint: app {:.0} MiB, app + web view {:.0} MiB",
            median(&paints),
            paints.last().copied().unwrap_or(0.0),
            r.app_rss_kib as f64 / 1024.0,
            r.total_rss_kib as f64 / 1024.0
        );
    }
    Ok(())
}
