//! The process definition aggregate.

use crate::command::{ProcessDefinitionCommand, Rejection, RejectionCode};
use crate::event::ProcessDefinitionEvent;
use crate::model::ProcessDefinition;

use super::{require, Aggregate, AggregateKind};

/// The state the process definition aggregate decides on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcessDefinitionAggregate {
    pub definition: Option<ProcessDefinition>,
}

impl Aggregate for ProcessDefinitionAggregate {
    type Command = ProcessDefinitionCommand;
    type Event = ProcessDefinitionEvent;
    const KIND: AggregateKind = AggregateKind::ProcessDefinition;

    /// Registering is idempotent: the same definition again changes nothing; a changed
    /// one (a redeployment with new starters, say) is registered again.
    fn decide(&self, command: &ProcessDefinitionCommand) -> Result<Vec<Self::Event>, Rejection> {
        match command {
            ProcessDefinitionCommand::RegisterProcessDefinition(d) => {
                require("id", &d.id)?;
                require("key", &d.key)?;
                require("applicationName", &d.application_name)?;
                for (key, form) in &d.forms {
                    require("forms (a form key)", key)?;
                    if !form.get("components").is_some_and(|c| c.is_array()) {
                        return Err(Rejection::new(
                            RejectionCode::InvalidCommand,
                            format!(
                                "forms.{key}: a form is a Camunda Forms (form-js) schema: an object with a `components` list"
                            ),
                        ));
                    }
                }
                if self.definition.as_ref() == Some(d) {
                    return Ok(Vec::new());
                }
                Ok(vec![ProcessDefinitionEvent::ProcessDefinitionRegistered(
                    d.clone(),
                )])
            }
        }
    }

    fn evolve(&mut self, event: &ProcessDefinitionEvent) {
        match event {
            ProcessDefinitionEvent::ProcessDefinitionRegistered(d) => {
                self.definition = Some(d.clone())
            }
        }
    }
}

#[cfg(test)]
#[path = "process_definition_tests.rs"]
mod tests;
