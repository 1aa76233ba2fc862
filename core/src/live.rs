//! The live change stream: `subscribe(query, from)` yields a snapshot at a position P
//! (the tasks the query returns now), then, in order, each change after P that concerns
//! the viewer: a task entered their view, changed, or left it (completed, deleted,
//! reassigned away, candidate group removed, no longer matching the filter).
//!
//! Every item carries its position: a client that resubscribes with its last position
//! misses nothing and gets nothing twice. The projector never pushes into subscribers;
//! it moves the view's position signal, and each subscription reads the change table
//! after its own position at its own pace. So a slow subscriber never blocks the
//! projector or anyone else, and one that lags simply reads more rows when it resumes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{params, Connection, TransactionBehavior};
use serde::{Deserialize, Serialize};

use crate::command_gateway::CommitSignal;
use crate::model::Task;
use crate::query::{self, Paging, QueryError, TaskQuery, Viewer, MAX_PAGE};
use crate::view::{self, projection, Principals, View};

/// One item of the stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(tag = "change", rename_all = "camelCase")]
pub enum LiveItem {
    /// A task became visible (new, assigned to me, my group added, ...).
    #[serde(rename_all = "camelCase")]
    Entered { position: i64, task: Box<Task> },
    /// A visible task changed.
    #[serde(rename_all = "camelCase")]
    Changed { position: i64, task: Box<Task> },
    /// A task left the view (completed, deleted, reassigned away, ...).
    #[serde(rename_all = "camelCase")]
    Left { position: i64, task_id: String },
}

impl LiveItem {
    pub fn position(&self) -> i64 {
        match self {
            LiveItem::Entered { position, .. }
            | LiveItem::Changed { position, .. }
            | LiveItem::Left { position, .. } => *position,
        }
    }

    pub fn task_id(&self) -> &str {
        match self {
            LiveItem::Entered { task, .. } | LiveItem::Changed { task, .. } => &task.id,
            LiveItem::Left { task_id, .. } => task_id,
        }
    }
}

/// The current state at a position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    pub position: i64,
    pub tasks: Vec<Task>,
    pub total: u64,
    /// When the clock alone next changes this result (a deferred task falls due): a
    /// client subscribes again then for a fresh snapshot. No change item is sent for it,
    /// since no event happens.
    #[serde(default)]
    pub next_follow_up: Option<chrono::DateTime<chrono::Utc>>,
}

/// A subscription to the changes relevant to one query.
pub struct Subscription {
    /// Opened when first needed (a lagging read, a filter the feed cannot judge), so
    /// thousands of plain inbox subscriptions hold no SQLite connection.
    conn: Option<Connection>,
    view: View,
    query: TaskQuery,
    position: i64,
    signal: CommitSignal,
    feed: Option<FeedLink>,
}

/// A subscription's place in a [`ChangeFeed`].
struct FeedLink {
    feed: ChangeFeed,
    id: u64,
    rx: Receiver<Arc<ChangeRow>>,
    /// Set by the feed when this subscription's buffer was full: it then reads the
    /// change table itself.
    lagging: Arc<AtomicBool>,
    waker: Arc<Mutex<Option<Waker>>>,
}

/// Called by the feed whenever it handed a subscription something to read (or marked it
/// lagging, or stopped): lets an async caller sleep until then instead of blocking.
pub type Waker = Arc<dyn Fn() + Send + Sync>;

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(link) = &self.feed {
            link.feed.unregister(link.id);
        }
    }
}

/// One row of the change table.
#[derive(Debug, Clone)]
pub struct ChangeRow {
    pub position: i64,
    pub task_id: String,
    pub before: Option<String>,
    pub after: Option<String>,
    /// The task as the feed read it (its latest state; `None`: gone, or not read).
    pub task: Option<Arc<Task>>,
    /// Whether `task` was read.
    pub task_read: bool,
}

impl Subscription {
    /// Subscribes. With `from = None` it first takes a snapshot (the first page of the
    /// query) and follows from its position; with `Some(p)` it resumes after `p`.
    pub fn open(
        view: &View,
        signal: CommitSignal,
        query: TaskQuery,
        from: Option<i64>,
    ) -> Result<(Self, Option<Snapshot>), QueryError> {
        Self::open_with(view, signal, None, query, from)
    }

    /// Like [`Subscription::open`], but fed by a [`ChangeFeed`]: only the changes that
    /// name this viewer reach it, so thousands of subscribers cost little.
    pub fn open_on_feed(
        view: &View,
        feed: &ChangeFeed,
        query: TaskQuery,
        from: Option<i64>,
    ) -> Result<(Self, Option<Snapshot>), QueryError> {
        Self::open_with(view, feed.signal.clone(), Some(feed), query, from)
    }

    fn open_with(
        view: &View,
        signal: CommitSignal,
        feed: Option<&ChangeFeed>,
        mut query: TaskQuery,
        from: Option<i64>,
    ) -> Result<(Self, Option<Snapshot>), QueryError> {
        // Register before the snapshot: nothing after it can be missed; anything at or
        // before it is skipped by position.
        let link = feed.map(|f| f.register(&query.viewer));
        let (Paging::Offset { limit, .. } | Paging::Cursor { limit, .. }) = &mut query.paging;
        *limit = (*limit).clamp(1, MAX_PAGE);
        let (conn, position, snapshot) = match from {
            Some(p) => (None, p, None),
            None => {
                let mut conn = view.connect_small()?;
                // One read transaction: the tasks and the position agree.
                let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
                let position = view::checkpoint(&tx, crate::projector::TASKLIST_PROJECTOR)?;
                let page = query::tasks(&tx, &query)?;
                let next_follow_up = query::next_follow_up(&tx, &query)?;
                tx.commit()?;
                // The connection is not kept: most subscriptions never need it again.
                drop(conn);
                (
                    None,
                    position,
                    Some(Snapshot {
                        position,
                        tasks: page.tasks,
                        total: page.total,
                        next_follow_up,
                    }),
                )
            }
        };
        if let (Some(link), Some(_)) = (&link, from) {
            // Resuming: what happened before registering is read from the change table.
            link.lagging.store(true, Ordering::Release);
        }
        Ok((
            Self {
                conn,
                view: view.clone(),
                query,
                position,
                signal,
                feed: link,
            },
            snapshot,
        ))
    }

    /// The position of the last item delivered (or of the snapshot).
    pub fn position(&self) -> i64 {
        self.position
    }

    /// The relevant changes after the current position, waiting up to `timeout` for
    /// some; returns an empty list on timeout.
    pub fn next(&mut self, timeout: Duration) -> Result<Vec<LiveItem>, QueryError> {
        let Some(lagging) = self.feed.as_ref().map(|l| Arc::clone(&l.lagging)) else {
            return self.next_from_table(timeout);
        };
        if lagging.swap(false, Ordering::AcqRel) {
            // Some changes did not fit the buffer: read them from the change table.
            let items = self.poll()?;
            if !items.is_empty() {
                return Ok(items);
            }
        }
        let mut rows = Vec::new();
        if let Some(link) = &self.feed {
            match link.rx.recv_timeout(timeout) {
                Ok(row) => rows.push(row),
                Err(RecvTimeoutError::Timeout) => return Ok(Vec::new()),
                Err(RecvTimeoutError::Disconnected) => {}
            }
            while !rows.is_empty() && rows.len() < 1000 {
                match link.rx.try_recv() {
                    Ok(row) => rows.push(row),
                    Err(_) => break,
                }
            }
        }
        if rows.is_empty() {
            // The feed stopped: read the table from now on.
            self.feed = None;
            return self.poll();
        }
        self.evaluate_fed(rows)
    }

    /// Without a feed: reads the change table whenever the view's position moves past
    /// what was read (most events change no task, so the view moves more often than the
    /// change table grows), until there are items or the timeout passes.
    fn next_from_table(&mut self, timeout: Duration) -> Result<Vec<LiveItem>, QueryError> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let head = self.signal.head();
            let (items, full) = self.poll_rows()?;
            if !items.is_empty() {
                return Ok(items);
            }
            if full {
                continue;
            }
            let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) else {
                return Ok(Vec::new());
            };
            if self.signal.wait_beyond(head.max(self.position), left) <= head.max(self.position) {
                return Ok(Vec::new());
            }
        }
    }

    /// Asks the feed to call `waker` whenever this subscription has something to read;
    /// pair it with [`Subscription::try_next`]. Without a feed the waker is never called.
    pub fn set_waker(&mut self, waker: Waker) {
        if let Some(link) = &self.feed {
            if let Ok(mut w) = link.waker.lock() {
                *w = Some(waker);
            }
        }
    }

    /// The relevant changes available now, without waiting (an empty list: nothing new).
    /// Returns `Ok(None)` once the feed has stopped and nothing is left to read.
    pub fn try_next(&mut self) -> Result<Option<Vec<LiveItem>>, QueryError> {
        let Some(lagging) = self.feed.as_ref().map(|l| Arc::clone(&l.lagging)) else {
            return self.poll().map(Some);
        };
        if lagging.swap(false, Ordering::AcqRel) {
            let items = self.poll()?;
            if !items.is_empty() {
                // There may be more: come back without waiting.
                lagging.store(true, Ordering::Release);
                return Ok(Some(items));
            }
        }
        let Some(link) = &self.feed else {
            return Ok(None);
        };
        let mut rows = Vec::new();
        let mut stopped = false;
        while rows.len() < 1000 {
            match link.rx.try_recv() {
                Ok(row) => rows.push(row),
                Err(std::sync::mpsc::TryRecvError::Empty) => break,
                Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                    stopped = true;
                    break;
                }
            }
        }
        if rows.is_empty() && (stopped || link.feed.stop.load(Ordering::Relaxed)) {
            return Ok(None);
        }
        self.evaluate_fed(rows).map(Some)
    }

    /// Judges rows handed over by the feed (those at or before the position were
    /// already read from the change table).
    fn evaluate_fed(&mut self, rows: Vec<Arc<ChangeRow>>) -> Result<Vec<LiveItem>, QueryError> {
        let position = self.position;
        let rows: Vec<ChangeRow> = rows
            .into_iter()
            .filter(|r| r.position > position)
            .map(|r| (*r).clone())
            .collect();
        self.evaluate(&rows)
    }

    fn connection(&mut self) -> Result<&mut Connection, QueryError> {
        if self.conn.is_none() {
            self.conn = Some(self.view.connect_small()?);
        }
        self.conn
            .as_mut()
            .ok_or(QueryError::Sqlite(rusqlite::Error::InvalidQuery))
    }

    /// The relevant changes already in the view after the current position (at most
    /// 1,000 change rows a call).
    pub fn poll(&mut self) -> Result<Vec<LiveItem>, QueryError> {
        self.poll_rows().map(|(items, _)| items)
    }

    /// Like [`Subscription::poll`]; also tells whether it read a full batch of rows (so
    /// more may be waiting).
    fn poll_rows(&mut self) -> Result<(Vec<LiveItem>, bool), QueryError> {
        let position = self.position;
        let rows: Vec<ChangeRow> = {
            let mut stmt = self.connection()?.prepare_cached("SELECT position, task_id, before, after FROM task_changes WHERE position > ?1 ORDER BY position LIMIT ?2")?;
            let rows = stmt.query_map(params![position, FEED_READ_ROWS], |r| {
                Ok(ChangeRow {
                    position: r.get(0)?,
                    task_id: r.get(1)?,
                    before: r.get(2)?,
                    after: r.get(3)?,
                    task: None,
                    task_read: false,
                })
            })?;
            rows.collect::<Result<_, _>>()?
        };
        let full = rows.len() >= FEED_READ_ROWS as usize;
        Ok((self.evaluate(&rows)?, full))
    }

    /// Judges change rows (in position order) for this subscription and moves its
    /// position past them. Several changes of one task: the last is judged by the query
    /// on the task as it is now; earlier ones by who could see it after them, and each
    /// change's "before" is what the previous item of the same task left.
    fn evaluate(&mut self, changes: &[ChangeRow]) -> Result<Vec<LiveItem>, QueryError> {
        let Some(last) = changes.last().map(|c| c.position) else {
            return Ok(Vec::new());
        };
        // Deferral is judged against the time of reading.
        self.query.now = chrono::Utc::now();
        // A read transaction is opened only if some change needs the view.
        let needs_view =
            changes.iter().any(|c| !c.task_read) || !query::judged_without_view(&self.query);
        if needs_view {
            self.connection()?;
        }
        let Self {
            conn,
            query: this_query,
            ..
        } = self;
        let this_query = &*this_query;
        let tx = match (needs_view, conn.as_mut()) {
            (true, Some(c)) => Some(c.transaction_with_behavior(TransactionBehavior::Deferred)?),
            _ => None,
        };
        let (user, groups) = match &this_query.viewer {
            Viewer::User { user, groups } => (Some(user.as_str()), groups.as_slice()),
            Viewer::Admin => (None, &[][..]),
        };
        let mut last_index: HashMap<&str, usize> = HashMap::new();
        for (i, c) in changes.iter().enumerate() {
            last_index.insert(c.task_id.as_str(), i);
        }
        let (deferred, now) = (this_query.deferred, this_query.now);
        let admit = |principals: &Option<String>| {
            let Some(p) = principals
                .as_deref()
                .and_then(|p| serde_json::from_str::<Principals>(p).ok())
            else {
                return false;
            };
            deferred.admits(p.follow_up, now) && user.is_none_or(|u| p.admit(u, groups))
        };
        let mut visible: HashMap<&str, bool> = HashMap::new();
        let mut current: HashMap<&str, Option<Task>> = HashMap::new();
        let mut items = Vec::new();
        for (i, c) in changes.iter().enumerate() {
            let id = c.task_id.as_str();
            let visible_before = visible.get(id).copied().unwrap_or_else(|| admit(&c.before));
            if !visible_before && !admit(&c.after) {
                // Neither before nor after this change could the viewer see the task.
                visible.insert(id, false);
                continue;
            }
            if !current.contains_key(id) {
                // The task now, if it is in the query's result. The feed may have read it
                // already; a query without filter or text is judged without the view.
                let last = &changes[last_index.get(id).copied().unwrap_or(i)];
                let task = match (&last.task, last.task_read) {
                    (Some(t), true) => Some((**t).clone()),
                    (None, true) => None,
                    (_, false) => match &tx {
                        Some(tx) => projection::load_task(tx, id)?,
                        None => None,
                    },
                };
                let task = match task {
                    Some(t) => match query::matches_without_view(this_query, &t) {
                        Some(true) => Some(t),
                        Some(false) => None,
                        None => match &tx {
                            Some(tx) => query::task_matches(tx, this_query, id)?.then_some(t),
                            None => None,
                        },
                    },
                    None => None,
                };
                current.insert(id, task);
            }
            let now = current.get(id).and_then(Option::as_ref);
            let visible_after = if last_index.get(id) == Some(&i) {
                now.is_some()
            } else {
                admit(&c.after) && now.is_some()
            };
            visible.insert(id, visible_after);
            let item = match (visible_before, visible_after, now) {
                (false, true, Some(task)) => LiveItem::Entered {
                    position: c.position,
                    task: Box::new(task.clone()),
                },
                (true, true, Some(task)) => LiveItem::Changed {
                    position: c.position,
                    task: Box::new(task.clone()),
                },
                (true, false, _) => LiveItem::Left {
                    position: c.position,
                    task_id: c.task_id.clone(),
                },
                _ => continue,
            };
            items.push(item);
        }
        if let Some(tx) = tx {
            tx.commit()?;
        }
        self.position = last;
        Ok(items)
    }
}

/// Waits until the view has reached `position` (read-your-writes); returns whether it
/// did within `timeout`.
pub fn wait_for_position(signal: &CommitSignal, position: i64, timeout: Duration) -> bool {
    signal.wait_beyond(position - 1, timeout) >= position
}

/// The change feed: one reader of the change table that hands each change to the
/// subscriptions it names (by user or group, before or after the change), through a
/// bounded buffer each. A full buffer never blocks the feed: that subscription is marked
/// lagging and reads the change table itself.
#[derive(Clone)]
pub struct ChangeFeed {
    registry: Arc<Mutex<Registry>>,
    signal: CommitSignal,
    stop: Arc<AtomicBool>,
    wake_ups: Arc<AtomicU64>,
}

/// How many change rows the feed reads at a time.
const FEED_READ_ROWS: i64 = 1000;

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
        signal: CommitSignal,
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
            // One read transaction: the change rows and the tasks they name agree. The
            // projector signals after it commits, so this transaction sees every row up
            // to `head`.
            let Ok(read) = conn.unchecked_transaction() else {
                waiter.pause(Duration::from_millis(250));
                continue;
            };
            let rows: Result<Vec<ChangeRow>, rusqlite::Error> = read
                .prepare_cached("SELECT position, task_id, before, after FROM task_changes WHERE position > ?1 ORDER BY position LIMIT ?2")
                .and_then(|mut stmt| {
                    stmt.query_map(params![position, FEED_READ_ROWS], |r| Ok(ChangeRow { position: r.get(0)?, task_id: r.get(1)?, before: r.get(2)?, after: r.get(3)?, task: None, task_read: false }))?
                        .collect()
                });
            let rows = match rows {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::warn!(target: "taskpool::live", error = %e, "change feed could not read the change table");
                    waiter.pause(Duration::from_millis(250));
                    continue;
                }
            };
            // A full read may have left rows behind: read again from the last one before
            // waiting; otherwise everything up to `head` has been read.
            let full = rows.len() >= FEED_READ_ROWS as usize;
            // Read each changed task once for all its subscribers.
            let mut latest: HashMap<String, Option<Arc<Task>>> = HashMap::new();
            for row in &rows {
                if !latest.contains_key(&row.task_id) {
                    let task = projection::load_task(&read, &row.task_id)
                        .ok()
                        .flatten()
                        .map(Arc::new);
                    latest.insert(row.task_id.clone(), task);
                }
            }
            drop(read);
            for mut row in rows {
                position = row.position;
                row.task = latest.get(&row.task_id).cloned().flatten();
                row.task_read = true;
                self.dispatch(Arc::new(row));
            }
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

    fn register(&self, viewer: &Viewer) -> FeedLink {
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

    fn unregister(&self, id: u64) {
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
