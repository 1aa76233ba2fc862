//! The live task stream over Server-Sent Events: first the snapshot (`event: snapshot`),
//! then each relevant change (`entered`, `changed`, `left`), every event with `id:` its
//! position. A client reconnecting with `Last-Event-ID` resumes after that position: no
//! gap, no duplicate. Keep-alive comments keep proxies from closing an idle stream; on
//! shutdown the stream sends `event: end` and closes.

use std::convert::Infallible;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use taskpool_core::live::LiveItem;
use taskpool_node::live::{live_events, LiveEvent};
use taskpool_node::params::TaskStreamParams;
use utoipa::ToSchema;

use super::{AppState, User};
use crate::problem::{ApiQuery, Problem};

/// The `Last-Event-ID` header as a position.
pub fn last_event_id(headers: &HeaderMap) -> Result<Option<i64>, Problem> {
    headers
        .get("last-event-id")
        .map(|v| {
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<i64>().ok())
                .filter(|p| *p >= 0)
                .ok_or_else(|| {
                    Problem::bad_request(
                        "Last-Event-ID",
                        "Last-Event-ID must be a position (a non-negative integer)",
                    )
                })
        })
        .transpose()
}

/// One SSE event with a JSON body.
pub fn sse_event(name: &str, id: i64, data: &impl Serialize) -> Event {
    Event::default()
        .event(name)
        .id(id.to_string())
        .data(serde_json::to_string(data).unwrap_or_else(|_| "null".into()))
}

/// Why a stream ended (`event: end`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StreamEnd {
    pub reason: String,
}

/// One Server-Sent Event as it travels (for the document: `event`, `id` and the JSON
/// text in `data`). Task stream: `snapshot` (a Snapshot), then `entered` / `changed` /
/// `left` (a LiveItem), and `end` (a StreamEnd) or `error` (a Problem) last. Outcome
/// stream: `outcome` (an OutcomeRecord). Interaction stream: `interaction` (the task
/// event).
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct StreamEvent {
    pub event: String,
    pub id: Option<String>,
    /// JSON text.
    pub data: String,
}

/// My tasks, then every relevant change, live (SSE).
#[utoipa::path(get, path = "/api/v1/stream/tasks", tag = "tasks", params(TaskStreamParams,
        ("Last-Event-ID" = Option<i64>, Header, nullable = false, minimum = 0, description = "resume after this position")),
    responses((status = 200, description = "an event stream: snapshot, then entered / changed / left", content_type = "text/event-stream", body = StreamEvent),
        (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn stream_tasks(
    State(state): State<AppState>,
    User(viewer): User,
    headers: HeaderMap,
    ApiQuery(p): ApiQuery<TaskStreamParams>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Problem> {
    if p.from.is_some_and(|f| f < 0) {
        return Err(Problem::bad_request(
            "from",
            "from must be a non-negative position",
        ));
    }
    // The header (set by a reconnecting EventSource) wins over the parameter.
    let from = last_event_id(&headers)?.or(p.from);
    let permit = stream_permit(&state, &viewer)?;
    let query = p.list_params().query(viewer)?;
    let (subscription, snapshot) = state.blocking(move |n| n.subscribe(query, from)).await?;
    let keep_alive = state.keep_alive;
    let changes = live_events(subscription, stream_lifetime(&state));
    let stream = async_stream::stream! {
        // Held while the stream is open.
        let _permit = permit;
        if let Some(s) = snapshot {
            yield Ok(sse_event("snapshot", s.position, &s));
        }
        futures_util::pin_mut!(changes);
        while let Some(event) = changes.next().await {
            match event {
                LiveEvent::Items(items) => {
                    for item in items {
                        yield Ok(live_event(&item));
                    }
                }
                LiveEvent::End { position } => {
                    yield Ok(sse_event("end", position, &serde_json::json!({"reason": "shutdown"})));
                }
                LiveEvent::Failed { position, problem } => {
                    yield Ok(sse_event("error", position, &problem));
                }
            }
        }
    };
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(keep_alive)))
}

/// Ends with the server, or when the stream has lived its time (the client reconnects
/// with `Last-Event-ID`, which resumes exactly, and shows its token again).
pub(super) fn stream_lifetime(state: &AppState) -> tokio_util::sync::CancellationToken {
    let ends = state.shutdown.child_token();
    let (timer, lifetime) = (ends.clone(), state.max_stream_age);
    tokio::spawn(async move {
        tokio::select! {
            _ = tokio::time::sleep(lifetime) => timer.cancel(),
            _ = timer.cancelled() => {}
        }
    });
    ends
}

/// A place for one more live stream of this viewer, or 429 with `Retry-After`.
pub(super) fn stream_permit(
    state: &AppState,
    viewer: &taskpool_core::query::Viewer,
) -> Result<crate::stream_limits::StreamPermit, Problem> {
    let who = match viewer {
        taskpool_core::query::Viewer::User { user, .. } => user.as_str(),
        taskpool_core::query::Viewer::Admin => "",
    };
    stream_permit_of(state, who)
}

/// A stream permit for `who` (a user's name, or an application's, prefixed so that it
/// never shares a user's count).
pub(super) fn stream_permit_of(
    state: &AppState,
    who: &str,
) -> Result<crate::stream_limits::StreamPermit, Problem> {
    state.stream_limits.acquire(who).map_err(|refusal| {
        let detail = match refusal {
            crate::stream_limits::StreamRefusal::PerUser(n) => {
                format!("you have {n} live streams open, the most one user may: close one first")
            }
            crate::stream_limits::StreamRefusal::Total(n) => {
                format!("the node holds {n} live streams, the most it may: try again soon")
            }
        };
        Problem::new(StatusCode::TOO_MANY_REQUESTS, "too-many-streams", detail).retry_after(5)
    })
}

fn live_event(item: &LiveItem) -> Event {
    let name = match item {
        LiveItem::Entered { .. } => "entered",
        LiveItem::Changed { .. } => "changed",
        LiveItem::Left { .. } => "left",
    };
    sse_event(name, item.position(), item)
}
