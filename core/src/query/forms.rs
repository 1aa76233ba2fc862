//! The forms the window renders: a task's form (by its definition and form key) and a
//! definition's start form, each only for a viewer who may see the task or start the
//! process.

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
