//! My saved filters (a quick view, a filter, a search, a sort under a name), each with
//! how many tasks it shows me now: listed, saved, renamed or changed, deleted.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use taskpool_node::filters::{FilterInput, SavedFilter};

use super::{AppState, User};
use crate::problem::{ApiJson, NoQuery, Problem};

/// My saved filters, in the order I saved them, each with its count.
#[utoipa::path(get, path = "/api/v1/filters", tag = "saved filters",
    responses((status = 200, body = Vec<SavedFilter>), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn list_filters(
    State(state): State<AppState>,
    User(viewer): User,
    _: NoQuery,
) -> Result<Json<Vec<SavedFilter>>, Problem> {
    Ok(Json(
        state.blocking(move |n| n.saved_filters(&viewer)).await?,
    ))
}

/// Saves a filter under a name (422 naming the field that cannot be saved; 409 when I
/// have a filter by that name).
#[utoipa::path(post, path = "/api/v1/filters", tag = "saved filters", request_body = FilterInput,
    responses((status = 201, body = SavedFilter), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"), (status = 413, body = Problem, content_type = "application/problem+json"), (status = 415, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn save_filter(
    State(state): State<AppState>,
    User(viewer): User,
    _: NoQuery,
    ApiJson(input): ApiJson<FilterInput>,
) -> Result<Response, Problem> {
    let saved = state
        .blocking(move |n| n.save_filter(&viewer, &input))
        .await?;
    Ok((StatusCode::CREATED, Json(saved)).into_response())
}

/// Renames or changes one of my saved filters.
#[utoipa::path(put, path = "/api/v1/filters/{id}", tag = "saved filters", params(("id" = String, Path)), request_body = FilterInput,
    responses((status = 200, body = SavedFilter), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"), (status = 413, body = Problem, content_type = "application/problem+json"), (status = 415, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn update_filter(
    State(state): State<AppState>,
    User(viewer): User,
    Path(id): Path<String>,
    _: NoQuery,
    ApiJson(input): ApiJson<FilterInput>,
) -> Result<Json<SavedFilter>, Problem> {
    Ok(Json(
        state
            .blocking(move |n| n.update_filter(&viewer, &id, &input))
            .await?,
    ))
}

/// Deletes one of my saved filters.
#[utoipa::path(delete, path = "/api/v1/filters/{id}", tag = "saved filters", params(("id" = String, Path)),
    responses((status = 204, description = "deleted"), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn delete_filter(
    State(state): State<AppState>,
    User(viewer): User,
    Path(id): Path<String>,
    _: NoQuery,
) -> Result<StatusCode, Problem> {
    state
        .blocking(move |n| n.delete_filter(&viewer, &id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
