//! Commands on process definitions and process instances.

use serde::{Deserialize, Serialize};

use super::Answer;
use crate::model::{Payload, ProcessDefinition};
use crate::tagged::tagged_enum;

/// An end user asks the owning application to start a process of this definition with
/// the start form's values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StartInteraction {
    pub definition_id: String,
    pub user: String,
    #[serde(default)]
    pub values: Payload,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_key: Option<String>,
}

/// The owning application's answer to a start request (the request id is the id of the
/// user's command): started (with the new instance's id), or refused with why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StartAnswer {
    pub definition_id: String,
    pub request_id: uuid::Uuid,
    pub answer: Answer,
    /// The process instance the engine started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    /// Why it was rejected (the engine's reason, for the user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

tagged_enum! {
    /// Every command addressed to a process definition aggregate.
    pub enum ProcessDefinitionCommand {
        RegisterProcessDefinition(ProcessDefinition) = "registerProcessDefinition",
        StartProcessInteraction(StartInteraction) = "startProcessInteraction",
        AnswerStart(StartAnswer) = "answerStart",
    }
}

impl ProcessDefinitionCommand {
    pub fn definition_id(&self) -> &str {
        match self {
            ProcessDefinitionCommand::RegisterProcessDefinition(d) => &d.id,
            ProcessDefinitionCommand::StartProcessInteraction(s) => &s.definition_id,
            ProcessDefinitionCommand::AnswerStart(a) => &a.definition_id,
        }
    }
}

/// A process instance was started in the engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StartProcessInstance {
    pub instance_id: String,
    pub definition_id: String,
    pub definition_key: String,
    pub application_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_by: Option<String>,
}

/// A process instance ended (finished or cancelled) or changed suspension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProcessInstanceTransition {
    pub instance_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One process variable change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase", deny_unknown_fields)]
pub enum VariableChange {
    Create {
        name: String,
        value: serde_json::Value,
    },
    Update {
        name: String,
        value: serde_json::Value,
    },
    Delete {
        name: String,
    },
}

impl VariableChange {
    pub fn name(&self) -> &str {
        match self {
            VariableChange::Create { name, .. }
            | VariableChange::Update { name, .. }
            | VariableChange::Delete { name } => name,
        }
    }
}

/// Process variables of one instance changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangeProcessVariables {
    pub instance_id: String,
    pub changes: Vec<VariableChange>,
}

tagged_enum! {
    /// Every command addressed to a process instance aggregate.
    pub enum ProcessInstanceCommand {
        StartProcessInstance(StartProcessInstance) = "startProcessInstance",
        FinishProcessInstance(ProcessInstanceTransition) = "finishProcessInstance",
        CancelProcessInstance(ProcessInstanceTransition) = "cancelProcessInstance",
        SuspendProcessInstance(ProcessInstanceTransition) = "suspendProcessInstance",
        ResumeProcessInstance(ProcessInstanceTransition) = "resumeProcessInstance",
        ChangeProcessVariables(ChangeProcessVariables) = "changeProcessVariables",
    }
}

impl ProcessInstanceCommand {
    pub fn instance_id(&self) -> &str {
        match self {
            ProcessInstanceCommand::StartProcessInstance(c) => &c.instance_id,
            ProcessInstanceCommand::FinishProcessInstance(c)
            | ProcessInstanceCommand::CancelProcessInstance(c)
            | ProcessInstanceCommand::SuspendProcessInstance(c)
            | ProcessInstanceCommand::ResumeProcessInstance(c) => &c.instance_id,
            ProcessInstanceCommand::ChangeProcessVariables(c) => &c.instance_id,
        }
    }
}
