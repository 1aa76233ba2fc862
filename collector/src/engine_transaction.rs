//! The collector as an engine adapter uses it: open an engine transaction on the
//! process application's SQLite database, record engine events (and data entries) in
//! it, then commit or roll back. The sender type decides when the commands go out:
//!
//! - `simple`: each command at once, as it is recorded (not transactional);
//! - `tx` / `custom`: accumulated, sent just before the engine commits
//!   (`send-within-transaction = true`; a send fault rolls the engine back) or just
//!   after (`false`);
//! - `txjob`: accumulated and written as a job row in the engine transaction; the job
//!   worker sends it.
//!
//! A rollback (or a dropped transaction) sends nothing.

use std::sync::Arc;

use rusqlite::{Connection, Transaction, TransactionBehavior};
use taskpool_core::command::DataEntryCommand;
use taskpool_core::model::Payload;
use taskpool_core::Command;

use crate::collector::{collect, CollectedCommands};
use crate::engine_event::EngineEvent;
use crate::enricher::EnricherConfig;
use crate::properties::{SenderProperties, SenderType};
use crate::sender::{CommandSender, GatewaySender, JobQueue, SendError};

/// Looks up a process instance's variables in the engine's database.
pub trait VariableSource: Send + Sync {
    fn variables(&self, conn: &Connection, instance_id: &str) -> Payload;
}

/// No variables: for engines that report none.
pub struct NoVariables;

impl VariableSource for NoVariables {
    fn variables(&self, _: &Connection, _: &str) -> Payload {
        Payload::new()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CollectorError {
    #[error("engine database: {0}")]
    Engine(#[from] rusqlite::Error),
    #[error(transparent)]
    Send(#[from] SendError),
    /// Reading the task pool's events (an engine that follows its interactions).
    #[error("event store: {0}")]
    Store(#[from] taskpool_core::event_store::StoreError),
}

/// What a commit did.
#[derive(Debug, Default)]
pub struct CommitReport {
    /// The commands handed to the sender (after accumulation and property switches).
    pub commands: Vec<Command>,
    /// txjob: the job written.
    pub job_id: Option<String>,
    /// tx after commit: a send fault after the engine had committed (logged SENDER-003).
    pub send_error_after_commit: Option<String>,
}

/// The collector of one process application.
pub struct Collector {
    properties: SenderProperties,
    enricher: EnricherConfig,
    gateway_sender: Arc<GatewaySender>,
    custom: Option<Arc<dyn CommandSender>>,
    variables: Arc<dyn VariableSource>,
}

impl Collector {
    pub fn new(
        properties: SenderProperties,
        enricher: EnricherConfig,
        gateway_sender: Arc<GatewaySender>,
        variables: Arc<dyn VariableSource>,
    ) -> Self {
        properties.log_startup();
        Self {
            properties,
            enricher,
            gateway_sender,
            custom: None,
            variables,
        }
    }

    /// Plugs in the application's own sender (`sender.type = custom`).
    pub fn with_custom_sender(mut self, sender: Arc<dyn CommandSender>) -> Self {
        self.custom = Some(sender);
        self
    }

    pub fn properties(&self) -> &SenderProperties {
        &self.properties
    }

    pub fn gateway_sender(&self) -> &Arc<GatewaySender> {
        &self.gateway_sender
    }

    /// Opens an engine transaction on the application's database.
    pub fn begin<'c>(
        &'c self,
        conn: &'c mut Connection,
    ) -> Result<EngineTransaction<'c>, CollectorError> {
        if self.properties.sender_type == SenderType::Txjob {
            JobQueue::create_schema(conn)?;
        }
        Ok(EngineTransaction {
            tx: conn.transaction_with_behavior(TransactionBehavior::Immediate)?,
            collector: self,
            events: Vec::new(),
            data_entries: Vec::new(),
        })
    }

    /// The commands one engine transaction turns into (collected, enriched, accumulated
    /// and ordered), without an engine database: for engines that report their
    /// transactions from elsewhere (the server's ingestion API). `variables` gives an
    /// instance's variables at the end of the transaction.
    pub fn commands_for(
        &self,
        events: &[EngineEvent],
        data_entries: Vec<DataEntryCommand>,
        variables: &mut dyn FnMut(&str) -> taskpool_core::model::Payload,
    ) -> Vec<Command> {
        let mut collected = collect(events, &self.enricher, variables);
        collected.data_entries = data_entries;
        self.assemble(collected)
    }

    fn sender(&self) -> &dyn CommandSender {
        match (&self.properties.sender_type, &self.custom) {
            (SenderType::Custom, Some(custom)) => custom.as_ref(),
            _ => self.gateway_sender.as_ref(),
        }
    }

    /// Accumulates and orders collected commands, dropping disabled categories.
    fn assemble(&self, collected: CollectedCommands) -> Vec<Command> {
        let p = &self.properties;
        let mut out: Vec<Command> = Vec::new();
        if p.process_definition.enabled {
            out.extend(collected.process_definitions.into_iter().map(Command::from));
        } else {
            for c in collected.process_definitions {
                tracing::debug!(target: "sender.process.definition", code = "SENDER-007", "Process definition sending is disabled by property. Would have sent {c:?}.");
            }
        }
        let (instances, ends) = (collected.process_instances, collected.process_instance_ends);
        if p.process_instance.enabled {
            out.extend(instances.into_iter().map(Command::from));
        } else {
            for c in instances.iter().chain(ends.iter()) {
                tracing::debug!(target: "sender.process.instance", code = "SENDER-007", "Process instance sending is disabled by property. Would have sent {c:?}.");
            }
        }
        if p.process_variable.enabled {
            out.extend(collected.process_variables.into_iter().map(Command::from));
        } else {
            for c in collected.process_variables {
                tracing::debug!(target: "sender.process.variable", code = "SENDER-009", "Process variable sending is disabled by property. Would have sent {c:?}.");
            }
        }
        out.extend(collected.data_entries.into_iter().map(Command::from));
        if p.task.enabled {
            let tasks = p.accumulator.accumulate(collected.tasks);
            out.extend(tasks.into_iter().map(Command::from));
        } else {
            for c in collected.tasks {
                tracing::debug!(target: "sender.task", code = "SENDER-004", "Process task sending is disabled by property. Would have sent {c:?}.");
            }
        }
        // Answers go with the task commands: a user waits for them.
        if p.task.enabled {
            out.extend(collected.answers);
        }
        if p.process_instance.enabled {
            out.extend(ends.into_iter().map(Command::from));
        }
        out
    }
}

/// A typed payload as the JSON map a data entry carries (see `send_data_entry_typed`).
pub fn typed_payload<P: serde::Serialize>(
    payload: &P,
    serialize: bool,
) -> Result<Payload, SendError> {
    match serde_json::to_value(payload)? {
        serde_json::Value::Object(map) => Ok(map),
        other if serialize => Ok([("value".to_string(), other)].into_iter().collect()),
        other => Err(SendError::Other(format!(
            "serialize-payload is false and the payload is not a JSON object: {other}"
        ))),
    }
}

/// One engine transaction.
pub struct EngineTransaction<'c> {
    tx: Transaction<'c>,
    collector: &'c Collector,
    events: Vec<EngineEvent>,
    data_entries: Vec<DataEntryCommand>,
}

impl<'c> EngineTransaction<'c> {
    /// The engine's own database, inside this transaction.
    pub fn conn(&self) -> &Connection {
        &self.tx
    }

    /// Records an engine event.
    pub fn record(&mut self, event: EngineEvent) -> Result<(), CollectorError> {
        if self.collector.properties.sender_type == SenderType::Simple {
            let collected = self.collect(std::slice::from_ref(&event), Vec::new());
            let commands = self.collector.assemble(collected);
            self.collector.sender().send(commands, None)?;
        }
        self.events.push(event);
        Ok(())
    }

    /// Adds a data entry whose payload is an application type: with
    /// `serialize-payload = true` it becomes a generic JSON map (a value that is not an
    /// object is kept under `value`); with `false` it is passed through as given and must
    /// already be a JSON object.
    pub fn send_data_entry_typed<P: serde::Serialize>(
        &mut self,
        mut command: taskpool_core::command::CreateOrUpdateDataEntry,
        payload: &P,
    ) -> Result<(), CollectorError> {
        command.payload = typed_payload(payload, self.collector.properties.serialize_payload)?;
        self.send_data_entry(DataEntryCommand::CreateOrUpdateDataEntry(command))
    }

    /// Adds a data entry command to this transaction's unit of work, so a task and its
    /// business data are sent together.
    pub fn send_data_entry(&mut self, command: DataEntryCommand) -> Result<(), CollectorError> {
        if self.collector.properties.sender_type == SenderType::Simple {
            self.collector.sender().send(vec![command.into()], None)?;
        } else {
            self.data_entries.push(command);
        }
        Ok(())
    }

    fn collect(
        &self,
        events: &[EngineEvent],
        data_entries: Vec<DataEntryCommand>,
    ) -> CollectedCommands {
        let conn: &Connection = &self.tx;
        let source = &self.collector.variables;
        let mut lookup = |instance: &str| source.variables(conn, instance);
        let mut collected = collect(events, &self.collector.enricher, &mut lookup);
        collected.data_entries = data_entries;
        collected
    }

    /// Commits the engine transaction, sending as the sender type says.
    pub fn commit(mut self) -> Result<CommitReport, CollectorError> {
        let collector = self.collector;
        let p = &collector.properties;
        if p.sender_type == SenderType::Simple {
            self.tx.commit()?;
            return Ok(CommitReport::default());
        }
        let events = std::mem::take(&mut self.events);
        let data_entries = std::mem::take(&mut self.data_entries);
        let collected = self.collect(&events, data_entries);
        let commands = collector.assemble(collected);
        let mut report = CommitReport {
            commands: commands.clone(),
            ..Default::default()
        };
        match p.sender_type {
            SenderType::Txjob => {
                if !commands.is_empty() {
                    report.job_id = Some(JobQueue::enqueue(&self.tx, &commands)?);
                }
                self.tx.commit()?;
            }
            _ if p.send_within_transaction => {
                // A fault here drops `self.tx`: the engine rolls back, nothing happened.
                collector.sender().send(commands, None)?;
                self.tx.commit()?;
            }
            _ => {
                self.tx.commit()?;
                if let Err(e) = collector.sender().send(commands, None) {
                    tracing::error!(target: "sender.gateway", code = "SENDER-003", error = %e, "Sending commands after the engine committed resulted in error");
                    report.send_error_after_commit = Some(e.to_string());
                }
            }
        }
        Ok(report)
    }

    /// Rolls back: nothing is sent (except what `simple` already sent).
    pub fn rollback(self) -> Result<(), CollectorError> {
        Ok(self.tx.rollback()?)
    }
}
