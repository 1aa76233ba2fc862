//! Commands on a data entry (business data correlated to tasks).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::model::{AuthorizationChange, Correlation, DataEntryState, Modification, Payload};
use crate::tagged::tagged_enum;

/// Creates a data entry, or updates it: all fields are the new values; the modification
/// becomes a protocol entry; authorization changes add and remove users and groups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateOrUpdateDataEntry {
    pub entry_type: String,
    pub entry_id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A human-readable type ("Purchase order"). Named `typeName` in JSON: `type` is the
    /// command's tag (bodies stored before the rename are still read).
    #[serde(rename = "typeName", alias = "type")]
    pub type_name: String,
    pub application_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form_key: Option<String>,
    pub state: DataEntryState,
    #[serde(default)]
    pub payload: Payload,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub correlations: BTreeSet<Correlation>,
    pub modification: Modification,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorization_changes: Vec<AuthorizationChange>,
}

/// Deletes a data entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeleteDataEntry {
    pub entry_type: String,
    pub entry_id: String,
    pub modification: Modification,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<DataEntryState>,
}

/// Replaces a user's name in the protocol (a data-protection request), optionally
/// changing authorizations too (usually removing that user).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AnonymizeDataEntry {
    pub entry_type: String,
    pub entry_id: String,
    /// The name to replace.
    pub user: String,
    /// What to write instead.
    pub replacement: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorization_changes: Vec<AuthorizationChange>,
    pub modification: Modification,
}

tagged_enum! {
    /// Every command addressed to a data entry aggregate.
    pub enum DataEntryCommand {
        CreateOrUpdateDataEntry(CreateOrUpdateDataEntry) = "createOrUpdateDataEntry",
        DeleteDataEntry(DeleteDataEntry) = "deleteDataEntry",
        AnonymizeDataEntry(AnonymizeDataEntry) = "anonymizeDataEntry",
    }
}

impl DataEntryCommand {
    pub fn entry_type(&self) -> &str {
        match self {
            DataEntryCommand::CreateOrUpdateDataEntry(c) => &c.entry_type,
            DataEntryCommand::DeleteDataEntry(c) => &c.entry_type,
            DataEntryCommand::AnonymizeDataEntry(c) => &c.entry_type,
        }
    }

    pub fn entry_id(&self) -> &str {
        match self {
            DataEntryCommand::CreateOrUpdateDataEntry(c) => &c.entry_id,
            DataEntryCommand::DeleteDataEntry(c) => &c.entry_id,
            DataEntryCommand::AnonymizeDataEntry(c) => &c.entry_id,
        }
    }
}
