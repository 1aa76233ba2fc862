//! The change feed: one reader of the change table for all subscriptions of a node.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;

use super::{read_changes, ChangeRow, Waker};
use crate::position_signal::PositionSignal;
use crate::query::{QueryError, Viewer};
use crate::view::{Principals, View};

/// A subscription's place in a [`ChangeFeed`].
pub(super) struct FeedLink {
    pub(super) feed: ChangeFeed,
    pub(super) id: u64,
    pub(super) rx: Receiver<Arc<ChangeRow>>,
    /// Set by the feed when this subscription's buffer was full: it then reads the
    /// change table itself.
    pub(super) lagging: Arc<AtomicBool>,
    pub(super) waker: Arc<Mutex<Option<Waker>>>,
}

/// The change feed: one reader of the change table that hands each change to the
/// subscriptions it names (by user or group, before or after the change), through a
/// bounded buffer each. A full buffer never blocks the feed: that subscription is marked
/// lagging and reads the change table itself.
#[derive(Clone)]
pub struct ChangeFeed {
    registry: Arc<Mutex<Registry>>,
    pub(super) signal: PositionSignal,
    pub(super) stop: Arc<AtomicBool>,
    wake_ups: Arc<AtomicU64>,
}

#[derive(Default)]
struct Registry {
    next_id: u64,
    slots: HashMap<u64, Slot>,
    by_principal: HashMap<String, Vec<u64>>,
    admins: Vec<u64>,
}

struct Slot {
    tx: SyncSender<Arc<ChangeRow>>,
    lagging: Arc<AtomicBool>,
    waker: Arc<Mutex<Option<Waker>>>,
    keys: Vec<String>,
}

impl Slot {
    fn wake(&self) {
        if let Some(w) = self.waker.lock().ok().and_then(|w| w.clone()) {
            w();
        }
    }
}

/// How many changes a subscription may have waiting before it counts as lagging.
pub const SUBSCRIBER_BUFFER: usize = 256;

fn principal_keys(json: &Option<String>, out: &mut Vec<String>) {
    if let Some(p) = json
        .as_deref()
        .and_then(|p| serde_json::from_str::<Principals>(p).ok())
    {
        out.extend(p.users.into_iter().map(|u| format!("u:{u}")));
        out.extend(p.groups.into_iter().map(|g| format!("g:{g}")));
    }
}

impl ChangeFeed {
    /// Starts the feed's reader thread over `view`, woken by the projector's signal.
    pub fn start(
        view: &View,
        signal: PositionSignal,
    ) -> Result<(ChangeFeed, std::thread::JoinHandle<()>), QueryError> {
        let conn = view.connect()?;
        let start: i64 = conn.query_row(
            "SELECT COALESCE(MAX(position), 0) FROM task_changes",
            [],
            |r| r.get(0),
        )?;
        let feed = ChangeFeed {
            registry: Arc::default(),
            signal,
            stop: Arc::new(AtomicBool::new(false)),
            wake_ups: Arc::default(),
        };
        let worker = feed.clone();
        let handle = std::thread::spawn(move || worker.run(conn, start));
        Ok((feed, handle))
    }

    /// Stops the reader thread (subscriptions fall back to the change table).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        self.signal.wake_all();
        if let Ok(registry) = self.registry.lock() {
            for slot in registry.slots.values() {
                slot.wake();
            }
        }
    }

    /// How many subscriptions are registered.
    pub fn subscribers(&self) -> usize {
        self.registry.lock().map(|r| r.slots.len()).unwrap_or(0)
    }

    /// Reads the change table after `position` whenever the view's position moves past
    /// what it has read, and hands the rows out. The view moves on every event, most of
    /// which change no task (a process ends, a data entry, a variable): the feed
    /// remembers the view position it has read up to, not only its last change row, so
    /// it sleeps until the view moves again; an idle node costs nothing.
    fn run(self, conn: Connection, mut position: i64) {
        let mut waiter = self.signal.waiter();
        // The view position whose change rows have all been read.
        let mut read_up_to = position;
        while !self.stop.load(Ordering::Relaxed) {
            let head = waiter.wait_beyond(read_up_to, None);
            self.wake_ups.fetch_add(1, Ordering::Relaxed);
            if head <= read_up_to {
                // Woken to look at the stop flag.
                continue;
            }
            // The projector signals after it commits, so this read sees every row up to
            // `head`.
            let Ok(read) = conn.unchecked_transaction() else {
                waiter.pause(Duration::from_millis(250));
                continue;
            };
            let rows = read_changes(&read, position);
            let (rows, full) = match rows {
                Ok(read) => read,
                Err(e) => {
                    tracing::warn!(target: "taskpool::live", error = %e, "change feed could not read the change table");
                    waiter.pause(Duration::from_millis(250));
                    continue;
                }
            };
            drop(read);
            for row in rows {
                position = row.position;
                self.dispatch(Arc::new(row));
            }
            // A full read may have left rows behind: read again from the last one before
            // waiting; otherwise everything up to `head` has been read.
            read_up_to = if full { position } else { head.max(position) };
        }
    }

    /// How many times the feed's reader thread has woken up (a new view position, or a
    /// stop): an idle node's count stands still.
    pub fn wake_ups(&self) -> u64 {
        self.wake_ups.load(Ordering::Relaxed)
    }

    fn dispatch(&self, row: Arc<ChangeRow>) {
        let mut keys = Vec::new();
        principal_keys(&row.before, &mut keys);
        principal_keys(&row.after, &mut keys);
        let Ok(mut registry) = self.registry.lock() else {
            return;
        };
        let mut targets: Vec<u64> = registry.admins.clone();
        for k in &keys {
            if let Some(ids) = registry.by_principal.get(k) {
                targets.extend(ids.iter().copied());
            }
        }
        targets.sort_unstable();
        targets.dedup();
        let mut gone = Vec::new();
        for id in targets {
            let Some(slot) = registry.slots.get(&id) else {
                continue;
            };
            match slot.tx.try_send(Arc::clone(&row)) {
                Ok(()) => slot.wake(),
                Err(TrySendError::Full(_)) => {
                    slot.lagging.store(true, Ordering::Release);
                    slot.wake();
                }
                Err(TrySendError::Disconnected(_)) => gone.push(id),
            }
        }
        for id in gone {
            registry.remove(id);
        }
    }

    pub(super) fn register(&self, viewer: &Viewer) -> FeedLink {
        let (tx, rx) = sync_channel(SUBSCRIBER_BUFFER);
        let lagging = Arc::new(AtomicBool::new(false));
        let waker: Arc<Mutex<Option<Waker>>> = Arc::default();
        let mut registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        registry.next_id += 1;
        let id = registry.next_id;
        let keys = match viewer {
            Viewer::Admin => {
                registry.admins.push(id);
                Vec::new()
            }
            Viewer::User { user, groups } => std::iter::once(format!("u:{user}"))
                .chain(groups.iter().map(|g| format!("g:{g}")))
                .collect(),
        };
        for k in &keys {
            registry.by_principal.entry(k.clone()).or_default().push(id);
        }
        registry.slots.insert(
            id,
            Slot {
                tx,
                lagging: lagging.clone(),
                waker: waker.clone(),
                keys,
            },
        );
        FeedLink {
            feed: self.clone(),
            id,
            rx,
            lagging,
            waker,
        }
    }

    pub(super) fn unregister(&self, id: u64) {
        if let Ok(mut registry) = self.registry.lock() {
            registry.remove(id);
        }
    }
}

impl Registry {
    fn remove(&mut self, id: u64) {
        if let Some(slot) = self.slots.remove(&id) {
            for k in slot.keys {
                if let Some(ids) = self.by_principal.get_mut(&k) {
                    ids.retain(|i| *i != id);
                    if ids.is_empty() {
                        self.by_principal.remove(&k);
                    }
                }
            }
        }
        self.admins.retain(|i| *i != id);
    }
}
