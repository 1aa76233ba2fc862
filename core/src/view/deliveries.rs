//! What a view fed with delivered events (a tasklist node reading a message log) keeps
//! beside its rows: per aggregate, the last version applied and the origin (the
//! publishing process application's store) that owns it; and the deliveries it refused
//! because another origin owns their aggregate, kept until the transport has told their
//! origin (an outbox: recorded in the transaction that read them).
//!
//! Aggregate ids are owned by their application in every scenario: on a single node the
//! command gateway refuses a second application's command (`FOREIGN_APPLICATION`); here
//! the first origin to publish an aggregate owns it, and every tasklist node agrees on
//! which one was first because the message log keeps one order per aggregate id.

use rusqlite::{params, OptionalExtension, Transaction};
use uuid::Uuid;

use crate::aggregate::AggregateKind;
use crate::event::StoredEvent;

/// An event delivered from elsewhere, with the store it was published from.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveredEvent {
    /// The publishing process application's store (its name).
    pub origin: String,
    pub event: StoredEvent,
}

/// A delivered event the view did not apply: its aggregate belongs to `owner`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedDelivery {
    pub event_id: Uuid,
    /// The store that published it (the application to tell).
    pub origin: String,
    pub aggregate_kind: AggregateKind,
    pub aggregate_id: String,
    pub aggregate_version: i64,
    pub event_type: String,
    /// The origin that owns the aggregate.
    pub owner: String,
}

impl RefusedDelivery {
    /// What the refused application is told.
    pub fn message(&self) -> String {
        format!(
            "the {} `{}` belongs to {}, not to the sending application {}: its {} (version {}) is in no task pool view",
            self.aggregate_kind.as_str(),
            self.aggregate_id,
            self.owner,
            self.origin,
            self.event_type,
            self.aggregate_version
        )
    }
}

/// What a view fed with delivered events went on without.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryCounts {
    /// Deliveries that could not be applied (not an event, an unknown type, a future
    /// version).
    pub parked: usize,
    /// Events refused because another application owns their aggregate.
    pub refused: usize,
    /// Of those, not yet told to their application.
    pub refused_unsent: usize,
}

/// How many deliveries the view parked and refused.
pub fn counts(conn: &rusqlite::Connection) -> rusqlite::Result<DeliveryCounts> {
    conn.query_row(
        "SELECT (SELECT count(*) FROM parked_deliveries),
                (SELECT count(*) FROM refused_deliveries),
                (SELECT count(*) FROM refused_deliveries WHERE sent = 0)",
        [],
        |r| {
            Ok(DeliveryCounts {
                parked: r.get::<_, i64>(0)? as usize,
                refused: r.get::<_, i64>(1)? as usize,
                refused_unsent: r.get::<_, i64>(2)? as usize,
            })
        },
    )
}

/// What the view knows of a delivered event's aggregate.
pub(crate) enum Known {
    /// Nothing yet: the event's origin will own it.
    New,
    /// Owned by the event's origin, `version` applied.
    Own { version: i64 },
    /// Owned by another origin.
    Foreign { owner: String },
}

pub(crate) fn known(tx: &Transaction<'_>, d: &DeliveredEvent) -> rusqlite::Result<Known> {
    let e = &d.event;
    let row: Option<(i64, String)> = tx
        .prepare_cached(
            "SELECT version, origin FROM applied_versions WHERE aggregate_kind = ?1 AND aggregate_id = ?2",
        )?
        .query_row(params![e.aggregate_kind.as_str(), e.aggregate_id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    Ok(match row {
        None => Known::New,
        Some((version, origin)) if origin == d.origin => Known::Own { version },
        Some((_, owner)) => Known::Foreign { owner },
    })
}

pub(crate) fn record_applied(tx: &Transaction<'_>, d: &DeliveredEvent) -> rusqlite::Result<()> {
    let e = &d.event;
    tx.prepare_cached(
        "INSERT INTO applied_versions (aggregate_kind, aggregate_id, version, origin) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (aggregate_kind, aggregate_id) DO UPDATE SET version = excluded.version",
    )?
    .execute(params![
        e.aggregate_kind.as_str(),
        e.aggregate_id,
        e.aggregate_version,
        d.origin
    ])?;
    Ok(())
}

/// Records a refusal to send (once per event: a redelivery changes nothing). Returns
/// whether it was new.
pub(crate) fn record_refused(
    tx: &Transaction<'_>,
    d: &DeliveredEvent,
    owner: &str,
) -> rusqlite::Result<bool> {
    let e = &d.event;
    let inserted = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO refused_deliveries
                 (event_id, origin, aggregate_kind, aggregate_id, aggregate_version, event_type, owner, refused_at, sent)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0)",
        )?
        .execute(params![
            e.event_id.as_bytes().as_slice(),
            d.origin,
            e.aggregate_kind.as_str(),
            e.aggregate_id,
            e.aggregate_version,
            e.event.type_name(),
            owner,
            chrono::Utc::now().to_rfc3339(),
        ])?;
    Ok(inserted == 1)
}

/// The refusals not yet sent to their origin, oldest first.
pub(crate) fn unsent(
    conn: &rusqlite::Connection,
    limit: usize,
) -> rusqlite::Result<Vec<RefusedDelivery>> {
    let mut stmt = conn.prepare_cached(
        "SELECT event_id, origin, aggregate_kind, aggregate_id, aggregate_version, event_type, owner
         FROM refused_deliveries WHERE sent = 0 ORDER BY refused_at, event_id LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit as i64], |r| {
        let id: Vec<u8> = r.get(0)?;
        let kind: String = r.get(2)?;
        Ok((
            id,
            kind,
            r.get(1)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, kind, origin, aggregate_id, aggregate_version, event_type, owner) = row?;
        // Written by this module from a parsed event: anything else is skipped.
        let (Ok(event_id), Some(aggregate_kind)) =
            (Uuid::from_slice(&id), AggregateKind::parse(&kind))
        else {
            tracing::warn!(target: "taskpool::projector", "an unreadable refusal row was skipped");
            continue;
        };
        out.push(RefusedDelivery {
            event_id,
            origin,
            aggregate_kind,
            aggregate_id,
            aggregate_version,
            event_type,
            owner,
        });
    }
    Ok(out)
}

/// Marks refusals as told to their origin.
pub(crate) fn mark_sent(conn: &mut rusqlite::Connection, ids: &[Uuid]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    for id in ids {
        tx.prepare_cached("UPDATE refused_deliveries SET sent = 1 WHERE event_id = ?1")?
            .execute([id.as_bytes().as_slice()])?;
    }
    tx.commit()
}
