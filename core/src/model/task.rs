use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Correlation, Payload, SourceReference};

/// A user task of a process application, as the task pool knows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Task {
    pub id: String,
    pub source_reference: SourceReference,
    pub task_definition_key: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form_key: Option<String>,
    #[serde(default = "default_priority")]
    pub priority: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    /// Who owns the task (delegated it to the assignee, in Camunda's sense): sees it,
    /// as an assignee does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub candidate_users: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub candidate_groups: BTreeSet<String>,
    pub create_time: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow_up_date: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_key: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = std::collections::HashMap<String, serde_json::Value>))]
    #[cfg_attr(feature = "typescript", ts(type = "Record<string, unknown>"))]
    pub payload: Payload,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub correlations: BTreeSet<Correlation>,
    /// Set by the collector's enricher when process variables were added to the payload.
    #[serde(default)]
    pub enriched: bool,
}

/// The engine default priority (Camunda's).
pub const DEFAULT_PRIORITY: i32 = 50;

fn default_priority() -> i32 {
    DEFAULT_PRIORITY
}
