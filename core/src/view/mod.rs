//! The view: the query model in its own SQLite file, built from the events by the
//! [`crate::projector::Projector`]. Every view can be rebuilt from the event log.

pub mod deliveries;
pub mod full_text;
pub(crate) mod projection;
mod schema;
pub mod search;
pub(crate) mod timeline;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension};

pub use crate::wal_checkpointer::WalCheckpointer;

/// The projector connection's automatic checkpoint threshold (pages).
pub fn wal_checkpointer_safety_net() -> i64 {
    crate::wal_checkpointer::SAFETY_NET_PAGES
}
pub use projection::{payload_rows, PayloadRow, Principals, MAX_INDEX_PATH, MAX_INDEX_ROWS};
pub use schema::VIEW_SCHEMA_VERSION;

/// How much memory the connections to a view may hold: SQLite page caches (allocated
/// as used, up to these sizes) and the memory mapping of the files (pages read through
/// it count as the process's resident memory).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewMemory {
    /// Each query connection's page cache.
    pub query_cache_kib: i64,
    /// The page cache of each live subscription's connection (there may be thousands).
    pub small_cache_kib: i64,
    /// The projector's page cache (it writes all over the view's indexes).
    pub writer_cache_kib: i64,
    /// The search projection's page cache.
    pub search_cache_kib: i64,
    /// How much of the view and search files is memory-mapped (shared by every
    /// connection); 0: none, reads go through each connection's page cache.
    pub mmap_bytes: i64,
}

impl ViewMemory {
    /// A server: large caches, the files mapped.
    pub const SERVER: Self = Self {
        query_cache_kib: 32 * 1024,
        small_cache_kib: 1024,
        writer_cache_kib: 256 * 1024,
        search_cache_kib: 128 * 1024,
        mmap_bytes: 4 << 30,
    };

    /// A desktop app: one user's inbox, beside everything else the user runs. Small
    /// caches and no mapping (the operating system's file cache still holds the pages,
    /// without counting them against the app).
    pub const DESKTOP: Self = Self {
        query_cache_kib: 2 * 1024,
        small_cache_kib: 512,
        writer_cache_kib: 16 * 1024,
        search_cache_kib: 8 * 1024,
        mmap_bytes: 0,
    };
}

impl Default for ViewMemory {
    fn default() -> Self {
        Self::SERVER
    }
}

/// Opens connections to one view file.
#[derive(Debug, Clone)]
pub struct View {
    path: PathBuf,
    memory: ViewMemory,
}

impl View {
    /// Opens (creating) the view at `path`, with a server's memory.
    pub fn open(path: impl AsRef<Path>) -> rusqlite::Result<Self> {
        Self::open_with(path, ViewMemory::SERVER)
    }

    /// Opens (creating) the view at `path`, its connections holding up to `memory`.
    pub fn open_with(path: impl AsRef<Path>, memory: ViewMemory) -> rusqlite::Result<Self> {
        let view = Self {
            path: path.as_ref().to_path_buf(),
            memory,
        };
        let conn = view.connect_writer()?;
        crate::sqlite::retry_while_busy(|| {
            let tx = conn.unchecked_transaction()?;
            let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            if version != 0 && version != VIEW_SCHEMA_VERSION {
                // A view is derived data: an old shape is dropped and rebuilt.
                drop_all(&tx)?;
            }
            create_all(&tx)?;
            tx.pragma_update(None, "user_version", VIEW_SCHEMA_VERSION)?;
            tx.commit()
        })?;
        search::open_file(&view.search_path(), false)?;
        Ok(view)
    }

    /// The search file beside the view (see [`search`]).
    pub fn search_path(&self) -> PathBuf {
        search::search_path(&self.path)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A connection (WAL, busy timeout) for queries: a 32 MiB page cache of its own,
    /// the file memory-mapped (shared with every other connection), the search file
    /// attached as `search`.
    pub fn connect(&self) -> rusqlite::Result<Connection> {
        let conn = self.connect_with_cache(self.memory.query_cache_kib)?;
        search::attach(&conn, &self.search_path(), self.memory.mmap_bytes)?;
        Ok(conn)
    }

    /// How much memory its connections may hold.
    pub fn memory(&self) -> ViewMemory {
        self.memory
    }

    /// A query connection with a small private page cache (1 MiB), for the many
    /// long-lived connections of live subscriptions: their reads go through the shared
    /// mapping.
    pub fn connect_small(&self) -> rusqlite::Result<Connection> {
        let conn = self.connect_with_cache(self.memory.small_cache_kib)?;
        search::attach(&conn, &self.search_path(), self.memory.mmap_bytes)?;
        Ok(conn)
    }

    /// A connection to the view alone, for its writer (the projector): with the search
    /// file attached, its write transactions would lock that file too.
    pub fn connect_writer(&self) -> rusqlite::Result<Connection> {
        self.connect_with_cache(self.memory.small_cache_kib)
    }

    fn connect_with_cache(&self, cache_kib: i64) -> rusqlite::Result<Connection> {
        let conn = crate::sqlite::open_wal(&self.path, "NORMAL")?;
        conn.pragma_update(None, "cache_size", -cache_kib)?;
        conn.pragma_update(None, "mmap_size", self.memory.mmap_bytes)?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(conn)
    }
}

/// The stored checkpoint of projector `id` (0 when it has applied nothing).
pub fn checkpoint(conn: &Connection, id: &str) -> rusqlite::Result<i64> {
    Ok(conn
        .query_row(
            "SELECT position FROM projector_checkpoint WHERE projector = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0))
}

/// Prunes the change table (and answered requests) below `keep_from`, remembering how
/// far; at most `max_rows` rows a call (an upkeep step). Returns whether rows were left.
pub fn prune_changes(conn: &Connection, keep_from: i64, max_rows: usize) -> rusqlite::Result<bool> {
    let limit = i64::try_from(max_rows).unwrap_or(i64::MAX);
    let deleted = conn.execute(
        "DELETE FROM task_changes WHERE position IN (SELECT position FROM task_changes WHERE position < ?1 ORDER BY position LIMIT ?2)",
        rusqlite::params![keep_from, limit],
    )?;
    conn.execute(
        "DELETE FROM requests WHERE state != 'requested' AND answered_position < ?1",
        [keep_from],
    )?;
    let left: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM task_changes WHERE position < ?1)",
        [keep_from],
        |r| r.get(0),
    )?;
    if deleted > 0 && !left {
        conn.execute(
            "INSERT INTO change_log_retention (id, pruned_below) VALUES (1, ?1)
             ON CONFLICT (id) DO UPDATE SET pruned_below = MAX(pruned_below, excluded.pruned_below)",
            [keep_from],
        )?;
    }
    Ok(left)
}

/// Forgets up to `max_rows` completed tasks completed before `before` (RFC 3339); true
/// while more are left.
pub fn prune_completed(conn: &Connection, before: &str, max_rows: usize) -> rusqlite::Result<bool> {
    let limit = i64::try_from(max_rows).unwrap_or(i64::MAX);
    let ids: Vec<String> = conn
        .prepare_cached(
            "SELECT task_id FROM completed_tasks WHERE completed_at < ?1 ORDER BY completed_at LIMIT ?2",
        )?
        .query_map(rusqlite::params![before, limit], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for id in &ids {
        conn.prepare_cached("DELETE FROM task_timeline WHERE task_id = ?1")?
            .execute([id])?;
        conn.prepare_cached("DELETE FROM completed_tasks WHERE task_id = ?1")?
            .execute([id])?;
        conn.prepare_cached("DELETE FROM completed_task_principals WHERE task_id = ?1")?
            .execute([id])?;
    }
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM completed_tasks WHERE completed_at < ?1)",
        [before],
        |r| r.get(0),
    )
}

/// Changes below this position may have been pruned (0: none were).
pub fn pruned_below(conn: &Connection) -> rusqlite::Result<i64> {
    pruned_below_in(conn, "main")
}

/// [`pruned_below`] of the view attached as `schema`.
pub(crate) fn pruned_below_in(conn: &Connection, schema: &str) -> rusqlite::Result<i64> {
    Ok(conn
        .query_row(
            &format!("SELECT pruned_below FROM {schema}.change_log_retention WHERE id = 1"),
            [],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0))
}

/// The generation of the view attached as `schema` (see `view_generation`).
pub(crate) fn generation_in(conn: &Connection, schema: &str) -> rusqlite::Result<String> {
    conn.query_row(
        &format!("SELECT generation FROM {schema}.view_generation WHERE id = 1"),
        [],
        |r| r.get(0),
    )
}

/// Parks a stored event the view could not read (see `parked_events`).
pub(crate) fn park_event(conn: &Connection, position: i64, error: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT OR REPLACE INTO parked_events (position, error) VALUES (?1, ?2)")?
        .execute(rusqlite::params![position, error])?;
    Ok(())
}

/// The events parked so far: (position, why), oldest first.
pub fn parked_events(conn: &Connection) -> rusqlite::Result<Vec<(i64, String)>> {
    let mut stmt =
        conn.prepare_cached("SELECT position, error FROM parked_events ORDER BY position")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// Discards parked events (an operator has looked at them): they stay unapplied.
pub fn discard_parked_events(conn: &Connection) -> rusqlite::Result<usize> {
    conn.execute("DELETE FROM parked_events", [])
}

pub(crate) fn drop_all(conn: &Connection) -> rusqlite::Result<()> {
    for table in schema::TABLES.iter().chain(schema::RETIRED_TABLES) {
        conn.execute_batch(&format!("DROP TABLE IF EXISTS {table};"))?;
    }
    Ok(())
}

pub(crate) fn create_all(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(schema::CREATE)
}

/// The rows of `sql` as sorted lines of text, prefixed with `table`.
fn rows_as_text(conn: &Connection, table: &str, sql: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(sql)?;
    let n = stmt.column_count();
    let mut rows: Vec<String> = stmt
        .query_map([], |r| {
            let mut cells = Vec::with_capacity(n);
            for i in 0..n {
                cells.push(format!("{:?}", r.get::<_, rusqlite::types::Value>(i)?));
            }
            Ok(format!("{table}: {}", cells.join(" | ")))
        })?
        .collect::<Result<_, _>>()?;
    rows.sort();
    Ok(rows)
}

/// A canonical dump of the state a view holds (tasks, authorizations, payload index,
/// data entries, processes), without what depends on the order events arrived in
/// (positions, row ids, the change log, delivery bookkeeping): two views fed the same
/// events in different interleavings (a rebuild and a node fed by deliveries) dump equal.
pub fn dump_state(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let queries = [
        ("tasks", "SELECT t.id, t.application_name, t.process_name, t.definition_key, t.instance_id, t.task_definition_key, t.name, t.description, t.form_key, t.priority, t.assignee, t.create_time, t.due_date, t.follow_up_date, t.business_key, d.task FROM tasks t JOIN task_documents d ON d.task_rowid = t.rowid"),
        ("task_authorizations", "SELECT principal, kind, due, task_id, follow_up FROM task_authorizations"),
        ("task_correlations", "SELECT * FROM task_correlations"),
        ("data_entries", "SELECT * FROM data_entries"),
        ("data_entry_authorizations", "SELECT * FROM data_entry_authorizations"),
        ("data_entry_protocol_users", "SELECT * FROM data_entry_protocol_users"),
        ("process_definitions", "SELECT * FROM process_definitions"),
        ("process_definition_starters", "SELECT * FROM process_definition_starters"),
        ("process_instances", "SELECT * FROM process_instances"),
        ("process_variables", "SELECT * FROM process_variables"),
        ("completed_tasks", "SELECT * FROM completed_tasks"),
        ("task_timeline", "SELECT * FROM task_timeline"),
        ("completed_task_principals", "SELECT * FROM completed_task_principals"),
    ];
    let mut out = Vec::new();
    for (table, sql) in queries {
        out.extend(rows_as_text(conn, table, sql)?);
    }
    Ok(out)
}

/// A canonical dump of every view table (ordered rows as text), to compare two views.
pub fn dump(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut out = Vec::new();
    for table in schema::TABLES {
        // Where a projector is and which generation a view is differ between equal views.
        if *table == "projector_checkpoint" || *table == "view_generation" {
            continue;
        }
        out.extend(rows_as_text(
            conn,
            table,
            &format!("SELECT * FROM {table}"),
        )?);
    }
    Ok(out)
}
