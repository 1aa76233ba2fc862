//! What the node answers beyond the core model's types: an action's outcome, a routed
//! action, counts per application. Serialized as they are by the HTTP adapter and
//! handed as they are to the desktop window.

use serde::{Deserialize, Serialize};
use taskpool_core::{BatchOutcome, CommandOutcome};

use crate::problem::Problem;

/// The answer to an accepted action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ActionResponse {
    pub outcome: CommandOutcome,
    /// The event store position of the action's last event.
    pub position: Option<i64>,
    /// With `?wait=true`: whether the view showed the effect before the timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub visible: Option<bool>,
}

/// The answer of a tasklist node: the action is on its way to the owning application.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RoutedResponse {
    pub command_id: uuid::Uuid,
    pub routed_to: String,
}

/// My visible (not deferred) tasks per application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ApplicationCount {
    pub application_name: String,
    pub count: u64,
}

impl ApplicationCount {
    /// From the node's `(application, count)` pairs.
    pub fn list(counts: Vec<(String, u64)>) -> Vec<ApplicationCount> {
        counts
            .into_iter()
            .map(|(application_name, count)| ApplicationCount {
                application_name,
                count,
            })
            .collect()
    }
}

/// The outcome of a user's action handled here: the accepted outcome, or the rejection
/// as a 409 problem carrying the outcome (its message code and message).
pub fn accepted_outcome(outcome: BatchOutcome) -> Result<CommandOutcome, Problem> {
    let Some(first) = outcome.outcomes.into_iter().next() else {
        return Err(Problem::internal("the gateway returned no outcome"));
    };
    if let Some(rejection) = first.rejection() {
        let mut problem = Problem::new(409, "command-rejected", rejection.message.clone())
            .code(rejection.code.as_str());
        problem.outcome = serde_json::to_value(&first).ok();
        return Err(problem);
    }
    Ok(first)
}
