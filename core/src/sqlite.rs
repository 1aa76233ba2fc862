//! How every Taskpool SQLite file is opened: read-write (created if missing), WAL,
//! a busy timeout so writers in other threads and processes queue instead of failing.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

/// Opens `path` in WAL mode with the given `synchronous` setting (`NORMAL` or `FULL`).
pub(crate) fn open_wal(path: &Path, synchronous: &str) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(30))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", synchronous)?;
    Ok(conn)
}
