//! Senders: hand the collected commands to the command gateway, at the moment the
//! sender type says, and route every outcome to the success / error handlers and the
//! outcome log.

mod txjob;

use std::sync::Arc;

use taskpool_core::command_gateway::GatewayError;
use taskpool_core::{
    BatchMode, BatchOutcome, Command, CommandContext, CommandGateway, CommandOutcome,
};

pub use txjob::{JobQueue, JobWorker};

use crate::outcome_log::OutcomeLog;
use crate::properties::SenderProperties;

/// Why commands could not be sent (an infrastructure fault; rejections are outcomes).
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("command gateway: {0}")]
    Gateway(#[from] GatewayError),
    #[error("job store: {0}")]
    JobStore(#[from] rusqlite::Error),
    #[error("could not serialize commands: {0}")]
    Serialize(#[from] serde_json::Error),
    #[error("{0}")]
    Other(String),
}

/// Where commands go: the in-process gateway, or (later) a remote one.
pub trait CommandBus: Send + Sync {
    fn dispatch(
        &self,
        commands: Vec<Command>,
        mode: BatchMode,
        context: &CommandContext,
    ) -> Result<BatchOutcome, SendError>;
}

impl CommandBus for CommandGateway {
    fn dispatch(
        &self,
        commands: Vec<Command>,
        mode: BatchMode,
        context: &CommandContext,
    ) -> Result<BatchOutcome, SendError> {
        Ok(self.handle(commands, mode, context)?)
    }
}

/// A sender: takes one engine transaction's accumulated commands. `sender.type = custom`
/// plugs the application's own implementation in here.
pub trait CommandSender: Send + Sync {
    fn send(
        &self,
        commands: Vec<Command>,
        idempotency_key: Option<String>,
    ) -> Result<(), SendError>;
}

/// Called for each accepted command.
pub trait CommandSuccessHandler: Send + Sync {
    fn on_success(&self, outcome: &CommandOutcome);
}

/// Called for each rejected command.
pub trait CommandErrorHandler: Send + Sync {
    fn on_error(&self, outcome: &CommandOutcome);
}

/// Default success handler: SENDER-002 at debug.
pub struct LoggingSuccessHandler;

impl CommandSuccessHandler for LoggingSuccessHandler {
    fn on_success(&self, o: &CommandOutcome) {
        tracing::debug!(target: "sender.gateway", code = "SENDER-002", command = %o.command_type, aggregate = %o.aggregate_id, "Successfully submitted command {} for {}", o.command_type, o.aggregate_id);
    }
}

/// Default error handler: SENDER-003 at error.
pub struct LoggingErrorHandler;

impl CommandErrorHandler for LoggingErrorHandler {
    fn on_error(&self, o: &CommandOutcome) {
        let reason = o.rejection().map(ToString::to_string).unwrap_or_default();
        tracing::error!(target: "sender.gateway", code = "SENDER-003", command = %o.command_type, aggregate = %o.aggregate_id, "Sending command {} for {} resulted in error: {reason}", o.command_type, o.aggregate_id);
    }
}

/// The sender that talks to a command bus: honours `sender.enabled` (SENDER-001),
/// applies the batch mode, and routes outcomes.
pub struct GatewaySender {
    bus: Arc<dyn CommandBus>,
    application: String,
    properties: SenderProperties,
    success: Arc<dyn CommandSuccessHandler>,
    error: Arc<dyn CommandErrorHandler>,
    outcome_log: Option<Arc<OutcomeLog>>,
}

impl GatewaySender {
    pub fn new(
        bus: Arc<dyn CommandBus>,
        application: impl Into<String>,
        properties: SenderProperties,
    ) -> Self {
        Self {
            bus,
            application: application.into(),
            properties,
            success: Arc::new(LoggingSuccessHandler),
            error: Arc::new(LoggingErrorHandler),
            outcome_log: None,
        }
    }

    pub fn with_handlers(
        mut self,
        success: Arc<dyn CommandSuccessHandler>,
        error: Arc<dyn CommandErrorHandler>,
    ) -> Self {
        self.success = success;
        self.error = error;
        self
    }

    pub fn with_outcome_log(mut self, log: Arc<OutcomeLog>) -> Self {
        self.outcome_log = Some(log);
        self
    }

    pub fn application(&self) -> &str {
        &self.application
    }

    /// Sends, returning the outcome (`None` when sending is disabled by property).
    pub fn dispatch(
        &self,
        commands: Vec<Command>,
        idempotency_key: Option<String>,
    ) -> Result<Option<BatchOutcome>, SendError> {
        if commands.is_empty() {
            return Ok(None);
        }
        if !self.properties.enabled {
            for c in &commands {
                let payload = serde_json::to_string(c).unwrap_or_default();
                tracing::debug!(target: "sender.gateway", code = "SENDER-001", "Sending command over gateway disabled by property. Would have sent command {payload}");
            }
            return Ok(None);
        }
        let context = CommandContext {
            application: Some(self.application.clone()),
            idempotency_key,
            ..Default::default()
        };
        let outcome = self
            .bus
            .dispatch(commands, self.properties.batch_mode, &context)?;
        for o in &outcome.outcomes {
            if o.is_accepted() {
                self.success.on_success(o);
            } else {
                self.error.on_error(o);
            }
        }
        if let Some(log) = &self.outcome_log {
            if let Err(e) = log.record(&self.application, &outcome.outcomes) {
                tracing::warn!(target: "sender.gateway", error = %e, "could not record command outcomes");
            }
        }
        Ok(Some(outcome))
    }
}

impl CommandSender for GatewaySender {
    fn send(
        &self,
        commands: Vec<Command>,
        idempotency_key: Option<String>,
    ) -> Result<(), SendError> {
        self.dispatch(commands, idempotency_key).map(|_| ())
    }
}
