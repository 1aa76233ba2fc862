//! The projector: a tracking processor that reads committed events from its checkpoint
//! and applies them to the view. The checkpoint (last applied position) is written in
//! the same SQLite transaction as the view rows, so a redelivered or replayed event
//! never changes the view twice and a crash never loses or doubles one.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::TryRecvError;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::event::StoredEvent;
use crate::event_store::{EventReader, EventStore, StoreError, UnreadableEvent};
use crate::listener::{self, Listener};
use crate::position_signal::PositionSignal;
use crate::view::deliveries::{self, DeliveredEvent, RefusedDelivery};
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

/// Moves projector `id`'s checkpoint (inside the transaction that applied the events).
fn store_checkpoint(tx: &Connection, id: &str, position: i64) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO projector_checkpoint (projector, position) VALUES (?1, ?2)
         ON CONFLICT (projector) DO UPDATE SET position = excluded.position",
        rusqlite::params![id, position],
    )?;
    Ok(())
}

/// Moves the checkpoint to `position` when something was applied, commits, and wakes
/// whoever waits on the view's position.
fn commit_applied(
    tx: Transaction<'_>,
    id: &str,
    signal: &PositionSignal,
    wal: &view::WalCheckpointer,
    applied: usize,
    position: i64,
) -> Result<(), ProjectorError> {
    if applied > 0 {
        store_checkpoint(&tx, id, position)?;
    }
    tx.commit()?;
    if applied > 0 {
        signal.advance(position);
        wal.written();
    }
    Ok(())
}

/// Applies the events after `position` (moving it); returns how many.
fn apply_after(
    tx: &Connection,
    events: &[StoredEvent],
    position: &mut i64,
) -> Result<usize, ProjectorError> {
    let mut applied = 0;
    for e in events {
        if e.position <= *position {
            continue;
        }
        projection::apply(tx, e)?;
        *position = e.position;
        applied += 1;
    }
    Ok(applied)
}

/// Like [`apply_after`] for a lenient read: an event this build cannot read is parked
/// with its error (in the same transaction, so the checkpoint moves past it once) and
/// the ones after it are applied. Decoding is deterministic: a rebuild parks the same.
fn apply_read_after(
    tx: &Connection,
    read: &[Result<StoredEvent, UnreadableEvent>],
    position: &mut i64,
) -> Result<usize, ProjectorError> {
    let mut applied = 0;
    for item in read {
        match item {
            Ok(e) => applied += apply_after(tx, std::slice::from_ref(e), position)?,
            Err(u) if u.position > *position => {
                tracing::error!(target: "taskpool::projector", position = u.position, error = %u.error, "an event that cannot be read was parked; the view goes on without it");
                view::park_event(tx, u.position, &u.error)?;
                *position = u.position;
                applied += 1;
            }
            Err(_) => {}
        }
    }
    Ok(applied)
}

/// How much a catch-up may apply in one transaction: batches already read are grouped
/// until either bound is reached (a group ends early when the reader has nothing more).
#[derive(Debug, Clone, Copy)]
pub struct CommitGroup {
    pub events: usize,
    pub interval: Duration,
}

impl Default for CommitGroup {
    fn default() -> Self {
        Self {
            events: 50_000,
            interval: Duration::from_secs(1),
        }
    }
}

/// Where to resume reading one source of delivered events (its name is the
/// transport's business: a log, a queue, one part of either), stored with the rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryOffset {
    pub source: String,
    pub next_offset: i64,
}

/// A delivery that could not be applied (not an event, an unknown event type, a future
/// event version): kept with its reason, never blocking the deliveries after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParkedDelivery {
    pub source: String,
    pub offset: i64,
    pub key: Option<String>,
    pub payload: Option<Vec<u8>>,
    pub error: String,
}

/// What [`Projector::apply_delivered`] did with a batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivered {
    /// Events applied (duplicates and refusals are not).
    pub applied: usize,
    /// Events newly refused: another origin owns their aggregate.
    pub refused: usize,
}

/// How a running projector ([`Projector::run`]) learns of new events.
#[derive(Debug, Clone)]
pub enum Follow {
    /// The store's commit signal (every writer is in this process): it sleeps until a
    /// commit, so an idle projector costs nothing. To stop it, set the stop flag, then
    /// call `wake_all` on the signal.
    Signal(PositionSignal),
    /// Looks again after this long (writers in other processes).
    Poll(Duration),
}

/// Applies events to a view.
pub struct Projector {
    id: String,
    conn: Connection,
    batch_size: usize,
    commit_group: CommitGroup,
    /// Signalled with the view's position after every applied batch.
    signal: PositionSignal,
    /// WAL checkpoints in the background, not inside this projector's commits.
    wal_checkpointer: view::WalCheckpointer,
    /// How many event positions of changes the change table keeps (`None`: all).
    change_retention: Option<i64>,
    /// How long completed tasks stay in the history (`None`: for good).
    history_retention: Option<chrono::Duration>,
}

impl Projector {
    pub fn new(view: &View) -> Result<Self, ProjectorError> {
        let conn = view.connect_writer()?;
        // The projector writes all over the view's indexes: give it a large page cache
        // (on a server 256 MiB at most, allocated as used). Checkpoints run in the
        // background; the automatic one is a safety net.
        conn.pragma_update(None, "cache_size", -view.memory().writer_cache_kib)?;
        conn.pragma_update(
            None,
            "wal_autocheckpoint",
            view::wal_checkpointer_safety_net(),
        )?;
        let wal_checkpointer =
            view::WalCheckpointer::start(view.connect_writer()?, "view-checkpointer")?;
        let position = view::checkpoint(&conn, TASKLIST_PROJECTOR)?;
        Ok(Self {
            id: TASKLIST_PROJECTOR.into(),
            conn,
            batch_size: 1000,
            commit_group: CommitGroup::default(),
            signal: PositionSignal::new(position),
            wal_checkpointer,
            change_retention: None,
            history_retention: None,
        })
    }

    /// Signals on an existing position signal (a projector restarted after a failure
    /// keeps waking the same subscribers).
    pub fn with_signal(mut self, signal: PositionSignal) -> Self {
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

    /// Bounds one catch-up transaction (see [`CommitGroup`]).
    pub fn with_commit_group(mut self, group: CommitGroup) -> Self {
        self.commit_group = CommitGroup {
            events: group.events.max(1),
            ..group
        };
        self
    }

    /// The view's position signal: live subscriptions and read-your-writes wait on it.
    pub fn signal(&self) -> PositionSignal {
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
        let applied = apply_after(&tx, events, &mut position)?;
        commit_applied(
            tx,
            &self.id,
            &self.signal,
            &self.wal_checkpointer,
            applied,
            position,
        )?;
        Ok(applied)
    }

    /// Applies events delivered from elsewhere (a tasklist node reading a message
    /// log), in one transaction with the offsets they came from and the deliveries
    /// parked on the way. Each applied event gets the next local position (the view's
    /// own order); an event whose aggregate version the view already holds is a
    /// duplicate and changes nothing; an event whose aggregate another origin owns is
    /// refused (kept to be told to its origin, see [`view::deliveries`]), never applied.
    pub fn apply_delivered(
        &mut self,
        events: &[DeliveredEvent],
        offsets: &[DeliveryOffset],
        parked: &[ParkedDelivery],
    ) -> Result<Delivered, ProjectorError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut position = view::checkpoint(&tx, &self.id)?;
        let mut outcome = Delivered::default();
        for d in events {
            let e = &d.event;
            let known = match deliveries::known(&tx, d)? {
                deliveries::Known::New => 0,
                deliveries::Known::Own { version } => version,
                deliveries::Known::Foreign { owner } => {
                    if deliveries::record_refused(&tx, d, &owner)? {
                        tracing::warn!(target: "taskpool::projector", aggregate = %e.aggregate_id, origin = %d.origin, %owner, "refused an event: its aggregate belongs to another application");
                        outcome.refused += 1;
                    }
                    continue;
                }
            };
            if e.aggregate_version <= known {
                tracing::debug!(target: "taskpool::projector", aggregate = %e.aggregate_id, version = e.aggregate_version, "duplicate delivery skipped");
                continue;
            }
            if e.aggregate_version != known + 1 {
                tracing::warn!(target: "taskpool::projector", aggregate = %e.aggregate_id, version = e.aggregate_version, known, "a delivered event skips versions");
            }
            position += 1;
            let local = StoredEvent {
                position,
                ..e.clone()
            };
            projection::apply(&tx, &local)?;
            deliveries::record_applied(&tx, d)?;
            outcome.applied += 1;
        }
        for o in offsets {
            tx.prepare_cached(
                "INSERT INTO delivery_offsets (source, next_offset) VALUES (?1, ?2)
                 ON CONFLICT (source) DO UPDATE SET next_offset = excluded.next_offset",
            )?
            .execute(rusqlite::params![o.source, o.next_offset])?;
        }
        for m in parked {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO parked_deliveries (source, offset, key, payload, error, parked_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(rusqlite::params![m.source, m.offset, m.key, m.payload, m.error, chrono::Utc::now().to_rfc3339()])?;
        }
        commit_applied(
            tx,
            &self.id,
            &self.signal,
            &self.wal_checkpointer,
            outcome.applied,
            position,
        )?;
        Ok(outcome)
    }

    /// The refusals not yet told to their origin (oldest first, at most `limit`).
    pub fn unsent_refusals(&self, limit: usize) -> Result<Vec<RefusedDelivery>, ProjectorError> {
        Ok(deliveries::unsent(&self.conn, limit)?)
    }

    /// Marks refusals as told to their origin.
    pub fn refusals_sent(&mut self, event_ids: &[uuid::Uuid]) -> Result<(), ProjectorError> {
        Ok(deliveries::mark_sent(&mut self.conn, event_ids)?)
    }

    /// Upkeep while idle: one step of pruning the change table beyond its retention,
    /// else one of the history. Returns whether there was work; call it again, between
    /// looks for new events, until there is none.
    pub fn maintain(&mut self) -> Result<bool, ProjectorError> {
        if self.prune_step()? {
            return Ok(true);
        }
        self.prune_history_step()
    }

    /// Keeps completed tasks in the history for `retention` after their completion
    /// (`None`: for good).
    pub fn with_history_retention(mut self, retention: Option<chrono::Duration>) -> Self {
        self.history_retention = retention;
        self
    }

    fn prune_history_step(&mut self) -> Result<bool, ProjectorError> {
        let Some(keep) = self.history_retention else {
            return Ok(false);
        };
        let before =
            (chrono::Utc::now() - keep).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let due: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM completed_tasks WHERE completed_at < ?1)",
            [&before],
            |r| r.get(0),
        )?;
        if !due {
            return Ok(false);
        }
        let left = view::prune_completed(&tx, &before, 5_000)?;
        tx.commit()?;
        self.wal_checkpointer.written();
        Ok(left)
    }

    /// Keeps the changes of the last `positions` event positions (live streams resuming
    /// from before that get a fresh snapshot, told so); `None` keeps them all.
    pub fn with_change_retention(mut self, positions: Option<i64>) -> Self {
        self.change_retention = positions;
        self
    }

    fn prune_step(&mut self) -> Result<bool, ProjectorError> {
        let Some(keep) = self.change_retention else {
            return Ok(false);
        };
        let keep_from = self.position()? - keep.max(1) + 1;
        if keep_from <= 1 {
            return Ok(false);
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let due: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM task_changes WHERE position < ?1)",
            [keep_from],
            |r| r.get(0),
        )?;
        if !due {
            return Ok(false);
        }
        let left = view::prune_changes(&tx, keep_from, 5_000)?;
        tx.commit()?;
        self.wal_checkpointer.written();
        Ok(left)
    }

    /// Where to resume reading each source (the offsets stored with the rows).
    pub fn delivery_offsets(&self) -> Result<Vec<DeliveryOffset>, ProjectorError> {
        let mut stmt = self
            .conn
            .prepare("SELECT source, next_offset FROM delivery_offsets ORDER BY source")?;
        let rows = stmt.query_map([], |r| {
            Ok(DeliveryOffset {
                source: r.get(0)?,
                next_offset: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
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
            type Read = Vec<Result<StoredEvent, UnreadableEvent>>;
            let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Read, StoreError>>(2);
            scope.spawn(move || {
                let mut after = after;
                loop {
                    let batch = reader.read_after_lenient(after, batch_size);
                    let last = match &batch {
                        Ok(events) if events.is_empty() => None,
                        Ok(events) => events.last().map(|e| match e {
                            Ok(e) => e.position,
                            Err(u) => u.position,
                        }),
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
            let mut reading = true;
            while reading {
                let events = match rx.recv() {
                    Ok(batch) => batch?,
                    Err(_) => break,
                };
                if events.is_empty() {
                    break;
                }
                // One transaction for this batch and the ones already read behind it,
                // up to a commit group: a long catch-up writes each touched page once per
                // group instead of once per batch; at the head it commits at once.
                let group_started = Instant::now();
                let tx = self
                    .conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)?;
                let mut position = view::checkpoint(&tx, &self.id)?;
                let mut in_group = apply_read_after(&tx, &events, &mut position)?;
                progress(position);
                while in_group < self.commit_group.events
                    && group_started.elapsed() < self.commit_group.interval
                {
                    let events = match rx.try_recv() {
                        Ok(batch) => batch?,
                        Err(TryRecvError::Empty) => break,
                        Err(TryRecvError::Disconnected) => {
                            reading = false;
                            break;
                        }
                    };
                    if events.is_empty() {
                        reading = false;
                        break;
                    }
                    in_group += apply_read_after(&tx, &events, &mut position)?;
                    progress(position);
                }
                commit_applied(
                    tx,
                    &self.id,
                    &self.signal,
                    &self.wal_checkpointer,
                    in_group,
                    position,
                )?;
                total += in_group;
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

    /// Follows the store until `stop`: catches up, does its idle upkeep, then sleeps
    /// until the store has something new (see [`Follow`]). A failure ends it with the
    /// error (the caller starts it again from its checkpoint).
    pub fn run(
        mut self,
        store: &EventStore,
        follow: Follow,
        stop: Arc<AtomicBool>,
    ) -> Result<(), ProjectorError> {
        let mut reader = store.reader()?;
        match follow {
            Follow::Signal(signal) => {
                let mut waiter = signal.waiter();
                listener::follow(&mut self, &mut reader, &mut waiter, &stop, |_, _, _| None)
            }
            Follow::Poll(every) => {
                while !stop.load(Ordering::Relaxed) {
                    let applied = Projector::catch_up(&mut self, &mut reader)?;
                    if applied == 0 && !self.maintain()? {
                        std::thread::sleep(every);
                    }
                }
                Ok(())
            }
        }
    }
}

/// The projector is the view's listener: its checkpoint moves in the view's
/// transactions; it catches up its own way (reading ahead, grouping commits) and prunes
/// while idle.
impl Listener for Projector {
    type Error = ProjectorError;

    fn id(&self) -> &str {
        &self.id
    }

    fn checkpoint(&mut self) -> Result<i64, ProjectorError> {
        self.position()
    }

    fn handle(&mut self, events: &[StoredEvent]) -> Result<(), ProjectorError> {
        self.apply(events).map(|_| ())
    }

    fn batch(&self) -> usize {
        self.batch_size
    }

    fn catch_up(&mut self, reader: &mut EventReader) -> Result<usize, ProjectorError> {
        Projector::catch_up(self, reader)
    }

    fn upkeep(&mut self) -> Result<bool, ProjectorError> {
        self.maintain()
    }
}
