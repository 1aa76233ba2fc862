//! Command outcomes: accepted (with the events it caused) or rejected (with a reason).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::command::Rejection;

/// The outcome of one command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct CommandOutcome {
    pub command_id: Uuid,
    pub command_type: String,
    pub aggregate_id: String,
    #[serde(flatten)]
    pub status: OutcomeStatus,
}

/// Accepted or rejected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(tag = "status", rename_all = "camelCase")]
pub enum OutcomeStatus {
    /// Accepted; `events` were appended (0 when the command changed nothing), the last
    /// at `position`. `ignored`: the command was acknowledged without effect, and why
    /// (an engine resending a change for a task it already completed); it does not fail
    /// its batch.
    #[serde(rename_all = "camelCase")]
    Accepted {
        events: usize,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        position: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ignored: Option<Rejection>,
    },
    /// Rejected: nothing of this command was stored.
    Rejected(Rejection),
}

impl CommandOutcome {
    pub fn is_accepted(&self) -> bool {
        matches!(self.status, OutcomeStatus::Accepted { .. })
    }

    /// The position of this command's last event, when it appended any.
    pub fn position(&self) -> Option<i64> {
        match self.status {
            OutcomeStatus::Accepted { position, .. } => position,
            OutcomeStatus::Rejected(_) => None,
        }
    }

    /// Why an accepted command had no effect, when it was acknowledged as ignored.
    pub fn ignored(&self) -> Option<&Rejection> {
        match &self.status {
            OutcomeStatus::Accepted { ignored, .. } => ignored.as_ref(),
            OutcomeStatus::Rejected(_) => None,
        }
    }

    pub fn rejection(&self) -> Option<&Rejection> {
        match &self.status {
            OutcomeStatus::Rejected(r) => Some(r),
            OutcomeStatus::Accepted { .. } => None,
        }
    }
}

/// The outcome of a unit of work.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct BatchOutcome {
    /// The unit of work's id, stored as every event's correlation id.
    pub correlation_id: Uuid,
    /// One outcome per command, in order.
    pub outcomes: Vec<CommandOutcome>,
    /// The position of the last event committed by this unit of work, if any; a query
    /// that waits for the view to reach it sees the effect (read-your-writes).
    pub position: Option<i64>,
}

impl BatchOutcome {
    pub fn all_accepted(&self) -> bool {
        self.outcomes.iter().all(CommandOutcome::is_accepted)
    }

    pub fn events_appended(&self) -> usize {
        self.outcomes
            .iter()
            .map(|o| match o.status {
                OutcomeStatus::Accepted { events, .. } => events,
                OutcomeStatus::Rejected(_) => 0,
            })
            .sum()
    }
}
