//! Accumulators: reduce the task commands of one engine transaction.
//!
//! - `direct`: as collected.
//! - `sorting`: per task, ordered create < complete < delete < assign < candidate
//!   changes < attribute update (stable within a kind).
//! - `projecting` (the default): per task, the minimal intent:
//!   1. a create absorbs every later assign, candidate change and attribute update
//!      (they are folded into the created task); complete and delete stay;
//!   2. an assign absorbs candidate-user changes (the assignee decides, not the
//!      candidates), and several assigns collapse to the last;
//!   3. a complete absorbs an assign of the same transaction: it becomes a complete
//!      with that assignee;
//!   4. candidate adds union and deletes subtract, per kind (users, groups), in order,
//!      ending in at most one add and one delete per kind;
//!   5. attribute updates merge, the later value winning;
//!   6. a delete makes every other command of the task moot except the create (a task
//!      created and deleted in one transaction sends create then delete).
//!
//! Commands of different tasks keep their relative order (by first appearance).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use taskpool_core::command::{
    AssignTask, CandidateGroups, CandidateUsers, CompleteTask, TaskCommand, UpdateTaskAttributes,
};

/// Which accumulator a sender uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccumulatorKind {
    Direct,
    Sorting,
    #[default]
    Projecting,
}

impl AccumulatorKind {
    pub fn name(&self) -> &'static str {
        match self {
            AccumulatorKind::Direct => "direct",
            AccumulatorKind::Sorting => "sorting",
            AccumulatorKind::Projecting => "projecting",
        }
    }

    /// Accumulates one task's commands (all with the same task id).
    pub fn accumulate_task(&self, commands: Vec<TaskCommand>) -> Vec<TaskCommand> {
        match self {
            AccumulatorKind::Direct => commands,
            AccumulatorKind::Sorting => sort(commands),
            AccumulatorKind::Projecting => project(commands),
        }
    }

    /// Groups commands by task (in order of first appearance) and accumulates each group.
    pub fn accumulate(&self, commands: Vec<TaskCommand>) -> Vec<TaskCommand> {
        let mut groups: Vec<(String, Vec<TaskCommand>)> = Vec::new();
        for c in commands {
            match groups.iter_mut().find(|(id, _)| id == c.task_id()) {
                Some((_, group)) => group.push(c),
                None => groups.push((c.task_id().to_string(), vec![c])),
            }
        }
        groups
            .into_iter()
            .flat_map(|(task_id, group)| {
                let n = group.len();
                tracing::debug!(target: "sender.task", code = "SENDER-005", "Handling {n} commands for task {task_id} using command accumulator {}", self.name());
                let out = self.accumulate_task(group);
                tracing::debug!(target: "sender.task", code = "SENDER-006", "Handling {} commands for task {task_id} using command accumulator {}", out.len(), self.name());
                out
            })
            .collect()
    }
}

/// The order rank of a command kind (lower goes first).
pub fn rank(c: &TaskCommand) -> u8 {
    match c {
        TaskCommand::CreateTask(_) => 0,
        TaskCommand::CompleteTask(_) => 1,
        TaskCommand::DeleteTask(_) => 2,
        TaskCommand::AssignTask(_) => 3,
        TaskCommand::AddCandidateUsers(_)
        | TaskCommand::DeleteCandidateUsers(_)
        | TaskCommand::AddCandidateGroups(_)
        | TaskCommand::DeleteCandidateGroups(_) => 4,
        TaskCommand::UpdateTaskAttributes(_) => 5,
        _ => 6,
    }
}

fn sort(mut commands: Vec<TaskCommand>) -> Vec<TaskCommand> {
    commands.sort_by_key(rank); // stable
    commands
}

#[derive(Default)]
struct CandidateDelta {
    add: BTreeSet<String>,
    delete: BTreeSet<String>,
}

impl CandidateDelta {
    fn add(&mut self, items: &BTreeSet<String>) {
        for i in items {
            self.delete.remove(i);
            self.add.insert(i.clone());
        }
    }
    fn delete(&mut self, items: &BTreeSet<String>) {
        for i in items {
            self.add.remove(i);
            self.delete.insert(i.clone());
        }
    }
}

fn project(commands: Vec<TaskCommand>) -> Vec<TaskCommand> {
    let Some(id) = commands.first().map(|c| c.task_id().to_string()) else {
        return commands;
    };
    let mut create = None;
    let mut complete: Option<CompleteTask> = None;
    let mut delete = None;
    let mut assign: Option<AssignTask> = None;
    let mut users = CandidateDelta::default();
    let mut groups = CandidateDelta::default();
    let mut update: Option<UpdateTaskAttributes> = None;
    let mut others = Vec::new();
    for c in commands {
        match c {
            TaskCommand::CreateTask(t) => create = Some(t),
            TaskCommand::CompleteTask(c) => complete = Some(c),
            TaskCommand::DeleteTask(d) => delete = Some(d),
            TaskCommand::AssignTask(a) => assign = Some(a),
            TaskCommand::AddCandidateUsers(c) => users.add(&c.users),
            TaskCommand::DeleteCandidateUsers(c) => users.delete(&c.users),
            TaskCommand::AddCandidateGroups(c) => groups.add(&c.groups),
            TaskCommand::DeleteCandidateGroups(c) => groups.delete(&c.groups),
            TaskCommand::UpdateTaskAttributes(u) => {
                update = Some(match update {
                    Some(earlier) => earlier.merge(u),
                    None => u,
                })
            }
            other => others.push(other),
        }
    }
    let mut out = Vec::new();
    if let Some(mut task) = create {
        // Rule 1: fold everything but complete and delete into the create.
        if let Some(a) = assign.take() {
            task.assignee = a.assignee;
        }
        task.candidate_users.extend(users.add.iter().cloned());
        task.candidate_users.retain(|u| !users.delete.contains(u));
        task.candidate_groups.extend(groups.add.iter().cloned());
        task.candidate_groups.retain(|g| !groups.delete.contains(g));
        if let Some(u) = update.take() {
            u.apply_to(&mut task);
        }
        out.push(TaskCommand::CreateTask(task));
        users = CandidateDelta::default();
        groups = CandidateDelta::default();
    }
    if let Some(d) = delete {
        // Rule 6.
        out.push(TaskCommand::DeleteTask(d));
        return out;
    }
    if let Some(mut c) = complete {
        // Rule 3.
        if let Some(a) = assign.take() {
            c.assignee = a.assignee.or(c.assignee);
        }
        out.push(TaskCommand::CompleteTask(c));
        return out;
    }
    if let Some(a) = assign {
        out.push(TaskCommand::AssignTask(a));
        // Rule 2: the assignee absorbs candidate-user changes.
        users = CandidateDelta::default();
    }
    if !users.add.is_empty() {
        out.push(TaskCommand::AddCandidateUsers(CandidateUsers {
            id: id.clone(),
            users: users.add,
        }));
    }
    if !users.delete.is_empty() {
        out.push(TaskCommand::DeleteCandidateUsers(CandidateUsers {
            id: id.clone(),
            users: users.delete,
        }));
    }
    if !groups.add.is_empty() {
        out.push(TaskCommand::AddCandidateGroups(CandidateGroups {
            id: id.clone(),
            groups: groups.add,
        }));
    }
    if !groups.delete.is_empty() {
        out.push(TaskCommand::DeleteCandidateGroups(CandidateGroups {
            id: id.clone(),
            groups: groups.delete,
        }));
    }
    if let Some(u) = update.filter(|u| !u.is_empty()) {
        out.push(TaskCommand::UpdateTaskAttributes(u));
    }
    out.extend(others);
    out
}

#[cfg(test)]
#[path = "accumulator_tests.rs"]
mod tests;
