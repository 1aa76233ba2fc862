//! Re-sync: a process application sends the complete set of its open tasks, in pages
//! under one re-sync id, and the pool converges on it: it creates what it lacks, updates
//! what differs (a create for a task the pool has makes it the task sent) and, once
//! every page has arrived, deletes that application's tasks the engine no longer has.
//!
//! One logical operation, idempotent and resumable: each page is applied with its own
//! idempotency key (`resync/{id}/page/{n}`), the ids it named are kept here, and the
//! deletions go out once with theirs (`resync/{id}/deletions`); a page resent after a
//! crash, or a whole re-sync resent, changes nothing more. Only tasks whose last change
//! came before the re-sync began can be deleted: a task the engine created meanwhile is
//! not missing from a set taken before it existed.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use taskpool_core::model::Task;

/// The most pages of one re-sync.
pub const MAX_PAGES: u32 = 100_000;

/// The most tasks one page may carry.
pub const MAX_PAGE_TASKS: usize = 1000;

/// One page of a re-sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResyncPage {
    /// 0, 1, 2, … up to 100,000 (a page may be resent; the order of arrival does not
    /// matter).
    #[cfg_attr(feature = "openapi", schema(maximum = 100000))]
    pub page: u32,
    /// The last page: with it, the re-sync is complete once every page before it has
    /// arrived.
    #[serde(default)]
    pub last: bool,
    /// Open tasks of the sending application, as the pool should have them (at most
    /// 1,000).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub tasks: Vec<Task>,
}

/// What a page did, and where the re-sync stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ResyncOutcome {
    pub resync_id: String,
    pub page: u32,
    /// Events this page's tasks caused (0 when the pool had them as sent).
    pub events: usize,
    /// Tasks of this page the pool refused, with why (`tasks[3]: …`).
    pub refused: Vec<String>,
    /// Pages received so far.
    pub pages_received: u32,
    /// Every page has arrived and the deletions went out.
    pub complete: bool,
    /// The tasks deleted because the engine no longer has them (on completion).
    pub deleted: Vec<String>,
    /// The event position of the last change, for reading after this write.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<i64>,
}

/// What the node keeps of running re-syncs (a SQLite file beside the event store).
pub(crate) struct ResyncLog {
    conn: Mutex<Connection>,
}

#[derive(Debug, thiserror::Error)]
pub enum ResyncError {
    #[error("re-sync log: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the re-sync log's lock was poisoned")]
    Poisoned,
}

/// Where one re-sync stands.
pub(crate) struct ResyncState {
    pub started_position: i64,
    pub pages: u32,
    /// The number of pages, once the last one has arrived.
    pub page_count: Option<u32>,
    pub complete: bool,
}

impl ResyncLog {
    pub(crate) fn open(path: &Path) -> Result<Self, ResyncError> {
        let conn = taskpool_core::sqlite::open_wal(path, "FULL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS resyncs (
                 application TEXT NOT NULL, resync_id TEXT NOT NULL,
                 started_position INTEGER NOT NULL, page_count INTEGER, complete INTEGER NOT NULL DEFAULT 0,
                 PRIMARY KEY (application, resync_id)) WITHOUT ROWID;
             CREATE TABLE IF NOT EXISTS resync_pages (
                 application TEXT NOT NULL, resync_id TEXT NOT NULL, page INTEGER NOT NULL,
                 PRIMARY KEY (application, resync_id, page)) WITHOUT ROWID;
             CREATE TABLE IF NOT EXISTS resync_tasks (
                 application TEXT NOT NULL, resync_id TEXT NOT NULL, task_id TEXT NOT NULL,
                 PRIMARY KEY (application, resync_id, task_id)) WITHOUT ROWID;",
        )?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> Result<std::sync::MutexGuard<'_, Connection>, ResyncError> {
        self.conn.lock().map_err(|_| ResyncError::Poisoned)
    }

    /// Starts a re-sync at `head` (the store's position now) unless it has begun.
    pub(crate) fn begin(&self, app: &str, id: &str, head: i64) -> Result<(), ResyncError> {
        self.conn()?.execute(
            "INSERT OR IGNORE INTO resyncs (application, resync_id, started_position) VALUES (?1, ?2, ?3)",
            params![app, id, head],
        )?;
        Ok(())
    }

    /// Records a page and the task ids it named (once, whatever is resent).
    pub(crate) fn record_page(
        &self,
        app: &str,
        id: &str,
        page: &ResyncPage,
    ) -> Result<(), ResyncError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT OR IGNORE INTO resync_pages (application, resync_id, page) VALUES (?1, ?2, ?3)",
            params![app, id, page.page],
        )?;
        if page.last {
            tx.execute(
                "UPDATE resyncs SET page_count = ?3 WHERE application = ?1 AND resync_id = ?2",
                params![app, id, page.page + 1],
            )?;
        }
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO resync_tasks (application, resync_id, task_id) VALUES (?1, ?2, ?3)",
            )?;
            for t in &page.tasks {
                insert.execute(params![app, id, t.id])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    pub(crate) fn state(&self, app: &str, id: &str) -> Result<Option<ResyncState>, ResyncError> {
        let conn = self.conn()?;
        let row: Option<(i64, Option<u32>, bool)> = conn
            .query_row(
                "SELECT started_position, page_count, complete FROM resyncs WHERE application = ?1 AND resync_id = ?2",
                params![app, id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((started_position, page_count, complete)) = row else {
            return Ok(None);
        };
        // Pages 0..page_count, each once; pages beyond a known last one do not count.
        let pages: u32 = conn.query_row(
            "SELECT COUNT(*) FROM resync_pages WHERE application = ?1 AND resync_id = ?2 AND page < COALESCE(?3, 4294967296)",
            params![app, id, page_count],
            |r| r.get(0),
        )?;
        Ok(Some(ResyncState {
            started_position,
            pages,
            page_count,
            complete,
        }))
    }

    /// Whether the re-sync named `task_id`.
    pub(crate) fn named(
        &self,
        app: &str,
        id: &str,
    ) -> Result<std::collections::HashSet<String>, ResyncError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(
            "SELECT task_id FROM resync_tasks WHERE application = ?1 AND resync_id = ?2",
        )?;
        let ids = stmt
            .query_map(params![app, id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(ids)
    }

    pub(crate) fn complete(&self, app: &str, id: &str) -> Result<(), ResyncError> {
        self.conn()?.execute(
            "UPDATE resyncs SET complete = 1 WHERE application = ?1 AND resync_id = ?2",
            params![app, id],
        )?;
        Ok(())
    }
}
