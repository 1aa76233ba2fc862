//! Process definitions a user may start, process instances and their variables.

use super::*;

/// Process definitions the viewer may start from the tasklist.
pub fn startable_process_definitions(
    conn: &Connection,
    viewer: &Viewer,
) -> Result<Vec<ProcessDefinition>, QueryError> {
    startable(conn, viewer, None)
}

/// The definition `id` if the viewer may start it from the tasklist.
pub fn startable_process_definition(
    conn: &Connection,
    viewer: &Viewer,
    id: &str,
) -> Result<Option<ProcessDefinition>, QueryError> {
    Ok(startable(conn, viewer, Some(id))?.into_iter().next())
}

fn startable(
    conn: &Connection,
    viewer: &Viewer,
    id: Option<&str>,
) -> Result<Vec<ProcessDefinition>, QueryError> {
    let (mut cond, mut params) = match viewer {
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
    if let Some(id) = id {
        cond.push_str(" AND id = ?");
        params.push(Value::Text(id.to_string()));
    }
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
