//! Events of a data entry.

use serde::{Deserialize, Serialize};

use crate::model::{AuthorizationChange, DataEntry, ProtocolEntry};
use crate::tagged::tagged_enum;

/// A data entry was created or updated. Carries the whole new state (its protocol holds
/// only the protocol entry this change appended), so a projection can apply it alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataEntryChanged {
    pub data_entry: DataEntry,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataEntryDeleted {
    pub entry_type: String,
    pub entry_id: String,
    pub protocol_entry: ProtocolEntry,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataEntryAnonymized {
    pub entry_type: String,
    pub entry_id: String,
    pub user: String,
    pub replacement: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorization_changes: Vec<AuthorizationChange>,
    pub protocol_entry: ProtocolEntry,
}

tagged_enum! {
    /// Every event of a data entry aggregate.
    pub enum DataEntryEvent {
        DataEntryCreated(DataEntryChanged) = "DataEntryCreated",
        DataEntryUpdated(DataEntryChanged) = "DataEntryUpdated",
        DataEntryDeleted(DataEntryDeleted) = "DataEntryDeleted",
        DataEntryAnonymized(DataEntryAnonymized) = "DataEntryAnonymized",
    }
}
