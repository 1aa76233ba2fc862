//! Commands on a task: engine commands (the process application reports what its engine
//! did) and interaction commands (an end user asks the owning engine to do something).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{Correlation, Payload, Task};
use crate::patch::Patch;
use crate::tagged::tagged_enum;

/// Changes the assignee (`None`: unassigned).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssignTask {
    pub id: String,
    #[serde(default)]
    pub assignee: Option<String>,
}

/// Updates task attributes. Absent fields stay, `null` clears, a value sets.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateTaskAttributes {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Patch::is_unchanged")]
    pub description: Patch<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    #[serde(default, skip_serializing_if = "Patch::is_unchanged")]
    pub due_date: Patch<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Patch::is_unchanged")]
    pub follow_up_date: Patch<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Patch::is_unchanged")]
    pub business_key: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_unchanged")]
    pub form_key: Patch<String>,
    /// The task's owner (delegation).
    #[serde(default, skip_serializing_if = "Patch::is_unchanged")]
    pub owner: Patch<String>,
    /// Replaces the whole payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Payload>,
    /// Replaces all correlations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlations: Option<BTreeSet<Correlation>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enriched: Option<bool>,
}

impl UpdateTaskAttributes {
    /// True when the update says nothing at all.
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.description.is_unchanged()
            && self.priority.is_none()
            && self.due_date.is_unchanged()
            && self.follow_up_date.is_unchanged()
            && self.business_key.is_unchanged()
            && self.form_key.is_unchanged()
            && self.owner.is_unchanged()
            && self.payload.is_none()
            && self.correlations.is_none()
            && self.enriched.is_none()
    }

    /// Merges a later update onto this one: where both say something, the later wins.
    pub fn merge(self, later: UpdateTaskAttributes) -> UpdateTaskAttributes {
        UpdateTaskAttributes {
            id: later.id,
            name: later.name.or(self.name),
            description: self.description.then(later.description),
            priority: later.priority.or(self.priority),
            due_date: self.due_date.then(later.due_date),
            follow_up_date: self.follow_up_date.then(later.follow_up_date),
            business_key: self.business_key.then(later.business_key),
            form_key: self.form_key.then(later.form_key),
            owner: self.owner.then(later.owner),
            payload: later.payload.or(self.payload),
            correlations: later.correlations.or(self.correlations),
            enriched: later.enriched.or(self.enriched),
        }
    }

    /// Applies this update to a task (used when a create absorbs an update).
    pub fn apply_to(&self, task: &mut Task) {
        if let Some(name) = &self.name {
            task.name = name.clone();
        }
        task.description = self.description.apply_to(&task.description);
        if let Some(p) = self.priority {
            task.priority = p;
        }
        task.due_date = self.due_date.apply_to(&task.due_date);
        task.follow_up_date = self.follow_up_date.apply_to(&task.follow_up_date);
        task.business_key = self.business_key.apply_to(&task.business_key);
        task.form_key = self.form_key.apply_to(&task.form_key);
        task.owner = self.owner.apply_to(&task.owner);
        if let Some(p) = &self.payload {
            task.payload = p.clone();
        }
        if let Some(c) = &self.correlations {
            task.correlations = c.clone();
        }
        if let Some(e) = self.enriched {
            task.enriched = e;
        }
    }
}

/// Adds or deletes candidate users.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CandidateUsers {
    pub id: String,
    pub users: BTreeSet<String>,
}

/// Adds or deletes candidate groups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CandidateGroups {
    pub id: String,
    pub groups: BTreeSet<String>,
}

/// The engine completed the task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CompleteTask {
    pub id: String,
    /// Who completed it (an assign in the same engine transaction is absorbed here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
}

/// The engine deleted the task (for example, its process instance was cancelled).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeleteTask {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_reason: Option<String>,
}

/// An end user's interaction without arguments (claim, unclaim, undefer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserInteraction {
    pub id: String,
    pub user: String,
}

/// What the owning process application answers to a user's request: its engine
/// performed it (sent with the engine events it caused), or refused it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Answer {
    Performed,
    Rejected,
}

/// The answer to one request (the request id is the id of the user's command, the
/// causation id of its `Task*Requested` event).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InteractionAnswer {
    /// The task.
    pub id: String,
    pub request_id: uuid::Uuid,
    pub answer: Answer,
    /// Why it was rejected (the engine's reason, for the user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// An end user asks to complete the task with these result values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CompleteInteraction {
    pub id: String,
    pub user: String,
    #[serde(default)]
    pub payload: Payload,
}

/// An end user defers the task until a follow-up date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeferInteraction {
    pub id: String,
    pub user: String,
    pub follow_up_date: DateTime<Utc>,
}

/// An end user asks to give their task to another user (delegation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssignInteraction {
    pub id: String,
    pub user: String,
    pub assignee: String,
}

tagged_enum! {
    /// Every command addressed to a task aggregate.
    pub enum TaskCommand {
        CreateTask(Task) = "createTask",
        AssignTask(AssignTask) = "assignTask",
        UpdateTaskAttributes(UpdateTaskAttributes) = "updateTaskAttributes",
        AddCandidateUsers(CandidateUsers) = "addCandidateUsers",
        DeleteCandidateUsers(CandidateUsers) = "deleteCandidateUsers",
        AddCandidateGroups(CandidateGroups) = "addCandidateGroups",
        DeleteCandidateGroups(CandidateGroups) = "deleteCandidateGroups",
        CompleteTask(CompleteTask) = "completeTask",
        DeleteTask(DeleteTask) = "deleteTask",
        ClaimInteraction(UserInteraction) = "claimInteraction",
        UnclaimInteraction(UserInteraction) = "unclaimInteraction",
        CompleteInteraction(CompleteInteraction) = "completeInteraction",
        DeferInteraction(DeferInteraction) = "deferInteraction",
        UndeferInteraction(UserInteraction) = "undeferInteraction",
        AssignInteraction(AssignInteraction) = "assignInteraction",
        /// The owning application answers a user's request.
        AnswerInteraction(InteractionAnswer) = "answerInteraction",
    }
}

impl TaskCommand {
    /// The id of the task this command addresses.
    pub fn task_id(&self) -> &str {
        match self {
            TaskCommand::CreateTask(t) => &t.id,
            TaskCommand::AssignTask(c) => &c.id,
            TaskCommand::UpdateTaskAttributes(c) => &c.id,
            TaskCommand::AddCandidateUsers(c) | TaskCommand::DeleteCandidateUsers(c) => &c.id,
            TaskCommand::AddCandidateGroups(c) | TaskCommand::DeleteCandidateGroups(c) => &c.id,
            TaskCommand::CompleteTask(c) => &c.id,
            TaskCommand::DeleteTask(c) => &c.id,
            TaskCommand::ClaimInteraction(c)
            | TaskCommand::UnclaimInteraction(c)
            | TaskCommand::UndeferInteraction(c) => &c.id,
            TaskCommand::CompleteInteraction(c) => &c.id,
            TaskCommand::DeferInteraction(c) => &c.id,
            TaskCommand::AssignInteraction(c) => &c.id,
            TaskCommand::AnswerInteraction(c) => &c.id,
        }
    }

    /// True for commands from end users (as opposed to engine commands).
    pub fn is_interaction(&self) -> bool {
        matches!(
            self,
            TaskCommand::ClaimInteraction(_)
                | TaskCommand::UnclaimInteraction(_)
                | TaskCommand::CompleteInteraction(_)
                | TaskCommand::DeferInteraction(_)
                | TaskCommand::UndeferInteraction(_)
                | TaskCommand::AssignInteraction(_)
        )
    }
}
