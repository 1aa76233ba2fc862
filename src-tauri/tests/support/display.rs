//! A display for the desktop app in tests and benchmarks: the session's (`DISPLAY`),
//! or an Xvfb of its own on the first free number from `first`, stopped when dropped.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Display {
    /// What to put in `DISPLAY`.
    pub name: String,
    xvfb: Option<Child>,
}

impl Drop for Display {
    fn drop(&mut self) {
        if let Some(mut x) = self.xvfb.take() {
            // SIGTERM: Xvfb removes its lock file and socket (SIGKILL would leave them,
            // and the numbers would run out over many runs).
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(x.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(3);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = x.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = x.kill();
            let _ = x.wait();
        }
    }
}

/// Removes the lock file and socket of display `n` when the server that made them is
/// gone (killed without cleaning up); returns whether `n` is free now.
fn free_or_stale(n: u32) -> bool {
    let socket = format!("/tmp/.X11-unix/X{n}");
    let lock = format!("/tmp/.X{n}-lock");
    let locked = Path::new(&lock).exists();
    if !locked && !Path::new(&socket).exists() {
        return true;
    }
    let owner = std::fs::read_to_string(&lock)
        .ok()
        .and_then(|pid| pid.trim().parse::<u32>().ok());
    match owner {
        Some(pid) if !Path::new(&format!("/proc/{pid}")).exists() => {
            let _ = std::fs::remove_file(&lock);
            let _ = std::fs::remove_file(&socket);
            true
        }
        // A socket without a lock: its server is gone.
        None if !locked => {
            let _ = std::fs::remove_file(&socket);
            true
        }
        _ => false,
    }
}

pub fn display(first: u32) -> Result<Display, String> {
    if let Ok(d) = std::env::var("DISPLAY") {
        if !d.is_empty() {
            return Ok(Display {
                name: d,
                xvfb: None,
            });
        }
    }
    for n in first..first + 50 {
        let socket = format!("/tmp/.X11-unix/X{n}");
        if !free_or_stale(n) {
            continue;
        }
        let child = Command::new("Xvfb")
            .args([
                &format!(":{n}"),
                "-screen",
                "0",
                "1400x950x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("Xvfb could not start ({e}); `./run test` installs it"))?;
        let mut display = Display {
            name: format!(":{n}"),
            xvfb: Some(child),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if Path::new(&socket).exists() {
                return Ok(display);
            }
            if let Some(Ok(Some(_))) = display.xvfb.as_mut().map(|x| x.try_wait()) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(display);
    }
    Err("no free X display for Xvfb".into())
}
