//! The `txjob` sender: the accumulated commands are written as a job row in the
//! process application's own SQLite database, inside the engine transaction. A job
//! worker sends them later in a new transaction, with the job id as idempotency key
//! (so a crash between sending and deleting the job cannot send twice), retrying with
//! exponential backoff until the gateway accepts or rejects them.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use rusqlite::{params, Connection};
use taskpool_core::Command;
use uuid::Uuid;

use super::{GatewaySender, SendError};

/// The job table in the process application's database.
pub struct JobQueue;

impl JobQueue {
    pub fn create_schema(conn: &Connection) -> rusqlite::Result<()> {
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS taskpool_jobs (
                id TEXT PRIMARY KEY,
                seq INTEGER NOT NULL,
                commands TEXT NOT NULL,
                created_at TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_at INTEGER NOT NULL DEFAULT 0,
                last_error TEXT
            );",
        )
    }

    /// Writes a job inside the caller's (engine) transaction.
    pub fn enqueue(conn: &Connection, commands: &[Command]) -> Result<String, SendError> {
        let id = Uuid::new_v4().to_string();
        conn.execute(
            "INSERT INTO taskpool_jobs (id, seq, commands, created_at)
             VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM taskpool_jobs), ?2, ?3)",
            params![
                id,
                serde_json::to_string(commands)?,
                Utc::now().to_rfc3339()
            ],
        )?;
        Ok(id)
    }

    /// How many jobs wait to be sent.
    pub fn pending(conn: &Connection) -> rusqlite::Result<i64> {
        conn.query_row("SELECT COUNT(*) FROM taskpool_jobs", [], |r| r.get(0))
    }
}

/// Sends due jobs, oldest first.
pub struct JobWorker {
    conn: Connection,
    sender: Arc<GatewaySender>,
    max_backoff: Duration,
}

impl JobWorker {
    pub fn new(
        conn: Connection,
        sender: Arc<GatewaySender>,
        max_backoff: Duration,
    ) -> rusqlite::Result<Self> {
        JobQueue::create_schema(&conn)?;
        Ok(Self {
            conn,
            sender,
            max_backoff,
        })
    }

    /// Sends every job that is due; returns how many were finished (accepted or rejected).
    pub fn run_due(&mut self) -> Result<usize, SendError> {
        let now = Utc::now().timestamp_millis();
        let jobs: Vec<(String, String, i64)> = {
            let mut stmt = self.conn.prepare_cached(
                "SELECT id, commands, attempts FROM taskpool_jobs WHERE next_attempt_at <= ?1 ORDER BY seq",
            )?;
            let rows = stmt.query_map([now], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        let mut finished = 0;
        for (id, commands, attempts) in jobs {
            let commands: Vec<Command> = serde_json::from_str(&commands)?;
            match self.sender.dispatch(commands, Some(id.clone())) {
                Ok(_) => {
                    self.conn
                        .execute("DELETE FROM taskpool_jobs WHERE id = ?1", [&id])?;
                    finished += 1;
                }
                Err(e) => {
                    let backoff = backoff(attempts, self.max_backoff);
                    tracing::warn!(target: "sender.gateway", job = %id, attempts = attempts + 1, retry_in_ms = backoff.as_millis() as u64, error = %e, "sending job failed, will retry");
                    self.conn.execute(
                        "UPDATE taskpool_jobs SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3 WHERE id = ?1",
                        params![id, now + backoff.as_millis() as i64, e.to_string()],
                    )?;
                    // Keep the order: later jobs wait for this one.
                    break;
                }
            }
        }
        Ok(finished)
    }

    /// How long until the next job is due (a failed one waits for its backoff); `None`
    /// when no job is pending.
    pub fn next_due(&self) -> rusqlite::Result<Option<Duration>> {
        let at: Option<i64> =
            self.conn
                .query_row("SELECT MIN(next_attempt_at) FROM taskpool_jobs", [], |r| {
                    r.get(0)
                })?;
        Ok(at.map(|at| {
            let ms = (at - Utc::now().timestamp_millis()).max(0);
            Duration::from_millis(ms as u64)
        }))
    }

    /// Runs until `stop` is set, polling every `interval`.
    pub fn run(mut self, interval: Duration, stop: Arc<std::sync::atomic::AtomicBool>) {
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            if let Err(e) = self.run_due() {
                tracing::warn!(target: "sender.gateway", error = %e, "job worker round failed");
            }
            std::thread::sleep(interval);
        }
    }
}

/// 100 ms, 200 ms, 400 ms, ... up to `max`.
pub fn backoff(attempts: i64, max: Duration) -> Duration {
    let exp = attempts.clamp(0, 20) as u32;
    Duration::from_millis(100u64.saturating_mul(1u64 << exp)).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let max = Duration::from_secs(5);
        assert_eq!(backoff(0, max), Duration::from_millis(100));
        assert_eq!(backoff(3, max), Duration::from_millis(800));
        assert_eq!(backoff(30, max), max);
    }
}
