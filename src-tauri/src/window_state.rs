//! The window's size and position, remembered between launches in the data directory
//! (`window.json`): restored at start when it still lies on a screen, written a moment
//! after the last move or resize (a drag sends dozens of events).
//!
//! Hand-written rather than `tauri-plugin-window-state`: the plugin keeps one file in the
//! app's config directory whatever `--data-dir` says (two profiles, or a test, share it)
//! and restores visibility too, which left a relaunched window hidden under Xvfb.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tauri::{PhysicalPosition, PhysicalSize, WebviewWindow, WindowEvent};

/// Where and how large the window was, in physical pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Placement {
    pub x: i32,
    pub y: i32,
    pub width: u32,
    pub height: u32,
    pub maximized: bool,
}

/// A screen's area (x, y, width, height) in physical pixels.
pub type Area = (i32, i32, u32, u32);

/// The smallest window restored (the layout's floor).
const MIN: (u32, u32) = (640, 480);
/// How long after the last move or resize the placement is written.
const SETTLE: Duration = Duration::from_millis(400);

impl Placement {
    /// Whether enough of the window's title area lies on one of `screens` to grab it
    /// (a screen unplugged since must not leave the window out of reach).
    pub fn reachable(&self, screens: &[Area]) -> bool {
        screens.iter().any(|&(sx, sy, sw, sh)| {
            let (sx, sy) = (i64::from(sx), i64::from(sy));
            let (x, y) = (i64::from(self.x), i64::from(self.y));
            let right = sx + i64::from(sw);
            let bottom = sy + i64::from(sh);
            // At least 100 px of the window's top edge on the screen.
            y >= sy && y < bottom - 50 && x + 100 <= right && x + i64::from(self.width) >= sx + 100
        })
    }
}

pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("window.json")
}

/// The stored placement; none when there is none or it cannot be read (logged).
pub fn load(file: &Path) -> Option<Placement> {
    let text = std::fs::read_to_string(file).ok()?;
    match serde_json::from_str(&text) {
        Ok(p) => Some(p),
        Err(e) => {
            tracing::warn!(error = %e, file = %file.display(), "the stored window placement is unreadable; ignored");
            None
        }
    }
}

/// Writes `placement` whole or not at all (a temporary file renamed over the old one).
pub fn save(file: &Path, placement: &Placement) -> std::io::Result<()> {
    let tmp = file.with_extension("json.tmp");
    let text = serde_json::to_vec_pretty(placement).map_err(std::io::Error::other)?;
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, file)
}

fn current(window: &WebviewWindow, before: Option<Placement>) -> Option<Placement> {
    let maximized = window.is_maximized().ok()?;
    if maximized {
        // Keep the size and place it had before it was maximized.
        return Some(Placement {
            maximized: true,
            ..before.unwrap_or(Placement {
                x: 0,
                y: 0,
                width: 1280,
                height: 820,
                maximized: true,
            })
        });
    }
    let at = window.outer_position().ok()?;
    let size = window.inner_size().ok()?;
    Some(Placement {
        x: at.x,
        y: at.y,
        width: size.width,
        height: size.height,
        maximized: false,
    })
}

/// Restores the stored placement of `window` (when it is still reachable) and keeps the
/// file up to date from now on.
pub fn remember(window: &WebviewWindow, data_dir: &Path) {
    let file = path(data_dir);
    let stored = load(&file);
    if let Some(p) = stored {
        let screens: Vec<Area> = window
            .available_monitors()
            .unwrap_or_default()
            .iter()
            .map(|m| {
                let (at, size) = (m.position(), m.size());
                (at.x, at.y, size.width, size.height)
            })
            .collect();
        if p.reachable(&screens) {
            let size = PhysicalSize::new(p.width.max(MIN.0), p.height.max(MIN.1));
            if let Err(e) = window
                .set_size(size)
                .and_then(|()| window.set_position(PhysicalPosition::new(p.x, p.y)))
            {
                tracing::warn!(error = %e, "could not restore the window placement");
            }
            if p.maximized {
                let _ = window.maximize();
            }
        } else {
            tracing::info!(
                ?p,
                "the stored window placement lies off every screen; not restored"
            );
        }
    }
    let pending = Arc::new(AtomicBool::new(false));
    let last = Arc::new(std::sync::Mutex::new(stored));
    let handle = window.clone();
    window.on_window_event(move |event| {
        if !matches!(event, WindowEvent::Moved(_) | WindowEvent::Resized(_)) {
            return;
        }
        if pending.swap(true, Ordering::SeqCst) {
            return;
        }
        let (pending, last, window, file) =
            (pending.clone(), last.clone(), handle.clone(), file.clone());
        std::thread::spawn(move || {
            std::thread::sleep(SETTLE);
            pending.store(false, Ordering::SeqCst);
            let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
            let Some(now) = current(&window, *last) else {
                return;
            };
            if Some(now) == *last {
                return;
            }
            match save(&file, &now) {
                Ok(()) => *last = Some(now),
                Err(e) => tracing::warn!(error = %e, "could not store the window placement"),
            }
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(x: i32, y: i32) -> Placement {
        Placement {
            x,
            y,
            width: 1000,
            height: 700,
            maximized: false,
        }
    }

    const SCREEN: Area = (0, 0, 1920, 1080);
    const RIGHT: Area = (1920, 0, 2560, 1440);

    #[test]
    fn a_window_on_a_screen_is_reachable() {
        assert!(at(40, 30).reachable(&[SCREEN]));
        assert!(at(2000, 100).reachable(&[SCREEN, RIGHT]));
        // Partly off the left edge, its title bar still grabbable.
        assert!(at(-800, 10).reachable(&[SCREEN]));
    }

    #[test]
    fn a_window_on_a_screen_unplugged_since_is_not() {
        assert!(!at(2000, 100).reachable(&[SCREEN]));
        assert!(!at(40, -200).reachable(&[SCREEN]));
        assert!(!at(40, 1070).reachable(&[SCREEN]));
        assert!(!at(-990, 10).reachable(&[SCREEN]));
        assert!(!at(40, 30).reachable(&[]));
    }

    #[test]
    fn a_placement_is_stored_whole_and_read_back() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let file = path(dir.path());
        assert_eq!(load(&file), None);
        save(&file, &at(12, 34)).expect("stored");
        assert_eq!(load(&file), Some(at(12, 34)));
        std::fs::write(&file, "{\"x\":1").expect("written");
        assert_eq!(load(&file), None, "a torn file is ignored");
    }
}
