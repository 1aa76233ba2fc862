//! The process instance aggregate: lifecycle and variables.

use std::collections::BTreeMap;

use crate::command::{ProcessInstanceCommand, Rejection, RejectionCode, VariableChange};
use crate::event::ProcessInstanceEvent;

use super::{require, Aggregate, AggregateKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProcessInstanceStatus {
    #[default]
    Unknown,
    Running,
    Suspended,
    Finished,
    Cancelled,
}

/// The state the process instance aggregate decides on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcessInstanceAggregate {
    pub status: ProcessInstanceStatus,
    /// The process application that started the instance.
    pub application_name: Option<String>,
    pub variables: BTreeMap<String, serde_json::Value>,
}

impl Aggregate for ProcessInstanceAggregate {
    type Command = ProcessInstanceCommand;
    type Event = ProcessInstanceEvent;
    const KIND: AggregateKind = AggregateKind::ProcessInstance;

    fn decide(&self, command: &ProcessInstanceCommand) -> Result<Vec<Self::Event>, Rejection> {
        use ProcessInstanceCommand as C;
        use ProcessInstanceEvent as E;
        use ProcessInstanceStatus as S;
        let id = command.instance_id();
        require("instanceId", id)?;
        if let C::StartProcessInstance(c) = command {
            if self.status != S::Unknown {
                return Err(Rejection::new(
                    RejectionCode::ProcessInstanceAlreadyExists,
                    format!("process instance `{id}` already exists"),
                ));
            }
            require("definitionId", &c.definition_id)?;
            require("applicationName", &c.application_name)?;
            return Ok(vec![E::ProcessInstanceStarted(c.clone())]);
        }
        match self.status {
            S::Unknown => {
                return Err(Rejection::new(
                    RejectionCode::ProcessInstanceNotFound,
                    format!("process instance `{id}` does not exist"),
                ))
            }
            S::Finished | S::Cancelled => {
                return Err(Rejection::new(
                    RejectionCode::ProcessInstanceEnded,
                    format!("process instance `{id}` has ended"),
                ))
            }
            S::Running | S::Suspended => {}
        }
        Ok(match command {
            C::StartProcessInstance(_) => Vec::new(),
            C::FinishProcessInstance(c) => vec![E::ProcessInstanceFinished(c.clone())],
            C::CancelProcessInstance(c) => vec![E::ProcessInstanceCancelled(c.clone())],
            C::SuspendProcessInstance(c) if self.status == S::Running => {
                vec![E::ProcessInstanceSuspended(c.clone())]
            }
            C::ResumeProcessInstance(c) if self.status == S::Suspended => {
                vec![E::ProcessInstanceResumed(c.clone())]
            }
            C::SuspendProcessInstance(_) | C::ResumeProcessInstance(_) => Vec::new(),
            C::ChangeProcessVariables(c) => {
                // Check the changes in order against the variables as they evolve;
                // an update to the value a variable already has changes nothing.
                let mut current: BTreeMap<&str, Option<&serde_json::Value>> = self
                    .variables
                    .iter()
                    .map(|(k, v)| (k.as_str(), Some(v)))
                    .collect();
                let mut effective = Vec::new();
                for change in &c.changes {
                    require("changes[].name", change.name())?;
                    let existing = current.get(change.name()).copied().flatten();
                    match change {
                        VariableChange::Create { name, value } => {
                            if existing.is_some() {
                                return Err(Rejection::new(
                                    RejectionCode::ProcessVariableAlreadyExists,
                                    format!("variable `{name}` of `{id}` already exists"),
                                ));
                            }
                            current.insert(name, Some(value));
                            effective.push(change.clone());
                        }
                        VariableChange::Update { name, value } => match existing {
                            None => return Err(variable_not_found(name, id)),
                            Some(v) if v == value => {}
                            Some(_) => {
                                current.insert(name, Some(value));
                                effective.push(change.clone());
                            }
                        },
                        VariableChange::Delete { name } => {
                            if existing.is_none() {
                                return Err(variable_not_found(name, id));
                            }
                            current.insert(name, None);
                            effective.push(change.clone());
                        }
                    }
                }
                if effective.is_empty() {
                    Vec::new()
                } else {
                    vec![E::ProcessVariablesChanged(
                        crate::command::ChangeProcessVariables {
                            instance_id: c.instance_id.clone(),
                            changes: effective,
                        },
                    )]
                }
            }
        })
    }

    fn evolve(&mut self, event: &ProcessInstanceEvent) {
        use ProcessInstanceEvent as E;
        use ProcessInstanceStatus as S;
        match event {
            E::ProcessInstanceStarted(started) => {
                self.status = S::Running;
                self.application_name = Some(started.application_name.clone());
            }
            E::ProcessInstanceFinished(_) => self.status = S::Finished,
            E::ProcessInstanceCancelled(_) => self.status = S::Cancelled,
            E::ProcessInstanceSuspended(_) => self.status = S::Suspended,
            E::ProcessInstanceResumed(_) => self.status = S::Running,
            E::ProcessVariablesChanged(c) => {
                for change in &c.changes {
                    match change {
                        VariableChange::Create { name, value }
                        | VariableChange::Update { name, value } => {
                            self.variables.insert(name.clone(), value.clone());
                        }
                        VariableChange::Delete { name } => {
                            self.variables.remove(name);
                        }
                    }
                }
            }
        }
    }
}

fn variable_not_found(name: &str, instance_id: &str) -> Rejection {
    Rejection::new(
        RejectionCode::ProcessVariableNotFound,
        format!("variable `{name}` of `{instance_id}` does not exist"),
    )
}

#[cfg(test)]
#[path = "process_instance_tests.rs"]
mod tests;
