//! The one problem document (RFC 9457) of Taskpool: every error answer of the server,
//! every error the desktop window sees (embedded or remote), and the UI's error type
//! (generated from this one). Transports only add their framing (the server's
//! `application/problem+json` response).

use serde::{Deserialize, Serialize};
use taskpool_core::query::{ActionRequest, QueryError, RequestState};

use taskpool_core::command_gateway::GatewayError;

use crate::filters::FilterStoreError;
use crate::node::NodeError;

/// A problem detail (RFC 9457).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The offending input, as a path (`commands[2].id`, `filter`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub field: Option<String>,
    /// A machine-readable code (a rejection code for refused commands).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub code: Option<String>,
    /// The command outcome, for a refused command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    #[cfg_attr(feature = "typescript", ts(optional, type = "unknown"))]
    pub outcome: Option<serde_json::Value>,
    /// The request, for a user's action the application refused or did not answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub request: Option<Box<ActionRequest>>,
    /// When to try again, in seconds (an adapter sends it as `Retry-After`).
    #[serde(skip)]
    #[cfg_attr(feature = "typescript", ts(skip))]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub retry_after: Option<u64>,
}

/// Where problem kinds are named.
const KIND_BASE: &str = "https://taskpool.dev/problems/";

impl Problem {
    /// A problem of `kind` (`invalid-input`, `not-found`, …) with an HTTP status.
    pub fn new(status: u16, kind: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("{KIND_BASE}{kind}"),
            title: title(status).to_string(),
            status,
            detail: detail.into(),
            field: None,
            code: None,
            outcome: None,
            request: None,
            retry_after: None,
        }
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// The kind's short name (`not-found`), without the URI base.
    pub fn kind_name(&self) -> &str {
        self.kind.strip_prefix(KIND_BASE).unwrap_or(&self.kind)
    }

    pub fn bad_request(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Problem::new(400, "invalid-input", detail).field(field)
    }

    pub fn unprocessable(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Problem::new(422, "invalid-input", detail).field(field)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Problem::new(404, "not-found", detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Problem::new(403, "forbidden", detail)
    }

    pub fn internal(detail: impl Into<String>) -> Self {
        Problem::new(500, "internal", detail)
    }

    /// The service cannot answer now (stopping, unreachable, …).
    pub fn unavailable(kind: &str, detail: impl Into<String>) -> Self {
        Problem::new(503, kind, detail)
    }
}

impl Problem {
    /// The problem for a request the application refused (409, with its reason) or did
    /// not answer in time (504, naming the application); `None` for any other state.
    pub fn of_request(request: &ActionRequest) -> Option<Problem> {
        let reason = request.reason.clone().unwrap_or_default();
        let mut problem = match request.state {
            RequestState::Rejected => {
                Problem::new(409, "request-rejected", reason).code("REQUEST_REJECTED")
            }
            RequestState::Expired => {
                Problem::new(504, "request-expired", reason).code("REQUEST_EXPIRED")
            }
            RequestState::Requested | RequestState::Performed => return None,
        };
        problem.request = Some(Box::new(request.clone()));
        Some(problem)
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.detail, self.status)
    }
}

impl std::error::Error for Problem {}

/// The reason phrase of the statuses the node and its adapters answer with.
fn title(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    }
}

impl From<QueryError> for Problem {
    fn from(e: QueryError) -> Self {
        match &e {
            QueryError::Filter(_)
            | QueryError::UnknownField { .. }
            | QueryError::BadValue { .. } => Problem::bad_request("filter", e.to_string()),
            QueryError::BadSort { .. } => Problem::bad_request("sort", e.to_string()),
            QueryError::BadCursor => Problem::bad_request("cursor", e.to_string()),
            QueryError::BadLimit { .. } => Problem::bad_request("limit", e.to_string()),
            QueryError::SearchBehind { .. } => Problem::unavailable("search-behind", e.to_string()),
            QueryError::Sqlite(_) => {
                let id = uuid::Uuid::new_v4();
                tracing::error!(error = %e, error_id = %id, "view query failed");
                Problem::internal(format!("the view could not answer (error {id})"))
            }
        }
    }
}

impl From<NodeError> for Problem {
    fn from(e: NodeError) -> Self {
        match e {
            NodeError::Query(q) => q.into(),
            NodeError::TaskNotFound => Problem::not_found("no such task"),
            NodeError::RequestNotFound => Problem::not_found("no such request"),
            NodeError::DefinitionNotFound => Problem::not_found("no such process definition"),
            NodeError::Filters(FilterStoreError::Invalid { field, message }) => {
                Problem::unprocessable(field, message)
            }
            NodeError::Filters(FilterStoreError::NotFound) => {
                Problem::not_found("no such saved filter")
            }
            NodeError::Filters(e @ FilterStoreError::NameTaken(_)) => {
                Problem::new(409, "conflict", e.to_string())
            }
            NodeError::FormNotFound(why) => Problem::new(404, "no-form", why),
            e @ NodeError::DiagramNotFound(_) => Problem::new(404, "no-diagram", e.to_string()),
            NodeError::Invalid { field, message } => Problem::unprocessable(field, message),
            NodeError::ViewBehind => Problem::unavailable(
                "view-behind",
                "the view has not caught up in time; send the request again",
            ),
            NodeError::Refused(outcome) => {
                let (code, message) = outcome
                    .rejection()
                    .map(|r| (r.code.as_str(), r.message.clone()))
                    .unwrap_or(("REFUSED", "refused".to_string()));
                let mut problem = Problem::new(409, "command-rejected", message).code(code);
                problem.outcome = serde_json::to_value(&*outcome).ok();
                problem
            }
            NodeError::Gateway(GatewayError::LimitExceeded { index, source, .. }) => {
                Problem::unprocessable(
                    format!("commands[{index}].{}", source.field),
                    source.message,
                )
                .code("LIMIT_EXCEEDED")
            }
            NodeError::Gateway(e @ GatewayError::EventTooLarge { .. }) => {
                Problem::new(413, "event-too-large", e.to_string()).code("EVENT_TOO_LARGE")
            }
            NodeError::Gateway(GatewayError::IdempotencyKeyReused { .. }) => Problem::unprocessable(
                "Idempotency-Key",
                "this Idempotency-Key was used before for a different request: a new request needs a new key",
            ),
            NodeError::KeyReused => Problem::unprocessable(
                "Idempotency-Key",
                "this idempotency key was used for another request: send a new key with a new request",
            ),
            NodeError::ActionKeys(e) => {
                let id = uuid::Uuid::new_v4();
                tracing::error!(error = %e, error_id = %id, "idempotency keys failed");
                Problem::internal(format!("the request could not be taken (error {id})"))
            }
            NodeError::ShuttingDown => {
                Problem::unavailable("shutting-down", "the task pool is shutting down")
            }
            other => {
                // The client gets an id to quote, never the internal text (it is logged).
                let id = uuid::Uuid::new_v4();
                tracing::error!(error = %other, error_id = %id, "request failed");
                Problem::internal(format!("the task pool could not answer (error {id})"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_serializes_as_rfc_9457_and_reads_back() {
        let p = Problem::bad_request("filter", "unknown field").code("X");
        let json = serde_json::to_value(&p).expect("json");
        assert_eq!(json["type"], "https://taskpool.dev/problems/invalid-input");
        assert_eq!(json["title"], "Bad Request");
        assert_eq!(json["status"], 400);
        assert_eq!(json["field"], "filter");
        assert!(json.get("outcome").is_none());
        let back: Problem = serde_json::from_value(json).expect("back");
        assert_eq!(back, p);
        assert_eq!(back.kind_name(), "invalid-input");
    }

    #[test]
    fn internal_errors_do_not_reach_the_client() {
        let p: Problem = NodeError::Io(std::io::Error::other("disk /secret/path failed")).into();
        assert_eq!(p.status, 500);
        assert!(!p.detail.contains("secret"), "{}", p.detail);
    }
}
