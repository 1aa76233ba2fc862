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

//!
//! `subscription.rs` is one viewer's subscription (snapshot, then items judged for its
//! query); `feed.rs` the change feed that reads each change once and hands it to the
//! subscriptions it names.

mod feed;
mod subscription;

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::model::Task;
use crate::position_signal::PositionSignal;

pub use feed::{ChangeFeed, SUBSCRIBER_BUFFER};
pub use subscription::Subscription;

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
    /// The stream was asked to resume from a position older than the change log keeps:
    /// this fresh snapshot replaces whatever the client shows (changes in between are
    /// not replayed one by one).
    #[serde(default)]
    pub reset: bool,
}

/// Called by the feed whenever it handed a subscription something to read (or marked it
/// lagging, or stopped): lets an async caller sleep until then instead of blocking.
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// One row of the change table.
#[derive(Debug, Clone)]
pub struct ChangeRow {
    pub position: i64,
    pub task_id: String,
    /// Who could see the task before and after (JSON [`Principals`](crate::view::Principals)),
    /// for routing.
    pub before: Option<String>,
    pub after: Option<String>,
    /// The task right before and right after this change (`None`: it did not exist yet,
    /// or is completed or deleted): each change is judged on these, at its position.
    pub task_before: Option<Arc<Task>>,
    pub task_after: Option<Arc<Task>>,
}

/// How many change rows one read of the change table takes at most.
pub(crate) const READ_ROWS: usize = 1000;

fn task_column(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<Arc<Task>>> {
    let Some(json) = row.get_ref(i)?.as_str_or_null()? else {
        return Ok(None);
    };
    serde_json::from_str(json)
        .map(Arc::new)
        .map(Some)
        .map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
        })
}

/// The change table's rows after `position`, in order, at most [`READ_ROWS`] (the one
/// reader of the table, for the feed and for subscriptions that read it themselves).
/// The second value says whether the read was full (more rows may follow).
pub(crate) fn read_changes(
    conn: &rusqlite::Connection,
    position: i64,
) -> rusqlite::Result<(Vec<ChangeRow>, bool)> {
    let mut stmt = conn.prepare_cached(
        "SELECT position, task_id, before, after, task_before, task_after FROM task_changes WHERE position > ?1 ORDER BY position LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(rusqlite::params![position, READ_ROWS as i64], |r| {
            Ok(ChangeRow {
                position: r.get(0)?,
                task_id: r.get(1)?,
                before: r.get(2)?,
                after: r.get(3)?,
                task_before: task_column(r, 4)?,
                task_after: task_column(r, 5)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let full = rows.len() >= READ_ROWS;
    Ok((rows, full))
}

/// Waits until the view has reached `position` (read-your-writes); returns whether it
/// did within `timeout`.
pub fn wait_for_position(signal: &PositionSignal, position: i64, timeout: Duration) -> bool {
    signal.wait_beyond(position - 1, timeout) >= position
}
