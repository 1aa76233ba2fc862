//! What the node answers beyond the core model's types: an action's outcome, a routed
//! action, counts per application. Serialized as they are by the HTTP adapter and
//! handed as they are to the desktop window.

use serde::{Deserialize, Serialize};
use taskpool_core::model::Task;
use taskpool_core::query::ActionRequest;

use crate::problem::Problem;

/// The answer to a user's action: the request, and (once performed) the task as the
/// view shows it after the effect (none when it left the caller's view, completed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ActionResponse {
    pub request: ActionRequest,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub task: Option<Task>,
}

impl ActionResponse {
    /// The answer for a request in its final state (or still requested, without
    /// waiting): a refusal or an expiry is a problem.
    pub fn of(request: ActionRequest, task: Option<Task>) -> Result<Self, Problem> {
        match Problem::of_request(&request) {
            Some(problem) => Err(problem),
            None => Ok(Self { request, task }),
        }
    }
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
