//! WAL checkpoints off a writer's path (the projector's, the command gateway's). The
//! writer's own connection would checkpoint inside a commit once the WAL passes its
//! threshold: the projector's changes would reach live subscribers only after the copy,
//! and the command waiting on that commit would wait for it too. Instead a thread with
//! its own connection runs passive checkpoints (they never block the writer or
//! readers) after the writer's commits, at most a few times a second, and sleeps
//! while nothing is written; the writer keeps a far larger automatic threshold only as
//! a safety net for when this thread falls behind.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::Connection;

/// The shortest time between two checkpoints (commits in between share the next one).
const PERIOD: Duration = Duration::from_millis(200);

/// The writer connection's automatic checkpoint threshold, in pages (4 KiB): only
/// reached when the background checkpoints cannot keep up.
pub const SAFETY_NET_PAGES: i64 = 50_000;

/// A running background checkpointer; stops (and joins) when dropped.
pub struct WalCheckpointer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

#[derive(Default)]
struct State {
    /// Written since the last checkpoint.
    written: bool,
    stop: bool,
    /// How many checkpoints ran (tests and diagnostics).
    checkpoints: u64,
}

impl Shared {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl WalCheckpointer {
    /// Checkpoints the database of `conn` (a connection of its own) from a thread
    /// named `name`.
    pub fn start(conn: Connection, name: &str) -> rusqlite::Result<Self> {
        // A WAL left by an earlier run is copied at start.
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                written: true,
                ..State::default()
            }),
            wake: Condvar::new(),
        });
        let worker = shared.clone();
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || run(&conn, &worker))
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        Ok(Self {
            shared,
            thread: Some(thread),
        })
    }

    /// The writer committed: a checkpoint is due (within [`PERIOD`]).
    pub fn written(&self) {
        let mut state = self.shared.state();
        if !state.written {
            state.written = true;
            self.shared.wake.notify_all();
        }
    }

    /// How many checkpoints have run so far.
    pub fn checkpoints(&self) -> u64 {
        self.shared.state().checkpoints
    }
}

fn run(conn: &rusqlite::Connection, shared: &Shared) {
    loop {
        {
            let mut state = shared.state();
            while !state.written && !state.stop {
                state = match shared.wake.wait(state) {
                    Ok(s) => s,
                    Err(p) => p.into_inner(),
                };
            }
            if state.stop {
                return;
            }
            state.written = false;
        }
        // (busy, WAL frames, frames checkpointed): a passive checkpoint copies what no
        // reader still needs and never waits.
        let done = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
        });
        if let Err(e) = done {
            tracing::debug!(error = %e, "background WAL checkpoint failed; retrying");
            // Try again at the next period even if nothing more is written.
            shared.state().written = true;
        }
        // At most one checkpoint a period; a stop ends the pause at once.
        let deadline = Instant::now() + PERIOD;
        let mut state = shared.state();
        state.checkpoints += 1;
        while !state.stop {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                break;
            };
            state = match shared.wake.wait_timeout(state, left) {
                Ok((s, _)) => s,
                Err(p) => p.into_inner().0,
            };
        }
    }
}

impl Drop for WalCheckpointer {
    fn drop(&mut self) {
        self.shared.state().stop = true;
        self.shared.wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_checkpoints_after_writes_and_sleeps_while_nothing_is_written() {
        let dir = tempfile::tempdir().expect("dir");
        let view = crate::view::View::open(dir.path().join("view.db")).expect("view");
        let checkpointer =
            WalCheckpointer::start(view.connect_small().expect("connect"), "test-checkpointer")
                .expect("start");
        // The start-up checkpoint.
        let deadline = Instant::now() + Duration::from_secs(10);
        while checkpointer.checkpoints() < 1 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(checkpointer.checkpoints(), 1);
        // Idle: no checkpoint, however long.
        std::thread::sleep(PERIOD * 3);
        assert_eq!(
            checkpointer.checkpoints(),
            1,
            "no checkpoint without a write"
        );
        // A write: one more.
        checkpointer.written();
        let deadline = Instant::now() + Duration::from_secs(10);
        while checkpointer.checkpoints() < 2 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(checkpointer.checkpoints(), 2);
        // Dropping stops it promptly even inside its pause.
        let started = Instant::now();
        drop(checkpointer);
        assert!(started.elapsed() < PERIOD * 5);
    }
}
