//! Events of a task: engine facts and interaction requests.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::command::{InteractionAnswer, UpdateTaskAttributes};
use crate::model::{Payload, Task};
use crate::tagged::tagged_enum;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskAssigned {
    pub id: String,
    pub assignee: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskCandidateUsersChanged {
    pub id: String,
    pub users: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskCandidateGroupsChanged {
    pub id: String,
    pub groups: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskCompleted {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskDeleted {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_reason: Option<String>,
}

/// An end user asked the owning process application to act on a task. These events do
/// not change the task: the engine acts, and reports back through engine commands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskInteractionRequested {
    pub id: String,
    pub user: String,
    /// The owning process application: where the request must go.
    pub application_name: String,
    /// Result values (completion only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Payload>,
    /// Until when (deferral only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow_up_date: Option<DateTime<Utc>>,
    /// To whom (reassignment only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
}

tagged_enum! {
    /// Every event of a task aggregate.
    pub enum TaskEvent {
        TaskCreated(Task) = "TaskCreated",
        TaskAssigned(TaskAssigned) = "TaskAssigned",
        /// Only the attributes that actually changed.
        TaskAttributesUpdated(UpdateTaskAttributes) = "TaskAttributesUpdated",
        TaskCandidateUsersAdded(TaskCandidateUsersChanged) = "TaskCandidateUsersAdded",
        TaskCandidateUsersDeleted(TaskCandidateUsersChanged) = "TaskCandidateUsersDeleted",
        TaskCandidateGroupsAdded(TaskCandidateGroupsChanged) = "TaskCandidateGroupsAdded",
        TaskCandidateGroupsDeleted(TaskCandidateGroupsChanged) = "TaskCandidateGroupsDeleted",
        TaskCompleted(TaskCompleted) = "TaskCompleted",
        TaskDeleted(TaskDeleted) = "TaskDeleted",
        TaskClaimRequested(TaskInteractionRequested) = "TaskClaimRequested",
        TaskUnclaimRequested(TaskInteractionRequested) = "TaskUnclaimRequested",
        TaskCompleteRequested(TaskInteractionRequested) = "TaskCompleteRequested",
        TaskDeferRequested(TaskInteractionRequested) = "TaskDeferRequested",
        TaskAssignRequested(TaskInteractionRequested) = "TaskAssignRequested",
        TaskUndeferRequested(TaskInteractionRequested) = "TaskUndeferRequested",
        /// The owning application performed or refused a request; does not change the
        /// task (the engine events it caused do).
        TaskInteractionAnswered(InteractionAnswer) = "TaskInteractionAnswered",
    }
}

impl TaskEvent {
    /// The request's action (`claim`, …) when this event is a user's request.
    pub fn requested_action(&self) -> Option<&'static str> {
        Some(match self {
            TaskEvent::TaskClaimRequested(_) => "claim",
            TaskEvent::TaskUnclaimRequested(_) => "unclaim",
            TaskEvent::TaskCompleteRequested(_) => "complete",
            TaskEvent::TaskDeferRequested(_) => "defer",
            TaskEvent::TaskAssignRequested(_) => "assign",
            TaskEvent::TaskUndeferRequested(_) => "undefer",
            _ => return None,
        })
    }

    /// True for interaction requests addressed to the owning process application.
    pub fn is_interaction(&self) -> bool {
        self.interaction().is_some()
    }

    /// The interaction request this event carries, if it is one.
    pub fn interaction(&self) -> Option<&TaskInteractionRequested> {
        match self {
            TaskEvent::TaskClaimRequested(r)
            | TaskEvent::TaskUnclaimRequested(r)
            | TaskEvent::TaskCompleteRequested(r)
            | TaskEvent::TaskDeferRequested(r)
            | TaskEvent::TaskAssignRequested(r)
            | TaskEvent::TaskUndeferRequested(r) => Some(r),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::Answer;

    /// What is stored must read back: a body that serializes but does not decode
    /// stops every reader of the store at that event.
    #[test]
    fn every_kind_of_task_event_reads_back_as_stored() {
        let request = TaskInteractionRequested {
            id: "t1".into(),
            user: "alice".into(),
            application_name: "app".into(),
            payload: Some(Default::default()),
            follow_up_date: Some(chrono::Utc::now()),
            assignee: Some("bob".into()),
        };
        let answer = |answer, reason: Option<&str>| InteractionAnswer {
            id: "t1".into(),
            request_id: uuid::Uuid::new_v4(),
            answer,
            reason: reason.map(String::from),
        };
        let events = [
            TaskEvent::TaskCreated(crate::testing::fixtures::task("t1", "app")),
            TaskEvent::TaskAssigned(TaskAssigned {
                id: "t1".into(),
                assignee: Some("alice".into()),
            }),
            TaskEvent::TaskCompleted(TaskCompleted {
                id: "t1".into(),
                assignee: None,
            }),
            TaskEvent::TaskClaimRequested(request.clone()),
            TaskEvent::TaskCompleteRequested(request.clone()),
            TaskEvent::TaskAssignRequested(request.clone()),
            TaskEvent::TaskDeferRequested(request),
            TaskEvent::TaskInteractionAnswered(answer(Answer::Performed, None)),
            TaskEvent::TaskInteractionAnswered(answer(Answer::Rejected, Some("claimed by bob"))),
        ];
        for event in events {
            let body = event.body_json().expect("serialized");
            let back = TaskEvent::from_body_str(event.type_name(), &body)
                .expect("a known type")
                .expect("reads back");
            assert_eq!(back, event, "{body}");
        }
    }
}
