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
use std::time::Duration;

use rusqlite::{params, Connection, TransactionBehavior};
use serde::{Deserialize, Serialize};

use crate::command_gateway::CommitSignal;
use crate::model::Task;
use crate::query::{self, Deferred, Paging, QueryError, TaskQuery, Viewer, MAX_PAGE};
use crate::view::{self, projection, Principals, View};

/// One item of the stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
            LiveItem::Entered { position, .. } | LiveItem::Changed { position, .. } | LiveItem::Left { position, .. } => *position,
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
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    pub position: i64,
    pub tasks: Vec<Task>,
    pub total: u64,
}

/// A subscription to the changes relevant to one query.
pub struct Subscription {
    conn: Connection,
    query: TaskQuery,
    position: i64,
    signal: CommitSignal,
}

impl Subscription {
    /// Subscribes. With `from = None` it first takes a snapshot (the first page of the
    /// query) and follows from its position; with `Some(p)` it resumes after `p`.
    pub fn open(view: &View, signal: CommitSignal, mut query: TaskQuery, from: Option<i64>) -> Result<(Self, Option<Snapshot>), QueryError> {
        let (Paging::Offset { limit, .. } | Paging::Cursor { limit, .. }) = &mut query.paging;
        *limit = (*limit).clamp(1, MAX_PAGE);
        let mut conn = view.connect()?;
        let (position, snapshot) = match from {
            Some(p) => (p, None),
            None => {
                // One read transaction: the tasks and the position agree.
                let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
                let position = view::checkpoint(&tx, crate::projector::TASKLIST_PROJECTOR)?;
                let page = query::tasks(&tx, &query)?;
                tx.commit()?;
                (position, Some(Snapshot { position, tasks: page.tasks, total: page.total }))
            }
        };
        Ok((Self { conn, query, position, signal }, snapshot))
    }

    /// The position of the last item delivered (or of the snapshot).
    pub fn position(&self) -> i64 {
        self.position
    }

    /// The relevant changes after the current position, waiting up to `timeout` for
    /// some; returns an empty list on timeout.
    pub fn next(&mut self, timeout: Duration) -> Result<Vec<LiveItem>, QueryError> {
        let items = self.poll()?;
        if !items.is_empty() {
            return Ok(items);
        }
        self.signal.wait_beyond(self.position, timeout);
        self.poll()
    }

    /// The relevant changes already in the view after the current position (at most
    /// 1,000 change rows a call).
    pub fn poll(&mut self) -> Result<Vec<LiveItem>, QueryError> {
        // Deferral is judged against the time of reading.
        self.query.now = chrono::Utc::now();
        let (user, groups) = match &self.query.viewer {
            Viewer::User { user, groups } => (Some(user.as_str()), groups.as_slice()),
            Viewer::Admin => (None, &[][..]),
        };
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        type Change = (i64, String, Option<String>, Option<String>);
        let changes: Vec<Change> = {
            let mut stmt = tx.prepare_cached("SELECT position, task_id, before, after FROM task_changes WHERE position > ?1 ORDER BY position LIMIT 1000")?;
            let rows = stmt.query_map(params![self.position], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        // Several changes of one task in one read: the last is judged by the query on
        // the task as it is now; earlier ones by who could see it after them, and each
        // change's "before" is what the previous item of the same task left.
        let mut last_index: HashMap<&str, usize> = HashMap::new();
        for (i, (_, task_id, _, _)) in changes.iter().enumerate() {
            last_index.insert(task_id.as_str(), i);
        }
        let (deferred, now) = (self.query.deferred, self.query.now);
        let admit = |principals: &Option<String>| {
            let Some(p) = principals.as_deref().and_then(|p| serde_json::from_str::<Principals>(p).ok()) else {
                return false;
            };
            let is_deferred = p.follow_up.is_some_and(|f| f > now);
            let deferral_fits = match deferred {
                Deferred::Exclude => !is_deferred,
                Deferred::Only => is_deferred,
                Deferred::Include => true,
            };
            deferral_fits && user.is_none_or(|u| p.admit(u, groups))
        };
        let mut visible: HashMap<&str, bool> = HashMap::new();
        let mut current: HashMap<&str, Option<Task>> = HashMap::new();
        let mut items = Vec::new();
        for (i, (position, task_id, before, after)) in changes.iter().enumerate() {
            let id = task_id.as_str();
            let visible_before = visible.get(id).copied().unwrap_or_else(|| admit(before));
            if !visible_before && !admit(after) {
                // Neither before nor after this change could the viewer see the task.
                visible.insert(id, false);
                continue;
            }
            if !current.contains_key(id) {
                let task = if query::task_matches(&tx, &self.query, id)? { projection::load_task(&tx, id)? } else { None };
                current.insert(id, task);
            }
            let now = current.get(id).and_then(Option::as_ref);
            let visible_after = if last_index.get(id) == Some(&i) { now.is_some() } else { admit(after) && now.is_some() };
            visible.insert(id, visible_after);
            let item = match (visible_before, visible_after, now) {
                (false, true, Some(task)) => LiveItem::Entered { position: *position, task: Box::new(task.clone()) },
                (true, true, Some(task)) => LiveItem::Changed { position: *position, task: Box::new(task.clone()) },
                (true, false, _) => LiveItem::Left { position: *position, task_id: task_id.clone() },
                _ => continue,
            };
            items.push(item);
        }
        if let Some((last, _, _, _)) = changes.last() {
            self.position = *last;
        }
        tx.commit()?;
        Ok(items)
    }
}

/// Waits until the view has reached `position` (read-your-writes); returns whether it
/// did within `timeout`.
pub fn wait_for_position(signal: &CommitSignal, position: i64, timeout: Duration) -> bool {
    signal.wait_beyond(position - 1, timeout) >= position
}
