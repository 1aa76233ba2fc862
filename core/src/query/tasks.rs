//! Task queries: the visibility rule in SQL, a page of a query, one task, counts and
//! filter suggestions, and when the clock alone next changes a result.

use super::inbox::inbox_by_due;
use super::visibility::visibility;
use super::*;

/// Every condition of a task query but paging.
pub fn task_conditions(q: &TaskQuery) -> Result<Sql, QueryError> {
    let mut sql = Sql::default();
    visibility(&q.viewer, &mut sql);
    if let (true, Viewer::User { user, .. }) = (q.assigned_to_me, &q.viewer) {
        sql.and("tasks.assignee = ?", [Value::Text(user.clone())]);
    }
    if let (true, Viewer::User { user, .. }) = (q.involvements_only, &q.viewer) {
        sql.and(
            "tasks.rowid IN (SELECT task_rowid FROM task_authorizations WHERE kind = 'user' AND principal = ?)",
            [Value::Text(user.clone())],
        );
    }
    if q.claimable_only {
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
    sql::compile_filter(&q.filter, &q.viewer, &mut sql)?;
    if let Some(search) = q.text.as_deref().and_then(text::Search::parse) {
        sql.and(
            "tasks.id IN (SELECT i.task_id FROM search.indexed_tasks i
                WHERE i.rowid IN (SELECT rowid FROM search.tasks_fts WHERE tasks_fts MATCH ?))",
            [Value::Text(search.fts_query())],
        );
    }
    Ok(sql)
}

pub(super) fn json_value(v: &Value) -> serde_json::Value {
    match v {
        Value::Integer(i) => serde_json::json!(i),
        Value::Real(r) => serde_json::json!(r),
        Value::Text(t) => serde_json::json!(t),
        _ => serde_json::Value::Null,
    }
}

pub(super) fn sql_value(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Number(n) => n
            .as_i64()
            .map(Value::Integer)
            .unwrap_or_else(|| Value::Real(n.as_f64().unwrap_or_default())),
        serde_json::Value::String(s) => Value::Text(s.clone()),
        _ => Value::Null,
    }
}

pub(super) fn parse_task(json: &str) -> rusqlite::Result<Task> {
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
        "SELECT DISTINCT p.path FROM tasks JOIN search.task_payload p ON p.task_id = tasks.id {} ORDER BY p.path LIMIT {}",
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
        "SELECT DISTINCT p.value_text FROM tasks JOIN search.task_payload p ON p.task_id = tasks.id AND p.path = ? {} ORDER BY p.value_text LIMIT {}",
        sql.where_clause(),
        limit.min(MAX_PAGE)
    ))?;
    let rows = stmt.query_map(params_from_iter(params.iter()), |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The open tasks of `application` whose last change is at or before `position` (what
/// a re-sync that began then may find missing from the engine).
pub fn application_task_ids(
    conn: &Connection,
    application: &str,
    position: i64,
) -> Result<Vec<String>, QueryError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM tasks WHERE application_name = ?1 AND position <= ?2 ORDER BY id",
    )?;
    let ids = stmt
        .query_map(rusqlite::params![application, position], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(ids)
}

/// Which of `ids` name tasks the viewer may see now.
pub fn visible_ids(
    conn: &Connection,
    viewer: &Viewer,
    ids: &[String],
) -> Result<std::collections::HashSet<String>, QueryError> {
    let mut found = std::collections::HashSet::new();
    for chunk in ids.chunks(500) {
        let mut sql = Sql::default();
        visibility(viewer, &mut sql);
        sql.and(
            &format!("tasks.id IN ({})", vec!["?"; chunk.len()].join(", ")),
            chunk.iter().map(|id| Value::Text(id.clone())),
        );
        let mut stmt = conn.prepare(&format!(
            "SELECT tasks.id FROM tasks {}",
            sql.where_clause()
        ))?;
        let rows = stmt.query_map(params_from_iter(sql.params.iter()), |r| {
            r.get::<_, String>(0)
        })?;
        for id in rows {
            found.insert(id?);
        }
    }
    Ok(found)
}
