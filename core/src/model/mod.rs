//! The domain model, field for field with the reference system (Polyflow):
//! tasks, data entries (business data) and process definitions.
//!
//! Names are snake_case in Rust and camelCase in JSON.

mod data_entry;
mod process_definition;
mod source_reference;
mod task;

pub use data_entry::{
    AuthorizationChange, DataEntry, DataEntryState, Modification, ProcessingType, ProtocolEntry,
};
pub use process_definition::{Form, ProcessDefinition};
pub use source_reference::{Correlation, SourceReference, SourceReferenceKind};
pub use task::Task;

/// A JSON object: the payload of tasks and data entries.
pub type Payload = serde_json::Map<String, serde_json::Value>;
