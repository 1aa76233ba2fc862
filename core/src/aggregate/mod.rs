//! Aggregates: pure functions, no I/O.
//!
//! `decide(state, command)` returns the events the command causes, or a rejection;
//! `evolve(state, event)` returns the state after an event. A command that changes
//! nothing is accepted with no events.

mod data_entry;
mod process_definition;
mod process_instance;
mod task;

use serde::{Deserialize, Serialize};

pub use data_entry::DataEntryAggregate;
pub use process_definition::ProcessDefinitionAggregate;
pub use process_instance::{ProcessInstanceAggregate, ProcessInstanceStatus};
pub use task::{TaskAggregate, TaskStatus};

use crate::command::Rejection;

/// The kinds of aggregates; stored with every event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AggregateKind {
    Task,
    DataEntry,
    ProcessDefinition,
    ProcessInstance,
}

impl AggregateKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            AggregateKind::Task => "task",
            AggregateKind::DataEntry => "dataEntry",
            AggregateKind::ProcessDefinition => "processDefinition",
            AggregateKind::ProcessInstance => "processInstance",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "task" => Some(AggregateKind::Task),
            "dataEntry" => Some(AggregateKind::DataEntry),
            "processDefinition" => Some(AggregateKind::ProcessDefinition),
            "processInstance" => Some(AggregateKind::ProcessInstance),
            _ => None,
        }
    }
}

/// An event-sourced aggregate as two pure functions.
pub trait Aggregate: Default + Clone + std::fmt::Debug {
    type Command;
    type Event: Clone + std::fmt::Debug + PartialEq;

    const KIND: AggregateKind;

    /// The events `command` causes in this state, or why it is rejected.
    fn decide(&self, command: &Self::Command) -> Result<Vec<Self::Event>, Rejection>;

    /// This state after `event`.
    fn evolve(&mut self, event: &Self::Event);
}

/// Checks that a required text field of a command is not empty.
pub(crate) fn require(field: &str, value: &str) -> Result<(), Rejection> {
    if value.trim().is_empty() {
        return Err(Rejection::new(
            crate::command::RejectionCode::InvalidCommand,
            format!("`{field}` must not be empty"),
        ));
    }
    Ok(())
}
