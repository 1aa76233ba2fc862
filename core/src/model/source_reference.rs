use serde::{Deserialize, Serialize};

/// What kind of engine artefact a task belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum SourceReferenceKind {
    /// A BPMN process instance.
    Process,
    /// A CMMN case instance.
    Case,
    /// Anything else (a task not created by an engine).
    Generic,
}

/// Where a task comes from: the process (or case) instance in the engine of one
/// process application. `application_name` addresses the owning application, which is
/// how interaction events find their way back to the engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SourceReference {
    pub kind: SourceReferenceKind,
    pub instance_id: String,
    pub execution_id: String,
    pub definition_id: String,
    pub definition_key: String,
    pub name: String,
    pub application_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
}

/// A reference from a task or data entry to a data entry: its type and id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Correlation {
    pub entry_type: String,
    pub entry_id: String,
}

impl Correlation {
    pub fn new(entry_type: impl Into<String>, entry_id: impl Into<String>) -> Self {
        Self {
            entry_type: entry_type.into(),
            entry_id: entry_id.into(),
        }
    }
}
