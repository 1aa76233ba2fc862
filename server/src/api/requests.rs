//! Users' requests to the owning applications and where each stands (requested,
//! performed, rejected with the engine's reason, expired naming the application): a
//! user sees their own, an admin every one.

use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use taskpool_core::query::ActionRequest;
use utoipa::IntoParams;

use super::{AppState, User};
use crate::problem::{ApiQuery, NoQuery, Problem};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RequestParams {
    /// 1 to 1000 (default 50).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
}

/// My latest requests, newest first.
#[utoipa::path(get, path = "/api/v1/requests", tag = "actions", params(RequestParams),
    responses((status = 200, body = Vec<ActionRequest>), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn list_requests(
    State(state): State<AppState>,
    User(viewer): User,
    ApiQuery(params): ApiQuery<RequestParams>,
) -> Result<Json<Vec<ActionRequest>>, Problem> {
    let limit = params.limit.unwrap_or(50);
    if limit == 0 || limit > 1000 {
        return Err(Problem::bad_request(
            "limit",
            "the limit must be between 1 and 1000",
        ));
    }
    Ok(Json(
        state.blocking(move |n| n.requests(&viewer, limit)).await?,
    ))
}

/// One of my requests, as it stands now.
#[utoipa::path(get, path = "/api/v1/requests/{id}", tag = "actions", params(("id" = uuid::Uuid, Path, description = "the request id (the action's `request.requestId`)")),
    responses((status = 200, body = ActionRequest), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_request(
    State(state): State<AppState>,
    User(viewer): User,
    Path(id): Path<String>,
    _: NoQuery,
) -> Result<Json<ActionRequest>, Problem> {
    let id = uuid::Uuid::parse_str(&id)
        .map_err(|_| Problem::bad_request("id", "a request id is a UUID"))?;
    Ok(Json(state.blocking(move |n| n.request(&viewer, id)).await?))
}
