//! The projector: a tracking processor that reads committed events from its checkpoint
//! and applies them to the view. The checkpoint (last applied position) is written in
//! the same SQLite transaction as the view rows, so a redelivered or replayed event
//! never changes the view twice and a crash never loses or doubles one.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

use crate::command_gateway::CommitSignal;
use crate::event::StoredEvent;
use crate::event_store::{EventReader, EventStore, StoreError};
use crate::view::{self, projection, View};

#[derive(Debug, thiserror::Error)]
pub enum ProjectorError {
    #[error("view: {0}")]
    View(#[from] rusqlite::Error),
    #[error("event store: {0}")]
    Store(#[from] StoreError),
}

/// The default projector id (one view may hold several projectors' checkpoints).
pub const TASKLIST_PROJECTOR: &str = "tasklist";

/// Applies events to a view.
pub struct Projector {
    id: String,
    conn: Connection,
    batch_size: usize,
    /// Signalled with the view's position after every applied batch.
    signal: CommitSignal,
}

impl Projector {
    pub fn new(view: &View) -> Result<Self, ProjectorError> {
        let conn = view.connect()?;
        // The projector writes all over the view's indexes: give it a large page cache
        // (256 MiB at most, allocated as used) and a larger WAL between checkpoints.
        conn.pragma_update(None, "cache_size", -262_144)?;
        conn.pragma_update(None, "wal_autocheckpoint", 10_000)?;
        let position = view::checkpoint(&conn, TASKLIST_PROJECTOR)?;
        Ok(Self {
            id: TASKLIST_PROJECTOR.into(),
            conn,
            batch_size: 1000,
            signal: CommitSignal::new(position),
        })
    }

    /// Signals on an existing position signal (a projector restarted after a failure
    /// keeps waking the same subscribers).
    pub fn with_signal(mut self, signal: CommitSignal) -> Self {
        if let Ok(p) = self.position() {
            signal.advance(p);
        }
        self.signal = signal;
        self
    }

    pub fn with_batch_size(mut self, n: usize) -> Self {
        self.batch_size = n.max(1);
        self
    }

    /// The view's position signal: live subscriptions and read-your-writes wait on it.
    pub fn signal(&self) -> CommitSignal {
        self.signal.clone()
    }

    /// The last applied position.
    pub fn position(&self) -> Result<i64, ProjectorError> {
        Ok(view::checkpoint(&self.conn, &self.id)?)
    }

    /// Applies events in one transaction with the checkpoint; events at or before the
    /// checkpoint are skipped (redelivery). Returns how many were applied.
    pub fn apply(&mut self, events: &[StoredEvent]) -> Result<usize, ProjectorError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut position = view::checkpoint(&tx, &self.id)?;
        let mut applied = 0;
        for e in events {
            if e.position <= position {
                continue;
            }
            projection::apply(&tx, e)?;
            position = e.position;
            applied += 1;
        }
        if applied > 0 {
            tx.execute(
                "INSERT INTO projector_checkpoint (projector, position) VALUES (?1, ?2)
                 ON CONFLICT (projector) DO UPDATE SET position = excluded.position",
                rusqlite::params![self.id, position],
            )?;
        }
        tx.commit()?;
        if applied > 0 {
            self.signal.advance(position);
        }
        Ok(applied)
    }

    /// Applies everything the store holds after the checkpoint; returns how many.
    /// Reading and decoding run on a second thread, one batch ahead of applying.
    pub fn catch_up(&mut self, reader: &mut EventReader) -> Result<usize, ProjectorError> {
        self.catch_up_reporting(reader, &mut |_| {})
    }

    fn catch_up_reporting(
        &mut self,
        reader: &mut EventReader,
        progress: &mut dyn FnMut(i64),
    ) -> Result<usize, ProjectorError> {
        let after = self.position()?;
        let batch_size = self.batch_size;
        std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Vec<StoredEvent>, StoreError>>(2);
            scope.spawn(move || {
                let mut after = after;
                loop {
                    let batch = reader.read_after(after, batch_size);
                    let last = match &batch {
                        Ok(events) if events.is_empty() => None,
                        Ok(events) => events.last().map(|e| e.position),
                        Err(_) => None,
                    };
                    let stop = last.is_none();
                    if tx.send(batch).is_err() || stop {
                        return;
                    }
                    after = last.unwrap_or(after);
                }
            });
            let mut total = 0;
            for batch in rx {
                let events = batch?;
                if events.is_empty() {
                    break;
                }
                total += self.apply(&events)?;
                progress(events.last().map(|e| e.position).unwrap_or_default());
            }
            Ok(total)
        })
    }

    /// Drops the view and replays every event from position 0, reporting
    /// `(applied, total)` after each batch.
    pub fn rebuild(
        &mut self,
        reader: &mut EventReader,
        progress: &mut dyn FnMut(i64, i64),
    ) -> Result<usize, ProjectorError> {
        {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            view::drop_all(&tx)?;
            view::create_all(&tx)?;
            tx.commit()?;
        }
        let total = reader.head_position()?;
        let applied = self.catch_up_reporting(reader, &mut |done| progress(done, total))?;
        Ok(applied)
    }

    /// Follows the store until `stop`: catches up, then waits for the store's commit
    /// signal (or polls every `poll`, for writers in other processes).
    pub fn run(
        mut self,
        store: &EventStore,
        store_signal: Option<CommitSignal>,
        poll: Duration,
        stop: Arc<AtomicBool>,
    ) -> Result<(), ProjectorError> {
        let mut reader = store.reader()?;
        while !stop.load(Ordering::Relaxed) {
            let applied = self.catch_up(&mut reader)?;
            if applied == 0 {
                let position = self.position()?;
                match &store_signal {
                    Some(s) => {
                        s.wait_beyond(position, poll);
                    }
                    None => std::thread::sleep(poll),
                }
            }
        }
        Ok(())
    }
}
