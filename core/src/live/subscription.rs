//! One viewer's subscription: a snapshot at a position, then the changes after it that
//! concern the viewer, judged for its query (fed by the change feed, or read from the
//! change table when it lags or has no feed).

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::mpsc::RecvTimeoutError;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

use super::feed::FeedLink;
use super::{read_changes, ChangeFeed, ChangeRow, LiveItem, Snapshot, Waker};
use crate::model::Task;
use crate::position_signal::PositionSignal;
use crate::query::{self, Paging, QueryError, TaskQuery, Viewer, MAX_PAGE};
use crate::view::{self, projection, Principals, View};

/// A subscription to the changes relevant to one query.
pub struct Subscription {
    /// Opened when first needed (a lagging read, a filter the feed cannot judge), so
    /// thousands of plain inbox subscriptions hold no SQLite connection.
    conn: Option<Connection>,
    view: View,
    query: TaskQuery,
    position: i64,
    signal: PositionSignal,
    feed: Option<FeedLink>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(link) = &self.feed {
            link.feed.unregister(link.id);
        }
    }
}

impl Subscription {
    /// Subscribes. With `from = None` it first takes a snapshot (the first page of the
    /// query) and follows from its position; with `Some(p)` it resumes after `p`.
    pub fn open(
        view: &View,
        signal: PositionSignal,
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
        signal: PositionSignal,
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
            // Some changes did not fit the buffer (or came before a resume): read them
            // from the change table.
            let (items, more) = self.read_behind()?;
            if more {
                lagging.store(true, Ordering::Release);
            }
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
            let (items, _) = self.read_behind()?;
            if !items.is_empty() {
                return Ok(items);
            }
            let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) else {
                return Ok(Vec::new());
            };
            if self.signal.wait_beyond(head.max(self.position), left) <= head.max(self.position) {
                return Ok(Vec::new());
            }
        }
    }

    /// Reads the change table after the position until some items concern this
    /// subscription or the table is read to its end: a run of more than a batch of
    /// changes it cannot see must not end the read (a resume after thousands of other
    /// users' changes would skip what lies between them and the feed's first row).
    /// Returns the items and whether rows may be left (a full batch with items).
    fn read_behind(&mut self) -> Result<(Vec<LiveItem>, bool), QueryError> {
        loop {
            let (items, full) = self.poll_rows()?;
            if !items.is_empty() || !full {
                return Ok((items, full));
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
            let (items, _) = self.read_behind()?;
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
        let (rows, full) = read_changes(self.connection()?, position)?;
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
