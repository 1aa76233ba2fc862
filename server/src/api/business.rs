//! Business data and the caller: data entries, startable processes, who I am.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::Json;
use serde::{Deserialize, Serialize};
use taskpool_core::model::{DataEntry, ProcessDefinition};
use taskpool_core::query::{FormDocument, Viewer, MAX_PAGE};
use taskpool_node::answers::ActionResponse;
use taskpool_node::params::{ActionParams, StartBody};
use utoipa::{IntoParams, ToSchema};

use super::answers::{BodyAnswers, RequestAnswers};
use super::{AppState, IdempotencyKey, User};
use crate::problem::{ApiJson, ApiQuery, NoQuery, Problem};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DataEntryParams {
    /// Only entries whose protocol involves me.
    pub involved: Option<bool>,
    pub offset: Option<usize>,
    /// 1 to 1000 (default 50).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
}

/// Data entries I may see.
#[utoipa::path(get, path = "/api/v1/data-entries", tag = "business data", params(DataEntryParams),
    responses((status = 200, body = Vec<DataEntry>), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn data_entries(
    State(state): State<AppState>,
    User(viewer): User,
    ApiQuery(p): ApiQuery<DataEntryParams>,
) -> Result<Json<Vec<DataEntry>>, Problem> {
    let limit = p.limit.unwrap_or(50);
    if limit == 0 || limit > MAX_PAGE {
        return Err(Problem::bad_request(
            "limit",
            format!("the page size must be between 1 and {MAX_PAGE}"),
        ));
    }
    let (involved, offset) = (p.involved.unwrap_or(false), p.offset.unwrap_or(0));
    Ok(Json(
        state
            .blocking(move |n| n.data_entries(&viewer, involved, offset, limit))
            .await?,
    ))
}

/// One data entry (404 also when I may not see it).
#[utoipa::path(get, path = "/api/v1/data-entries/{entry_type}/{entry_id}", tag = "business data",
    params(("entry_type" = String, Path), ("entry_id" = String, Path)),
    responses((status = 200, body = DataEntry), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn data_entry(
    State(state): State<AppState>,
    User(viewer): User,
    _: NoQuery,
    Path((entry_type, entry_id)): Path<(String, String)>,
) -> Result<Json<DataEntry>, Problem> {
    state
        .blocking(move |n| n.data_entry(&viewer, &entry_type, &entry_id))
        .await?
        .map(Json)
        .ok_or_else(|| Problem::not_found("no such data entry"))
}

/// Starts a process of a definition I may start, with its start form's values: a
/// request to the owning application, answered like an action on a task (202 with the
/// request; with `wait`, 200 once started, with the new instance's id and its first task
/// I may see, 409 with the engine's reason, 504 when it did not answer in time).
#[utoipa::path(post, path = "/api/v1/process-definitions/{id}/start", tag = "actions", params(("id" = String, Path), ActionParams, ("Idempotency-Key" = Option<String>, Header, description = "a client request id: a retry with the same key is answered with the first attempt's request, never performed twice")),
    request_body = StartBody,
    responses((status = 200, description = "with `wait`: started; `request.instanceId` names the instance, `task` is its first task I may see", body = ActionResponse), RequestAnswers, BodyAnswers))]
pub async fn start(
    State(state): State<AppState>,
    User(viewer): User,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<ActionParams>,
    IdempotencyKey(key): IdempotencyKey,
    ApiJson(body): ApiJson<StartBody>,
) -> Result<Response, Problem> {
    let who = viewer.clone();
    let requested = state
        .blocking(move |n| {
            n.start_process(&who, &id, body.values, body.business_key, key.as_deref())
        })
        .await?;
    // Routed over Kafka, the first task travels in another partition than the answer:
    // a moment to let it arrive.
    let settle = if state.node.routes_requests() {
        std::time::Duration::from_secs(3)
    } else {
        std::time::Duration::ZERO
    };
    super::tasks::answer(
        state,
        viewer,
        requested,
        p.wait.unwrap_or(false),
        settle,
        |n, viewer, r| match &r.instance_id {
            Some(instance) => n.first_task_of_instance(viewer, instance),
            None => Ok(None),
        },
    )
    .await
}

/// The start form of a process definition I may start (404 `no-form` when it has none).
#[utoipa::path(get, path = "/api/v1/process-definitions/{id}/start-form", tag = "business data", params(("id" = String, Path)),
    responses((status = 200, body = FormDocument), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn start_form(
    State(state): State<AppState>,
    User(viewer): User,
    _: NoQuery,
    Path(id): Path<String>,
) -> Result<Json<FormDocument>, Problem> {
    Ok(Json(
        state.blocking(move |n| n.start_form(&viewer, &id)).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/process-definitions", tag = "business data",
    responses((status = 200, body = Vec<ProcessDefinition>), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn process_definitions(
    State(state): State<AppState>,
    User(viewer): User,
    _: NoQuery,
) -> Result<Json<Vec<ProcessDefinition>>, Problem> {
    Ok(Json(
        state
            .blocking(move |n| n.process_definitions(&viewer))
            .await?,
    ))
}

/// The caller.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    pub user: String,
    pub groups: Vec<String>,
}

#[utoipa::path(get, path = "/api/v1/me", tag = "business data",
    responses((status = 200, body = Me), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn me(User(viewer): User, _: NoQuery) -> Result<Json<Me>, Problem> {
    match viewer {
        Viewer::User { user, groups } => Ok(Json(Me { user, groups })),
        Viewer::Admin => Err(Problem::forbidden("no user")),
    }
}
