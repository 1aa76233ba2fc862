//! One enum over the four aggregates, so the gateway can load, decide and evolve any of
//! them uniformly.

use crate::aggregate::{
    Aggregate, AggregateKind, DataEntryAggregate, ProcessDefinitionAggregate,
    ProcessInstanceAggregate, TaskAggregate,
};
use crate::command::{Command, Rejection};
use crate::event::DomainEvent;

#[derive(Debug, Clone)]
pub(crate) enum AggregateState {
    Task(TaskAggregate),
    DataEntry(DataEntryAggregate),
    ProcessDefinition(ProcessDefinitionAggregate),
    ProcessInstance(ProcessInstanceAggregate),
}

impl AggregateState {
    pub(crate) fn empty(kind: AggregateKind) -> Self {
        match kind {
            AggregateKind::Task => AggregateState::Task(Default::default()),
            AggregateKind::DataEntry => AggregateState::DataEntry(Default::default()),
            AggregateKind::ProcessDefinition => {
                AggregateState::ProcessDefinition(Default::default())
            }
            AggregateKind::ProcessInstance => AggregateState::ProcessInstance(Default::default()),
        }
    }

    pub(crate) fn decide(&self, command: &Command) -> Result<Vec<DomainEvent>, Rejection> {
        match (self, command) {
            (AggregateState::Task(s), Command::Task(c)) => {
                Ok(s.decide(c)?.into_iter().map(DomainEvent::Task).collect())
            }
            (AggregateState::DataEntry(s), Command::DataEntry(c)) => Ok(s
                .decide(c)?
                .into_iter()
                .map(DomainEvent::DataEntry)
                .collect()),
            (AggregateState::ProcessDefinition(s), Command::ProcessDefinition(c)) => Ok(s
                .decide(c)?
                .into_iter()
                .map(DomainEvent::ProcessDefinition)
                .collect()),
            (AggregateState::ProcessInstance(s), Command::ProcessInstance(c)) => Ok(s
                .decide(c)?
                .into_iter()
                .map(DomainEvent::ProcessInstance)
                .collect()),
            _ => Err(Rejection::new(
                crate::command::RejectionCode::InvalidCommand,
                format!("`{}` does not address this aggregate", command.type_name()),
            )),
        }
    }

    /// Whether this is a data entry that was deleted.
    pub(crate) fn is_deleted_data_entry(&self) -> bool {
        matches!(self, AggregateState::DataEntry(s) if s.deleted)
    }

    /// The process application that owns the aggregate, once it exists.
    pub(crate) fn owner(&self) -> Option<&str> {
        match self {
            AggregateState::Task(s) => s
                .task
                .as_ref()
                .map(|t| t.source_reference.application_name.as_str()),
            AggregateState::DataEntry(s) => s.entry.as_ref().map(|e| e.application_name.as_str()),
            AggregateState::ProcessDefinition(s) => {
                s.definition.as_ref().map(|d| d.application_name.as_str())
            }
            AggregateState::ProcessInstance(s) => s.application_name.as_deref(),
        }
    }

    /// Applies an event; events of another aggregate kind are ignored (they cannot be
    /// stored under this aggregate's key).
    pub(crate) fn evolve(&mut self, event: &DomainEvent) {
        match (self, event) {
            (AggregateState::Task(s), DomainEvent::Task(e)) => s.evolve(e),
            (AggregateState::DataEntry(s), DomainEvent::DataEntry(e)) => s.evolve(e),
            (AggregateState::ProcessDefinition(s), DomainEvent::ProcessDefinition(e)) => {
                s.evolve(e)
            }
            (AggregateState::ProcessInstance(s), DomainEvent::ProcessInstance(e)) => s.evolve(e),
            _ => {}
        }
    }
}
