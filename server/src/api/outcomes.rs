//! The command-outcome log: list and live stream (the monitoring panel). A user reads the
//! outcomes of their own actions and of the tasks they may see now; an operator (a
//! member of `operator-groups`) reads them all; a process application reads the
//! outcomes of what it sent (through Kafka, the refusals tasklist nodes told it).

use std::convert::Infallible;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::Json;
use futures_util::Stream;
use serde::Deserialize;
use taskpool_collector::outcome_log::{OutcomeQuery, OutcomeRecord};
use taskpool_core::query::Viewer;
use tokio::sync::broadcast::error::RecvError;
use utoipa::IntoParams;

use super::streams::{last_event_id, sse_event, StreamEvent};
use super::AppState;
use crate::auth::Caller;
use crate::problem::{ApiQuery, Problem};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OutcomeParams {
    /// Only rejected commands.
    pub only_rejected: Option<bool>,
    /// Only outcomes of this task (or other aggregate).
    pub task_id: Option<String>,
    /// Only outcomes sent by this application (`tasklist` for the users' actions).
    pub application: Option<String>,
    /// Only outcomes after this id, oldest first.
    pub after_id: Option<i64>,
    /// 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
}

impl OutcomeParams {
    fn query(&self) -> Result<OutcomeQuery, Problem> {
        let limit = self.limit.unwrap_or(100);
        if limit == 0 || limit > 1000 {
            return Err(Problem::bad_request(
                "limit",
                "the limit must be between 1 and 1000",
            ));
        }
        Ok(OutcomeQuery {
            only_rejected: self.only_rejected.unwrap_or(false),
            aggregate_id: self.task_id.clone(),
            application: self.application.clone(),
            after_id: self.after_id,
            limit,
        })
    }
}

/// Command outcomes, newest first (or oldest first after `afterId`).
#[utoipa::path(get, path = "/api/v1/outcomes", tag = "outcomes", params(OutcomeParams),
    responses((status = 200, body = Vec<OutcomeRecord>), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn list_outcomes(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<OutcomeParams>,
) -> Result<Json<Vec<OutcomeRecord>>, Problem> {
    let mut q = p.query()?;
    let reader = outcome_reader(&state, caller);
    own_application(&reader, q.application.as_deref())?;
    if let Some(app) = &reader.application {
        q.application = Some(app.clone());
    }
    let viewer = reader.viewer;
    Ok(Json(
        state.blocking(move |n| n.outcomes_for(&viewer, &q)).await?,
    ))
}

/// Whose eyes the outcomes are read with, and of which application.
struct OutcomeReader {
    /// An operator's (and an application's, within its own) are everyone's.
    viewer: Viewer,
    /// A process application reads only the outcomes of what it sent.
    application: Option<String>,
}

fn outcome_reader(state: &AppState, caller: Caller) -> OutcomeReader {
    match caller {
        Caller::User { user, groups } => OutcomeReader {
            viewer: if groups.iter().any(|g| state.operator_groups.contains(g)) {
                Viewer::Admin
            } else {
                Viewer::User { user, groups }
            },
            application: None,
        },
        Caller::Application { name } => OutcomeReader {
            viewer: Viewer::Admin,
            application: Some(name),
        },
    }
}

/// An application asking for another's outcomes is refused, not quietly narrowed.
fn own_application(reader: &OutcomeReader, asked: Option<&str>) -> Result<(), Problem> {
    match (&reader.application, asked) {
        (Some(own), Some(other)) if own != other => Err(Problem::forbidden(format!(
            "application `{own}` may not read the outcomes of `{other}`"
        ))),
        _ => Ok(()),
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OutcomeStreamParams {
    /// Only rejected commands.
    pub only_rejected: Option<bool>,
    /// The token, for clients that cannot send headers (EventSource).
    /// (Read by the caller extractor, declared here so strict parsing admits it.)
    #[serde(rename = "access_token")]
    #[allow(dead_code)]
    pub access_token: Option<String>,
}

/// Live command outcomes (SSE, `event: outcome`, `id:` the outcome id; resumes after
/// `Last-Event-ID`).
#[utoipa::path(get, path = "/api/v1/stream/outcomes", tag = "outcomes", params(OutcomeStreamParams,
        ("Last-Event-ID" = Option<i64>, Header, nullable = false, minimum = 0, description = "resume after this outcome id")),
    responses((status = 200, description = "an event stream", content_type = "text/event-stream", body = StreamEvent),
        (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn stream_outcomes(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiQuery(p): ApiQuery<OutcomeStreamParams>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Problem> {
    let resume = last_event_id(&headers)?;
    // Counted per user (an operator too), or per application.
    let permit = match &caller {
        Caller::User { user, .. } => super::streams::stream_permit_of(&state, user)?,
        Caller::Application { name } => {
            super::streams::stream_permit_of(&state, &format!("application {name}"))?
        }
    };
    let OutcomeReader {
        viewer: reader,
        application,
    } = outcome_reader(&state, caller);
    let only_rejected = p.only_rejected.unwrap_or(false);
    // Subscribe before reading the backlog: nothing falls between the two.
    let mut rx = state.outcomes.subscribe();
    let shutdown = super::streams::stream_lifetime(&state);
    let keep_alive = state.keep_alive;
    let stream = async_stream::stream! {
        // Held while the stream is open.
        let _permit = permit;
        let mut last = resume.unwrap_or(i64::MAX);
        let mut catch_up = resume.is_some();
        loop {
            if catch_up {
                let q = OutcomeQuery { only_rejected, after_id: Some(last), limit: 1000, application: application.clone(), ..Default::default() };
                let r = reader.clone();
                match state.blocking(move |n| {
                    // Read (and resume) by the whole log; send only what the reader may read.
                    let all = n.outcomes(&q)?;
                    let full = all.len() == 1000;
                    let next = all.last().map(|o| o.id);
                    Ok((n.readable_outcomes(&r, all)?, full, next))
                }).await {
                    Ok((records, full, next)) => {
                        for r in records {
                            yield Ok(sse_event("outcome", r.id, &r));
                        }
                        if let Some(n) = next { last = n; }
                        catch_up = full;
                        continue;
                    }
                    Err(p) => { yield Ok(sse_event("error", 0, &p)); break; }
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => {
                    yield Ok(sse_event("end", if last == i64::MAX { 0 } else { last }, &serde_json::json!({"reason": "shutdown"})));
                    break;
                }
                received = rx.recv() => match received {
                    Ok(r) => {
                        if last != i64::MAX && r.id <= last { continue; }
                        last = r.id;
                        if only_rejected && r.accepted { continue; }
                        if application.as_ref().is_some_and(|a| *a != r.application) { continue; }
                        let who = reader.clone();
                        let readable = state.blocking(move |n| n.readable_outcomes(&who, vec![r])).await.unwrap_or_default();
                        for r in readable {
                            yield Ok(sse_event("outcome", r.id, &r));
                        }
                    }
                    Err(RecvError::Lagged(_)) => {
                        // Read what we missed from the log.
                        if last == i64::MAX { last = 0; }
                        catch_up = true;
                    }
                    Err(RecvError::Closed) => break,
                }
            }
        }
    };
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(keep_alive)))
}
