//! The history: tasks completed within the node's history retention that the viewer
//! could see when they were completed (as for open tasks: assignee, owner, candidate
//! users and groups), newest first.

use super::*;

/// A completed task: as it was when completed, by whom and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct CompletedTask {
    pub task: Task,
    pub completed_at: DateTime<Utc>,
    #[cfg_attr(feature = "typescript", ts(optional))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_by: Option<String>,
}

/// A page of completed tasks and how many there are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct CompletedPage {
    pub tasks: Vec<CompletedTask>,
    pub total: u64,
}

/// Who may see a completed task, as a condition on `completed_tasks`.
fn visible(viewer: &Viewer) -> (String, Vec<Value>) {
    match viewer {
        Viewer::Admin => ("1".into(), vec![]),
        Viewer::User { user, groups } => {
            let mut params = vec![Value::Text(user.clone())];
            params.extend(groups.iter().map(|g| Value::Text(g.clone())));
            let groups = if groups.is_empty() {
                "NULL".to_string()
            } else {
                vec!["?"; groups.len()].join(", ")
            };
            (
                format!("c.task_id IN (SELECT task_id FROM completed_task_principals WHERE (kind = 'user' AND principal = ?) OR (kind = 'group' AND principal IN ({groups})))"),
                params,
            )
        }
    }
}

fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<CompletedTask> {
    let at: String = r.get(0)?;
    let json: String = r.get(2)?;
    let conversion = |e: Box<dyn std::error::Error + Send + Sync>| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e)
    };
    Ok(CompletedTask {
        completed_at: DateTime::parse_from_rfc3339(&at)
            .map_err(|e| conversion(Box::new(e)))?
            .with_timezone(&Utc),
        completed_by: r.get(1)?,
        task: serde_json::from_str(&json).map_err(|e| conversion(Box::new(e)))?,
    })
}

/// The viewer's completed tasks, newest first.
pub fn completed_tasks(
    conn: &Connection,
    viewer: &Viewer,
    offset: usize,
    limit: usize,
) -> Result<CompletedPage, QueryError> {
    let (cond, mut params) = visible(viewer);
    let total: i64 = conn.query_row(
        &format!("SELECT count(*) FROM completed_tasks c WHERE {cond}"),
        params_from_iter(params.iter()),
        |r| r.get(0),
    )?;
    params.push(Value::Integer(limit.clamp(1, MAX_PAGE) as i64));
    params.push(Value::Integer(i64::try_from(offset).unwrap_or(i64::MAX)));
    let tasks = conn
        .prepare_cached(&format!(
            "SELECT c.completed_at, c.completed_by, c.task FROM completed_tasks c WHERE {cond}
             ORDER BY c.completed_at DESC, c.task_id LIMIT ? OFFSET ?"
        ))?
        .query_map(params_from_iter(params.iter()), read)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(CompletedPage {
        tasks,
        total: u64::try_from(total).unwrap_or(0),
    })
}

/// A completed task the viewer could see, if the history still has it.
pub fn completed_task(
    conn: &Connection,
    viewer: &Viewer,
    id: &str,
) -> Result<Option<CompletedTask>, QueryError> {
    let (cond, mut params) = visible(viewer);
    params.push(Value::Text(id.to_string()));
    Ok(conn
        .prepare_cached(&format!(
            "SELECT c.completed_at, c.completed_by, c.task FROM completed_tasks c WHERE {cond} AND c.task_id = ?"
        ))?
        .query_row(params_from_iter(params.iter()), read)
        .optional()?)
}

/// One entry of a task's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    /// `created`, `assigned`, `unassigned`, `updated`, `deferred`, `undeferred`,
    /// `candidatesChanged`, `requested` (a user's action; `detail` names it), `performed`
    /// / `rejected` (the application's answer; `detail`: why), `completed`, `deleted`.
    pub kind: String,
    /// Who (the acting user, when one acted).
    #[cfg_attr(feature = "typescript", ts(optional))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[cfg_attr(feature = "typescript", ts(optional))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The timeline of a task the viewer may see (open, or completed and in the history),
/// oldest first; `None` when the viewer may not see it.
pub fn task_timeline(
    conn: &Connection,
    viewer: &Viewer,
    id: &str,
) -> Result<Option<Vec<TimelineEntry>>, QueryError> {
    if task_by_id(conn, viewer, id)?.is_none() && completed_task(conn, viewer, id)?.is_none() {
        return Ok(None);
    }
    let rows = conn
        .prepare_cached(
            "SELECT at, kind, user_name, detail FROM task_timeline WHERE task_id = ?1 ORDER BY version",
        )?
        .query_map([id], |r| {
            let at: String = r.get(0)?;
            Ok(TimelineEntry {
                at: DateTime::parse_from_rfc3339(&at)
                    .map(|t| t.with_timezone(&Utc))
                    .unwrap_or_default(),
                kind: r.get(1)?,
                user: r.get(2)?,
                detail: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Some(rows))
}
