//! What the window renders besides the task: its form (by its definition and form key),
//! a definition's start form, and the process diagram with where a task stands; each
//! only for a viewer who may see the task or start the process.

use super::*;
use crate::model::Form;

/// A form with where it belongs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct FormDocument {
    pub definition_id: String,
    pub form_key: String,
    /// The Camunda Forms (form-js) schema.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    #[cfg_attr(feature = "typescript", ts(type = "Record<string, unknown>"))]
    pub form: Form,
}

fn form(
    conn: &Connection,
    definition_id: &str,
    form_key: &str,
) -> Result<Option<FormDocument>, QueryError> {
    let json: Option<String> = conn
        .prepare_cached("SELECT form FROM forms WHERE definition_id = ?1 AND form_key = ?2")?
        .query_row([definition_id, form_key], |r| r.get(0))
        .optional()?;
    let Some(json) = json else { return Ok(None) };
    let form = serde_json::from_str(&json).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(Some(FormDocument {
        definition_id: definition_id.to_string(),
        form_key: form_key.to_string(),
        form,
    }))
}

/// The form of task `id` (when the viewer may see the task and its application
/// registered a form under the task's form key).
pub fn task_form(
    conn: &Connection,
    viewer: &Viewer,
    id: &str,
) -> Result<Option<FormDocument>, QueryError> {
    let Some(task) = task_by_id(conn, viewer, id)? else {
        return Ok(None);
    };
    let Some(key) = task.form_key.as_deref() else {
        return Ok(None);
    };
    form(conn, &task.source_reference.definition_id, key)
}

/// The start form of definition `id` (when the viewer may start it and it has one).
pub fn start_form(
    conn: &Connection,
    viewer: &Viewer,
    id: &str,
) -> Result<Option<FormDocument>, QueryError> {
    let Some(definition) = startable_process_definition(conn, viewer, id)? else {
        return Ok(None);
    };
    let Some(key) = definition.start_form_key.as_deref() else {
        return Ok(None);
    };
    form(conn, &definition.id, key)
}

/// A process diagram (BPMN 2.0 XML) and the element a task stands at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Diagram {
    pub definition_id: String,
    /// The BPMN element of the task (its task definition key).
    pub element_id: String,
    pub xml: String,
}

/// The diagram of task `id`'s process (when the viewer may see the task and its
/// application registered one).
pub fn task_diagram(
    conn: &Connection,
    viewer: &Viewer,
    id: &str,
) -> Result<Option<Diagram>, QueryError> {
    let Some(task) = task_by_id(conn, viewer, id)? else {
        return Ok(None);
    };
    let definition_id = task.source_reference.definition_id;
    let xml: Option<String> = conn
        .prepare_cached("SELECT xml FROM diagrams WHERE definition_id = ?1")?
        .query_row([&definition_id], |r| r.get(0))
        .optional()?;
    Ok(xml.map(|xml| Diagram {
        definition_id,
        element_id: task.task_definition_key,
        xml,
    }))
}
