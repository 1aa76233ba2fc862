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
    // 4: a leaner events table, for the write path. The position is the row id without
    // AUTOINCREMENT (events are never deleted, so the next row id is always the highest
    // plus one: positions still only grow, and no sqlite_sequence row is written per
    // commit). The event id is 16 bytes (time-ordered UUIDv7 for new events) and has no
    // index: nothing looks an event up by its id (readers go by position, aggregates by
    // their key), and a unique index on random ids cost a scattered page write per event.
    // The metadata are columns instead of a JSON document: ids as 16 bytes, the time as
    // RFC 3339 text as before.
    "CREATE TABLE events_v4 (
        position          INTEGER PRIMARY KEY,
        event_id          BLOB    NOT NULL,
        aggregate_kind    TEXT    NOT NULL,
        aggregate_id      TEXT    NOT NULL,
        aggregate_version INTEGER NOT NULL CHECK (aggregate_version > 0),
        event_type        TEXT    NOT NULL,
        event_version     INTEGER NOT NULL,
        payload           TEXT    NOT NULL,
        time              TEXT    NOT NULL,
        correlation_id    BLOB    NOT NULL,
        causation_id      BLOB    NOT NULL,
        user_name         TEXT,
        application       TEXT,
        UNIQUE (aggregate_kind, aggregate_id, aggregate_version)
    );
    INSERT INTO events_v4
        SELECT position, unhex(replace(event_id, '-', '')), aggregate_kind, aggregate_id,
               aggregate_version, event_type, event_version, payload,
               COALESCE(json_extract(metadata, '$.time'), ''),
               COALESCE(unhex(replace(json_extract(metadata, '$.correlationId'), '-', '')), x''),
               COALESCE(unhex(replace(json_extract(metadata, '$.causationId'), '-', '')), x''),
               json_extract(metadata, '$.user'), json_extract(metadata, '$.application')
        FROM events ORDER BY position;
    DROP TABLE events;
    ALTER TABLE events_v4 RENAME TO events;
    DELETE FROM sqlite_sequence WHERE name = 'events';",
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{AssignTask, TaskCommand};
    use crate::event_store::EventStore;
    use crate::testing::fixtures;
    use crate::{BatchMode, CommandContext, CommandGateway};

    /// A store written by a build of schema version 3 (text event ids, AUTOINCREMENT):
    /// its events keep their positions, ids and content, and new events follow them.
    #[test]
    fn a_version_3_store_migrates_with_every_event_intact() -> Result<(), Box<dyn std::error::Error>>
    {
        // Given a version 3 store with events of one task, written as version 3 wrote them.
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("events.db");
        let old_ids = [uuid::Uuid::new_v4(), uuid::Uuid::new_v4()];
        let written;
        {
            let store = EventStore::open(dir.path().join("source.db"))?;
            let gateway = CommandGateway::new(&store)?;
            let ctx = CommandContext {
                user: Some("alice".into()),
                application: Some("app".into()),
                ..Default::default()
            };
            gateway.send(
                TaskCommand::CreateTask(fixtures::task("t-1", "app")).into(),
                &ctx,
            )?;
            gateway.send(
                TaskCommand::AssignTask(AssignTask {
                    id: "t-1".into(),
                    assignee: Some("alice".into()),
                })
                .into(),
                &ctx,
            )?;
            written = store.reader()?.read_after(0, 10)?;
            let mut old = crate::sqlite::open_wal(&path, "NORMAL")?;
            for sql in &MIGRATIONS[..3] {
                old.execute_batch(sql)?;
            }
            old.pragma_update(None, "user_version", 3)?;
            let tx = old.transaction()?;
            for (e, id) in written.iter().zip(old_ids) {
                // Positions 5 and 9: a rolled-back insert may leave gaps.
                tx.execute(
                    "INSERT INTO events (position, event_id, aggregate_kind, aggregate_id,
                        aggregate_version, event_type, event_version, payload, metadata)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    rusqlite::params![
                        e.aggregate_version * 4 + 1,
                        id.to_string(),
                        e.aggregate_kind.as_str(),
                        e.aggregate_id,
                        e.aggregate_version,
                        e.event.type_name(),
                        crate::event::EVENT_VERSION,
                        e.event.body_json()?,
                        serde_json::to_string(&e.metadata)?,
                    ],
                )?;
            }
            tx.commit()?;
        }

        // When a build of this version opens it.
        let store = EventStore::open(&path)?;

        // Then every event reads back as it was written (its body, metadata, identity),
        // at its position.
        let events = store.reader()?.read_after(0, 10)?;
        let seen: Vec<_> = events.iter().map(|e| (e.position, e.event_id)).collect();
        assert_eq!(seen, vec![(5, old_ids[0]), (9, old_ids[1])]);
        assert_eq!(events.len(), written.len());
        for (migrated, before) in events.iter().zip(&written) {
            assert_eq!(migrated.event, before.event);
            assert_eq!(migrated.metadata, before.metadata);
            assert_eq!(migrated.aggregate_id, before.aggregate_id);
            assert_eq!(migrated.aggregate_version, before.aggregate_version);
        }
        let version: i64 = store
            .connect()?
            .query_row("PRAGMA user_version", [], |r| r.get(0))?;
        assert_eq!(version, SCHEMA_VERSION);
        // And the next event of the task follows them, with a time-ordered id.
        let gateway = CommandGateway::new(&store)?;
        let outcome = gateway.handle(
            vec![TaskCommand::AssignTask(AssignTask {
                id: "t-1".into(),
                assignee: Some("bob".into()),
            })
            .into()],
            BatchMode::Atomic,
            &CommandContext::default(),
        )?;
        assert_eq!(outcome.position, Some(10));
        let next = store.reader()?.read_after(9, 10)?;
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].aggregate_version, 3);
        assert_eq!(next[0].event_id.get_version_num(), 7);
        Ok(())
    }
}
