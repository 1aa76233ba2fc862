//! How every Taskpool SQLite file is opened: read-write (created if missing), WAL,
//! a busy timeout so writers in other threads and processes queue instead of failing.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::{Connection, ErrorCode, OpenFlags};

/// Opens `path` in WAL mode with the given `synchronous` setting (`NORMAL` or `FULL`).
/// Every SQLite file of Taskpool is opened here (the event store, views, outcome logs,
/// checkpoints, an engine's own tables).
pub fn open_wal(path: &Path, synchronous: &str) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // The user's data: readable by its owner only. SQLite gives the WAL and shared
    // memory files the database file's permissions, so this comes before WAL mode.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.permissions().mode() & 0o077 != 0 {
                let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
            }
        }
    }
    conn.busy_timeout(Duration::from_secs(30))?;
    // Switching a new file to WAL while another process does the same can fail at once
    // with "database is locked" (the busy handler does not cover it): retry.
    retry_while_busy(|| conn.pragma_update(None, "journal_mode", "WAL"))?;
    conn.pragma_update(None, "synchronous", synchronous)?;
    Ok(conn)
}

/// Runs `f` again while SQLite answers "busy" or "locked" without waiting (as schema
/// changes racing with another process can), for up to 30 seconds.
pub(crate) fn retry_while_busy<T>(
    mut f: impl FnMut() -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut pause = Duration::from_millis(5);
    loop {
        match f() {
            Err(e) if is_busy(&e) && Instant::now() < deadline => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(200));
            }
            other => return other,
        }
    }
}

/// True for "busy" and "locked" answers.
pub(crate) fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if matches!(f.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked))
}

/// A write transaction (`BEGIN IMMEDIATE`) whose begin, commit and rollback statements
/// come from the connection's statement cache: a writer committing one small unit of
/// work after another does not parse them each time, as [`rusqlite::Transaction`] does.
/// Rolled back when dropped uncommitted.
pub struct WriteTransaction<'c> {
    conn: &'c Connection,
    open: bool,
}

impl<'c> WriteTransaction<'c> {
    pub fn begin(conn: &'c Connection) -> rusqlite::Result<Self> {
        conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
        Ok(Self { conn, open: true })
    }

    pub fn commit(mut self) -> rusqlite::Result<()> {
        self.conn.prepare_cached("COMMIT")?.execute([])?;
        self.open = false;
        Ok(())
    }

    pub fn rollback(mut self) -> rusqlite::Result<()> {
        self.open = false;
        self.conn.prepare_cached("ROLLBACK")?.execute([])?;
        Ok(())
    }
}

impl std::ops::Deref for WriteTransaction<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl Drop for WriteTransaction<'_> {
    fn drop(&mut self) {
        if self.open && !self.conn.is_autocommit() {
            if let Err(e) = self.conn.execute_batch("ROLLBACK") {
                tracing::warn!(error = %e, "rolling back a dropped write transaction failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(conn: &Connection) -> i64 {
        conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap_or(-1)
    }

    #[test]
    fn a_write_transaction_commits_or_leaves_nothing() -> rusqlite::Result<()> {
        let dir =
            tempfile::tempdir().map_err(|e| rusqlite::Error::InvalidPath(e.to_string().into()))?;
        let conn = open_wal(&dir.path().join("t.db"), "NORMAL")?;
        conn.execute_batch("CREATE TABLE t (x INTEGER)")?;
        let tx = WriteTransaction::begin(&conn)?;
        tx.execute("INSERT INTO t VALUES (1)", [])?;
        tx.commit()?;
        let tx = WriteTransaction::begin(&conn)?;
        tx.execute("INSERT INTO t VALUES (2)", [])?;
        tx.rollback()?;
        {
            let tx = WriteTransaction::begin(&conn)?;
            tx.execute("INSERT INTO t VALUES (3)", [])?;
            // Dropped: an error path returned early.
        }
        assert!(conn.is_autocommit());
        assert_eq!(count(&conn), 1);
        Ok(())
    }
}
