//! Start-up of the desktop inbox with 100,000 local tasks: time from launch to the
//! first painted inbox (the window reports it after the snapshot is rendered), and the
//! memory of the app with its web view processes at that moment.
//!
//! `cargo bench -p taskpool-desktop --bench startup` (TASKS=100000 RUNS=5). Needs a
//! display: uses $DISPLAY, else starts Xvfb. The generated data is kept in
//! ~/.cache/taskpool-bench/desktop-<TASKS> for later runs.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

#[path = "../../core/benches/support/tasks.rs"]
mod tasks;
use tasks::{Audience, TaskGenerator};

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

/// The app's data directory with `tasks` tasks of an application of their own (`bench`:
/// the embedded example application re-syncs its own tasks at every start and would
/// delete tasks it never made), all visible to alice (candidates: her group approvers;
/// some assigned to her), projected.
fn prepare(dir: &Path, tasks: usize) -> Res {
    let generator = TaskGenerator::new(
        11,
        Audience::One {
            user: "alice",
            group: "approvers",
        },
        2,
    );
    tasks::prepare_once(dir, &dir.join("taskpool"), tasks, generator, |_| {
        "bench".to_string()
    })
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
    let dir = cache.join(format!("desktop-{tasks}-bench"));
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
                "--example-rate",
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
