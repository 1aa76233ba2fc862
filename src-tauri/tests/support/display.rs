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
            let _ = x.kill();
            let _ = x.wait();
        }
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
        if Path::new(&socket).exists() || Path::new(&format!("/tmp/.X{n}-lock")).exists() {
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
