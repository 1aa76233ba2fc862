//! The HTTP adapter over [`taskpool_node::node::TaskpoolNode`]: the tasklist API for end users,
//! the ingestion API for process applications, the event streams, and operations
//! endpoints. Handlers only translate: authenticate, decode strictly, call the node on a
//! blocking thread, encode.

mod answers;
mod business;
mod filters;
mod ingestion;
mod ops;
mod outcomes;
mod requests;
pub mod streams;
pub mod tasks;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::routing::{get, post, put};
use axum::Router;
use taskpool_collector::outcome_log::OutcomeRecord;
use taskpool_core::query::Viewer;
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;
use utoipa::OpenApi;

use crate::auth::{Authenticator, Caller};
use crate::problem::Problem;
use taskpool_node::node::{NodeError, TaskpoolNode};
use taskpool_node::params::READ_WAIT;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub node: Arc<TaskpoolNode>,
    pub auth: Authenticator,
    /// Cancelled when the server shuts down: streams end cleanly.
    pub shutdown: CancellationToken,
    /// Live command outcomes, bridged from the outcome log.
    pub outcomes: broadcast::Sender<OutcomeRecord>,
    pub keep_alive: Duration,
    /// Groups whose members read every outcome (operators).
    pub operator_groups: std::sync::Arc<Vec<String>>,
    /// How long a live stream lives before it ends and the client reconnects (showing
    /// its token again).
    pub max_stream_age: Duration,
    /// Live streams per user and in total.
    pub stream_limits: crate::stream_limits::StreamLimits,
    /// The development login (`POST /api/v1/dev/token`) is open.
    pub dev_login: bool,
    /// The view's position, for async waits (read-your-writes) without a thread each.
    pub view_position: watch::Receiver<i64>,
    /// The event store's head, likewise (interaction streams).
    pub store_position: watch::Receiver<i64>,
    /// Whether this node takes engine events and commands (not a tasklist node: the
    /// aggregates live in the process applications).
    pub ingestion: bool,
    /// A process-application node's Kafka publisher.
    #[cfg(feature = "kafka")]
    pub publisher: Option<Arc<std::sync::Mutex<taskpool_kafka::PublisherStatus>>>,
}

impl AppState {
    /// Runs blocking node work off the async threads.
    pub async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&TaskpoolNode) -> Result<T, NodeError> + Send + 'static,
    ) -> Result<T, Problem> {
        let node = self.node.clone();
        tokio::task::spawn_blocking(move || f(&node))
            .await
            .map_err(|e| Problem::internal(format!("worker failed: {e}")))?
            .map_err(Problem::from)
    }

    /// Read-your-writes: waits (on the view's position, no thread held) until the view
    /// has applied `position`, at most [`READ_WAIT`]; 503 when it has not by then.
    pub async fn reached(&self, position: Option<i64>) -> Result<(), Problem> {
        let Some(p) = position else {
            return Ok(());
        };
        if p < 0 {
            return Err(Problem::bad_request(
                "position",
                "a position is not negative",
            ));
        }
        // A node whose view follows its own store: a position past the store's newest
        // event will not come by waiting.
        let newest = self.node.head_position();
        if self.ingestion && p > newest {
            return Err(Problem::bad_request(
                "position",
                format!("no event has position {p} yet (the newest is {newest})"),
            ));
        }
        let mut view = self.view_position.clone();
        let reached = async move { view.wait_for(|v| *v >= p).await.is_ok() };
        match tokio::time::timeout(READ_WAIT, reached).await {
            Ok(true) => Ok(()),
            _ => Err(Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "view-behind",
                format!(
                    "the view has not reached position {p} within {} s; try again",
                    READ_WAIT.as_secs()
                ),
            )
            .field("position")),
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .map(|v| {
                v.to_str()
                    .map_err(|_| Problem::from(crate::auth::AuthError::NotBearer))
            })
            .transpose()?;
        // (Under the API's nesting the path may come without its `/api/v1` prefix.)
        let path = parts.uri.path();
        let stream = path.starts_with("/stream/")
            || path.starts_with("/api/v1/stream/")
            || path.ends_with("/interactions");
        if header.is_none() && stream {
            // Browsers cannot set headers on an EventSource: streams (and only they) also
            // take the token as `access_token`.
            if let Some(token) = form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
                .find(|(k, _)| k == "access_token")
                .map(|(_, v)| v.into_owned())
            {
                return Ok(state.auth.verify(&token)?);
            }
        }
        Ok(state.auth.authenticate(header)?)
    }
}

/// An end user (the tasklist API); process application tokens are refused here.
pub struct User(pub Viewer);

impl FromRequestParts<AppState> for User {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        match Caller::from_request_parts(parts, state).await? {
            Caller::User { user, groups } => Ok(User(Viewer::User { user, groups })),
            Caller::Application { name } => Err(Problem::forbidden(format!(
                "the tasklist API is for end users; application `{name}` uses the ingestion API"
            ))),
        }
    }
}

/// A user request's `Idempotency-Key` header, if sent (see
/// `taskpool_node::action_keys`): a retry with the same key gets the first attempt's
/// request, never a second effect. Checked by the node (visible ASCII, 1 to 128).
pub struct IdempotencyKey(pub Option<String>);

impl FromRequestParts<AppState> for IdempotencyKey {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Problem> {
        let Some(value) = parts.headers.get("idempotency-key") else {
            return Ok(IdempotencyKey(None));
        };
        let key = value.to_str().map_err(|_| {
            Problem::bad_request(
                "Idempotency-Key",
                "an idempotency key is visible ASCII characters, no spaces",
            )
        })?;
        taskpool_node::action_keys::check_key(key)
            .map_err(|message| Problem::bad_request("Idempotency-Key", message))?;
        Ok(IdempotencyKey(Some(key.to_string())))
    }
}

/// A process application (the ingestion API); user tokens are refused here.
pub struct Application(pub String);

impl FromRequestParts<AppState> for Application {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        match Caller::from_request_parts(parts, state).await? {
            Caller::Application { name } => Ok(Application(name)),
            Caller::User { user, .. } => Err(Problem::forbidden(format!(
                "the ingestion API is for process applications; user `{user}` has no application token"
            ))),
        }
    }
}

/// The OpenAPI document, generated from the handlers and types.
#[derive(OpenApi)]
#[openapi(
    info(title = "Taskpool API", description = "Tasklist, live streams and ingestion for process applications."),
    paths(
        tasks::list_tasks, tasks::get_task, tasks::task_data_entries, tasks::counts_by_application,
        tasks::attribute_names, tasks::attribute_values,
        tasks::claim, tasks::unclaim, tasks::complete, tasks::defer, tasks::undefer, tasks::assign,
        requests::list_requests, requests::get_request,
        business::data_entries, business::data_entry, business::process_definitions, business::start_form, business::start, tasks::task_form, tasks::task_timeline, tasks::task_diagram, tasks::completed_tasks, filters::list_filters, filters::save_filter, filters::update_filter, filters::delete_filter, business::me,
        outcomes::list_outcomes, outcomes::stream_outcomes,
        streams::stream_tasks,
        ingestion::engine_events, ingestion::resync_page, ingestion::commands, ingestion::interactions,
        ops::health, ops::ready, ops::dev_token,
    ),
    components(schemas(Problem, taskpool_core::query::Deferred, streams::StreamEnd, taskpool_core::live::Snapshot, taskpool_core::live::LiveItem, taskpool_collector::outcome_log::OutcomeRecord)),
    modifiers(&SecurityAddon),
    security(("bearer" = [])),
)]
pub struct ApiDoc;

struct SecurityAddon;

impl utoipa::Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The API routes (without the UI and middleware).
pub fn routes(state: AppState, max_body: usize) -> Router {
    let api = Router::new()
        .route("/tasks", get(tasks::list_tasks))
        .route(
            "/tasks/counts-by-application",
            get(tasks::counts_by_application),
        )
        .route("/tasks/attributes", get(tasks::attribute_names))
        .route(
            "/tasks/attributes/{name}/values",
            get(tasks::attribute_values),
        )
        .route("/tasks/{id}", get(tasks::get_task))
        .route("/tasks/{id}/data-entries", get(tasks::task_data_entries))
        .route("/tasks/{id}/form", get(tasks::task_form))
        .route("/tasks/{id}/timeline", get(tasks::task_timeline))
        .route("/tasks/{id}/diagram", get(tasks::task_diagram))
        .route("/completed-tasks", get(tasks::completed_tasks))
        .route("/tasks/{id}/claim", post(tasks::claim))
        .route("/tasks/{id}/unclaim", post(tasks::unclaim))
        .route("/tasks/{id}/complete", post(tasks::complete))
        .route("/tasks/{id}/defer", post(tasks::defer))
        .route("/tasks/{id}/undefer", post(tasks::undefer))
        .route("/tasks/{id}/assign", post(tasks::assign))
        .route(
            "/filters",
            get(filters::list_filters).post(filters::save_filter),
        )
        .route(
            "/filters/{id}",
            put(filters::update_filter).delete(filters::delete_filter),
        )
        .route("/requests", get(requests::list_requests))
        .route("/requests/{id}", get(requests::get_request))
        .route("/data-entries", get(business::data_entries))
        .route(
            "/data-entries/{entry_type}/{entry_id}",
            get(business::data_entry),
        )
        .route("/process-definitions", get(business::process_definitions))
        .route(
            "/process-definitions/{id}/start-form",
            get(business::start_form),
        )
        .route("/process-definitions/{id}/start", post(business::start))
        .route("/me", get(business::me))
        .route("/outcomes", get(outcomes::list_outcomes))
        .route("/stream/outcomes", get(outcomes::stream_outcomes))
        .route("/stream/tasks", get(streams::stream_tasks))
        .route("/engine-events", post(ingestion::engine_events))
        .route("/resyncs/{resync_id}/pages", post(ingestion::resync_page))
        .route("/commands", post(ingestion::commands))
        .route(
            "/applications/{name}/interactions",
            get(ingestion::interactions),
        )
        .route("/dev/token", post(ops::dev_token))
        .route("/openapi.json", get(ops::openapi))
        .fallback(|| async { Problem::not_found("no such endpoint") })
        .layer(DefaultBodyLimit::max(max_body));
    Router::new()
        .nest("/api/v1", api)
        .route("/health", get(ops::health))
        .route("/ready", get(ops::ready))
        .route("/metrics", get(ops::metrics))
        .with_state(state)
}
