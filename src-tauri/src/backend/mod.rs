//! The one interface the window talks to, with two implementations: [`embedded`] runs
//! the whole single-node task pool in this process (event store, view, change feed and
//! the example process application, data in the app's data directory); [`remote`]
//! talks to a taskpool server over HTTP and Server-Sent Events. The Tauri commands only
//! adapt this interface, so the window behaves the same in both modes.

pub mod embedded;
pub mod remote;

use std::sync::Arc;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use taskpool_collector::outcome_log::OutcomeRecord;
use taskpool_core::live::{LiveItem, Snapshot};
use taskpool_server::problem::Problem;
use tokio_util::sync::CancellationToken;

/// An error as the window shows it: the same fields as the server's problem documents.
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[error("{detail}")]
pub struct BackendError {
    /// The HTTP status it corresponds to (0: the server could not be reached).
    pub status: u16,
    pub detail: String,
    /// A machine-readable code (a rejection's message code).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The offending input (`filter`, `sort`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl BackendError {
    pub fn new(status: u16, detail: impl Into<String>) -> Self {
        Self {
            status,
            detail: detail.into(),
            code: None,
            field: None,
        }
    }

    /// Input the window sent that cannot be used.
    pub fn bad_input(field: &str, detail: impl Into<String>) -> Self {
        Self {
            field: Some(field.to_string()),
            ..Self::new(400, detail)
        }
    }

    /// The server could not be reached or answered nonsense.
    pub fn unreachable(detail: impl std::fmt::Display) -> Self {
        Self::new(0, format!("the server could not be reached: {detail}"))
    }

    pub fn not_signed_in() -> Self {
        Self::new(401, "sign in first")
    }
}

impl From<taskpool_server::node::NodeError> for BackendError {
    fn from(e: taskpool_server::node::NodeError) -> Self {
        Problem::from(e).into()
    }
}

impl From<Problem> for BackendError {
    fn from(p: Problem) -> Self {
        Self {
            status: p.status,
            detail: p.detail,
            code: p.code,
            field: p.field,
        }
    }
}

/// Who is signed in.
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub user: String,
    pub groups: Vec<String>,
    /// The bearer token (remote mode); never sent to the window.
    #[serde(skip)]
    pub token: Option<String>,
}

/// A user of the embedded example application (the user switcher).
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KnownUser {
    pub user: String,
    pub groups: Vec<String>,
}

/// An action on a task.
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Claim,
    Unclaim,
    Complete,
    Defer,
    Undefer,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Claim => "claim",
            Action::Unclaim => "unclaim",
            Action::Complete => "complete",
            Action::Defer => "defer",
            Action::Undefer => "undefer",
        }
    }
}

/// What the window asks for (besides the streams). The answers are the server's JSON
/// documents, whichever backend gives them.
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum Request {
    /// A page of tasks: `query` in the task list's parameter language
    /// (`filter=...&sort=...&assignedToMe=true`), from row `offset`.
    Tasks {
        query: String,
        offset: usize,
        limit: usize,
    },
    Task {
        id: String,
    },
    TaskDataEntries {
        id: String,
    },
    DataEntries {
        involved: bool,
    },
    ProcessDefinitions,
    CountsByApplication,
    Attributes,
    AttributeValues {
        name: String,
    },
    Outcomes,
    /// Acts on a task and answers once the view shows the effect (read-your-writes).
    Act {
        id: String,
        action: Action,
        #[serde(default)]
        #[cfg_attr(feature = "typescript", ts(type = "unknown"))]
        body: Option<serde_json::Value>,
    },
}

/// One message on a live stream to the window.
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum StreamMessage {
    /// The current state (first message, and again after a reconnect that could not
    /// resume).
    Snapshot {
        snapshot: Snapshot,
    },
    /// A change after the snapshot.
    Live {
        item: LiveItem,
    },
    Outcome {
        outcome: OutcomeRecord,
    },
    /// Connected or not (remote mode reconnects with backoff).
    State {
        connected: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// The stream cannot go on (a refused query, say).
    Failed {
        error: BackendError,
    },
}

/// Where a stream's messages go; false when nobody listens any more (the stream ends).
pub type Sink = Arc<dyn Fn(StreamMessage) -> bool + Send + Sync>;

/// A running stream; closing (or dropping) it ends it.
#[derive(Debug)]
pub struct StreamHandle {
    stop: CancellationToken,
}

impl StreamHandle {
    pub fn new(stop: CancellationToken) -> Self {
        Self { stop }
    }

    pub fn close(&self) {
        self.stop.cancel();
    }
}

impl Drop for StreamHandle {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

pub type Reply<'a, T> = BoxFuture<'a, Result<T, BackendError>>;

/// Which backend is in use.
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Embedded,
    Remote,
}

/// The task pool as the window sees it.
pub trait Backend: Send + Sync {
    fn mode(&self) -> Mode;

    /// Users to offer at sign-in (the example application's in embedded mode).
    fn known_users(&self) -> Vec<KnownUser>;

    /// Signs `user` in (remote: with the configured token, or the server's
    /// development login when there is none).
    fn login<'a>(&'a self, user: &'a str) -> Reply<'a, Session>;

    fn request<'a>(
        &'a self,
        session: &'a Session,
        request: Request,
    ) -> Reply<'a, serde_json::Value>;

    /// The live task stream for `query` (the stream parameter language): a snapshot,
    /// then every relevant change, resuming after the last position on reconnect.
    fn stream_tasks<'a>(
        &'a self,
        session: &'a Session,
        query: &'a str,
        sink: Sink,
    ) -> Reply<'a, StreamHandle>;

    /// The live command outcomes (after the current ones).
    fn stream_outcomes<'a>(&'a self, session: &'a Session, sink: Sink) -> Reply<'a, StreamHandle>;

    /// Stops what the backend runs (the embedded node); waits for it.
    fn shutdown(&self) {}
}

/// Parses a query string strictly (unknown parameters are refused, as by the server).
pub fn parse_params<T: serde::de::DeserializeOwned>(query: &str) -> Result<T, BackendError> {
    serde_urlencoded::from_str(query).map_err(|e| BackendError::bad_input("query", e.to_string()))
}
