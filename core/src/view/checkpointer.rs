//! WAL checkpoints off the projector's path. The projector's own connection would
//! checkpoint inside a commit once the WAL passes its threshold, and the changes of
//! that batch would reach live subscribers only after the copy. Instead a thread with
//! its own connection runs passive checkpoints (they never block the writer or
//! readers) a few times a second; the projector keeps a far larger automatic threshold
//! only as a safety net for when this thread falls behind.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::View;

/// How often the checkpointer looks at the WAL.
const PERIOD: Duration = Duration::from_millis(200);

/// The projector connection's automatic checkpoint threshold, in pages (4 KiB): only
/// reached when the background checkpoints cannot keep up.
pub const SAFETY_NET_PAGES: i64 = 50_000;

/// A running background checkpointer; stops (and joins) when dropped.
pub struct Checkpointer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    pub fn start(view: &View) -> rusqlite::Result<Self> {
        let conn = view.connect_small()?;
        let stop = Arc::new(AtomicBool::new(false));
        let halt = stop.clone();
        let thread = std::thread::Builder::new()
            .name("view-checkpointer".into())
            .spawn(move || {
                while !halt.load(Ordering::Relaxed) {
                    // (busy, WAL frames, frames checkpointed): a passive checkpoint
                    // copies what no reader still needs and never waits.
                    let done = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                        Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
                    });
                    if let Err(e) = done {
                        tracing::debug!(error = %e, "background WAL checkpoint failed; retrying");
                    }
                    let mut slept = Duration::ZERO;
                    while slept < PERIOD && !halt.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(20));
                        slept += Duration::from_millis(20);
                    }
                }
            })
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
