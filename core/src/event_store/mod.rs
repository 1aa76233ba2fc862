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
        Ok(conn)
    }

    /// A reader over committed events.
    pub fn reader(&self) -> Result<EventReader, StoreError> {
        Ok(EventReader {
            conn: self.connect()?,
        })
    }
}

/// An event about to be appended.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub event_id: Uuid,
    pub aggregate_kind: AggregateKind,
    pub aggregate_id: String,
    pub aggregate_version: i64,
    pub event: DomainEvent,
    pub metadata: EventMetadata,
}

/// Appends events inside an open transaction; returns each event's position.
/// A version that exists already fails with a unique-constraint error: the caller's
/// state was stale (see [`is_version_conflict`]).
pub fn append(conn: &Connection, events: &[NewEvent]) -> Result<Vec<i64>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO events (event_id, aggregate_kind, aggregate_id, aggregate_version,
                             event_type, event_version, payload, metadata)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    let mut positions = Vec::with_capacity(events.len());
    let mut id_buf = Uuid::encode_buffer();
    for e in events {
        let payload = e.event.body_json()?;
        let metadata = serde_json::to_string(&e.metadata)?;
        stmt.execute(params![
            e.event_id.hyphenated().encode_lower(&mut id_buf) as &str,
            e.aggregate_kind.as_str(),
            e.aggregate_id,
            e.aggregate_version,
            e.event.type_name(),
            EVENT_VERSION,
            payload,
            metadata,
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
    Ok(
        conn.query_row("SELECT COALESCE(MAX(position), 0) FROM events", [], |r| {
            r.get(0)
        })?,
    )
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
                    event_type, event_version, payload, metadata
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
                    event_type, event_version, payload, metadata
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

    /// The event with this id, if stored.
    pub fn find(&mut self, event_id: Uuid) -> Result<Option<StoredEvent>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT position, event_id, aggregate_kind, aggregate_id, aggregate_version,
                    event_type, event_version, payload, metadata
             FROM events WHERE event_id = ?1",
        )?;
        let mut rows = stmt.query(params![event_id.to_string()])?;
        match rows.next()? {
            Some(row) => Ok(Some(stored_event(row)?)),
            None => Ok(None),
        }
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
    let event_id: String = row.get(1)?;
    let kind: String = row.get(2)?;
    let event_type: String = row.get(5)?;
    let event_version: i64 = row.get(6)?;
    let payload: String = row.get(7)?;
    let metadata: String = row.get(8)?;
    Ok(StoredEvent {
        position,
        event_id: Uuid::parse_str(&event_id).map_err(|e| corrupt(format!("event id: {e}")))?,
        aggregate_kind: AggregateKind::parse(&kind)
            .ok_or_else(|| corrupt(format!("unknown aggregate kind `{kind}`")))?,
        aggregate_id: row.get(3)?,
        aggregate_version: row.get(4)?,
        event: DomainEvent::decode(&event_type, event_version, &payload)
            .map_err(|source| StoreError::Decode { position, source })?,
        metadata: serde_json::from_str(&metadata).map_err(|e| corrupt(format!("metadata: {e}")))?,
    })
}
