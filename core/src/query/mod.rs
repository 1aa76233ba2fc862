//! Queries on the view, each with its authorization rule: a user sees a task when they
//! are its assignee, a candidate user, or a member of a candidate group; a data entry
//! when they (or one of their groups) are authorized. `Viewer::Admin` sees everything.

mod data_entries;
pub mod filter;
mod forms;
mod history;
mod inbox;
mod memory;
mod processes;
mod requests;
mod sort;
pub mod sql;
mod tasks;
pub mod text;
mod user_directory;
pub mod visibility;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

pub use filter::{Filter, FilterError};
pub use sort::{decode_cursor, encode_cursor, parse_sort, SortField, SortKey};
pub use user_directory::{StaticUserDirectory, UserDirectory};

pub use data_entries::*;
pub use forms::*;
pub use history::*;
pub use memory::*;
pub use processes::*;
pub use requests::*;
pub use tasks::*;

use crate::model::{DataEntry, ProcessDefinition, Task};
use sql::Sql;

/// Why a query could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error("unknown filter field `{field}`, expected one of {expected}")]
    UnknownField { field: String, expected: String },
    #[error("bad value for `{field}`: {message}")]
    BadValue { field: String, message: String },
    #[error("bad sort: {message}")]
    BadSort { message: String },
    #[error("the cursor is not one this query returned")]
    BadCursor,
    #[error("the page size must be between 1 and {max}")]
    BadLimit { max: usize },
    #[error("view: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A live snapshot with a text search or a payload filter must be exact at its
    /// position, and the search index did not cover it in time (it is catching up).
    #[error("the search index covers position {covered}, not yet {position}; try again")]
    SearchBehind { position: i64, covered: i64 },
}

/// Who asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    User { user: String, groups: Vec<String> },
    Admin,
}

impl Viewer {
    pub fn user(user: impl Into<String>, groups: &[&str]) -> Self {
        Viewer::User {
            user: user.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
        }
    }
}

/// Deferred tasks (follow-up date in the future) are hidden from the default inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum Deferred {
    #[default]
    Exclude,
    Include,
    Only,
}

impl Deferred {
    /// Whether a task with this follow-up date belongs in the result at `now`.
    pub fn admits(&self, follow_up: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
        let deferred = follow_up.is_some_and(|f| f > now);
        match self {
            Deferred::Exclude => !deferred,
            Deferred::Only => deferred,
            Deferred::Include => true,
        }
    }
}

/// Offset or cursor paging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Paging {
    Offset {
        offset: usize,
        limit: usize,
    },
    /// Rows after the cursor (skipping `offset` of them first).
    Cursor {
        after: Option<String>,
        offset: usize,
        limit: usize,
    },
}

impl Default for Paging {
    fn default() -> Self {
        Paging::Offset {
            offset: 0,
            limit: 50,
        }
    }
}

/// The largest page.
pub const MAX_PAGE: usize = 1000;

/// A task list query.
#[derive(Debug, Clone)]
pub struct TaskQuery {
    pub viewer: Viewer,
    pub filter: Filter,
    /// Full-text search over name, description, business key, process name and payload.
    pub text: Option<String>,
    pub assigned_to_me: bool,
    pub claimable_only: bool,
    /// Only tasks the viewer is personally involved in: assignee, owner or candidate
    /// user (not only through a group).
    pub involvements_only: bool,
    pub deferred: Deferred,
    pub sort: Vec<SortKey>,
    pub paging: Paging,
    /// The time against which follow-up dates are compared.
    pub now: DateTime<Utc>,
}

impl TaskQuery {
    /// Whether the query is answered from the search index (a text search or a payload
    /// filter), which may trail the view (see [`crate::view::search`]).
    pub fn uses_search_index(&self) -> bool {
        self.text.as_deref().and_then(text::Search::parse).is_some() || self.filter.uses_payload()
    }

    pub fn for_viewer(viewer: Viewer) -> Self {
        Self {
            viewer,
            filter: Filter::default(),
            text: None,
            assigned_to_me: false,
            claimable_only: false,
            involvements_only: false,
            deferred: Deferred::Exclude,
            sort: vec![SortKey {
                field: SortField::Due,
                descending: false,
            }],
            paging: Paging::default(),
            now: Utc::now(),
        }
    }
}

/// One page of tasks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct TaskPage {
    pub tasks: Vec<Task>,
    /// How many tasks match in all.
    pub total: u64,
    /// Pass as `after` to get the next page (cursor paging, when there is one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}
