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
use taskpool_core::model::{DataEntry, Payload, ProcessDefinition, Task};
use taskpool_core::query::TaskPage;
use taskpool_core::query::{ActionRequest, CompletedPage, Diagram, FormDocument, TimelineEntry};
use taskpool_node::answers::{ActionResponse, ApplicationCount};
use taskpool_node::filters::{FilterInput, SavedFilter};
use taskpool_node::node::TaskAction;
use taskpool_node::params::{TaskListParams, TaskStreamParams};
pub use taskpool_node::Problem;
use tokio_util::sync::CancellationToken;

/// The server could not be reached, or answered what is not a document of its API
/// (status 0: no server answered).
pub fn unreachable(detail: impl std::fmt::Display) -> Problem {
    Problem::new(
        0,
        "unreachable",
        format!("the server could not be reached: {detail}"),
    )
}

/// Nobody is signed in.
pub fn not_signed_in() -> Problem {
    Problem::new(401, "unauthorized", "sign in first")
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

/// What the window asks for (besides the streams): the node's own parameter types, the
/// same the server decodes from its requests.
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum Request {
    /// A page of tasks (filter, search, sort, paging).
    Tasks {
        params: TaskListParams,
    },
    Task {
        id: String,
    },
    TaskDataEntries {
        id: String,
    },
    /// The task's form (404 `no-form` when its application registered none).
    TaskForm {
        id: String,
    },
    DataEntries {
        involved: bool,
    },
    ProcessDefinitions,
    /// The start form of a definition I may start.
    StartForm {
        id: String,
    },
    CountsByApplication,
    Attributes,
    AttributeValues {
        name: String,
    },
    Outcomes,
    /// My latest requests and where each stands.
    Requests,
    /// Acts on a task and answers once the owning application answered: the task as the
    /// view shows it after the effect, or the refusal (with its reason) or expiry.
    Act {
        id: String,
        action: TaskAction,
    },
    /// The tasks I completed or could see when they were completed, newest first.
    CompletedTasks {
        offset: usize,
    },
    /// What happened to a task I may see.
    Timeline {
        id: String,
    },
    /// The diagram of a task's process, with where the task stands.
    Diagram {
        id: String,
    },
    /// My saved filters, each with its count.
    Filters,
    SaveFilter {
        input: FilterInput,
    },
    UpdateFilter {
        id: String,
        input: FilterInput,
    },
    DeleteFilter {
        id: String,
    },
    /// Starts a process of a definition I may start and answers once its application
    /// answered: the request (naming the instance started) and its first task I may see.
    Start {
        id: String,
        #[cfg_attr(feature = "typescript", ts(type = "Record<string, unknown>"))]
        values: Payload,
    },
}

/// The answer to a [`Request`]: the documents the server sends for it, typed.
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Answer {
    Tasks(TaskPage),
    Task(Box<Task>),
    DataEntries(Vec<DataEntry>),
    ProcessDefinitions(Vec<ProcessDefinition>),
    Form(Box<FormDocument>),
    Filters(Vec<SavedFilter>),
    Completed(CompletedPage),
    Timeline(Vec<TimelineEntry>),
    Diagram(Box<Diagram>),
    Filter(Box<SavedFilter>),
    /// Done, nothing to tell (a deletion).
    Done,
    Counts(Vec<ApplicationCount>),
    /// Attribute names or values.
    Names(Vec<String>),
    Outcomes(Vec<OutcomeRecord>),
    Requests(Vec<ActionRequest>),
    Action(Box<ActionResponse>),
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
        error: Problem,
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

pub type Reply<'a, T> = BoxFuture<'a, Result<T, Problem>>;

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

    fn request<'a>(&'a self, session: &'a Session, request: Request) -> Reply<'a, Answer>;

    /// The live task stream for `params`: a snapshot, then every relevant change,
    /// resuming after the last position on reconnect.
    fn stream_tasks<'a>(
        &'a self,
        session: &'a Session,
        params: TaskStreamParams,
        sink: Sink,
    ) -> Reply<'a, StreamHandle>;

    /// The live command outcomes (after the current ones).
    fn stream_outcomes<'a>(&'a self, session: &'a Session, sink: Sink) -> Reply<'a, StreamHandle>;

    /// Stops what the backend runs (the embedded node); waits for it.
    fn shutdown(&self) {}
}
