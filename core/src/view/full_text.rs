//! Upkeep of the full-text index (FTS5). FTS5 keeps its index as segments in levels
//! and, by default, merges them inside whichever write fills a level, so now and then a
//! small commit carries a large merge. On a live view those commits are single changes
//! a user is waiting for: at 1,000,000 tasks every 64th one took 15-60 ms instead of
//! 1-2 ms, and the changes behind it queued. So automatic merging is off, and the
//! projector merges on its own schedule: fully after a bulk transaction (a catch-up or
//! a delivered batch), and in small steps while it has nothing else to do. FTS5's
//! crisis merge (16 segments on one level) stays as a safety net.

use rusqlite::Connection;

/// Run with the schema: no merging inside writes.
pub(crate) const AUTOMERGE_OFF: &str =
    "INSERT INTO tasks_fts (tasks_fts, rank) VALUES ('automerge', 0);";

/// Pages one idle merge step writes at most (a change arriving meanwhile waits for the
/// step, so it is kept small).
pub const IDLE_MERGE_PAGES: i64 = 64;

/// Pages one merge step writes after a bulk transaction.
pub const BULK_MERGE_PAGES: i64 = 4096;

/// Merges up to `pages` pages of segments on levels that hold enough of them (FTS5's
/// `usermerge`, 4), in the caller's transaction. Returns whether there was work.
pub fn merge_step(conn: &Connection, pages: i64) -> rusqlite::Result<bool> {
    let before = conn.total_changes();
    conn.prepare_cached("INSERT INTO tasks_fts (tasks_fts, rank) VALUES ('merge', ?1)")?
        .execute([pages])?;
    // FTS5 counts the command itself as one change; two or more mean segments were
    // merged.
    Ok(conn.total_changes() - before >= 2)
}
