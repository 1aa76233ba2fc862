use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

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
}
