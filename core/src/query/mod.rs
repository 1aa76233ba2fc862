//! Queries on the view, each with its authorization rule: a user sees a task when they
//! are its assignee, a candidate user, or a member of a candidate group; a data entry
//! when they (or one of their groups) are authorized. `Viewer::Admin` sees everything.

pub mod filter;
mod sort;
pub mod sql;
mod user_directory;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

pub use filter::{Filter, FilterError};
pub use sort::{decode_cursor, encode_cursor, parse_sort, SortField, SortKey};
pub use user_directory::{StaticUserDirectory, UserDirectory};

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
    pub unassigned_only: bool,
    pub deferred: Deferred,
    pub sort: Vec<SortKey>,
    pub paging: Paging,
    /// The time against which follow-up dates are compared.
    pub now: DateTime<Utc>,
}

impl TaskQuery {
    pub fn for_viewer(viewer: Viewer) -> Self {
        Self {
            viewer,
            filter: Filter::default(),
            text: None,
            assigned_to_me: false,
            unassigned_only: false,
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

/// The visibility condition on `tasks` for a viewer.
fn visibility(viewer: &Viewer, sql: &mut Sql) {
    if let Viewer::User { user, groups } = viewer {
        let mut params = vec![Value::Text(user.clone())];
        let mut fragment = "tasks.rowid IN (SELECT task_rowid FROM task_authorizations WHERE kind = 'user' AND principal = ?".to_string();
        if !groups.is_empty() {
            fragment.push_str(" UNION SELECT task_rowid FROM task_authorizations WHERE kind = 'group' AND principal IN (");
            fragment.push_str(&vec!["?"; groups.len()].join(", "));
            fragment.push(')');
            params.extend(groups.iter().map(|g| Value::Text(g.clone())));
        }
        fragment.push(')');
        sql.and(&fragment, params);
    }
}

/// Every condition of a task query but paging.
pub fn task_conditions(q: &TaskQuery) -> Result<Sql, QueryError> {
    let mut sql = Sql::default();
    visibility(&q.viewer, &mut sql);
    if let (true, Viewer::User { user, .. }) = (q.assigned_to_me, &q.viewer) {
        sql.and("tasks.assignee = ?", [Value::Text(user.clone())]);
    }
    if q.unassigned_only {
        sql.and("tasks.assignee IS NULL", []);
    }
    let now = Value::Text(q.now.to_rfc3339_opts(SecondsFormat::Millis, true));
    match q.deferred {
        Deferred::Exclude => sql.and(
            "tasks.follow_up_date IS NULL OR tasks.follow_up_date <= ?",
            [now],
        ),
        Deferred::Only => sql.and("tasks.follow_up_date > ?", [now]),
        Deferred::Include => {}
    }
    sql::compile_filter(&q.filter, &mut sql)?;
    if let Some(fts) = q.text.as_deref().and_then(sql::fts_query) {
        sql.and(
            "tasks.rowid IN (SELECT rowid FROM tasks_fts WHERE tasks_fts MATCH ?)",
            [Value::Text(fts)],
        );
    }
    Ok(sql)
}

fn json_value(v: &Value) -> serde_json::Value {
    match v {
        Value::Integer(i) => serde_json::json!(i),
        Value::Real(r) => serde_json::json!(r),
        Value::Text(t) => serde_json::json!(t),
        _ => serde_json::Value::Null,
    }
}

fn sql_value(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Number(n) => n
            .as_i64()
            .map(Value::Integer)
            .unwrap_or_else(|| Value::Real(n.as_f64().unwrap_or_default())),
        serde_json::Value::String(s) => Value::Text(s.clone()),
        _ => Value::Null,
    }
}

fn parse_task(json: &str) -> rusqlite::Result<Task> {
    serde_json::from_str(json).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// A page of tasks for the query, with the total count.
pub fn tasks(conn: &Connection, q: &TaskQuery) -> Result<TaskPage, QueryError> {
    if let Some(page) = inbox_by_due(conn, q)? {
        return Ok(page);
    }
    tasks_without_fast_path(conn, q)
}

/// The inbox as most users see it (no filter, no text, by due date, offset paging):
/// a merge of the user's few authorization ranges, each already ordered by due date,
/// that stops after the page. `None` when the query is not of that shape.
fn inbox_by_due(conn: &Connection, q: &TaskQuery) -> Result<Option<TaskPage>, QueryError> {
    let Viewer::User { user, groups } = &q.viewer else {
        return Ok(None);
    };
    let Paging::Offset { offset, limit } = q.paging else {
        return Ok(None);
    };
    let plain = q.filter.clauses.is_empty()
        && q.text.as_deref().and_then(sql::fts_query).is_none()
        && !q.assigned_to_me
        && !q.unassigned_only
        && q.sort
            == [SortKey {
                field: SortField::Due,
                descending: false,
            }];
    if !plain {
        return Ok(None);
    }
    if limit == 0 || limit > MAX_PAGE {
        return Err(QueryError::BadLimit { max: MAX_PAGE });
    }
    let now = Value::Text(q.now.to_rfc3339_opts(SecondsFormat::Millis, true));
    let deferral = match q.deferred {
        Deferred::Exclude => " AND (follow_up IS NULL OR follow_up <= ?)",
        Deferred::Only => " AND follow_up > ?",
        Deferred::Include => "",
    };
    let mut branches = Vec::new();
    let mut params = Vec::new();
    let principals = std::iter::once(("user", user)).chain(groups.iter().map(|g| ("group", g)));
    for (kind, principal) in principals {
        branches.push(format!("SELECT due, task_id, task_rowid FROM task_authorizations WHERE principal = ? AND kind = '{kind}'{deferral}"));
        params.push(Value::Text(principal.clone()));
        if q.deferred != Deferred::Include {
            params.push(now.clone());
        }
    }
    let compound = branches.join(" UNION ");
    let total: i64 = conn.query_row(
        &format!("SELECT COUNT(*) FROM ({compound})"),
        params_from_iter(params.iter()),
        |r| r.get(0),
    )?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT d.task FROM ({compound} ORDER BY 1, 2 LIMIT {limit} OFFSET {offset}) AS page
         JOIN task_documents d ON d.task_rowid = page.task_rowid ORDER BY page.due, page.task_id"
    ))?;
    let rows = stmt.query_map(params_from_iter(params.iter()), |r| {
        parse_task(&r.get::<_, String>(0)?)
    })?;
    let tasks = rows.collect::<Result<Vec<_>, _>>()?;
    Ok(Some(TaskPage {
        tasks,
        total: u64::try_from(total).unwrap_or_default(),
        next_cursor: None,
    }))
}

/// [`tasks`] without the inbox fast path (to check that both agree).
#[doc(hidden)]
pub fn tasks_without_fast_path(conn: &Connection, q: &TaskQuery) -> Result<TaskPage, QueryError> {
    let mut sql = task_conditions(q)?;
    let keys = &q.sort;
    let (limit, offset, after) = match &q.paging {
        Paging::Offset { offset, limit } => (*limit, *offset, None),
        Paging::Cursor {
            after,
            offset,
            limit,
        } => (
            *limit,
            *offset,
            after
                .as_deref()
                .map(|c| decode_cursor(c, keys))
                .transpose()?,
        ),
    };
    if limit == 0 || limit > MAX_PAGE {
        return Err(QueryError::BadLimit { max: MAX_PAGE });
    }
    // The total counts every match. Offset paging gets it from the same pass as the
    // page (a window count); a cursor narrows the rows, so it is counted apart.
    let count_sql = format!("SELECT COUNT(*) FROM tasks {}", sql.where_clause());
    let count_params = sql.params.clone();
    let count = |conn: &Connection| -> Result<i64, QueryError> {
        Ok(
            conn.query_row(&count_sql, params_from_iter(count_params.iter()), |r| {
                r.get(0)
            })?,
        )
    };
    let mut total: Option<i64> = if after.is_some() {
        Some(count(conn)?)
    } else {
        None
    };
    if let Some(values) = after {
        // Keyset: rows strictly after the cursor in (k1, k2, ..., id) order.
        let mut ors = Vec::new();
        let mut params = Vec::new();
        let columns: Vec<(&str, bool)> = keys
            .iter()
            .map(|k| (k.field.expression(), k.descending))
            .chain([("tasks.id", false)])
            .collect();
        for i in 0..columns.len() {
            let mut ands = Vec::new();
            for (j, (col, _)) in columns.iter().enumerate().take(i) {
                ands.push(format!("{col} = ?"));
                params.push(sql_value(&values[j]));
            }
            let (col, desc) = columns[i];
            ands.push(format!("{col} {} ?", if desc { "<" } else { ">" }));
            params.push(sql_value(&values[i]));
            ors.push(format!("({})", ands.join(" AND ")));
        }
        sql.and(&ors.join(" OR "), params);
    }
    let order: Vec<String> = keys
        .iter()
        .map(|k| {
            format!(
                "{} {}",
                k.field.expression(),
                if k.descending { "DESC" } else { "ASC" }
            )
        })
        .chain(["tasks.id ASC".to_string()])
        .collect();
    let select_keys: Vec<String> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| format!("{} AS k{i}", k.field.expression()))
        .collect();
    let page_order: Vec<String> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| format!("page.k{i} {}", if k.descending { "DESC" } else { "ASC" }))
        .chain(["page.id ASC".to_string()])
        .collect();
    // Sort and page on the narrow rows; fetch the documents of the page only.
    let text = format!(
        "SELECT d.task, page.* FROM (SELECT {}, tasks.id AS id, COUNT(*) OVER () AS total, tasks.rowid AS rid FROM tasks {} ORDER BY {} LIMIT {} OFFSET {}) AS page
         JOIN task_documents d ON d.task_rowid = page.rid ORDER BY {}",
        select_keys.join(", "),
        sql.where_clause(),
        order.join(", "),
        limit + 1,
        offset,
        page_order.join(", ")
    );
    let mut stmt = conn.prepare_cached(&text)?;
    let mut rows = stmt.query(params_from_iter(sql.params.iter()))?;
    let mut tasks = Vec::new();
    let mut last_keys = None;
    let mut more = false;
    while let Some(row) = rows.next()? {
        if tasks.len() == limit {
            more = true;
            break;
        }
        if total.is_none() {
            total = Some(row.get(keys.len() + 2)?);
        }
        tasks.push(parse_task(&row.get::<_, String>(0)?)?);
        let mut values = Vec::with_capacity(keys.len() + 1);
        for i in 0..=keys.len() {
            values.push(json_value(&row.get::<_, Value>(i + 1)?));
        }
        last_keys = Some(values);
    }
    let next_cursor = match (&q.paging, more, last_keys) {
        (Paging::Cursor { .. }, true, Some(values)) => Some(encode_cursor(&values)),
        _ => None,
    };
    // An empty page (an offset past the end) says nothing of the total.
    let total = match total {
        Some(t) => t,
        None => count(conn)?,
    };
    Ok(TaskPage {
        tasks,
        total: u64::try_from(total).unwrap_or_default(),
        next_cursor,
    })
}

/// For a query without filter and text: whether `task` is in its result, decided
/// without the database. `None` when the query needs the database.
pub fn matches_without_view(q: &TaskQuery, task: &Task) -> Option<bool> {
    if !judged_without_view(q) {
        return None;
    }
    let principals = crate::view::Principals::of(task);
    let visible = match &q.viewer {
        Viewer::User { user, groups } => principals.admit(user, groups),
        Viewer::Admin => true,
    };
    let deferral_fits = q.deferred.admits(task.follow_up_date, q.now);
    let mine = match (&q.viewer, q.assigned_to_me) {
        (Viewer::User { user, .. }, true) => task.assignee.as_deref() == Some(user.as_str()),
        _ => true,
    };
    let unassigned = !q.unassigned_only || task.assignee.is_none();
    Some(visible && deferral_fits && mine && unassigned)
}

/// Whether [`matches_without_view`] can judge tasks for `q` (no filter, no text).
pub fn judged_without_view(q: &TaskQuery) -> bool {
    q.filter.clauses.is_empty() && q.text.as_deref().and_then(sql::fts_query).is_none()
}

/// When the result of `q` next changes by the clock alone: the earliest follow-up date
/// after `q.now` among the tasks the viewer may see (a deferred task becomes due and
/// enters the default inbox, or leaves the deferred list). None when no deferral is
/// pending or the query includes deferred tasks anyway. Filters are not applied: an
/// early answer only means a needless refresh.
pub fn next_follow_up(
    conn: &Connection,
    q: &TaskQuery,
) -> Result<Option<DateTime<Utc>>, QueryError> {
    if q.deferred == Deferred::Include {
        return Ok(None);
    }
    let now = Value::Text(q.now.to_rfc3339_opts(SecondsFormat::Millis, true));
    let found: Option<String> = match &q.viewer {
        Viewer::Admin => conn.query_row(
            "SELECT MIN(follow_up_date) FROM tasks WHERE follow_up_date > ?1",
            [now],
            |r| r.get(0),
        )?,
        Viewer::User { user, groups } => {
            let mut branches = Vec::new();
            let mut params = Vec::new();
            let principals =
                std::iter::once(("user", user)).chain(groups.iter().map(|g| ("group", g)));
            for (kind, principal) in principals {
                branches.push(format!(
                    "SELECT MIN(follow_up) AS f FROM task_authorizations WHERE principal = ? AND kind = '{kind}' AND follow_up > ?"
                ));
                params.push(Value::Text(principal.clone()));
                params.push(now.clone());
            }
            conn.query_row(
                &format!("SELECT MIN(f) FROM ({})", branches.join(" UNION ALL ")),
                params_from_iter(params.iter()),
                |r| r.get(0),
            )?
        }
    };
    Ok(found
        .and_then(|f| DateTime::parse_from_rfc3339(&f).ok())
        .map(|d| d.with_timezone(&Utc)))
}

/// True when task `id` is in the result of `q` (ignoring paging).
pub fn task_matches(conn: &Connection, q: &TaskQuery, id: &str) -> Result<bool, QueryError> {
    let mut sql = task_conditions(q)?;
    sql.and("tasks.id = ?", [Value::Text(id.to_string())]);
    Ok(conn
        .query_row(
            &format!("SELECT 1 FROM tasks {}", sql.where_clause()),
            params_from_iter(sql.params.iter()),
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// A task the viewer may see (deferred or not).
pub fn task_by_id(
    conn: &Connection,
    viewer: &Viewer,
    id: &str,
) -> Result<Option<Task>, QueryError> {
    let mut sql = Sql::default();
    visibility(viewer, &mut sql);
    sql.and("tasks.id = ?", [Value::Text(id.to_string())]);
    let json: Option<String> = conn
        .query_row(
            &format!(
                "SELECT d.task FROM tasks JOIN task_documents d ON d.task_rowid = tasks.rowid {}",
                sql.where_clause()
            ),
            params_from_iter(sql.params.iter()),
            |r| r.get(0),
        )
        .optional()?;
    Ok(json.map(|j| parse_task(&j)).transpose()?)
}

/// A task with the correlated data entries the viewer may see.
pub fn task_with_data_entries(
    conn: &Connection,
    viewer: &Viewer,
    id: &str,
) -> Result<Option<(Task, Vec<DataEntry>)>, QueryError> {
    let Some(task) = task_by_id(conn, viewer, id)? else {
        return Ok(None);
    };
    let mut entries = Vec::new();
    for c in &task.correlations {
        if let Some(e) = data_entry(conn, viewer, &c.entry_type, &c.entry_id)? {
            entries.push(e);
        }
    }
    Ok(Some((task, entries)))
}

/// How many visible (not deferred) tasks each application has.
pub fn task_counts_by_application(
    conn: &Connection,
    viewer: &Viewer,
) -> Result<Vec<(String, u64)>, QueryError> {
    let q = TaskQuery::for_viewer(viewer.clone());
    let sql = task_conditions(&q)?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT application_name, COUNT(*) FROM tasks {} GROUP BY application_name ORDER BY application_name",
        sql.where_clause()
    ))?;
    let rows = stmt.query_map(params_from_iter(sql.params.iter()), |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
    })?;
    Ok(rows
        .map(|r| r.map(|(a, n)| (a, u64::try_from(n).unwrap_or_default())))
        .collect::<Result<_, _>>()?)
}

/// The payload attribute names of the viewer's tasks (for filter suggestions).
pub fn payload_attribute_names(
    conn: &Connection,
    viewer: &Viewer,
    limit: usize,
) -> Result<Vec<String>, QueryError> {
    let mut sql = Sql::default();
    visibility(viewer, &mut sql);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT DISTINCT p.path FROM tasks JOIN task_payload p ON p.task_id = tasks.id {} ORDER BY p.path LIMIT {}",
        sql.where_clause(),
        limit.min(MAX_PAGE)
    ))?;
    let rows = stmt.query_map(params_from_iter(sql.params.iter()), |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The values of one payload attribute among the viewer's tasks.
pub fn payload_attribute_values(
    conn: &Connection,
    viewer: &Viewer,
    name: &str,
    limit: usize,
) -> Result<Vec<String>, QueryError> {
    let mut sql = Sql::default();
    visibility(viewer, &mut sql);
    let mut params = vec![Value::Text(name.to_string())];
    params.extend(sql.params.iter().cloned());
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT DISTINCT p.value_text FROM tasks JOIN task_payload p ON p.task_id = tasks.id AND p.path = ? {} ORDER BY p.value_text LIMIT {}",
        sql.where_clause(),
        limit.min(MAX_PAGE)
    ))?;
    let rows = stmt.query_map(params_from_iter(params.iter()), |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn parse_entry(json: &str) -> rusqlite::Result<DataEntry> {
    serde_json::from_str(json).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn entry_visibility(viewer: &Viewer) -> (String, Vec<Value>) {
    match viewer {
        Viewer::Admin => ("1".into(), vec![]),
        Viewer::User { user, groups } => {
            let mut params = vec![Value::Text(user.clone())];
            params.extend(groups.iter().map(|g| Value::Text(g.clone())));
            (
                format!(
                    "EXISTS (SELECT 1 FROM data_entry_authorizations a WHERE a.entry_type = d.entry_type AND a.entry_id = d.entry_id
                       AND ((a.kind = 'user' AND a.principal = ?) OR (a.kind = 'group' AND a.principal IN ({}))))",
                    if groups.is_empty() { "NULL".to_string() } else { vec!["?"; groups.len()].join(", ") }
                ),
                params,
            )
        }
    }
}

/// Data entries the viewer may see; `involved_only`: only those whose protocol names them.
pub fn data_entries_for_user(
    conn: &Connection,
    viewer: &Viewer,
    involved_only: bool,
    offset: usize,
    limit: usize,
) -> Result<Vec<DataEntry>, QueryError> {
    if limit == 0 || limit > MAX_PAGE {
        return Err(QueryError::BadLimit { max: MAX_PAGE });
    }
    let (vis, mut params) = entry_visibility(viewer);
    let mut text = format!("SELECT d.data_entry FROM data_entries d WHERE d.deleted = 0 AND {vis}");
    if let (true, Viewer::User { user, .. }) = (involved_only, viewer) {
        text.push_str(" AND EXISTS (SELECT 1 FROM data_entry_protocol_users u WHERE u.username = ? AND u.entry_type = d.entry_type AND u.entry_id = d.entry_id)");
        params.push(Value::Text(user.clone()));
    }
    text.push_str(&format!(
        " ORDER BY d.entry_type, d.entry_id LIMIT {limit} OFFSET {offset}"
    ));
    let mut stmt = conn.prepare_cached(&text)?;
    let rows = stmt.query_map(params_from_iter(params.iter()), |r| {
        parse_entry(&r.get::<_, String>(0)?)
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One data entry, if the viewer may see it.
pub fn data_entry(
    conn: &Connection,
    viewer: &Viewer,
    entry_type: &str,
    entry_id: &str,
) -> Result<Option<DataEntry>, QueryError> {
    let (vis, mut params) = entry_visibility(viewer);
    let mut all = vec![Value::Text(entry_type.into()), Value::Text(entry_id.into())];
    all.append(&mut params);
    let json: Option<String> = conn
        .query_row(
            &format!("SELECT d.data_entry FROM data_entries d WHERE d.entry_type = ? AND d.entry_id = ? AND d.deleted = 0 AND {vis}"),
            params_from_iter(all.iter()),
            |r| r.get(0),
        )
        .optional()?;
    Ok(json.map(|j| parse_entry(&j)).transpose()?)
}

/// Process definitions the viewer may start from the tasklist.
pub fn startable_process_definitions(
    conn: &Connection,
    viewer: &Viewer,
) -> Result<Vec<ProcessDefinition>, QueryError> {
    let (cond, params) = match viewer {
        Viewer::Admin => ("1".to_string(), vec![]),
        Viewer::User { user, groups } => {
            let mut params = vec![Value::Text(user.clone())];
            params.extend(groups.iter().map(|g| Value::Text(g.clone())));
            (
                format!(
                    "id IN (SELECT definition_id FROM process_definition_starters WHERE (kind = 'user' AND principal = ?) OR (kind = 'group' AND principal IN ({})))",
                    if groups.is_empty() { "NULL".to_string() } else { vec!["?"; groups.len()].join(", ") }
                ),
                params,
            )
        }
    };
    let mut stmt = conn.prepare_cached(&format!("SELECT definition FROM process_definitions WHERE startable_from_tasklist = 1 AND {cond} ORDER BY key, version"))?;
    let rows = stmt.query_map(params_from_iter(params.iter()), |r| {
        let json: String = r.get(0)?;
        serde_json::from_str(&json).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A process instance as the view knows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ProcessInstanceSummary {
    pub id: String,
    pub definition_id: String,
    pub definition_key: String,
    pub application_name: String,
    pub business_key: Option<String>,
    pub started_by: Option<String>,
    /// running, suspended, finished or cancelled.
    pub state: String,
}

/// Process instances, optionally in one state (admin).
pub fn process_instances(
    conn: &Connection,
    state: Option<&str>,
    limit: usize,
) -> Result<Vec<ProcessInstanceSummary>, QueryError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id, definition_id, definition_key, application_name, business_key, started_by, state FROM process_instances
         WHERE (?1 IS NULL OR state = ?1) ORDER BY id LIMIT {}",
        limit.min(MAX_PAGE)
    ))?;
    let rows = stmt.query_map([state], |r| {
        Ok(ProcessInstanceSummary {
            id: r.get(0)?,
            definition_id: r.get(1)?,
            definition_key: r.get(2)?,
            application_name: r.get(3)?,
            business_key: r.get(4)?,
            started_by: r.get(5)?,
            state: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The variables of a process instance.
pub fn process_variables(
    conn: &Connection,
    instance_id: &str,
) -> Result<crate::model::Payload, QueryError> {
    let mut stmt = conn.prepare_cached(
        "SELECT name, value FROM process_variables WHERE instance_id = ?1 ORDER BY name",
    )?;
    let rows = stmt.query_map([instance_id], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut vars = crate::model::Payload::new();
    for row in rows {
        let (name, value) = row?;
        vars.insert(
            name,
            serde_json::from_str(&value).unwrap_or(serde_json::Value::Null),
        );
    }
    Ok(vars)
}
