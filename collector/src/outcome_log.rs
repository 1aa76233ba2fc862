//! The outcome log: every command outcome (time, command, task, application, accepted
//! or rejected, code, message) in SQLite, bounded by a retention count, queryable, and
//! streamed live to subscribers (the desktop's command-outcome panel).

use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use taskpool_core::command_gateway::OutcomeStatus;
use taskpool_core::CommandOutcome;

/// One logged outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct OutcomeRecord {
    pub id: i64,
    pub time: DateTime<Utc>,
    pub command_type: String,
    pub aggregate_id: String,
    pub application: String,
    pub accepted: bool,
    /// SENDER-002 for success, the rejection code otherwise.
    pub code: String,
    pub message: String,
    /// The user whose action it was (users' actions only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub user: Option<String>,
}

/// Which outcomes to list.
#[derive(Debug, Clone, Default)]
pub struct OutcomeQuery {
    pub only_rejected: bool,
    pub aggregate_id: Option<String>,
    pub application: Option<String>,
    /// Only outcomes after this id, oldest first (resuming a live feed); newest first
    /// otherwise.
    pub after_id: Option<i64>,
    pub limit: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum OutcomeLogError {
    #[error("outcome log: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("outcome log lock poisoned")]
    Poisoned,
}

pub struct OutcomeLog {
    conn: Mutex<Connection>,
    retention: usize,
    subscribers: Mutex<Vec<SyncSender<OutcomeRecord>>>,
}

impl OutcomeLog {
    /// Opens (creating) the log in the SQLite file at `path`, keeping the last `retention`
    /// outcomes.
    pub fn open(path: &Path, retention: usize) -> Result<Self, OutcomeLogError> {
        let conn = taskpool_core::sqlite::open_wal(path, "FULL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS command_outcomes (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                time TEXT NOT NULL,
                command_type TEXT NOT NULL,
                aggregate_id TEXT NOT NULL,
                application TEXT NOT NULL,
                accepted INTEGER NOT NULL,
                code TEXT NOT NULL,
                message TEXT NOT NULL
            );
            CREATE INDEX IF NOT EXISTS command_outcomes_rejected ON command_outcomes (accepted, id);",
        )?;
        // Logs from before outcomes named the acting user get the column.
        let has_user: bool = conn.query_row(
            "SELECT COUNT(*) FROM pragma_table_info('command_outcomes') WHERE name = 'user_name'",
            [],
            |r| r.get::<_, i64>(0).map(|n| n > 0),
        )?;
        if !has_user {
            conn.execute_batch("ALTER TABLE command_outcomes ADD COLUMN user_name TEXT")?;
        }
        Ok(Self {
            conn: Mutex::new(conn),
            retention: retention.max(1),
            subscribers: Mutex::new(Vec::new()),
        })
    }

    /// Records outcomes and pushes them to live subscribers.
    pub fn record(
        &self,
        application: &str,
        outcomes: &[CommandOutcome],
    ) -> Result<(), OutcomeLogError> {
        self.record_for(application, None, outcomes)
    }

    /// Records the outcomes of a user's action (`user`: who acted).
    pub fn record_for(
        &self,
        application: &str,
        user: Option<&str>,
        outcomes: &[CommandOutcome],
    ) -> Result<(), OutcomeLogError> {
        let time = Utc::now();
        let mut records = Vec::with_capacity(outcomes.len());
        {
            let mut conn = self.conn.lock().map_err(|_| OutcomeLogError::Poisoned)?;
            let tx = conn.transaction()?;
            for o in outcomes {
                let (accepted, code, message) = match &o.status {
                    OutcomeStatus::Accepted { events, .. } => (
                        true,
                        "SENDER-002".to_string(),
                        format!("accepted, {events} event(s)"),
                    ),
                    OutcomeStatus::Rejected(r) => {
                        (false, r.code.as_str().to_string(), r.message.clone())
                    }
                };
                tx.execute(
                    "INSERT INTO command_outcomes (time, command_type, aggregate_id, application, accepted, code, message, user_name)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![time.to_rfc3339(), o.command_type, o.aggregate_id, application, accepted, code, message, user],
                )?;
                records.push(OutcomeRecord {
                    id: tx.last_insert_rowid(),
                    time,
                    command_type: o.command_type.clone(),
                    aggregate_id: o.aggregate_id.clone(),
                    application: application.to_string(),
                    accepted,
                    code,
                    message,
                    user: user.map(String::from),
                });
            }
            let retention = i64::try_from(self.retention).unwrap_or(i64::MAX);
            tx.execute(
                "DELETE FROM command_outcomes WHERE id <= (SELECT MAX(id) FROM command_outcomes) - ?1",
                [retention],
            )?;
            tx.commit()?;
        }
        let mut subs = self
            .subscribers
            .lock()
            .map_err(|_| OutcomeLogError::Poisoned)?;
        subs.retain(|s| {
            records.iter().all(|r| match s.try_send(r.clone()) {
                Ok(()) => true,
                // A subscriber that cannot keep up is dropped; it re-reads with `list`.
                Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => false,
            })
        });
        Ok(())
    }

    /// Lists outcomes, newest first.
    pub fn list(&self, query: &OutcomeQuery) -> Result<Vec<OutcomeRecord>, OutcomeLogError> {
        let conn = self.conn.lock().map_err(|_| OutcomeLogError::Poisoned)?;
        let order = if query.after_id.is_some() {
            "ASC"
        } else {
            "DESC"
        };
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT id, time, command_type, aggregate_id, application, accepted, code, message, user_name
             FROM command_outcomes
             WHERE (?1 = 0 OR accepted = 0) AND (?2 IS NULL OR aggregate_id = ?2)
               AND (?4 IS NULL OR application = ?4) AND (?5 IS NULL OR id > ?5)
             ORDER BY id {order} LIMIT ?3"
        ))?;
        let limit = if query.limit == 0 { 100 } else { query.limit };
        let rows = stmt.query_map(
            params![
                query.only_rejected,
                query.aggregate_id,
                i64::try_from(limit).unwrap_or(i64::MAX),
                query.application,
                query.after_id
            ],
            |r| {
                let time: String = r.get(1)?;
                Ok(OutcomeRecord {
                    id: r.get(0)?,
                    time: DateTime::parse_from_rfc3339(&time)
                        .map(|t| t.with_timezone(&Utc))
                        .unwrap_or_default(),
                    command_type: r.get(2)?,
                    aggregate_id: r.get(3)?,
                    application: r.get(4)?,
                    accepted: r.get(5)?,
                    code: r.get(6)?,
                    message: r.get(7)?,
                    user: r.get(8)?,
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Ends every live feed (their receivers see the sender gone): a node that stops
    /// releases whoever waits on them.
    pub fn close_feeds(&self) {
        if let Ok(mut subs) = self.subscribers.lock() {
            subs.clear();
        }
    }

    /// A live feed of outcomes recorded from now on (buffer of `capacity`).
    pub fn subscribe(&self, capacity: usize) -> Receiver<OutcomeRecord> {
        let (tx, rx) = sync_channel(capacity.max(1));
        if let Ok(mut subs) = self.subscribers.lock() {
            subs.push(tx);
        }
        rx
    }
}

#[cfg(test)]
mod tests {
    use taskpool_core::command::{Rejection, RejectionCode};
    use taskpool_core::command_gateway::OutcomeStatus;

    use super::*;

    fn outcome(i: usize, ok: bool) -> CommandOutcome {
        CommandOutcome {
            command_id: uuid::Uuid::new_v4(),
            command_type: "assignTask".into(),
            aggregate_id: format!("t{i}"),
            status: if ok {
                OutcomeStatus::Accepted {
                    events: 1,
                    position: Some(i as i64),
                    ignored: None,
                }
            } else {
                OutcomeStatus::Rejected(Rejection::new(RejectionCode::TaskNotFound, "gone"))
            },
        }
    }

    #[test]
    fn retention_keeps_the_newest_and_filters_work() {
        let dir = tempfile::tempdir().expect("dir");
        let log = OutcomeLog::open(&dir.path().join("o.db"), 5).expect("open");
        let outcomes: Vec<_> = (0..12).map(|i| outcome(i, i % 3 != 0)).collect();
        log.record("app", &outcomes).expect("record");
        let all = log
            .list(&OutcomeQuery {
                limit: 100,
                ..Default::default()
            })
            .expect("list");
        assert_eq!(
            all.iter()
                .map(|r| r.aggregate_id.as_str())
                .collect::<Vec<_>>(),
            vec!["t11", "t10", "t9", "t8", "t7"]
        );
        let rejected = log
            .list(&OutcomeQuery {
                only_rejected: true,
                limit: 100,
                ..Default::default()
            })
            .expect("list");
        assert_eq!(
            rejected
                .iter()
                .map(|r| r.aggregate_id.as_str())
                .collect::<Vec<_>>(),
            vec!["t9"]
        );
        let one = log
            .list(&OutcomeQuery {
                aggregate_id: Some("t10".into()),
                limit: 10,
                ..Default::default()
            })
            .expect("list");
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].code, "SENDER-002");
    }
}
