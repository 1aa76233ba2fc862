//! The typed parameters of the node's queries and actions, each with its parsing and
//! validation (errors name the parameter). The HTTP adapter decodes them from query
//! strings and bodies; the desktop's embedded backend builds them directly: one type per
//! query, used by both.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use taskpool_core::model::Payload;
use taskpool_core::query::{
    parse_sort, Deferred, Filter, Paging, QueryError, TaskQuery, Viewer, MAX_PAGE,
};

use crate::problem::Problem;

/// The task list query.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaskListParams {
    /// The filter language: `task.priority >= 50 and amount > 1000 and customer ~ acme`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub filter: Option<String>,
    /// Full-text search over name, description, business key, process name and payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub q: Option<String>,
    /// Sort keys, `+due,-priority` (default `+due`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub sort: Option<String>,
    /// Offset paging: the first row (default 0); with a cursor, rows skipped after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub offset: Option<usize>,
    /// The page size, 1 to 1000 (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 1000))]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub limit: Option<usize>,
    /// Cursor paging: empty for the first page, then the `nextCursor` of the previous one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub cursor: Option<String>,
    /// Only tasks assigned to me.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub assigned_to_me: Option<bool>,
    /// Only tasks I could claim (visible to me and unassigned; `unassigned` is this
    /// parameter's earlier name, still accepted).
    #[serde(default, alias = "unassigned", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub claimable: Option<bool>,
    /// Only tasks I am personally involved in: assignee, owner or candidate user (not
    /// only through a group).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub involvements_only: Option<bool>,
    /// Deferred tasks: `exclude` (default), `include` or `only`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub deferred: Option<Deferred>,
    /// Read after your own write: first wait until the view has applied this event
    /// position (an outcome's or an answer's), at most [`READ_WAIT`]; 503 when it has
    /// not by then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(minimum = 0))]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub position: Option<i64>,
}

/// The largest offset a list accepts (cursor paging goes further).
pub const MAX_OFFSET: usize = 1_000_000;

/// How long a read waits for the position it asks for.
pub const READ_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// How long a miss (a task or definition not in the view, an outcome about a task not
/// yet shown) waits for the view to catch up with the store before it is believed: a
/// link sent the moment a task was created must open that task.
pub const CATCH_UP_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// A read of one thing, after your own write.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReadParams {
    /// Wait until the view has applied this event position first (as for `GET /tasks`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(minimum = 0))]
    pub position: Option<i64>,
}

impl TaskListParams {
    /// The core query for `viewer`; errors name the parameter.
    pub fn query(&self, viewer: Viewer) -> Result<TaskQuery, Problem> {
        let mut q = TaskQuery::for_viewer(viewer);
        if let Some(f) = &self.filter {
            q.filter = Filter::parse(f).map_err(QueryError::from)?;
        }
        q.text = self.q.clone().filter(|t| !t.trim().is_empty());
        if let Some(s) = &self.sort {
            q.sort = parse_sort(s)?;
        }
        if self.offset.is_some_and(|o| o > MAX_OFFSET) {
            return Err(Problem::bad_request(
                "offset",
                format!("the offset must be at most {MAX_OFFSET} (page with `cursor` beyond)"),
            ));
        }
        let limit = self.limit.unwrap_or(50);
        if limit == 0 || limit > MAX_PAGE {
            return Err(Problem::bad_request(
                "limit",
                format!("the page size must be between 1 and {MAX_PAGE}"),
            ));
        }
        q.paging = match &self.cursor {
            Some(c) => Paging::Cursor {
                after: Some(c.clone()).filter(|c| !c.is_empty()),
                offset: self.offset.unwrap_or(0),
                limit,
            },
            None => Paging::Offset {
                offset: self.offset.unwrap_or(0),
                limit,
            },
        };
        q.assigned_to_me = self.assigned_to_me.unwrap_or(false);
        q.claimable_only = self.claimable.unwrap_or(false);
        q.involvements_only = self.involvements_only.unwrap_or(false);
        q.deferred = self.deferred.unwrap_or_default();
        Ok(q)
    }
}

/// The live task stream's query: the snapshot's list query, and where to resume.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaskStreamParams {
    /// The filter language (as for `GET /tasks`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub filter: Option<String>,
    /// Full-text search.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub q: Option<String>,
    /// The snapshot's sort (default `+due`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub sort: Option<String>,
    /// The snapshot's size, 1 to 1000 (default 200).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 1000))]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub limit: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub assigned_to_me: Option<bool>,
    /// Only tasks I could claim (`unassigned`: the earlier name).
    #[serde(default, alias = "unassigned", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub claimable: Option<bool>,
    /// Only tasks I am personally involved in (as for `GET /tasks`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub involvements_only: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub deferred: Option<Deferred>,
    /// Resume after this position (like `Last-Event-ID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(minimum = 0))]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub from: Option<i64>,
    /// The token, for HTTP clients that cannot send headers (EventSource); read by the
    /// server's caller extractor, declared here so strict parsing admits it.
    #[serde(
        rename = "access_token",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "typescript", ts(skip))]
    pub access_token: Option<String>,
}

impl TaskStreamParams {
    /// The list parameters of the snapshot (the same query language and checks as
    /// `GET /tasks`).
    pub fn list_params(&self) -> TaskListParams {
        TaskListParams {
            filter: self.filter.clone(),
            q: self.q.clone(),
            sort: self.sort.clone(),
            offset: None,
            limit: Some(self.limit.unwrap_or(200)),
            cursor: None,
            assigned_to_me: self.assigned_to_me,
            claimable: self.claimable,
            involvements_only: self.involvements_only,
            deferred: self.deferred,
            position: None,
        }
    }
}

/// How many suggestions (filter attribute names or values).
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SuggestionParams {
    /// At most this many (1 to 1000, default 100).
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 1000))]
    pub limit: Option<usize>,
}

impl SuggestionParams {
    /// The checked limit.
    pub fn limit(&self) -> Result<usize, Problem> {
        match self.limit.unwrap_or(100) {
            n if n == 0 || n > MAX_PAGE => Err(Problem::bad_request(
                "limit",
                "the limit must be between 1 and 1000",
            )),
            n => Ok(n),
        }
    }
}

/// Options of an action.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActionParams {
    /// Answer only once the view shows the effect (read-your-writes), or the timeout.
    pub wait: Option<bool>,
}

/// The body of a completion.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CompleteBody {
    /// The result values.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = std::collections::HashMap<String, serde_json::Value>))]
    #[cfg_attr(feature = "typescript", ts(type = "Record<string, unknown>"))]
    pub payload: Payload,
}

/// The body of a start: the start form's values (they become the instance's variables)
/// and, optionally, a business key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StartBody {
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = std::collections::HashMap<String, serde_json::Value>))]
    #[cfg_attr(feature = "typescript", ts(type = "Record<string, unknown>"))]
    pub values: Payload,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub business_key: Option<String>,
}

/// The body of a reassignment: to whom.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssignBody {
    pub assignee: String,
}

/// The body of a deferral.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeferBody {
    /// Hidden from the default inbox until then.
    pub follow_up_date: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_params_name_the_bad_parameter() {
        let viewer = Viewer::user("alice", &[]);
        let bad_limit = TaskListParams {
            limit: Some(0),
            ..Default::default()
        };
        assert_eq!(
            bad_limit.query(viewer.clone()).err().and_then(|p| p.field),
            Some("limit".into())
        );
        let bad_filter = TaskListParams {
            filter: Some("priority >>> 3".into()),
            ..Default::default()
        };
        assert_eq!(
            bad_filter.query(viewer).err().and_then(|p| p.field),
            Some("filter".into())
        );
    }

    #[test]
    fn claimable_keeps_its_earlier_name() {
        for query in ["claimable=true", "unassigned=true"] {
            let p: TaskListParams = serde_urlencoded::from_str(query).expect(query);
            assert_eq!(p.claimable, Some(true), "{query}");
            let s: TaskStreamParams = serde_urlencoded::from_str(query).expect(query);
            assert_eq!(s.list_params().claimable, Some(true), "{query}");
        }
        let q = TaskListParams {
            claimable: Some(true),
            ..Default::default()
        }
        .query(Viewer::user("alice", &[]))
        .expect("query");
        assert!(q.claimable_only);
    }

    #[test]
    fn a_stream_snapshot_defaults_to_200_tasks() {
        let params = TaskStreamParams::default();
        assert_eq!(params.list_params().limit, Some(200));
    }
}
