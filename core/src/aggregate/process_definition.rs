//! The process definition aggregate.

use crate::command::{ProcessDefinitionCommand, Rejection, RejectionCode};
use crate::event::{ProcessDefinitionEvent, ProcessStartRequested};
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
            ProcessDefinitionCommand::StartProcessInteraction(s) => {
                require("user", &s.user)?;
                let d = self.definition.as_ref().ok_or_else(|| {
                    Rejection::new(
                        RejectionCode::ProcessDefinitionNotFound,
                        format!("process definition `{}` is not known", s.definition_id),
                    )
                })?;
                if !d.startable_from_tasklist {
                    return Err(Rejection::new(
                        RejectionCode::ProcessDefinitionNotStartable,
                        format!(
                            "process definition `{}` cannot be started from the tasklist",
                            d.id
                        ),
                    ));
                }
                Ok(vec![ProcessDefinitionEvent::ProcessStartRequested(
                    ProcessStartRequested {
                        definition_id: d.id.clone(),
                        user: s.user.clone(),
                        application_name: d.application_name.clone(),
                        values: s.values.clone(),
                        business_key: s.business_key.clone(),
                    },
                )])
            }
            ProcessDefinitionCommand::AnswerStart(a) => {
                if self.definition.is_none() {
                    return Err(Rejection::new(
                        RejectionCode::ProcessDefinitionNotFound,
                        format!("process definition `{}` is not known", a.definition_id),
                    ));
                }
                Ok(vec![ProcessDefinitionEvent::ProcessStartAnswered(
                    a.clone(),
                )])
            }
        }
    }

    fn evolve(&mut self, event: &ProcessDefinitionEvent) {
        match event {
            ProcessDefinitionEvent::ProcessDefinitionRegistered(d) => {
                self.definition = Some(d.clone())
            }
            // Requests and answers change nothing the aggregate decides on.
            ProcessDefinitionEvent::ProcessStartRequested(_)
            | ProcessDefinitionEvent::ProcessStartAnswered(_) => {}
        }
    }
}

#[cfg(test)]
#[path = "process_definition_tests.rs"]
mod tests;
