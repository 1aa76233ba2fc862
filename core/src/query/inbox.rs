//! The inbox fast path: the first page by due date as a merge of the user's
//! due-ordered authorization ranges, stopping after the page.

use super::*;

/// The inbox as most users see it (no filter, no text, by due date, offset paging):
/// a merge of the user's few authorization ranges, each already ordered by due date,
/// that stops after the page. `None` when the query is not of that shape.
pub(super) fn inbox_by_due(
    conn: &Connection,
    q: &TaskQuery,
) -> Result<Option<TaskPage>, QueryError> {
    let Viewer::User { user, groups } = &q.viewer else {
        return Ok(None);
    };
    let Paging::Offset { offset, limit } = q.paging else {
        return Ok(None);
    };
    let plain = q.filter.clauses.is_empty()
        && q.text.as_deref().and_then(text::Search::parse).is_none()
        && !q.assigned_to_me
        && !q.claimable_only
        && !q.involvements_only
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
