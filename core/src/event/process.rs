//! Events of process definitions and process instances.

use crate::command::{ChangeProcessVariables, ProcessInstanceTransition, StartProcessInstance};
use crate::model::ProcessDefinition;
use crate::tagged::tagged_enum;

tagged_enum! {
    /// Every event of a process definition aggregate.
    pub enum ProcessDefinitionEvent {
        ProcessDefinitionRegistered(ProcessDefinition) = "ProcessDefinitionRegistered",
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
