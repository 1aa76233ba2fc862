//! The search index: the flattened payload (what payload filters probe) and the full-text
//! index of the open tasks, in a SQLite file of its own beside the view
//! (`<view>-search.db`), written by a projection of its own ([`SearchProjector`]) on a
//! thread of its own.
//!
//! Both indexes cost more to write than the rest of the view together (about 20 s per
//! million tasks), and they used to commit with the view's rows: every change a user
//! waits for carried them. Now the view's projector commits without them, and the
//! search projection follows the view: after each view commit it reads which tasks
//! changed (the view's change table) and indexes their documents as the view holds them
//! then, in one transaction with its own checkpoint (the view position it has covered).
//! So each projection is exactly-once on its own, and the search index is rebuilt from
//! the view whenever it cannot follow (a fresh file, a rebuilt view, a change table
//! pruned past its checkpoint).
//!
//! What that costs: text search and payload filters may trail the view by the search
//! projection's delay (milliseconds on a live node; the README has the figures). A
//! query that names a position waits for both (`reached`); live streams judge their
//! filters in memory and never trail.
//!
//! Query connections attach the file as `search`; the search projection opens it as
//! its main database and attaches the view (read-only use) as `view`. The view's
//! projector does not attach it: its `BEGIN IMMEDIATE` would lock both files.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};

use super::projection::payload_rows;
use crate::model::Task;
use crate::position_signal::PositionSignal;
use crate::wal_checkpointer::WalCheckpointer;

/// How long a query that needs the search index waits for it to cover the view.
pub const SEARCH_WAIT: Duration = Duration::from_secs(2);

/// The search file's schema version: a file of another version is dropped and rebuilt.
pub const SEARCH_SCHEMA_VERSION: i64 = 1;

/// Changes indexed in one transaction at most (a catch-up commits in steps).
const CHANGES_PER_TRANSACTION: i64 = 50_000;

/// Tasks indexed in one transaction of a rebuild at most.
const TASKS_PER_REBUILD_STEP: i64 = 100_000;

/// A transaction that indexed at least this many tasks is a bulk one: the full-text
/// index is merged right after it.
const BULK: usize = 1000;

const CREATE: &str = "
-- How far the index follows the view: the view position whose task changes are all
-- indexed, for the view generation it follows (a rebuilt view is another). While a
-- rebuild from the view's tasks runs, `rebuild_after` is the last task rowid done and
-- `rebuild_from` the view position it started at.
CREATE TABLE IF NOT EXISTS search_checkpoint (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    view_generation TEXT NOT NULL,
    position        INTEGER NOT NULL,
    rebuild_after   INTEGER,
    rebuild_from    INTEGER NOT NULL
);

-- The tasks indexed; a task's rowid here is its full-text rowid (kept while it is
-- indexed, whatever rowid the view gives it as it changes).
CREATE TABLE IF NOT EXISTS indexed_tasks (
    task_id TEXT NOT NULL UNIQUE
);

-- The payload flattened to (json path, value) for filtering, clustered by task so a
-- filter probes the few tasks a user may see.
CREATE TABLE IF NOT EXISTS task_payload (
    task_id    TEXT NOT NULL,
    path       TEXT NOT NULL,
    value_text TEXT NOT NULL,
    value_num  REAL,
    PRIMARY KEY (task_id, path, value_text)
) WITHOUT ROWID;

-- Full text; its rowid is the task's rowid in `indexed_tasks`. The words are folded
-- by `query::text::words` before they get here (and so is every search), so the
-- `ascii` tokenizer keeps them as they are: the index and the in-memory search agree.
CREATE VIRTUAL TABLE IF NOT EXISTS tasks_fts USING fts5 (
    words,
    tokenize = 'ascii', detail = 'none', columnsize = 0, prefix = '2 3'
);
";

const TABLES: &[&str] = &[
    "search_checkpoint",
    "indexed_tasks",
    "task_payload",
    "tasks_fts",
];

/// The search file of the view at `view_path`.
pub fn search_path(view_path: &Path) -> PathBuf {
    let stem = view_path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "view".into());
    view_path.with_file_name(format!("{stem}-search.db"))
}

fn connect_file(path: &Path) -> rusqlite::Result<Connection> {
    let conn = crate::sqlite::open_wal(path, "NORMAL")?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// Creates the search file (or drops and recreates one of another version, or all of
/// it when `reset`: the view was dropped).
pub(crate) fn open_file(path: &Path, reset: bool) -> rusqlite::Result<()> {
    let conn = connect_file(path)?;
    crate::sqlite::retry_while_busy(|| {
        let tx = conn.unchecked_transaction()?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if reset || (version != 0 && version != SEARCH_SCHEMA_VERSION) {
            for table in TABLES {
                tx.execute_batch(&format!("DROP TABLE IF EXISTS {table};"))?;
            }
        }
        tx.execute_batch(CREATE)?;
        tx.execute_batch(super::full_text::AUTOMERGE_OFF)?;
        tx.pragma_update(None, "user_version", SEARCH_SCHEMA_VERSION)?;
        tx.commit()
    })
}

/// Attaches the search file to a query connection as `search`.
pub(crate) fn attach(conn: &Connection, path: &Path, mmap_bytes: i64) -> rusqlite::Result<()> {
    conn.execute(
        "ATTACH DATABASE ?1 AS search",
        [path.to_string_lossy().as_ref()],
    )?;
    conn.pragma_update(Some("search"), "mmap_size", mmap_bytes)?;
    Ok(())
}

/// The view position the search index covers (0: nothing yet, or a rebuild of it is
/// under way).
pub fn position(conn: &Connection, schema: &str) -> rusqlite::Result<i64> {
    Ok(conn
        .query_row(
            &format!(
                "SELECT position FROM {schema}.search_checkpoint WHERE id = 1 AND rebuild_after IS NULL"
            ),
            [],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0))
}

/// A canonical dump of the search index (each task's payload rows and words), on a
/// query connection: two indexes of the same tasks dump equal, however they were built.
pub fn dump(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut out = Vec::new();
    for sql in [
        "SELECT 'payload: ' || task_id || ' | ' || path || ' | ' || value_text || ' | ' || COALESCE(value_num, 'null') FROM search.task_payload",
        "SELECT 'words: ' || i.task_id || ' | ' || f.words FROM search.indexed_tasks i JOIN search.tasks_fts f ON f.rowid = i.rowid",
        "SELECT 'unindexed: ' || i.task_id FROM search.indexed_tasks i WHERE NOT EXISTS (SELECT 1 FROM search.tasks_fts f WHERE f.rowid = i.rowid)",
    ] {
        let mut stmt = conn.prepare(sql)?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        for row in rows {
            out.push(row?);
        }
    }
    out.sort();
    Ok(out)
}

/// Follows the view and keeps the search index of its tasks.
pub struct SearchProjector {
    conn: Connection,
    signal: PositionSignal,
    wal_checkpointer: WalCheckpointer,
}

impl SearchProjector {
    pub fn new(view: &super::View) -> rusqlite::Result<Self> {
        let path = search_path(view.path());
        let conn = connect_file(&path)?;
        // It writes all over its indexes: a large page cache (allocated as used), and
        // checkpoints in the background.
        let memory = view.memory();
        conn.pragma_update(None, "cache_size", -memory.search_cache_kib)?;
        conn.pragma_update(
            None,
            "wal_autocheckpoint",
            crate::wal_checkpointer::SAFETY_NET_PAGES,
        )?;
        conn.pragma_update(None, "mmap_size", memory.mmap_bytes)?;
        conn.execute(
            "ATTACH DATABASE ?1 AS view",
            [view.path().to_string_lossy().as_ref()],
        )?;
        conn.pragma_update(Some("view"), "mmap_size", memory.mmap_bytes)?;
        let wal_checkpointer = WalCheckpointer::start(connect_file(&path)?, "search-checkpointer")?;
        let signal = PositionSignal::new(position(&conn, "main")?);
        Ok(Self {
            conn,
            signal,
            wal_checkpointer,
        })
    }

    /// Signals on an existing signal (a node's, which outlives a restarted projection).
    pub fn with_signal(mut self, signal: PositionSignal) -> Self {
        signal.advance(self.signal.head());
        self.signal = signal;
        self
    }

    /// The search position's signal: queries that must see a position wait on it.
    pub fn signal(&self) -> PositionSignal {
        self.signal.clone()
    }

    /// The view position the index covers.
    pub fn position(&self) -> rusqlite::Result<i64> {
        position(&self.conn, "main")
    }

    /// Indexes what changed in the view since the checkpoint, in transactions of up to
    /// [`CHANGES_PER_TRANSACTION`] changes, until the index covers the view's position
    /// as it was at the start. Returns how many tasks were indexed.
    pub fn catch_up(&mut self) -> rusqlite::Result<usize> {
        let mut total = 0;
        loop {
            let (indexed, done) = self.step()?;
            total += indexed;
            if indexed >= BULK {
                while self.merge_step(super::full_text::BULK_MERGE_PAGES)? {}
            }
            if done {
                return Ok(total);
            }
        }
    }

    /// One transaction of indexing; returns (tasks indexed, whether it caught up).
    fn step(&self) -> rusqlite::Result<(usize, bool)> {
        // Deferred: its reads of the view see one snapshot and take no lock there; the
        // first write takes this file's write lock (nobody else writes it).
        let tx = self.conn.unchecked_transaction()?;
        let view_position: i64 = tx
            .query_row(
                "SELECT position FROM view.projector_checkpoint WHERE projector = ?1",
                [crate::projector::TASKLIST_PROJECTOR],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0);
        let generation = super::generation_in(&tx, "view")?;
        let mut cp = Checkpoint::read(&tx)?;
        let pruned_below = super::pruned_below_in(&tx, "view")?;
        // A fresh index, a view rebuilt (or replaced) under it, or changes pruned before
        // it read them: index every task the view holds, from the position it is at.
        let follows = cp.as_ref().is_some_and(|c| {
            c.view_generation == generation
                && match c.rebuild_after {
                    None => c.position.saturating_add(1) >= pruned_below,
                    Some(_) => c.rebuild_from <= view_position,
                }
        });
        if !follows {
            tx.execute_batch(
                "DELETE FROM indexed_tasks; DELETE FROM task_payload; DELETE FROM tasks_fts;",
            )?;
            cp = Some(Checkpoint {
                view_generation: generation,
                position: 0,
                rebuild_after: Some(0),
                rebuild_from: view_position,
            });
        }
        let Some(mut cp) = cp else {
            return Ok((0, true));
        };
        if let Some(after) = cp.rebuild_after {
            return self.rebuild_step(tx, cp, after);
        }
        if cp.position == view_position {
            return Ok((0, true));
        }
        let changes: Vec<(i64, String)> = tx
            .prepare_cached(
                "SELECT position, task_id FROM view.task_changes
                 WHERE position > ?1 AND position <= ?2 ORDER BY position LIMIT ?3",
            )?
            .query_map(
                params![cp.position, view_position, CHANGES_PER_TRANSACTION],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?
            .collect::<rusqlite::Result<_>>()?;
        let full = changes.len() as i64 == CHANGES_PER_TRANSACTION;
        cp.position = match changes.last() {
            Some((p, _)) if full => *p,
            _ => view_position,
        };
        let mut seen = std::collections::HashSet::new();
        let mut indexed = 0;
        for (_, task_id) in &changes {
            if seen.insert(task_id.as_str()) {
                reindex(&tx, task_id)?;
                indexed += 1;
            }
        }
        cp.write(&tx)?;
        tx.commit()?;
        self.committed(cp.position);
        Ok((indexed, !full))
    }

    /// One step of indexing every task of the view, in rowid order, after rowid
    /// `after`. When the last is done, the index covers the position the rebuild
    /// started at: the changes after it (some of them to tasks already indexed) are
    /// indexed by the steps that follow.
    fn rebuild_step(
        &self,
        tx: rusqlite::Transaction<'_>,
        mut cp: Checkpoint,
        after: i64,
    ) -> rusqlite::Result<(usize, bool)> {
        let rows: Vec<(i64, String)> = tx
            .prepare_cached(
                "SELECT t.rowid, d.task FROM view.tasks t JOIN view.task_documents d ON d.task_rowid = t.rowid
                 WHERE t.rowid > ?1 ORDER BY t.rowid LIMIT ?2",
            )?
            .query_map(params![after, TASKS_PER_REBUILD_STEP], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        // The index was cleared when the rebuild began and each task comes once: no
        // earlier rows to look for.
        for (_, document) in &rows {
            index(&tx, document, false)?;
        }
        let finished = (rows.len() as i64) < TASKS_PER_REBUILD_STEP;
        if finished {
            cp.rebuild_after = None;
            cp.position = cp.rebuild_from;
        } else {
            cp.rebuild_after = rows.last().map(|(rowid, _)| *rowid);
        }
        cp.write(&tx)?;
        tx.commit()?;
        if finished {
            self.committed(cp.position);
        } else {
            self.wal_checkpointer.written();
        }
        // Not caught up yet either way: the changes since the rebuild began follow.
        Ok((rows.len(), false))
    }

    fn committed(&self, position: i64) {
        self.signal.advance(position);
        self.wal_checkpointer.written();
    }

    /// Upkeep while idle: one small step of full-text merging (see
    /// [`super::full_text`]). Returns whether there was work.
    pub fn maintain(&mut self) -> rusqlite::Result<bool> {
        self.merge_step(super::full_text::IDLE_MERGE_PAGES)
    }

    fn merge_step(&mut self, pages: i64) -> rusqlite::Result<bool> {
        let tx = self.conn.unchecked_transaction()?;
        let merged = super::full_text::merge_step(&tx, pages)?;
        tx.commit()?;
        if merged {
            self.wal_checkpointer.written();
        }
        Ok(merged)
    }

    /// Follows the view until `stop`: catches up whenever the view's position moves
    /// past what it covers, merges while idle, sleeps otherwise. A failure is logged and
    /// retried after a pause (the index trails meanwhile; the view is unaffected).
    pub fn run(mut self, view_signal: PositionSignal, stop: Arc<AtomicBool>) {
        let mut waiter = view_signal.waiter();
        let mut covered = self.position().unwrap_or(0);
        while !stop.load(Ordering::Relaxed) {
            match self.catch_up() {
                Ok(_) => covered = self.signal.head().max(covered),
                Err(e) => {
                    tracing::warn!(target: "taskpool::search", error = %e, "the search index could not follow the view; trying again");
                    waiter.pause(Duration::from_millis(500));
                    continue;
                }
            }
            // Idle upkeep, a step at a time, while nothing new arrives.
            loop {
                if stop.load(Ordering::Relaxed) || view_signal.head() > covered {
                    break;
                }
                match self.maintain() {
                    Ok(true) => continue,
                    Ok(false) => {
                        waiter.wait_beyond(covered, None);
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(target: "taskpool::search", error = %e, "full-text merge failed");
                        waiter.wait_beyond(covered, None);
                        break;
                    }
                }
            }
        }
    }
}

/// The search checkpoint (see the `search_checkpoint` table).
struct Checkpoint {
    view_generation: String,
    position: i64,
    rebuild_after: Option<i64>,
    rebuild_from: i64,
}

impl Checkpoint {
    fn read(tx: &Connection) -> rusqlite::Result<Option<Self>> {
        tx.query_row(
            "SELECT view_generation, position, rebuild_after, rebuild_from FROM search_checkpoint WHERE id = 1",
            [],
            |r| {
                Ok(Checkpoint {
                    view_generation: r.get(0)?,
                    position: r.get(1)?,
                    rebuild_after: r.get(2)?,
                    rebuild_from: r.get(3)?,
                })
            },
        )
        .optional()
    }

    fn write(&self, tx: &Connection) -> rusqlite::Result<()> {
        tx.prepare_cached(
            "INSERT INTO search_checkpoint (id, view_generation, position, rebuild_after, rebuild_from)
             VALUES (1, ?1, ?2, ?3, ?4)
             ON CONFLICT (id) DO UPDATE SET view_generation = excluded.view_generation,
                position = excluded.position, rebuild_after = excluded.rebuild_after,
                rebuild_from = excluded.rebuild_from",
        )?
        .execute(params![
            self.view_generation,
            self.position,
            self.rebuild_after,
            self.rebuild_from
        ])?;
        Ok(())
    }
}

/// Indexes `task_id` as the view holds it now (or removes it when the view has none).
fn reindex(tx: &Connection, task_id: &str) -> rusqlite::Result<()> {
    let document: Option<String> = tx
        .prepare_cached(
            "SELECT d.task FROM view.tasks t JOIN view.task_documents d ON d.task_rowid = t.rowid
             WHERE t.id = ?1",
        )?
        .query_row([task_id], |r| r.get(0))
        .optional()?;
    match document {
        Some(document) => index(tx, &document, true),
        None => {
            let rowid: Option<i64> = tx
                .prepare_cached("SELECT rowid FROM indexed_tasks WHERE task_id = ?1")?
                .query_row([task_id], |r| r.get(0))
                .optional()?;
            if let Some(rowid) = rowid {
                tx.prepare_cached("DELETE FROM tasks_fts WHERE rowid = ?1")?
                    .execute([rowid])?;
                tx.prepare_cached("DELETE FROM indexed_tasks WHERE rowid = ?1")?
                    .execute([rowid])?;
            }
            tx.prepare_cached("DELETE FROM task_payload WHERE task_id = ?1")?
                .execute([task_id])?;
            Ok(())
        }
    }
}

/// Writes the index rows of one task document (the view's JSON), replacing any it had
/// when it `may_exist`.
fn index(tx: &Connection, document: &str, may_exist: bool) -> rusqlite::Result<()> {
    let task: Task = match serde_json::from_str(document) {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(target: "taskpool::search", error = %e, "a task document of the view does not parse; it is not searchable");
            return Ok(());
        }
    };
    let existing: Option<i64> = if may_exist {
        tx.prepare_cached("SELECT rowid FROM indexed_tasks WHERE task_id = ?1")?
            .query_row([&task.id], |r| r.get(0))
            .optional()?
    } else {
        None
    };
    let rowid = match existing {
        Some(rowid) => {
            tx.prepare_cached("DELETE FROM tasks_fts WHERE rowid = ?1")?
                .execute([rowid])?;
            tx.prepare_cached("DELETE FROM task_payload WHERE task_id = ?1")?
                .execute([&task.id])?;
            rowid
        }
        None => {
            tx.prepare_cached("INSERT INTO indexed_tasks (task_id) VALUES (?1)")?
                .execute([&task.id])?;
            tx.last_insert_rowid()
        }
    };
    let rows = payload_rows(&task.payload);
    // Payload rows go in as multi-row inserts of up to 16 rows: one statement run
    // instead of one per row.
    for chunk in rows.chunks(16) {
        let values = vec!["(?, ?, ?, ?)"; chunk.len()].join(", ");
        let mut stmt = tx.prepare_cached(&format!(
            "INSERT OR IGNORE INTO task_payload (task_id, path, value_text, value_num) VALUES {values}"
        ))?;
        let mut params: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(chunk.len() * 4);
        for row in chunk {
            params.extend([
                &task.id as &dyn rusqlite::ToSql,
                &row.path,
                &row.text,
                &row.number,
            ]);
        }
        stmt.execute(params.as_slice())?;
    }
    let words = crate::query::text::index_text(&task, rows.iter().map(|r| r.text.as_str()));
    tx.prepare_cached("INSERT INTO tasks_fts (rowid, words) VALUES (?1, ?2)")?
        .execute(params![rowid, words])?;
    Ok(())
}
