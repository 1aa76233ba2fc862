//! Data entry queries with their authorization rule.

use super::*;

pub(super) fn parse_entry(json: &str) -> rusqlite::Result<DataEntry> {
    serde_json::from_str(json).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

pub(super) fn entry_visibility(viewer: &Viewer) -> (String, Vec<Value>) {
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

/// The data entries correlated with `task` (by its own correlations) that are not
/// deleted and that `viewer` may read, with the fields `data.*` clauses compare: what a
/// live subscription judges a `data.*` clause on.
pub fn correlated_entries(
    conn: &Connection,
    viewer: &Viewer,
    task: &Task,
) -> Result<Vec<CorrelatedEntry>, QueryError> {
    let (readable, readable_params) = entry_visibility(viewer);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT d.entry_type, d.entry_id, d.name, d.type_name, d.application_name, d.state, d.processing_type
         FROM data_entries d WHERE d.entry_type = ? AND d.entry_id = ? AND d.deleted = 0 AND {readable}"
    ))?;
    let mut found = Vec::new();
    for c in &task.correlations {
        let mut params = vec![
            Value::Text(c.entry_type.clone()),
            Value::Text(c.entry_id.clone()),
        ];
        params.extend(readable_params.iter().cloned());
        let entry = stmt
            .query_row(params_from_iter(params.iter()), |r| {
                Ok(CorrelatedEntry {
                    entry_type: r.get(0)?,
                    entry_id: r.get(1)?,
                    name: r.get(2)?,
                    type_name: r.get(3)?,
                    application_name: r.get(4)?,
                    state: r.get(5)?,
                    processing_type: r.get(6)?,
                })
            })
            .optional()?;
        found.extend(entry);
    }
    Ok(found)
}
