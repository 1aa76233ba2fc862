//! Commands: what process applications and end users ask the task pool to do.
//!
//! A command has exactly one handler (the aggregate it addresses) and an outcome:
//! accepted, or rejected with a [`Rejection`].

mod data_entry;
pub mod limits;
mod parse;
mod process;
mod task;

use serde::{Deserialize, Serialize};

pub use data_entry::{
    AnonymizeDataEntry, CreateOrUpdateDataEntry, DataEntryCommand, DeleteDataEntry,
};
pub use parse::{parse_command, parse_commands, CommandParseError, InputLimits};
pub use process::{
    ChangeProcessVariables, ProcessDefinitionCommand, ProcessInstanceCommand,
    ProcessInstanceTransition, StartAnswer, StartInteraction, StartProcessInstance, VariableChange,
};
pub use task::{
    Answer, AssignInteraction, AssignTask, CandidateGroups, CandidateUsers, CompleteInteraction,
    CompleteTask, DeferInteraction, DeleteTask, InteractionAnswer, TaskCommand,
    UpdateTaskAttributes, UserInteraction,
};

use crate::aggregate::AggregateKind;
use crate::model::DataEntry;

/// Any command the task pool handles. In JSON, a flat object tagged by `type`
/// (`{"type": "claimInteraction", "id": "t-1", "user": "alice"}`).
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Task(TaskCommand),
    DataEntry(DataEntryCommand),
    ProcessDefinition(ProcessDefinitionCommand),
    ProcessInstance(ProcessInstanceCommand),
}

impl Command {
    /// Whether this rejection of this command is acknowledged as ignored instead (the
    /// reference's lenient engine contract): engines resend (retries, restarts,
    /// re-syncs), so an engine's change to a task the pool already completed or deleted,
    /// the start of a process instance the pool already has, or any change to one that
    /// has ended, changes nothing and fails nothing. A user's action is never ignored:
    /// the user is told.
    pub fn ignored_when(&self, rejection: &Rejection) -> bool {
        use RejectionCode as R;
        match self {
            Command::Task(c) if !c.is_interaction() => {
                matches!(rejection.code, R::TaskCompleted | R::TaskDeleted)
            }
            Command::ProcessInstance(_) => matches!(
                rejection.code,
                R::ProcessInstanceAlreadyExists | R::ProcessInstanceEnded
            ),
            _ => false,
        }
    }

    /// The JSON type name (`createTask`, `claimInteraction`, ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            Command::Task(c) => c.type_name(),
            Command::DataEntry(c) => c.type_name(),
            Command::ProcessDefinition(c) => c.type_name(),
            Command::ProcessInstance(c) => c.type_name(),
        }
    }

    /// Which aggregate handles this command.
    pub fn aggregate_kind(&self) -> AggregateKind {
        match self {
            Command::Task(_) => AggregateKind::Task,
            Command::DataEntry(_) => AggregateKind::DataEntry,
            Command::ProcessDefinition(_) => AggregateKind::ProcessDefinition,
            Command::ProcessInstance(_) => AggregateKind::ProcessInstance,
        }
    }

    /// The id of the aggregate that handles this command.
    pub fn aggregate_id(&self) -> String {
        match self {
            Command::Task(c) => c.task_id().to_string(),
            Command::DataEntry(c) => DataEntry::identity(c.entry_type(), c.entry_id()),
            Command::ProcessDefinition(c) => c.definition_id().to_string(),
            Command::ProcessInstance(c) => c.instance_id().to_string(),
        }
    }

    /// The answer that tells a user their request was refused, for a user's request
    /// (an action on a task, a start); `None` for anything else.
    pub fn refusal(&self, request_id: uuid::Uuid, reason: String) -> Option<Command> {
        match self {
            Command::Task(c) if c.is_interaction() => Some(
                TaskCommand::AnswerInteraction(InteractionAnswer {
                    id: c.task_id().to_string(),
                    request_id,
                    answer: Answer::Rejected,
                    reason: Some(reason),
                })
                .into(),
            ),
            Command::ProcessDefinition(ProcessDefinitionCommand::StartProcessInteraction(s)) => {
                Some(
                    ProcessDefinitionCommand::AnswerStart(StartAnswer {
                        definition_id: s.definition_id.clone(),
                        request_id,
                        answer: Answer::Rejected,
                        instance_id: None,
                        reason: Some(reason),
                    })
                    .into(),
                )
            }
            _ => None,
        }
    }

    /// Every JSON type name a command may have.
    pub fn type_names() -> impl Iterator<Item = &'static str> {
        TaskCommand::TYPE_NAMES
            .iter()
            .chain(DataEntryCommand::TYPE_NAMES)
            .chain(ProcessDefinitionCommand::TYPE_NAMES)
            .chain(ProcessInstanceCommand::TYPE_NAMES)
            .copied()
    }

    fn from_body(type_name: &str, body: serde_json::Value) -> Result<Self, String> {
        if TaskCommand::TYPE_NAMES.contains(&type_name) {
            return TaskCommand::from_body(type_name, body)
                .unwrap_or_else(|| Err(unknown(type_name)))
                .map(Command::Task);
        }
        if DataEntryCommand::TYPE_NAMES.contains(&type_name) {
            return DataEntryCommand::from_body(type_name, body)
                .unwrap_or_else(|| Err(unknown(type_name)))
                .map(Command::DataEntry);
        }
        if ProcessDefinitionCommand::TYPE_NAMES.contains(&type_name) {
            return ProcessDefinitionCommand::from_body(type_name, body)
                .unwrap_or_else(|| Err(unknown(type_name)))
                .map(Command::ProcessDefinition);
        }
        ProcessInstanceCommand::from_body(type_name, body)
            .unwrap_or_else(|| Err(unknown(type_name)))
            .map(Command::ProcessInstance)
    }
}

fn unknown(type_name: &str) -> String {
    format!(
        "unknown command type `{type_name}`, expected one of {}",
        Command::type_names().collect::<Vec<_>>().join(", ")
    )
}

impl From<TaskCommand> for Command {
    fn from(c: TaskCommand) -> Self {
        Command::Task(c)
    }
}
impl From<DataEntryCommand> for Command {
    fn from(c: DataEntryCommand) -> Self {
        Command::DataEntry(c)
    }
}
impl From<ProcessDefinitionCommand> for Command {
    fn from(c: ProcessDefinitionCommand) -> Self {
        Command::ProcessDefinition(c)
    }
}
impl From<ProcessInstanceCommand> for Command {
    fn from(c: ProcessInstanceCommand) -> Self {
        Command::ProcessInstance(c)
    }
}

impl Serialize for Command {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Command::Task(c) => c.serialize(serializer),
            Command::DataEntry(c) => c.serialize(serializer),
            Command::ProcessDefinition(c) => c.serialize(serializer),
            Command::ProcessInstance(c) => c.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Command {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        let (type_name, body) =
            crate::tagged::split_tag(value).map_err(serde::de::Error::custom)?;
        Command::from_body(&type_name, body).map_err(serde::de::Error::custom)
    }
}

/// Why a command was rejected: a stable code and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Rejection {
    pub code: RejectionCode,
    pub message: String,
}

impl Rejection {
    pub fn new(code: RejectionCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

/// The stable codes of command rejections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RejectionCode {
    /// The command itself is malformed (an empty id, a missing value).
    InvalidCommand,
    TaskNotFound,
    /// No longer given (a create for a task the pool has updates it); kept so that
    /// outcomes stored by earlier versions still read.
    TaskAlreadyExists,
    TaskCompleted,
    TaskDeleted,
    /// A claim or completion by a user while someone else holds the task.
    TaskAssignedToOtherUser,
    /// An unclaim by a user who does not hold the task.
    TaskNotAssignedToUser,
    DataEntryNotFound,
    DataEntryDeleted,
    ProcessDefinitionNotFound,
    /// A start from the tasklist of a definition that does not allow it.
    ProcessDefinitionNotStartable,
    ProcessInstanceNotFound,
    ProcessInstanceAlreadyExists,
    ProcessInstanceEnded,
    ProcessVariableAlreadyExists,
    ProcessVariableNotFound,
    /// In an atomic batch: this command was fine, but another one was rejected.
    BatchRejected,
    /// The sender gave up (for example, the gateway could not be reached in time).
    SendFailed,
    /// A process application addressed an aggregate of another application.
    ForeignApplication,
}

impl RejectionCode {
    pub fn as_str(&self) -> &'static str {
        match self {
            RejectionCode::InvalidCommand => "INVALID_COMMAND",
            RejectionCode::TaskNotFound => "TASK_NOT_FOUND",
            RejectionCode::TaskAlreadyExists => "TASK_ALREADY_EXISTS",
            RejectionCode::TaskCompleted => "TASK_COMPLETED",
            RejectionCode::TaskDeleted => "TASK_DELETED",
            RejectionCode::TaskAssignedToOtherUser => "TASK_ASSIGNED_TO_OTHER_USER",
            RejectionCode::TaskNotAssignedToUser => "TASK_NOT_ASSIGNED_TO_USER",
            RejectionCode::DataEntryNotFound => "DATA_ENTRY_NOT_FOUND",
            RejectionCode::DataEntryDeleted => "DATA_ENTRY_DELETED",
            RejectionCode::ProcessDefinitionNotFound => "PROCESS_DEFINITION_NOT_FOUND",
            RejectionCode::ProcessDefinitionNotStartable => "PROCESS_DEFINITION_NOT_STARTABLE",
            RejectionCode::ProcessInstanceNotFound => "PROCESS_INSTANCE_NOT_FOUND",
            RejectionCode::ProcessInstanceAlreadyExists => "PROCESS_INSTANCE_ALREADY_EXISTS",
            RejectionCode::ProcessInstanceEnded => "PROCESS_INSTANCE_ENDED",
            RejectionCode::ProcessVariableAlreadyExists => "PROCESS_VARIABLE_ALREADY_EXISTS",
            RejectionCode::ProcessVariableNotFound => "PROCESS_VARIABLE_NOT_FOUND",
            RejectionCode::BatchRejected => "BATCH_REJECTED",
            RejectionCode::SendFailed => "SEND_FAILED",
            RejectionCode::ForeignApplication => "FOREIGN_APPLICATION",
        }
    }
}
