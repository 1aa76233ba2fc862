//! Events a publisher went on without: the broker refused them for good (too large, an
//! invalid record) or the store could not read them. They live beside the checkpoint in
//! `kafka.db`, written in the checkpoint's transaction, with why.
//!
//! Parking holds the event's aggregate back: a later event of the same task (data entry,
//! process) is parked behind it, never published ahead of it, so readers see each
//! aggregate's events in order or not at all. Every other aggregate flows on. At each
//! start the publisher sends the parked events again, oldest first (after the broker's
//! limit was raised they go through and release their aggregates); `taskpool-publisher
//! discard-parked` drops them, releasing their aggregates with a gap readers skip over.

use std::collections::HashSet;

use rusqlite::{params, Connection};
use serde::Serialize;

/// One parked event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParkedEvent {
    /// The event's position in the application's store.
    pub position: i64,
    /// `task`, `dataEntry`, `processDefinition`, `processInstance`; empty when the
    /// stored event could not be read.
    pub aggregate_kind: String,
    pub aggregate_id: String,
    /// Why: the broker's refusal, the read error, or the parked event it waits behind.
    pub error: String,
}

/// An aggregate held back by a parked event: (kind, id).
pub type Held = (String, String);

pub(crate) fn create(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS publisher_parked (
            origin TEXT NOT NULL,
            position INTEGER NOT NULL,
            aggregate_kind TEXT NOT NULL,
            aggregate_id TEXT NOT NULL,
            error TEXT NOT NULL,
            parked_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
            PRIMARY KEY (origin, position)
        )",
    )
}

/// The parked events of application `origin`, oldest first.
pub fn list(conn: &Connection, origin: &str) -> rusqlite::Result<Vec<ParkedEvent>> {
    let mut stmt = conn.prepare(
        "SELECT position, aggregate_kind, aggregate_id, error FROM publisher_parked
         WHERE origin = ?1 ORDER BY position",
    )?;
    let rows = stmt.query_map([origin], |r| {
        Ok(ParkedEvent {
            position: r.get(0)?,
            aggregate_kind: r.get(1)?,
            aggregate_id: r.get(2)?,
            error: r.get(3)?,
        })
    })?;
    rows.collect()
}

/// How many events application `origin` has parked.
pub fn count(conn: &Connection, origin: &str) -> rusqlite::Result<u64> {
    let n: i64 = conn.query_row(
        "SELECT count(*) FROM publisher_parked WHERE origin = ?1",
        [origin],
        |r| r.get(0),
    )?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Drops the parked events of `origin` (they stay unpublished; their aggregates flow
/// again); returns how many.
pub fn discard(conn: &Connection, origin: &str) -> rusqlite::Result<usize> {
    conn.execute("DELETE FROM publisher_parked WHERE origin = ?1", [origin])
}

/// The aggregates `origin`'s parked events hold back.
pub(crate) fn held(conn: &Connection, origin: &str) -> rusqlite::Result<HashSet<Held>> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT aggregate_kind, aggregate_id FROM publisher_parked
         WHERE origin = ?1 AND aggregate_kind <> ''",
    )?;
    let rows = stmt.query_map([origin], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

pub(crate) fn insert(conn: &Connection, origin: &str, e: &ParkedEvent) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO publisher_parked (origin, position, aggregate_kind, aggregate_id, error)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (origin, position) DO UPDATE SET error = excluded.error",
    )?
    .execute(params![
        origin,
        e.position,
        e.aggregate_kind,
        e.aggregate_id,
        e.error
    ])?;
    Ok(())
}

pub(crate) fn remove(conn: &Connection, origin: &str, position: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM publisher_parked WHERE origin = ?1 AND position = ?2")?
        .execute(params![origin, position])?;
    Ok(())
}
