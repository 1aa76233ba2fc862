//! Event store schema, versioned by SQLite's `user_version`. Each migration runs once,
//! in order, in its own transaction.

use rusqlite::Connection;

use super::StoreError;

const MIGRATIONS: &[&str] = &[
    // 1: the events table. `position` is the global sequence (projections, publishers and
    // SSE ids use it); (aggregate_kind, aggregate_id, aggregate_version) is unique, so
    // a second writer of the same version fails: optimistic concurrency.
    "CREATE TABLE events (
        position          INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id          TEXT    NOT NULL UNIQUE,
        aggregate_kind    TEXT    NOT NULL,
        aggregate_id      TEXT    NOT NULL,
        aggregate_version INTEGER NOT NULL CHECK (aggregate_version > 0),
        event_type        TEXT    NOT NULL,
        event_version     INTEGER NOT NULL,
        payload           TEXT    NOT NULL,
        metadata          TEXT    NOT NULL,
        UNIQUE (aggregate_kind, aggregate_id, aggregate_version)
    );",
    // 2: units of work already handled, by the sender's idempotency key, with their
    // outcome: a resent unit of work (a retrying job, a repeated HTTP request) is
    // answered from here instead of being applied twice. Written in the same
    // transaction as the unit's events.
    "CREATE TABLE handled_units (
        idempotency_key TEXT PRIMARY KEY,
        outcome         TEXT NOT NULL,
        handled_at      TEXT NOT NULL
    );",
    // 3: what the keyed request was (a fingerprint of its content, where the sender
    // gave one): the same key with another request is refused, not answered with the
    // first request's outcome. Units handled before this version have none.
    "ALTER TABLE handled_units ADD COLUMN fingerprint TEXT;",
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the schema up to date.
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found: current,
            supported: SCHEMA_VERSION,
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Another process may have migrated while we waited for the lock.
        let now: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if now > index as i64 {
            continue;
        }
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
        tracing::info!(target: "taskpool::event_store", version = index + 1, "event store schema migrated");
    }
    Ok(())
}
