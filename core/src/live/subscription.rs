//! One viewer's subscription: a snapshot at a position, then the changes after it that
//! concern the viewer, judged for its query (fed by the change feed, or read from the
//! change table when it lags or has no feed).

use std::sync::atomic::Ordering;
use std::sync::mpsc::RecvTimeoutError;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

use super::feed::FeedLink;
use super::{read_changes, ChangeFeed, ChangeRow, LiveItem, Snapshot, Waker};
use crate::model::Task;
use crate::position_signal::PositionSignal;
use crate::query::{self, MemoryQuery, Paging, QueryError, TaskQuery, MAX_PAGE};
use crate::view::{self, View};

/// A subscription to the changes relevant to one query.
pub struct Subscription {
    /// Opened when first needed (a lagging read, a filter the feed cannot judge), so
    /// thousands of plain inbox subscriptions hold no SQLite connection.
    conn: Option<Connection>,
    view: View,
    /// The query, compiled for judging each change in memory.
    memory: MemoryQuery,
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
        let memory = MemoryQuery::compile(&query)?;
        let link = feed.map(|f| f.register(&query.viewer));
        let (Paging::Offset { limit, .. } | Paging::Cursor { limit, .. }) = &mut query.paging;
        *limit = (*limit).clamp(1, MAX_PAGE);
        // A resume from before what the change log keeps cannot be exact: a fresh
        // snapshot instead, marked as such.
        let too_old = match from {
            Some(p) => p.saturating_add(1) < view::pruned_below(&view.connect_small()?)?,
            None => false,
        };
        let from = from.filter(|_| !too_old);
        let (conn, position, snapshot) = match from {
            Some(p) => (None, p, None),
            None => {
                let mut conn = view.connect_small()?;
                // A text search or payload filter is answered from the search index,
                // which may trail the view: the snapshot waits until it covers the
                // snapshot's position (the items after it are judged in memory).
                let uses_search = query.uses_search_index();
                let deadline = std::time::Instant::now() + view::search::SEARCH_WAIT;
                let (position, page, next_follow_up) = loop {
                    // One read transaction: the tasks and the position agree (the view
                    // read first, so the search file's snapshot is no older).
                    let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
                    let position = view::checkpoint(&tx, crate::projector::TASKLIST_PROJECTOR)?;
                    if uses_search {
                        let covered = view::search::position(&tx, "search")?;
                        if covered < position {
                            tx.commit()?;
                            if std::time::Instant::now() >= deadline {
                                return Err(QueryError::SearchBehind { position, covered });
                            }
                            std::thread::sleep(std::time::Duration::from_millis(5));
                            continue;
                        }
                    }
                    let page = query::tasks(&tx, &query)?;
                    let next_follow_up = query::next_follow_up(&tx, &query)?;
                    tx.commit()?;
                    break (position, page, next_follow_up);
                };
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
                        reset: too_old,
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
                memory,
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
    /// position past them. Each change is judged on the task right before and right
    /// after it, as the change row holds them: entered when only the state after it is
    /// in the query's result, left when only the state before it was, changed when both
    /// are; the body is the task right after the change. Deferral is judged at the time
    /// of reading (no event happens when a follow-up date passes); `data.*` clauses on
    /// the correlated data entries as the view has them now.
    fn evaluate(&mut self, changes: &[ChangeRow]) -> Result<Vec<LiveItem>, QueryError> {
        let Some(last) = changes.last().map(|c| c.position) else {
            return Ok(Vec::new());
        };
        let now = chrono::Utc::now();
        if self.memory.needs_data_entries() {
            self.connection()?;
        }
        let Self { conn, memory, .. } = self;
        let conn = conn.as_ref();
        let judge = |task: &Option<Arc<Task>>| -> Result<bool, QueryError> {
            match task {
                None => Ok(false),
                Some(task) => memory.matches(task, now, |t| match conn {
                    Some(conn) => query::correlated_entries(conn, memory.viewer(), t),
                    None => Ok(Vec::new()),
                }),
            }
        };
        let mut items = Vec::new();
        for c in changes {
            let item = match (judge(&c.task_before)?, judge(&c.task_after)?, &c.task_after) {
                (false, true, Some(task)) => LiveItem::Entered {
                    position: c.position,
                    task: Box::new((**task).clone()),
                },
                (true, true, Some(task)) => LiveItem::Changed {
                    position: c.position,
                    task: Box::new((**task).clone()),
                },
                (true, false, _) => LiveItem::Left {
                    position: c.position,
                    task_id: c.task_id.clone(),
                },
                _ => continue,
            };
            items.push(item);
        }
        self.position = last;
        Ok(items)
    }
}
