//! What a process engine reports inside one of its transactions. Engine adapters
//! translate their engine's own events into these.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use taskpool_core::command::UpdateTaskAttributes;
use taskpool_core::model::{ProcessDefinition, Task};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum EngineEvent {
    TaskCreated {
        task: Box<Task>,
    },
    TaskAssigned {
        task_id: String,
        assignee: Option<String>,
    },
    CandidateUsersAdded {
        task_id: String,
        users: BTreeSet<String>,
    },
    CandidateUsersRemoved {
        task_id: String,
        users: BTreeSet<String>,
    },
    CandidateGroupsAdded {
        task_id: String,
        groups: BTreeSet<String>,
    },
    CandidateGroupsRemoved {
        task_id: String,
        groups: BTreeSet<String>,
    },
    TaskAttributesUpdated {
        update: UpdateTaskAttributes,
    },
    TaskCompleted {
        task_id: String,
    },
    TaskDeleted {
        task_id: String,
        reason: Option<String>,
    },
    VariableCreated {
        instance_id: String,
        name: String,
        value: serde_json::Value,
    },
    VariableUpdated {
        instance_id: String,
        name: String,
        value: serde_json::Value,
    },
    VariableDeleted {
        instance_id: String,
        name: String,
    },
    ProcessStarted {
        instance_id: String,
        definition_id: String,
        definition_key: String,
        application_name: String,
        business_key: Option<String>,
        started_by: Option<String>,
    },
    ProcessEnded {
        instance_id: String,
        cancelled: bool,
        reason: Option<String>,
    },
    ProcessDefinitionDeployed {
        definition: ProcessDefinition,
    },
}
