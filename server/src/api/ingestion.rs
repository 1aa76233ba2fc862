//! The ingestion API for process applications in any language: one engine transaction
//! per request (through collector and accumulator into one unit of work), or a batch of
//! commands; both honour an `Idempotency-Key` across restarts. Interaction requests for
//! an application (claims, completions, deferrals) reach it through an event stream it
//! subscribes to. An application may only touch its own tasks and data entries.

use std::convert::Infallible;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use taskpool_core::command::InputLimits;
use taskpool_core::{BatchMode, BatchOutcome, Command};
use utoipa::{IntoParams, ToSchema};

use super::streams::{last_event_id, sse_event};
use super::{AppState, Application};
use crate::problem::{ApiJson, NoQuery, Problem};
use taskpool_node::node::{EngineTransactionRequest, Idempotency, TaskpoolNode};
use taskpool_node::resync::{ResyncOutcome, ResyncPage};

/// A tasklist node holds no aggregates: process applications send to their own node.
fn no_ingestion_here(state: &AppState) -> Result<(), Problem> {
    if state.ingestion {
        Ok(())
    } else {
        Err(Problem::not_found(
            "this is a tasklist node: process applications send engine events to their own node, which publishes to Kafka",
        ))
    }
}

/// The request's `Idempotency-Key`, with a fingerprint of what was sent under it (the
/// SHA-256 of the decoded request, re-encoded: the same content in other whitespace is
/// the same request).
fn keyed(headers: &HeaderMap, request: &impl Serialize) -> Result<Option<Idempotency>, Problem> {
    let Some(key) = idempotency_key(headers)? else {
        return Ok(None);
    };
    let bytes = serde_json::to_vec(request).map_err(|e| {
        tracing::error!(error = %e, "a decoded request could not be encoded again");
        Problem::internal("the request could not be fingerprinted")
    })?;
    let digest = Sha256::digest(&bytes);
    let fingerprint = digest
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    Ok(Some(Idempotency {
        key,
        fingerprint: Some(fingerprint),
    }))
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, Problem> {
    headers
        .get("idempotency-key")
        .map(|v| {
            v.to_str()
                .ok()
                .map(str::trim)
                .filter(|k| !k.is_empty() && k.len() <= 200)
                .map(String::from)
                .ok_or_else(|| {
                    Problem::bad_request(
                        "Idempotency-Key",
                        "the Idempotency-Key must be 1 to 200 visible characters",
                    )
                })
        })
        .transpose()
}

/// Accepted: 200 with the batch outcome. Rejected: a 409 problem naming the first
/// rejection, with the whole batch outcome in `outcome` (nothing of an atomic batch was
/// applied; a per-command batch applied the accepted ones).
fn answer(outcome: BatchOutcome) -> Response {
    if outcome.all_accepted() {
        return (StatusCode::OK, Json(outcome)).into_response();
    }
    let first = outcome
        .outcomes
        .iter()
        .filter_map(|o| o.rejection())
        .find(|r| r.code != taskpool_core::RejectionCode::BatchRejected)
        .or_else(|| outcome.outcomes.iter().find_map(|o| o.rejection()))
        .cloned();
    let (code, message) = first
        .map(|r| (r.code.as_str().to_string(), r.message))
        .unwrap_or_else(|| ("REJECTED".into(), "rejected".into()));
    let mut problem = Problem::new(StatusCode::CONFLICT, "command-rejected", message).code(code);
    problem.outcome = serde_json::to_value(&outcome).ok();
    problem.into_response()
}

/// One engine transaction of the calling application.
#[utoipa::path(post, path = "/api/v1/engine-events", tag = "ingestion",
    params(("Idempotency-Key" = Option<String>, Header, description = "a resent transaction with the same key is applied once")),
    request_body = EngineTransactionRequest,
    responses((status = 200, description = "applied (or applied before, with this key)", body = Object),
        (status = 409, description = "a command was rejected: nothing applied", body = Problem, content_type = "application/problem+json"),
        (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "a tasklist node takes no ingestion", body = Problem, content_type = "application/problem+json"), (status = 413, body = Problem, content_type = "application/problem+json"), (status = 415, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn engine_events(
    State(state): State<AppState>,
    Application(app): Application,
    _: NoQuery,
    headers: HeaderMap,
    ApiJson(request): ApiJson<EngineTransactionRequest>,
) -> Result<Response, Problem> {
    no_ingestion_here(&state)?;
    let idempotency = keyed(&headers, &request)?;
    let outcome = state
        .blocking(move |n| n.ingest_engine_transaction(&app, request, idempotency.as_ref()))
        .await?;
    Ok(answer(outcome))
}

/// A unit of work of commands.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CommandBatch {
    /// `atomic` (default: all or nothing) or `perCommand`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub mode: BatchMode,
    /// Task, data entry and process commands (`{"type": "createTask", ...}`).
    #[schema(value_type = Vec<Object>)]
    pub commands: Vec<Command>,
}

/// A batch of commands of the calling application.
#[utoipa::path(post, path = "/api/v1/commands", tag = "ingestion",
    params(("Idempotency-Key" = Option<String>, Header, description = "a resent batch with the same key is applied once")),
    request_body = CommandBatch,
    responses((status = 200, body = Object), (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "a tasklist node takes no ingestion", body = Problem, content_type = "application/problem+json"), (status = 413, body = Problem, content_type = "application/problem+json"), (status = 415, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn commands(
    State(state): State<AppState>,
    Application(app): Application,
    _: NoQuery,
    headers: HeaderMap,
    ApiJson(batch): ApiJson<CommandBatch>,
) -> Result<Response, Problem> {
    no_ingestion_here(&state)?;
    let idempotency = keyed(&headers, &batch)?;
    let limits = InputLimits::default();
    if batch.commands.len() > limits.max_commands {
        return Err(Problem::unprocessable(
            "commands",
            format!(
                "a batch of {} commands is more than the limit of {}",
                batch.commands.len(),
                limits.max_commands
            ),
        ));
    }
    let outcome = state
        .blocking(move |n| {
            n.handle_commands(&app, batch.commands, batch.mode, idempotency.as_ref())
        })
        .await?;
    Ok(answer(outcome))
}

/// One page of a re-sync of the calling application's open tasks: the pool creates
/// what it lacks and updates what differs; once every page (0 to the one marked `last`)
/// has arrived, it deletes the application's tasks the engine no longer has (those last
/// changed before the re-sync began). Pages may come in any order and be resent: each
/// is applied once, and so are the deletions.
#[utoipa::path(post, path = "/api/v1/resyncs/{resyncId}/pages", tag = "ingestion",
    params(("resyncId" = String, Path, description = "one id for all pages of one re-sync (1 to 200 characters)")),
    request_body = ResyncPage,
    responses((status = 200, description = "the page was applied (or had been); where the re-sync stands", body = ResyncOutcome),
        (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "a tasklist node takes no ingestion", body = Problem, content_type = "application/problem+json"), (status = 413, body = Problem, content_type = "application/problem+json"), (status = 415, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "the view did not catch up to judge what is missing: send the page again", body = Problem, content_type = "application/problem+json")))]
pub async fn resync_page(
    State(state): State<AppState>,
    Application(app): Application,
    _: NoQuery,
    Path(resync_id): Path<String>,
    ApiJson(page): ApiJson<ResyncPage>,
) -> Result<Json<ResyncOutcome>, Problem> {
    no_ingestion_here(&state)?;
    Ok(Json(
        state
            .blocking(move |n| n.resync(&app, &resync_id, page))
            .await?,
    ))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InteractionParams {
    /// Resume after this position (like `Last-Event-ID`); default: from the start.
    #[param(minimum = 0)]
    pub from: Option<i64>,
    /// (Read by the caller extractor, declared here so strict parsing admits it.)
    #[serde(rename = "access_token")]
    #[allow(dead_code)]
    pub access_token: Option<String>,
}

/// The interaction requests addressed to an application (SSE, `event: interaction`,
/// `id:` the position; resume with `Last-Event-ID`): each the request event with its
/// `requestId`, which the application's answer echoes (`requestPerformed` with the
/// engine events it caused, or `requestRejected` with the engine's reason). From the start of the store when
/// no position is given, so a new application misses nothing.
#[utoipa::path(get, path = "/api/v1/applications/{name}/interactions", tag = "ingestion",
    params(("name" = String, Path), InteractionParams, ("Last-Event-ID" = Option<i64>, Header, nullable = false, minimum = 0, description = "resume after this position")),
    responses((status = 200, description = "an event stream", content_type = "text/event-stream", body = super::streams::StreamEvent),
        (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn interactions(
    State(state): State<AppState>,
    Application(app): Application,
    Path(name): Path<String>,
    headers: HeaderMap,
    crate::problem::ApiQuery(p): crate::problem::ApiQuery<InteractionParams>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Problem> {
    if app != name {
        return Err(Problem::forbidden(format!(
            "application `{app}` may not read the interactions of `{name}`"
        )));
    }
    if p.from.is_some_and(|f| f < 0) {
        return Err(Problem::bad_request(
            "from",
            "from must be a non-negative position",
        ));
    }
    let from = last_event_id(&headers)?.or(p.from).unwrap_or(0);
    let mut reader = state.blocking(|n| n.event_reader()).await?;
    let shutdown = state.shutdown.clone();
    let keep_alive = state.keep_alive;
    let mut head = state.store_position.clone();
    let stream = async_stream::stream! {
        let mut after = from;
        loop {
            let app2 = app.clone();
            let joined = tokio::task::spawn_blocking(move || {
                let r = TaskpoolNode::interactions_after(&mut reader, &app2, after, 1000);
                (reader, r)
            }).await;
            let Ok((r, result)) = joined else { break };
            reader = r;
            let read_to = match result {
                Ok((items, last)) => {
                    for d in items {
                        yield Ok(sse_event("interaction", d.position, &d));
                    }
                    last
                }
                Err(e) => {
                    yield Ok(sse_event("error", after, &Problem::from(e)));
                    break;
                }
            };
            let caught_up = read_to == after;
            after = read_to;
            if caught_up {
                // Sleep until the store moves past what we read (no thread held).
                tokio::select! {
                    _ = shutdown.cancelled() => {
                        yield Ok(sse_event("end", after, &serde_json::json!({"reason": "shutdown"})));
                        break;
                    }
                    moved = async { head.wait_for(|h| *h > after).await.is_ok() } => {
                        if !moved { break; }
                    }
                }
            }
        }
    };
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(keep_alive)))
}
