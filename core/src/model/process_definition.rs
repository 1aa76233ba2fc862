use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// A form as the bpmn.io form-js library reads it (Camunda Forms JSON): an object with
/// its `components`; the window renders it with the form-js viewer.
pub type Form = serde_json::Map<String, serde_json::Value>;

/// A deployed process definition of a process application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProcessDefinition {
    pub id: String,
    pub key: String,
    pub version: i32,
    pub application_name: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_form_key: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub candidate_starter_users: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub candidate_starter_groups: BTreeSet<String>,
    #[serde(default)]
    pub startable_from_tasklist: bool,
    /// The definition's forms by form key (its user tasks' `formKey`s and the
    /// `startFormKey`), versioned with it. Kept in the view beside the definition, not in
    /// the definitions' list.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<BTreeMap<String, Object>>))]
    #[cfg_attr(
        feature = "typescript",
        ts(optional, type = "Record<string, Record<string, unknown>>")
    )]
    pub forms: BTreeMap<String, Form>,
    /// The process model as BPMN 2.0 XML with its diagram (what the Camunda Modeler
    /// saves): the window draws it and marks where a task stands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub diagram: Option<String>,
}

impl ProcessDefinition {
    /// The definition without its forms and diagram (as the definitions' list shows
    /// it).
    pub fn without_forms(&self) -> Self {
        Self {
            forms: BTreeMap::new(),
            diagram: None,
            ..self.clone()
        }
    }
}
