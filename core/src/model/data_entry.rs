use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Correlation, Payload};

/// The processing type of a data entry's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProcessingType {
    Preliminary,
    InProgress,
    Completed,
    Cancelled,
    Undefined,
}

/// A data entry's state: its processing type plus a free, business-specific name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DataEntryState {
    pub processing_type: ProcessingType,
    pub state: String,
}

impl DataEntryState {
    pub fn new(processing_type: ProcessingType, state: impl Into<String>) -> Self {
        Self {
            processing_type,
            state: state.into(),
        }
    }

    pub fn undefined() -> Self {
        Self::new(ProcessingType::Undefined, "")
    }
}

/// Who changed a data entry, when, and why; becomes a protocol entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Modification {
    pub time: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_notes: Option<String>,
}

/// One line of a data entry's append-only protocol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProtocolEntry {
    pub time: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    pub state: DataEntryState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_notes: Option<String>,
}

/// A change of who may see a data entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "camelCase")]
pub enum AuthorizationChange {
    AddUser(String),
    RemoveUser(String),
    AddGroup(String),
    RemoveGroup(String),
}

/// A business object (an order, a request, an incident) that tasks correlate to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DataEntry {
    pub entry_type: String,
    pub entry_id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A human-readable type ("Purchase order"), as opposed to the technical `entry_type`.
    #[serde(rename = "type")]
    pub type_name: String,
    pub application_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form_key: Option<String>,
    pub state: DataEntryState,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = std::collections::HashMap<String, serde_json::Value>))]
    #[cfg_attr(feature = "typescript", ts(type = "Record<string, unknown>"))]
    pub payload: Payload,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub authorized_users: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub authorized_groups: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub correlations: BTreeSet<Correlation>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub protocol: Vec<ProtocolEntry>,
}

impl DataEntry {
    /// The aggregate id of a data entry: its type and id.
    pub fn identity(entry_type: &str, entry_id: &str) -> String {
        format!("{entry_type}:{entry_id}")
    }

    pub fn apply_authorization_changes(&mut self, changes: &[AuthorizationChange]) {
        for change in changes {
            match change {
                AuthorizationChange::AddUser(u) => {
                    self.authorized_users.insert(u.clone());
                }
                AuthorizationChange::RemoveUser(u) => {
                    self.authorized_users.remove(u);
                }
                AuthorizationChange::AddGroup(g) => {
                    self.authorized_groups.insert(g.clone());
                }
                AuthorizationChange::RemoveGroup(g) => {
                    self.authorized_groups.remove(g);
                }
            }
        }
    }
}
