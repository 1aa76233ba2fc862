//! The data entry aggregate.

use crate::command::{DataEntryCommand, Rejection, RejectionCode};
use crate::event::{DataEntryAnonymized, DataEntryChanged, DataEntryDeleted, DataEntryEvent};
use crate::model::{DataEntry, Modification, ProtocolEntry};

use super::{require, Aggregate, AggregateKind};

/// The state the data entry aggregate decides on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DataEntryAggregate {
    pub entry: Option<DataEntry>,
    pub deleted: bool,
}

fn protocol_entry(m: &Modification, state: &crate::model::DataEntryState) -> ProtocolEntry {
    ProtocolEntry {
        time: m.time,
        username: m.username.clone(),
        state: state.clone(),
        log_message: m.log_message.clone(),
        log_notes: m.log_notes.clone(),
    }
}

impl DataEntryAggregate {
    fn existing(&self, identity: &str) -> Result<&DataEntry, Rejection> {
        if self.deleted {
            return Err(Rejection::new(
                RejectionCode::DataEntryDeleted,
                format!("data entry `{identity}` is deleted"),
            ));
        }
        self.entry.as_ref().ok_or_else(|| {
            Rejection::new(
                RejectionCode::DataEntryNotFound,
                format!("data entry `{identity}` does not exist"),
            )
        })
    }
}

impl Aggregate for DataEntryAggregate {
    type Command = DataEntryCommand;
    type Event = DataEntryEvent;
    const KIND: AggregateKind = AggregateKind::DataEntry;

    fn decide(&self, command: &DataEntryCommand) -> Result<Vec<DataEntryEvent>, Rejection> {
        require("entryType", command.entry_type())?;
        require("entryId", command.entry_id())?;
        let identity = DataEntry::identity(command.entry_type(), command.entry_id());
        match command {
            // An update of a deleted entry brings it back (the lax deletion strategy, the
            // default; the gateway refuses it under the strict one).
            DataEntryCommand::CreateOrUpdateDataEntry(c) => {
                let mut next = DataEntry {
                    entry_type: c.entry_type.clone(),
                    entry_id: c.entry_id.clone(),
                    name: c.name.clone(),
                    description: c.description.clone(),
                    type_name: c.type_name.clone(),
                    application_name: c.application_name.clone(),
                    form_key: c.form_key.clone(),
                    state: c.state.clone(),
                    payload: c.payload.clone(),
                    authorized_users: Default::default(),
                    authorized_groups: Default::default(),
                    correlations: c.correlations.clone(),
                    protocol: Vec::new(),
                };
                match &self.entry {
                    None => {
                        next.apply_authorization_changes(&c.authorization_changes);
                        next.protocol = vec![protocol_entry(&c.modification, &c.state)];
                        Ok(vec![DataEntryEvent::DataEntryCreated(DataEntryChanged {
                            data_entry: next,
                        })])
                    }
                    Some(current) => {
                        next.authorized_users = current.authorized_users.clone();
                        next.authorized_groups = current.authorized_groups.clone();
                        next.apply_authorization_changes(&c.authorization_changes);
                        let unchanged_fields = DataEntry {
                            protocol: Vec::new(),
                            ..current.clone()
                        } == next;
                        // A change with nothing new and nothing to log changes nothing
                        // (bringing a deleted entry back is something new).
                        if unchanged_fields && c.modification.log_message.is_none() && !self.deleted
                        {
                            return Ok(Vec::new());
                        }
                        next.protocol = vec![protocol_entry(&c.modification, &c.state)];
                        Ok(vec![DataEntryEvent::DataEntryUpdated(DataEntryChanged {
                            data_entry: next,
                        })])
                    }
                }
            }
            DataEntryCommand::DeleteDataEntry(c) => {
                let current = self.existing(&identity)?;
                let state = c.state.clone().unwrap_or_else(|| current.state.clone());
                Ok(vec![DataEntryEvent::DataEntryDeleted(DataEntryDeleted {
                    entry_type: c.entry_type.clone(),
                    entry_id: c.entry_id.clone(),
                    protocol_entry: protocol_entry(&c.modification, &state),
                })])
            }
            DataEntryCommand::AnonymizeDataEntry(c) => {
                let current = self.existing(&identity)?;
                require("user", &c.user)?;
                require("replacement", &c.replacement)?;
                Ok(vec![DataEntryEvent::DataEntryAnonymized(
                    DataEntryAnonymized {
                        entry_type: c.entry_type.clone(),
                        entry_id: c.entry_id.clone(),
                        user: c.user.clone(),
                        replacement: c.replacement.clone(),
                        authorization_changes: c.authorization_changes.clone(),
                        protocol_entry: protocol_entry(&c.modification, &current.state),
                    },
                )])
            }
        }
    }

    fn evolve(&mut self, event: &DataEntryEvent) {
        match event {
            DataEntryEvent::DataEntryCreated(e) => {
                self.entry = Some(e.data_entry.clone());
            }
            DataEntryEvent::DataEntryUpdated(e) => {
                let mut protocol = self.entry.take().map(|d| d.protocol).unwrap_or_default();
                protocol.extend(e.data_entry.protocol.iter().cloned());
                self.entry = Some(DataEntry {
                    protocol,
                    ..e.data_entry.clone()
                });
                self.deleted = false;
            }
            DataEntryEvent::DataEntryDeleted(e) => {
                if let Some(entry) = self.entry.as_mut() {
                    entry.protocol.push(e.protocol_entry.clone());
                }
                self.deleted = true;
            }
            DataEntryEvent::DataEntryAnonymized(e) => {
                if let Some(entry) = self.entry.as_mut() {
                    for line in entry.protocol.iter_mut() {
                        if line.username.as_deref() == Some(e.user.as_str()) {
                            line.username = Some(e.replacement.clone());
                        }
                    }
                    entry.apply_authorization_changes(&e.authorization_changes);
                    entry.protocol.push(e.protocol_entry.clone());
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "data_entry_tests.rs"]
mod tests;
