//! The task aggregate.

use crate::command::{Answer, Rejection, RejectionCode, TaskCommand, UpdateTaskAttributes};
use crate::event::{
    TaskAssigned, TaskCandidateGroupsChanged, TaskCandidateUsersChanged, TaskCompleted,
    TaskDeleted, TaskEvent, TaskInteractionRequested,
};
use crate::model::Task;
use crate::patch::Patch;

use super::{require, Aggregate, AggregateKind};

/// Where a task is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TaskStatus {
    #[default]
    Unknown,
    Active,
    Completed,
    Deleted,
}

/// The state the task aggregate decides on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskAggregate {
    pub status: TaskStatus,
    pub task: Option<Task>,
}

impl TaskAggregate {
    fn active_task(&self, id: &str) -> Result<&Task, Rejection> {
        match (self.status, &self.task) {
            (TaskStatus::Active, Some(task)) => Ok(task),
            (TaskStatus::Completed, _) => Err(Rejection::new(
                RejectionCode::TaskCompleted,
                format!("task `{id}` is already completed"),
            )),
            (TaskStatus::Deleted, _) => Err(Rejection::new(
                RejectionCode::TaskDeleted,
                format!("task `{id}` is deleted"),
            )),
            _ => Err(Rejection::new(
                RejectionCode::TaskNotFound,
                format!("task `{id}` does not exist"),
            )),
        }
    }
}

fn interaction(task: &Task, user: &str) -> TaskInteractionRequested {
    TaskInteractionRequested {
        id: task.id.clone(),
        user: user.to_string(),
        application_name: task.source_reference.application_name.clone(),
        payload: None,
        follow_up_date: None,
        assignee: None,
    }
}

/// A claimed task is the assignee's to act on.
fn only_the_assignee(task: &Task, id: &str, user: &str) -> Result<(), Rejection> {
    match &task.assignee {
        Some(a) if a != user => Err(Rejection::new(
            RejectionCode::TaskAssignedToOtherUser,
            format!("task `{id}` is assigned to `{a}`, not `{user}`"),
        )),
        _ => Ok(()),
    }
}

/// The names that actually change the task, or `None` when there are none (a
/// candidate change that changes nothing emits no event).
fn only<'a>(names: impl Iterator<Item = &'a String>) -> Option<std::collections::BTreeSet<String>> {
    let set: std::collections::BTreeSet<String> = names.cloned().collect();
    (!set.is_empty()).then_some(set)
}

/// The part of an update that changes this task; `None` when nothing changes.
fn effective_update(task: &Task, update: &UpdateTaskAttributes) -> Option<UpdateTaskAttributes> {
    let changed = UpdateTaskAttributes {
        id: update.id.clone(),
        name: update.name.clone().filter(|n| *n != task.name),
        description: update.description.effective_against(&task.description),
        priority: update.priority.filter(|p| *p != task.priority),
        due_date: update.due_date.effective_against(&task.due_date),
        follow_up_date: update
            .follow_up_date
            .effective_against(&task.follow_up_date),
        business_key: update.business_key.effective_against(&task.business_key),
        form_key: update.form_key.effective_against(&task.form_key),
        owner: update.owner.effective_against(&task.owner),
        payload: update.payload.clone().filter(|p| *p != task.payload),
        correlations: update
            .correlations
            .clone()
            .filter(|c| *c != task.correlations),
        enriched: update.enriched.filter(|e| *e != task.enriched),
    };
    (!changed.is_empty()).then_some(changed)
}

/// The events that make `task` the `sent` one (a create resent for a task the pool
/// has): its attributes, assignee, candidate users and groups. What identifies the task
/// (its source reference, definition key and creation time) stays.
fn resent(task: &Task, sent: &Task) -> Vec<TaskEvent> {
    let id = &task.id;
    let attributes = UpdateTaskAttributes {
        id: id.clone(),
        name: Some(sent.name.clone()),
        description: Patch::to(sent.description.clone()),
        priority: Some(sent.priority),
        due_date: Patch::to(sent.due_date),
        follow_up_date: Patch::to(sent.follow_up_date),
        business_key: Patch::to(sent.business_key.clone()),
        form_key: Patch::to(sent.form_key.clone()),
        owner: Patch::to(sent.owner.clone()),
        payload: Some(sent.payload.clone()),
        correlations: Some(sent.correlations.clone()),
        enriched: Some(sent.enriched),
    };
    let mut events: Vec<TaskEvent> = effective_update(task, &attributes)
        .map(TaskEvent::TaskAttributesUpdated)
        .into_iter()
        .collect();
    if sent.assignee != task.assignee {
        events.push(TaskEvent::TaskAssigned(TaskAssigned {
            id: id.clone(),
            assignee: sent.assignee.clone(),
        }));
    }
    let users = |names| TaskCandidateUsersChanged {
        id: id.clone(),
        users: names,
    };
    let groups = |names| TaskCandidateGroupsChanged {
        id: id.clone(),
        groups: names,
    };
    if let Some(added) = only(sent.candidate_users.difference(&task.candidate_users)) {
        events.push(TaskEvent::TaskCandidateUsersAdded(users(added)));
    }
    if let Some(gone) = only(task.candidate_users.difference(&sent.candidate_users)) {
        events.push(TaskEvent::TaskCandidateUsersDeleted(users(gone)));
    }
    if let Some(added) = only(sent.candidate_groups.difference(&task.candidate_groups)) {
        events.push(TaskEvent::TaskCandidateGroupsAdded(groups(added)));
    }
    if let Some(gone) = only(task.candidate_groups.difference(&sent.candidate_groups)) {
        events.push(TaskEvent::TaskCandidateGroupsDeleted(groups(gone)));
    }
    events
}

impl Aggregate for TaskAggregate {
    type Command = TaskCommand;
    type Event = TaskEvent;
    const KIND: AggregateKind = AggregateKind::Task;

    fn decide(&self, command: &TaskCommand) -> Result<Vec<TaskEvent>, Rejection> {
        require("id", command.task_id())?;
        if let TaskCommand::CreateTask(new_task) = command {
            require("name", &new_task.name)?;
            require(
                "sourceReference.applicationName",
                &new_task.source_reference.application_name,
            )?;
            if self.status == TaskStatus::Unknown {
                return Ok(vec![TaskEvent::TaskCreated(new_task.clone())]);
            }
            // An engine resends a create (a retry, a restart, a re-sync): the task the
            // pool has becomes the one sent, as the reference's external command
            // handler does. For a completed or deleted task, the refusal below is
            // acknowledged as ignored by the gateway.
            let task = self.active_task(&new_task.id)?;
            return Ok(resent(task, new_task));
        }
        if let TaskCommand::AnswerInteraction(answer) = command {
            // An answer comes with (or after) the engine events it caused: the task may
            // be completed by then.
            if self.status == TaskStatus::Unknown {
                return Err(Rejection::new(
                    RejectionCode::TaskNotFound,
                    format!("task `{}` does not exist", answer.id),
                ));
            }
            if answer.answer == Answer::Rejected {
                require("reason", answer.reason.as_deref().unwrap_or(""))?;
            }
            return Ok(vec![TaskEvent::TaskInteractionAnswered(answer.clone())]);
        }
        let task = self.active_task(command.task_id())?;
        let events = match command {
            TaskCommand::AnswerInteraction(_) => Vec::new(),
            TaskCommand::CreateTask(_) => Vec::new(),
            TaskCommand::AssignTask(c) => {
                if c.assignee == task.assignee {
                    Vec::new()
                } else {
                    vec![TaskEvent::TaskAssigned(TaskAssigned {
                        id: c.id.clone(),
                        assignee: c.assignee.clone(),
                    })]
                }
            }
            TaskCommand::UpdateTaskAttributes(c) => {
                if let Some(name) = &c.name {
                    require("name", name)?;
                }
                effective_update(task, c)
                    .map(TaskEvent::TaskAttributesUpdated)
                    .into_iter()
                    .collect()
            }
            TaskCommand::AddCandidateUsers(c) => {
                let users = only(c.users.difference(&task.candidate_users));
                let id = c.id.clone();
                users
                    .map(|users| {
                        TaskEvent::TaskCandidateUsersAdded(TaskCandidateUsersChanged { id, users })
                    })
                    .into_iter()
                    .collect()
            }
            TaskCommand::DeleteCandidateUsers(c) => {
                let users = only(c.users.intersection(&task.candidate_users));
                let id = c.id.clone();
                users
                    .map(|users| {
                        TaskEvent::TaskCandidateUsersDeleted(TaskCandidateUsersChanged {
                            id,
                            users,
                        })
                    })
                    .into_iter()
                    .collect()
            }
            TaskCommand::AddCandidateGroups(c) => {
                let groups = only(c.groups.difference(&task.candidate_groups));
                let id = c.id.clone();
                groups
                    .map(|groups| {
                        TaskEvent::TaskCandidateGroupsAdded(TaskCandidateGroupsChanged {
                            id,
                            groups,
                        })
                    })
                    .into_iter()
                    .collect()
            }
            TaskCommand::DeleteCandidateGroups(c) => {
                let groups = only(c.groups.intersection(&task.candidate_groups));
                let id = c.id.clone();
                groups
                    .map(|groups| {
                        TaskEvent::TaskCandidateGroupsDeleted(TaskCandidateGroupsChanged {
                            id,
                            groups,
                        })
                    })
                    .into_iter()
                    .collect()
            }
            TaskCommand::CompleteTask(c) => vec![TaskEvent::TaskCompleted(TaskCompleted {
                id: c.id.clone(),
                assignee: c.assignee.clone().or_else(|| task.assignee.clone()),
            })],
            TaskCommand::DeleteTask(c) => vec![TaskEvent::TaskDeleted(TaskDeleted {
                id: c.id.clone(),
                delete_reason: c.delete_reason.clone(),
            })],
            TaskCommand::ClaimInteraction(c) => {
                require("user", &c.user)?;
                match &task.assignee {
                    Some(a) if *a == c.user => Vec::new(),
                    Some(a) => {
                        return Err(Rejection::new(
                            RejectionCode::TaskAssignedToOtherUser,
                            format!("task `{}` is assigned to `{a}`, not `{}`", c.id, c.user),
                        ))
                    }
                    None => vec![TaskEvent::TaskClaimRequested(interaction(task, &c.user))],
                }
            }
            TaskCommand::UnclaimInteraction(c) => {
                require("user", &c.user)?;
                match &task.assignee {
                    None => Vec::new(),
                    Some(a) if *a == c.user => {
                        vec![TaskEvent::TaskUnclaimRequested(interaction(task, &c.user))]
                    }
                    Some(a) => {
                        return Err(Rejection::new(
                            RejectionCode::TaskNotAssignedToUser,
                            format!("task `{}` is assigned to `{a}`, not `{}`", c.id, c.user),
                        ))
                    }
                }
            }
            TaskCommand::CompleteInteraction(c) => {
                require("user", &c.user)?;
                if let Some(a) = task.assignee.as_ref().filter(|a| **a != c.user) {
                    return Err(Rejection::new(
                        RejectionCode::TaskAssignedToOtherUser,
                        format!("task `{}` is assigned to `{a}`, not `{}`", c.id, c.user),
                    ));
                }
                vec![TaskEvent::TaskCompleteRequested(TaskInteractionRequested {
                    payload: Some(c.payload.clone()),
                    ..interaction(task, &c.user)
                })]
            }
            TaskCommand::DeferInteraction(c) => {
                require("user", &c.user)?;
                // A candidate may not hide a task someone has claimed from them.
                only_the_assignee(task, &c.id, &c.user)?;
                if task.follow_up_date == Some(c.follow_up_date) {
                    Vec::new()
                } else {
                    vec![TaskEvent::TaskDeferRequested(TaskInteractionRequested {
                        follow_up_date: Some(c.follow_up_date),
                        ..interaction(task, &c.user)
                    })]
                }
            }
            TaskCommand::AssignInteraction(c) => {
                require("user", &c.user)?;
                require("assignee", &c.assignee)?;
                // Only who holds the task gives it on.
                match &task.assignee {
                    Some(a) if *a == c.user => {}
                    Some(a) => {
                        return Err(Rejection::new(
                            RejectionCode::TaskNotAssignedToUser,
                            format!("task `{}` is assigned to `{a}`, not `{}`", c.id, c.user),
                        ))
                    }
                    None => {
                        return Err(Rejection::new(
                            RejectionCode::TaskNotAssignedToUser,
                            format!(
                                "task `{}` is not assigned to `{}`: claim it first",
                                c.id, c.user
                            ),
                        ))
                    }
                }
                if c.assignee == c.user {
                    Vec::new()
                } else {
                    vec![TaskEvent::TaskAssignRequested(TaskInteractionRequested {
                        assignee: Some(c.assignee.clone()),
                        ..interaction(task, &c.user)
                    })]
                }
            }
            TaskCommand::UndeferInteraction(c) => {
                require("user", &c.user)?;
                only_the_assignee(task, &c.id, &c.user)?;
                if task.follow_up_date.is_none() {
                    Vec::new()
                } else {
                    vec![TaskEvent::TaskUndeferRequested(interaction(task, &c.user))]
                }
            }
        };
        Ok(events)
    }

    fn evolve(&mut self, event: &TaskEvent) {
        if let TaskEvent::TaskCreated(task) = event {
            self.status = TaskStatus::Active;
            self.task = Some(task.clone());
            return;
        }
        let Some(task) = self.task.as_mut() else {
            return;
        };
        match event {
            TaskEvent::TaskCreated(_) => {}
            TaskEvent::TaskAssigned(e) => task.assignee = e.assignee.clone(),
            TaskEvent::TaskAttributesUpdated(e) => e.apply_to(task),
            TaskEvent::TaskCandidateUsersAdded(e) => {
                task.candidate_users.extend(e.users.iter().cloned())
            }
            TaskEvent::TaskCandidateUsersDeleted(e) => {
                task.candidate_users.retain(|u| !e.users.contains(u))
            }
            TaskEvent::TaskCandidateGroupsAdded(e) => {
                task.candidate_groups.extend(e.groups.iter().cloned())
            }
            TaskEvent::TaskCandidateGroupsDeleted(e) => {
                task.candidate_groups.retain(|g| !e.groups.contains(g))
            }
            TaskEvent::TaskCompleted(e) => {
                task.assignee = e.assignee.clone();
                self.status = TaskStatus::Completed;
            }
            TaskEvent::TaskDeleted(_) => self.status = TaskStatus::Deleted,
            // Interaction requests do not change the task: the engine reports back.
            TaskEvent::TaskClaimRequested(_)
            | TaskEvent::TaskUnclaimRequested(_)
            | TaskEvent::TaskCompleteRequested(_)
            | TaskEvent::TaskDeferRequested(_)
            | TaskEvent::TaskAssignRequested(_)
            | TaskEvent::TaskUndeferRequested(_)
            | TaskEvent::TaskInteractionAnswered(_) => {}
        }
    }
}

#[cfg(test)]
#[path = "task_tests.rs"]
mod tests;
