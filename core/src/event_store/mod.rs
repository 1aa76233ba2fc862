//! The event store on SQLite: one table of events with a global position.
//!
//! Writers append inside the command gateway's unit of work (one SQLite transaction);
//! readers (projectors, publishers) read committed events in position order.

mod schema;

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};
use uuid::Uuid;

pub use schema::SCHEMA_VERSION;

use crate::aggregate::AggregateKind;
use crate::event::{DomainEvent, EventDecodeError, EventMetadata, StoredEvent, EVENT_VERSION};

/// Infrastructure faults of the event store (as opposed to command rejections).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("event could not be serialized: {0}")]
    Serialize(#[from] serde_json::Error),
    #[error("stored event at position {position} could not be decoded: {source}")]
    Decode {
        position: i64,
        #[source]
        source: EventDecodeError,
    },
    #[error("stored event at position {position} has bad metadata or identity: {message}")]
    Corrupt { position: i64, message: String },
    #[error(
        "the event store schema version {found} is newer than this build supports ({supported})"
    )]
    SchemaTooNew { found: i64, supported: i64 },
}

/// How durable a commit is. `Normal` survives a crash of the process (the WAL is
/// written before commit returns); `Full` also survives a power loss, at some speed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    #[default]
    Normal,
    Full,
}

/// Opens connections to one event store file.
#[derive(Debug, Clone)]
pub struct EventStore {
    path: PathBuf,
    durability: Durability,
}

impl EventStore {
    /// Opens (creating and migrating when needed) the event store at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, Durability::default())
    }

    pub fn open_with(path: impl AsRef<Path>, durability: Durability) -> Result<Self, StoreError> {
        let store = Self {
            path: path.as_ref().to_path_buf(),
            durability,
        };
        let mut conn = store.connect()?;
        // Two processes opening a new store at once: one migrates, the other waits.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            match schema::migrate(&mut conn) {
                Err(StoreError::Sqlite(e))
                    if crate::sqlite::is_busy(&e) && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => break other?,
            }
        }
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A new connection with the store's settings (WAL, busy timeout).
    pub fn connect(&self) -> Result<Connection, StoreError> {
        let sync = match self.durability {
            Durability::Normal => "NORMAL",
            Durability::Full => "FULL",
        };
        let conn = crate::sqlite::open_wal(&self.path, sync)?;
        conn.set_prepared_statement_cache_capacity(32);
        // 16 MiB of page cache (the default is 2 MiB): the upper levels of the aggregate
        // key index and the pages of the last appends stay in memory for every writer.
        conn.pragma_update(None, "cache_size", -16384)?;
        Ok(conn)
    }

    /// A reader over committed events.
    pub fn reader(&self) -> Result<EventReader, StoreError> {
        Ok(EventReader {
            conn: self.connect()?,
        })
    }
}

/// An event about to be appended, its body already serialized (the gateway measures it
/// against the node's event size limit, and it is written as it was measured).
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub event_id: Uuid,
    pub aggregate_kind: AggregateKind,
    pub aggregate_id: String,
    pub aggregate_version: i64,
    /// [`DomainEvent::type_name`].
    pub event_type: &'static str,
    /// [`DomainEvent::body_json`].
    pub body: String,
    pub metadata: EventMetadata,
}

impl NewEvent {
    /// The event of `aggregate_kind` `aggregate_id` at `aggregate_version`, serialized.
    pub fn new(
        aggregate_kind: AggregateKind,
        aggregate_id: String,
        aggregate_version: i64,
        event: &DomainEvent,
        metadata: EventMetadata,
    ) -> Result<Self, StoreError> {
        Ok(Self {
            event_id: Uuid::now_v7(),
            aggregate_kind,
            aggregate_id,
            aggregate_version,
            event_type: event.type_name(),
            body: event.body_json()?,
            metadata,
        })
    }
}

/// Appends events inside an open transaction; returns each event's position.
/// A version that exists already fails with a unique-constraint error: the caller's
/// state was stale (see [`is_version_conflict`]).
pub fn append(conn: &Connection, events: &[NewEvent]) -> Result<Vec<i64>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO events (event_id, aggregate_kind, aggregate_id, aggregate_version,
                             event_type, event_version, payload, time, correlation_id,
                             causation_id, user_name, application)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?;
    let mut positions = Vec::with_capacity(events.len());
    // A unit of work's events share their time: formatted once.
    let mut time: Option<(chrono::DateTime<chrono::Utc>, String)> = None;
    for e in events {
        let m = &e.metadata;
        let at = match &time {
            Some((t, text)) if *t == m.time => text.clone(),
            _ => {
                let text = m.time.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
                time = Some((m.time, text.clone()));
                text
            }
        };
        stmt.execute(params![
            e.event_id.as_bytes().as_slice(),
            e.aggregate_kind.as_str(),
            e.aggregate_id,
            e.aggregate_version,
            e.event_type,
            EVENT_VERSION,
            e.body,
            at,
            m.correlation_id.as_bytes().as_slice(),
            m.causation_id.as_bytes().as_slice(),
            m.user,
            m.application,
        ])?;
        positions.push(conn.last_insert_rowid());
    }
    Ok(positions)
}

/// True when an append failed because the aggregate version already exists.
pub fn is_version_conflict(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(f, _))
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
    )
}

/// The events of one aggregate after `after_version`, in version order.
pub fn load_aggregate_events(
    conn: &Connection,
    kind: AggregateKind,
    id: &str,
    after_version: i64,
) -> Result<Vec<(i64, DomainEvent)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT position, aggregate_version, event_type, event_version, payload FROM events
         WHERE aggregate_kind = ?1 AND aggregate_id = ?2 AND aggregate_version > ?3
         ORDER BY aggregate_version",
    )?;
    let mut rows = stmt.query(params![kind.as_str(), id, after_version])?;
    let mut events = Vec::new();
    while let Some(row) = rows.next()? {
        let position: i64 = row.get(0)?;
        let version: i64 = row.get(1)?;
        let event_type: String = row.get(2)?;
        let event_version: i64 = row.get(3)?;
        let payload: String = row.get(4)?;
        let event = DomainEvent::decode(&event_type, event_version, &payload)
            .map_err(|source| StoreError::Decode { position, source })?;
        events.push((version, event));
    }
    Ok(events)
}

/// The highest committed position (0 when empty).
pub fn head_position(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached("SELECT COALESCE(MAX(position), 0) FROM events")?
        .query_row([], |r| r.get(0))?)
}

/// A stored event this build cannot read: where it is and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadableEvent {
    pub position: i64,
    pub error: String,
}

/// Reads committed events in position order.
pub struct EventReader {
    conn: Connection,
}

impl EventReader {
    /// Up to `limit` events with a position greater than `after`.
    pub fn read_after(&mut self, after: i64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT position, event_id, aggregate_kind, aggregate_id, aggregate_version,
                    event_type, event_version, payload, time, correlation_id, causation_id,
                    user_name, application
             FROM events WHERE position > ?1 ORDER BY position LIMIT ?2",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut rows = stmt.query(params![after, limit])?;
        let mut events = Vec::new();
        while let Some(row) = rows.next()? {
            events.push(stored_event(row)?);
        }
        Ok(events)
    }

    /// Like [`EventReader::read_after`], but an event that cannot be decoded (or whose
    /// identity is corrupt) comes as an [`UnreadableEvent`] instead of failing the read:
    /// for a reader that must never stop on one (the projector parks it).
    pub fn read_after_lenient(
        &mut self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<Result<StoredEvent, UnreadableEvent>>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT position, event_id, aggregate_kind, aggregate_id, aggregate_version,
                    event_type, event_version, payload, time, correlation_id, causation_id,
                    user_name, application
             FROM events WHERE position > ?1 ORDER BY position LIMIT ?2",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut rows = stmt.query(params![after, limit])?;
        let mut events = Vec::new();
        while let Some(row) = rows.next()? {
            events.push(match stored_event(row) {
                Ok(e) => Ok(e),
                Err(
                    e
                    @ (StoreError::Decode { position, .. } | StoreError::Corrupt { position, .. }),
                ) => Err(UnreadableEvent {
                    position,
                    error: e.to_string(),
                }),
                Err(other) => return Err(other),
            });
        }
        Ok(events)
    }

    /// The highest committed position (0 when empty).
    pub fn head_position(&self) -> Result<i64, StoreError> {
        head_position(&self.conn)
    }

    /// The current version of an aggregate (0 when it has no events).
    pub fn aggregate_version(&self, kind: AggregateKind, id: &str) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT MAX(aggregate_version) FROM events
                 WHERE aggregate_kind = ?1 AND aggregate_id = ?2",
                params![kind.as_str(), id],
                |r| r.get::<_, Option<i64>>(0),
            )
            .optional()?
            .flatten()
            .unwrap_or(0))
    }

    /// The underlying connection, for read-only checks in tests and tools.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

fn stored_event(row: &rusqlite::Row<'_>) -> Result<StoredEvent, StoreError> {
    let position: i64 = row.get(0)?;
    let corrupt = |message: String| StoreError::Corrupt { position, message };
    let uuid = |index: usize, what: &str| -> Result<Uuid, StoreError> {
        let bytes = row
            .get_ref(index)?
            .as_blob()
            .map_err(|e| corrupt(format!("{what}: {e}")))?;
        Uuid::from_slice(bytes).map_err(|e| corrupt(format!("{what}: {e}")))
    };
    let kind = row
        .get_ref(2)?
        .as_str()
        .map_err(|e| corrupt(format!("aggregate kind: {e}")))?;
    let event_type = row
        .get_ref(5)?
        .as_str()
        .map_err(|e| corrupt(format!("event type: {e}")))?;
    let event_version: i64 = row.get(6)?;
    let payload = row
        .get_ref(7)?
        .as_str()
        .map_err(|e| corrupt(format!("payload: {e}")))?;
    let time = row
        .get_ref(8)?
        .as_str()
        .map_err(|e| corrupt(format!("time: {e}")))?;
    Ok(StoredEvent {
        position,
        event_id: uuid(1, "event id")?,
        aggregate_kind: AggregateKind::parse(kind)
            .ok_or_else(|| corrupt(format!("unknown aggregate kind `{kind}`")))?,
        aggregate_id: row.get(3)?,
        aggregate_version: row.get(4)?,
        event: DomainEvent::decode(event_type, event_version, payload)
            .map_err(|source| StoreError::Decode { position, source })?,
        metadata: EventMetadata {
            time: chrono::DateTime::parse_from_rfc3339(time)
                .map_err(|e| corrupt(format!("time `{time}`: {e}")))?
                .with_timezone(&chrono::Utc),
            correlation_id: uuid(9, "correlation id")?,
            causation_id: uuid(10, "causation id")?,
            user: row.get(11)?,
            application: row.get(12)?,
        },
    })
}
