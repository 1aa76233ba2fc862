//! Operations: health, readiness, metrics, the OpenAPI document, and the demo login.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use taskpool_core::query::UserDirectory;
use utoipa::{OpenApi, ToSchema};

use super::{ApiDoc, AppState};
use crate::problem::{ApiJson, NoQuery, Problem};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    /// `ok`, or `degraded` while events are parked (the view went on without them, or
    /// the publisher could not send them) or deliveries are (a tasklist node).
    pub status: String,
    pub event_store_position: i64,
    pub view_position: i64,
    /// The view position the search index (text search, payload filters) covers: it
    /// trails the view by the search projection's delay.
    pub search_position: i64,
    pub live_subscribers: usize,
    /// Stored events the view could not read: parked, and listed on the log with why
    /// (`taskpool-view parked` lists them; a rebuild by a build that reads them applies
    /// them).
    pub parked_events: usize,
    /// A tasklist node: messages of the event topics it could not apply (not an event,
    /// an unknown type, a future version), parked with their offset and why.
    pub parked_deliveries: usize,
    /// A tasklist node: events it refused because another application owns their
    /// aggregate (told to their application; `refusedEventsUnsent` not yet).
    pub refused_events: usize,
    pub refused_events_unsent: usize,
    /// A process-application node: the Kafka publisher's checkpoint, lag, errors and
    /// parked events (`taskpool-publisher parked` lists them).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub publisher: Option<serde_json::Value>,
}

fn health_of(state: &AppState) -> Health {
    let parked_events = state.node.parked_events().map(|p| p.len()).unwrap_or(0);
    let deliveries = state.node.delivery_counts().unwrap_or_default();
    let publisher = publisher_health(state);
    let publisher_parked = publisher
        .as_ref()
        .and_then(|p| p.get("parked"))
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0);
    Health {
        status: if parked_events > 0 || publisher_parked > 0 || deliveries.parked > 0 {
            "degraded"
        } else {
            "ok"
        }
        .into(),
        parked_events,
        parked_deliveries: deliveries.parked,
        refused_events: deliveries.refused,
        refused_events_unsent: deliveries.refused_unsent,
        event_store_position: state.node.head_position(),
        view_position: state.node.view_position(),
        search_position: state.node.search_position(),
        live_subscribers: state.node.live_subscribers(),
        publisher,
    }
}

#[cfg(feature = "kafka")]
fn publisher_health(state: &AppState) -> Option<serde_json::Value> {
    state
        .publisher
        .as_ref()
        .and_then(|p| p.lock().ok().and_then(|s| serde_json::to_value(&*s).ok()))
}

#[cfg(not(feature = "kafka"))]
fn publisher_health(_: &AppState) -> Option<serde_json::Value> {
    None
}

/// Alive.
#[utoipa::path(get, path = "/health", tag = "operations", security(()), responses((status = 200, body = Health)))]
pub async fn health(State(state): State<AppState>, _: NoQuery) -> Json<Health> {
    Json(health_of(&state))
}

/// Ready to serve: not shutting down, and the view has caught up with the event store
/// as it was when the server started (a rebuild after an upgrade is not served half-done).
#[utoipa::path(get, path = "/ready", tag = "operations", security(()),
    responses((status = 200, body = Health), (status = 503, body = Problem, content_type = "application/problem+json")))]
pub async fn ready(State(state): State<AppState>, _: NoQuery) -> Response {
    let h = health_of(&state);
    if state.shutdown.is_cancelled() || state.node.stopping() {
        return Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not-ready",
            "shutting down",
        )
        .into_response();
    }
    if h.view_position < state.node.ready_position() {
        return Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not-ready",
            format!(
                "the view is catching up: {} of {}",
                h.view_position,
                state.node.ready_position()
            ),
        )
        .into_response();
    }
    Json(h).into_response()
}

/// Prometheus metrics.
pub async fn metrics(State(state): State<AppState>, _: NoQuery) -> Response {
    let node = state.node.clone();
    #[cfg(feature = "kafka")]
    if let Some(status) = state
        .publisher
        .as_ref()
        .and_then(|p| p.lock().ok().map(|s| s.clone()))
    {
        crate::metrics::record_publisher(&status);
    }
    let text = tokio::task::spawn_blocking(move || crate::metrics::render(&node))
        .await
        .unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

/// The OpenAPI document of this API.
pub async fn openapi(_: NoQuery) -> Response {
    Json(ApiDoc::openapi()).into_response()
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DevLogin {
    /// A user of the demo / users file.
    pub user: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DevToken {
    pub token: String,
    pub user: String,
    pub groups: Vec<String>,
}

/// Demo and development mode only: a token for a known user (the browser inbox's login).
#[utoipa::path(post, path = "/api/v1/dev/token", tag = "operations", security(()), request_body = DevLogin,
    responses((status = 200, body = DevToken), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"), (status = 415, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn dev_token(
    State(state): State<AppState>,
    _: NoQuery,
    ApiJson(login): ApiJson<DevLogin>,
) -> Result<Json<DevToken>, Problem> {
    if !state.dev_login {
        return Err(Problem::not_found(
            "the development login is off (it comes with --example)",
        ));
    }
    let users = state.auth.users();
    if !users.users().contains(&login.user) {
        return Err(Problem::not_found(format!(
            "`{}` is not a known user; known: {}",
            login.user,
            users.users().join(", ")
        ))
        .field("user"));
    }
    let groups = users.groups_of(&login.user);
    let token = crate::auth::user_token(state.auth.secret(), &login.user, &groups, 12 * 3600)
        .map_err(|e| Problem::internal(e.to_string()))?;
    Ok(Json(DevToken {
        token,
        user: login.user,
        groups,
    }))
}
