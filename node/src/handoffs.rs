//! A tasklist node's hand-offs of users' requests to their applications, kept until the
//! transport confirmed them (`handoffs.db`): a request is written here before it is
//! routed and deleted once the broker acknowledged it. One the broker did not confirm
//! (or a crash interrupted) is sent again by the node's hand-off thread
//! ([`run_resender`]), with growing pauses, until it is confirmed or its request has
//! expired. Sending again is harmless: the owning application handles a request id
//! once. So a request answered `202` reaches its application whenever the broker is
//! back in time, without the client's retry.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use taskpool_core::position_signal::PositionSignal;
use taskpool_core::Command;
use uuid::Uuid;

use crate::node::InteractionRoute;

/// One request on its way to its application.
#[derive(Debug, Clone, PartialEq)]
pub struct Handoff {
    pub request_id: Uuid,
    pub application: String,
    pub user: String,
    pub command: Command,
    /// Not sent after this: the request has expired (its user was told so).
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum HandoffError {
    #[error("hand-offs: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("hand-offs: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the hand-off store's lock was poisoned")]
    Poisoned,
}

/// The hand-offs not yet confirmed, in their own SQLite file.
pub struct Handoffs {
    conn: Mutex<Connection>,
    /// Moves when a hand-off fails (the resender wakes) and on stop (`wake_all`).
    signal: PositionSignal,
}

/// A time as stored: one fixed format, so that text order is time order.
fn stored(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// The pause before the `attempt`-th send again: 1, 2, 4, then 8 s.
fn pause_after(attempt: u32) -> Duration {
    Duration::from_secs(1 << attempt.min(3))
}

impl Handoffs {
    pub fn open(path: &Path) -> Result<Self, HandoffError> {
        let conn = taskpool_core::sqlite::open_wal(path, "FULL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS handoffs (
                request_id  BLOB NOT NULL PRIMARY KEY,
                application TEXT NOT NULL,
                user_name   TEXT NOT NULL,
                command     TEXT NOT NULL,   -- the command as JSON
                expires_at  TEXT NOT NULL,
                attempts    INTEGER NOT NULL,
                next_at     TEXT NOT NULL    -- the next send (again), not before
            ) WITHOUT ROWID;",
        )?;
        Ok(Self {
            conn: Mutex::new(conn),
            signal: PositionSignal::new(0),
        })
    }

    fn conn(&self) -> Result<std::sync::MutexGuard<'_, Connection>, HandoffError> {
        self.conn.lock().map_err(|_| HandoffError::Poisoned)
    }

    /// Keeps `h` before it is routed (a crash while routing leaves it to be sent again).
    pub fn hold(&self, h: &Handoff) -> Result<(), HandoffError> {
        self.conn()?
            .prepare_cached(
                "INSERT OR IGNORE INTO handoffs (request_id, application, user_name, command, expires_at, attempts, next_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)",
            )?
            .execute(params![
                h.request_id.as_bytes().as_slice(),
                h.application,
                h.user,
                serde_json::to_string(&h.command)?,
                stored(h.expires_at),
                stored(Utc::now()),
            ])?;
        Ok(())
    }

    /// The transport confirmed it: forgotten.
    pub fn confirmed(&self, request_id: Uuid) -> Result<(), HandoffError> {
        self.conn()?
            .prepare_cached("DELETE FROM handoffs WHERE request_id = ?1")?
            .execute([request_id.as_bytes().as_slice()])?;
        Ok(())
    }

    /// Not confirmed: sent again after a pause (the resender is woken).
    pub fn unconfirmed(&self, request_id: Uuid) -> Result<(), HandoffError> {
        {
            let conn = self.conn()?;
            let attempts: u32 = conn
                .prepare_cached("SELECT attempts FROM handoffs WHERE request_id = ?1")?
                .query_row([request_id.as_bytes().as_slice()], |r| r.get(0))
                .optional()?
                .unwrap_or(0);
            let next_at =
                Utc::now() + chrono::Duration::from_std(pause_after(attempts)).unwrap_or_default();
            conn.prepare_cached(
                "UPDATE handoffs SET attempts = attempts + 1, next_at = ?2 WHERE request_id = ?1",
            )?
            .execute(params![request_id.as_bytes().as_slice(), stored(next_at)])?;
        }
        self.signal.advance(self.signal.head() + 1);
        Ok(())
    }

    /// Lets go of the hand-offs whose requests expired; returns how many.
    fn drop_expired(&self, now: DateTime<Utc>) -> Result<usize, HandoffError> {
        Ok(self
            .conn()?
            .prepare_cached("DELETE FROM handoffs WHERE expires_at <= ?1")?
            .execute([stored(now)])?)
    }

    /// The hand-off to send next and when (the earliest due).
    pub fn next(&self) -> Result<Option<(Handoff, DateTime<Utc>)>, HandoffError> {
        let conn = self.conn()?;
        let row = conn
            .prepare_cached(
                "SELECT request_id, application, user_name, command, expires_at, next_at
                 FROM handoffs ORDER BY next_at LIMIT 1",
            )?
            .query_row([], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                ))
            })
            .optional()?;
        let Some((id, application, user, command, expires_at, next_at)) = row else {
            return Ok(None);
        };
        let time = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_default()
        };
        let handoff = Handoff {
            request_id: Uuid::from_slice(&id).unwrap_or_default(),
            application,
            user,
            command: serde_json::from_str(&command)?,
            expires_at: time(&expires_at),
        };
        Ok(Some((handoff, time(&next_at))))
    }

    /// How many wait.
    pub fn len(&self) -> Result<usize, HandoffError> {
        Ok(self
            .conn()?
            .query_row("SELECT count(*) FROM handoffs", [], |r| r.get::<_, i64>(0))?
            as usize)
    }

    pub fn is_empty(&self) -> Result<bool, HandoffError> {
        Ok(self.len()? == 0)
    }

    /// Wakes the resender (to stop).
    pub fn wake(&self) {
        self.signal.wake_all();
    }
}

/// The node's hand-off thread: sends the unconfirmed hand-offs again when due, until
/// each is confirmed or expired; sleeps while there is none (woken by a failed
/// hand-off or the stop).
pub fn run_resender(
    handoffs: Arc<Handoffs>,
    route: Arc<dyn InteractionRoute>,
    stop: Arc<AtomicBool>,
) {
    let mut waiter = handoffs.signal.waiter();
    while !stop.load(Ordering::Relaxed) {
        let seen = handoffs.signal.head();
        let now = Utc::now();
        if let Err(e) = handoffs.drop_expired(now) {
            tracing::warn!(error = %e, "hand-offs: could not let expired ones go");
        }
        let next = match handoffs.next() {
            Ok(next) => next,
            Err(e) => {
                tracing::error!(error = %e, "hand-offs: cannot read; trying again");
                waiter.pause(Duration::from_secs(1));
                continue;
            }
        };
        let Some((h, due)) = next else {
            waiter.wait_beyond(seen, None);
            continue;
        };
        if due > now {
            let wait = (due - now).to_std().unwrap_or_default();
            waiter.wait_beyond(seen, Some(wait));
            continue;
        }
        let outcome = match route.route(&h.application, &h.user, h.command.clone(), h.request_id) {
            Ok(()) => {
                tracing::info!(request = %h.request_id, "a hand-off not confirmed before was sent again and confirmed");
                handoffs.confirmed(h.request_id)
            }
            Err(e) => {
                tracing::warn!(request = %h.request_id, error = %e, "a hand-off sent again was not confirmed; trying later");
                handoffs.unconfirmed(h.request_id)
            }
        };
        if let Err(e) = outcome {
            tracing::error!(error = %e, "hand-offs: cannot write; trying again");
            waiter.pause(Duration::from_secs(1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handoff(id: u128, expires_in: chrono::Duration) -> Handoff {
        Handoff {
            request_id: Uuid::from_u128(id),
            application: "shop".into(),
            user: "bob".into(),
            command: serde_json::from_value(serde_json::json!({
                "type": "claimInteraction", "id": "t1", "user": "bob"
            }))
            .expect("a command"),
            expires_at: Utc::now() + expires_in,
        }
    }

    #[test]
    fn a_hand_off_is_kept_until_confirmed_paused_after_a_failure_and_let_go_when_expired() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("handoffs.db");
        let minute = chrono::Duration::minutes(1);
        {
            let store = Handoffs::open(&path).expect("open");
            store.hold(&handoff(1, minute)).expect("hold");
            store.hold(&handoff(2, minute)).expect("hold");
            store.confirmed(Uuid::from_u128(1)).expect("confirmed");
        }
        // Reopened (a crash while routing): what was not confirmed is still there, due.
        let store = Handoffs::open(&path).expect("reopen");
        let (h, due) = store.next().expect("next").expect("one");
        assert_eq!(h, handoff(2, minute).with_expiry(h.expires_at));
        assert!(due <= Utc::now());
        // A failure pauses it.
        store.unconfirmed(h.request_id).expect("unconfirmed");
        let (_, due) = store.next().expect("next").expect("one");
        assert!(due > Utc::now(), "paused");
        // Expired ones go.
        store
            .hold(&handoff(3, chrono::Duration::zero()))
            .expect("hold");
        assert_eq!(store.drop_expired(Utc::now()).expect("drop"), 1);
        assert_eq!(store.len().expect("len"), 1);
    }

    impl Handoff {
        fn with_expiry(self, expires_at: DateTime<Utc>) -> Self {
            Self { expires_at, ..self }
        }
    }

    #[test]
    fn the_pauses_grow_to_eight_seconds() {
        let pauses: Vec<u64> = (0..6).map(|a| pause_after(a).as_secs()).collect();
        assert_eq!(pauses, [1, 2, 4, 8, 8, 8]);
    }
}
