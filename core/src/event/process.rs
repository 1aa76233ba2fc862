//! Events of process definitions and process instances.

use serde::{Deserialize, Serialize};

use crate::command::{
    ChangeProcessVariables, ProcessInstanceTransition, StartAnswer, StartProcessInstance,
};
use crate::model::{Payload, ProcessDefinition};
use crate::tagged::tagged_enum;

/// An end user asked the owning application to start a process of the definition. It
/// changes nothing: the engine starts it and reports back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessStartRequested {
    pub definition_id: String,
    pub user: String,
    /// The owning process application: where the request must go.
    pub application_name: String,
    /// The start form's values.
    #[serde(default)]
    pub values: Payload,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_key: Option<String>,
}

tagged_enum! {
    /// Every event of a process definition aggregate.
    pub enum ProcessDefinitionEvent {
        ProcessDefinitionRegistered(ProcessDefinition) = "ProcessDefinitionRegistered",
        ProcessStartRequested(ProcessStartRequested) = "ProcessStartRequested",
        ProcessStartAnswered(StartAnswer) = "ProcessStartAnswered",
    }
}

/// Process instance events reuse the command bodies: the engine reports facts.
pub type ProcessInstanceStarted = StartProcessInstance;

tagged_enum! {
    /// Every event of a process instance aggregate.
    pub enum ProcessInstanceEvent {
        ProcessInstanceStarted(StartProcessInstance) = "ProcessInstanceStarted",
        ProcessInstanceFinished(ProcessInstanceTransition) = "ProcessInstanceFinished",
        ProcessInstanceCancelled(ProcessInstanceTransition) = "ProcessInstanceCancelled",
        ProcessInstanceSuspended(ProcessInstanceTransition) = "ProcessInstanceSuspended",
        ProcessInstanceResumed(ProcessInstanceTransition) = "ProcessInstanceResumed",
        ProcessVariablesChanged(ChangeProcessVariables) = "ProcessVariablesChanged",
    }
}
