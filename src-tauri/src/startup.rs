//! Start-up figures: time from process start to the first painted inbox, and the
//! memory of the app with its web view processes. Written as JSON by `--startup-report
//! FILE`, read by the start-up benchmark.

use std::path::Path;

use serde::Serialize;

use crate::state::Launch;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StartupReport {
    /// From `main` to the window's first paint of the inbox.
    pub first_paint_ms: f64,
    /// Rows the inbox holds at that paint, and how many tasks match in all.
    pub rows: usize,
    pub total: u64,
    /// Resident memory of this process, and of it with its child processes (the web
    /// view's web and network processes).
    pub app_rss_kib: u64,
    pub total_rss_kib: u64,
}

pub fn first_paint(app: &tauri::AppHandle, launch: &Launch, rows: usize, total: u64) {
    let elapsed = launch.started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(ms = elapsed, rows, total, "first inbox paint");
    let Some(path) = &launch.startup_report else {
        return;
    };
    let pid = std::process::id();
    let app_rss = rss_kib(pid).unwrap_or(0);
    let total_rss = app_rss
        + descendants(pid)
            .into_iter()
            .filter_map(rss_kib)
            .sum::<u64>();
    let report = StartupReport {
        first_paint_ms: elapsed,
        rows,
        total,
        app_rss_kib: app_rss,
        total_rss_kib: total_rss,
    };
    if let Err(e) = write(path, &report) {
        tracing::error!(error = %e, path = %path.display(), "could not write the start-up report");
    }
    app.exit(0);
}

fn write(path: &Path, report: &StartupReport) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(report)?)?;
    std::fs::rename(tmp, path)
}

/// VmRSS of a process, from /proc.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Every process below `pid` (children, their children, ...).
pub fn descendants(pid: u32) -> Vec<u32> {
    let mut parents = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Some(child) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            if let Some(parent) = parent_of(child) {
                parents.push((child, parent));
            }
        }
    }
    let mut found = vec![pid];
    let mut i = 0;
    while i < found.len() {
        let p = found[i];
        found.extend(parents.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
        i += 1;
    }
    found.remove(0);
    found
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: read after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_its_own_memory_and_finds_a_child() {
        assert!(rss_kib(std::process::id()).unwrap_or(0) > 0);
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .expect("sleep");
        assert!(descendants(std::process::id()).contains(&child.id()));
        let _ = child.kill();
        let _ = child.wait();
    }
}
