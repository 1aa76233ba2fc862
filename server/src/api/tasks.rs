//! The tasklist: a user's tasks (the filter language, sort, paging), one task, its data
//! entries, counts, filter suggestions, and the actions on a task.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use taskpool_core::model::{DataEntry, Payload, Task};
use taskpool_core::query::{
    parse_sort, Deferred, Filter, Paging, QueryError, TaskPage, TaskQuery, Viewer, MAX_PAGE,
};
use taskpool_core::{BatchOutcome, CommandOutcome};
use utoipa::{IntoParams, ToSchema};

use super::{status_of, AppState, User};
use crate::node::{ActOutcome, TaskAction};
use crate::problem::{ApiJson, ApiQuery, Problem};

/// The task list query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TaskListParams {
    /// The filter language: `task.priority >= 50 and amount > 1000 and customer ~ acme`.
    pub filter: Option<String>,
    /// Full-text search over name, description, business key, process name and payload.
    pub q: Option<String>,
    /// Sort keys, `+due,-priority` (default `+due`).
    pub sort: Option<String>,
    /// Offset paging: the first row (default 0); with a cursor, rows skipped after it.
    pub offset: Option<usize>,
    /// The page size, 1 to 1000 (default 50).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
    /// Cursor paging: empty for the first page, then the `nextCursor` of the previous one.
    pub cursor: Option<String>,
    /// Only tasks assigned to me.
    pub assigned_to_me: Option<bool>,
    /// Only unassigned tasks I could claim.
    pub unassigned: Option<bool>,
    /// Deferred tasks: `exclude` (default), `include` or `only`.
    pub deferred: Option<Deferred>,
}

impl TaskListParams {
    /// The core query for `viewer`; errors name the parameter.
    pub fn query(&self, viewer: Viewer) -> Result<TaskQuery, Problem> {
        let mut q = TaskQuery::for_viewer(viewer);
        if let Some(f) = &self.filter {
            q.filter = Filter::parse(f).map_err(QueryError::from)?;
        }
        q.text = self.q.clone().filter(|t| !t.trim().is_empty());
        if let Some(s) = &self.sort {
            q.sort = parse_sort(s)?;
        }
        let limit = self.limit.unwrap_or(50);
        if limit == 0 || limit > MAX_PAGE {
            return Err(Problem::bad_request(
                "limit",
                format!("the page size must be between 1 and {MAX_PAGE}"),
            ));
        }
        q.paging = match &self.cursor {
            Some(c) => Paging::Cursor {
                after: Some(c.clone()).filter(|c| !c.is_empty()),
                offset: self.offset.unwrap_or(0),
                limit,
            },
            None => Paging::Offset {
                offset: self.offset.unwrap_or(0),
                limit,
            },
        };
        q.assigned_to_me = self.assigned_to_me.unwrap_or(false);
        q.unassigned_only = self.unassigned.unwrap_or(false);
        q.deferred = self.deferred.unwrap_or_default();
        Ok(q)
    }
}

/// The tasks I can see.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "tasks", params(TaskListParams),
    responses((status = 200, body = TaskPage), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn list_tasks(
    State(state): State<AppState>,
    User(viewer): User,
    ApiQuery(params): ApiQuery<TaskListParams>,
) -> Result<Json<TaskPage>, Problem> {
    let q = params.query(viewer)?;
    Ok(Json(state.blocking(move |n| n.tasks(&q)).await?))
}

/// One task (404 also when I may not see it).
#[utoipa::path(get, path = "/api/v1/tasks/{id}", tag = "tasks", params(("id" = String, Path)),
    responses((status = 200, body = Task), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_task(
    State(state): State<AppState>,
    User(viewer): User,
    Path(id): Path<String>,
) -> Result<Json<Task>, Problem> {
    Ok(Json(state.blocking(move |n| n.task(&viewer, &id)).await?))
}

/// The data entries correlated with a task (those I may see).
#[utoipa::path(get, path = "/api/v1/tasks/{id}/data-entries", tag = "tasks", params(("id" = String, Path)),
    responses((status = 200, body = Vec<DataEntry>), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn task_data_entries(
    State(state): State<AppState>,
    User(viewer): User,
    Path(id): Path<String>,
) -> Result<Json<Vec<DataEntry>>, Problem> {
    Ok(Json(
        state
            .blocking(move |n| n.task_data_entries(&viewer, &id))
            .await?,
    ))
}

/// My visible (not deferred) tasks per application.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationCount {
    pub application_name: String,
    pub count: u64,
}

#[utoipa::path(get, path = "/api/v1/tasks/counts-by-application", tag = "tasks",
    responses((status = 200, body = Vec<ApplicationCount>), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn counts_by_application(
    State(state): State<AppState>,
    User(viewer): User,
) -> Result<Json<Vec<ApplicationCount>>, Problem> {
    let counts = state
        .blocking(move |n| n.counts_by_application(&viewer))
        .await?;
    Ok(Json(
        counts
            .into_iter()
            .map(|(application_name, count)| ApplicationCount {
                application_name,
                count,
            })
            .collect(),
    ))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SuggestionParams {
    /// At most this many (1 to 1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
}

fn suggestion_limit(limit: Option<usize>) -> Result<usize, Problem> {
    match limit.unwrap_or(100) {
        0 => Err(Problem::bad_request(
            "limit",
            "the limit must be between 1 and 1000",
        )),
        n if n > MAX_PAGE => Err(Problem::bad_request(
            "limit",
            "the limit must be between 1 and 1000",
        )),
        n => Ok(n),
    }
}

/// Payload attribute names of my tasks (filter suggestions).
#[utoipa::path(get, path = "/api/v1/tasks/attributes", tag = "tasks", params(SuggestionParams),
    responses((status = 200, body = Vec<String>), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn attribute_names(
    State(state): State<AppState>,
    User(viewer): User,
    ApiQuery(p): ApiQuery<SuggestionParams>,
) -> Result<Json<Vec<String>>, Problem> {
    let limit = suggestion_limit(p.limit)?;
    Ok(Json(
        state
            .blocking(move |n| n.attribute_names(&viewer, limit))
            .await?,
    ))
}

/// Values of one payload attribute among my tasks.
#[utoipa::path(get, path = "/api/v1/tasks/attributes/{name}/values", tag = "tasks",
    params(("name" = String, Path), SuggestionParams),
    responses((status = 200, body = Vec<String>), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn attribute_values(
    State(state): State<AppState>,
    User(viewer): User,
    Path(name): Path<String>,
    ApiQuery(p): ApiQuery<SuggestionParams>,
) -> Result<Json<Vec<String>>, Problem> {
    let limit = suggestion_limit(p.limit)?;
    Ok(Json(
        state
            .blocking(move |n| n.attribute_values(&viewer, &name, limit))
            .await?,
    ))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ActionParams {
    /// Answer only once the view shows the effect (read-your-writes), or the timeout.
    pub wait: Option<bool>,
}

/// The answer to an accepted action.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActionResponse {
    pub outcome: CommandOutcome,
    /// The event store position of the action's last event.
    pub position: Option<i64>,
    /// With `?wait=true`: whether the view showed the effect before the timeout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visible: Option<bool>,
}

/// The answer of a tasklist node: the action is on its way to the owning application.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoutedResponse {
    pub command_id: uuid::Uuid,
    pub routed_to: String,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CompleteBody {
    /// The result values.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub payload: Payload,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeferBody {
    /// Hidden from the default inbox until then.
    pub follow_up_date: DateTime<Utc>,
}

/// The outcome of a user's action handled here: the accepted outcome, or the rejection
/// as a 409 problem carrying the outcome (its message code and message).
pub fn accepted_outcome(outcome: BatchOutcome) -> Result<CommandOutcome, Problem> {
    let Some(first) = outcome.outcomes.into_iter().next() else {
        return Err(Problem::internal("the gateway returned no outcome"));
    };
    if let Some(rejection) = first.rejection() {
        let mut problem = Problem::new(
            StatusCode::CONFLICT,
            "command-rejected",
            rejection.message.clone(),
        )
        .code(rejection.code.as_str());
        problem.outcome = serde_json::to_value(&first).ok();
        return Err(problem);
    }
    Ok(first)
}

async fn act(
    state: AppState,
    viewer: Viewer,
    id: String,
    action: TaskAction,
    wait: bool,
) -> Result<Response, Problem> {
    let outcome: BatchOutcome = match state.blocking(move |n| n.act(&viewer, &id, action)).await? {
        ActOutcome::Handled(outcome) => outcome,
        ActOutcome::Routed {
            command_id,
            application,
        } => {
            // A tasklist node: the owning application handles it and its events come
            // back through the view.
            return Ok((
                StatusCode::ACCEPTED,
                Json(RoutedResponse {
                    command_id,
                    routed_to: application,
                }),
            )
                .into_response());
        }
    };
    let position = outcome.position;
    let first = match accepted_outcome(outcome) {
        Ok(first) => first,
        Err(problem) => return Ok(problem.into_response()),
    };
    let visible = match (wait, position) {
        (true, Some(p)) => {
            let mut view = state.view_position.clone();
            let reached = async move { view.wait_for(|v| *v >= p).await.is_ok() };
            Some(
                tokio::time::timeout(state.wait_timeout, reached)
                    .await
                    .unwrap_or(false),
            )
        }
        (true, None) => Some(true),
        _ => None,
    };
    Ok((
        status_of(true),
        Json(ActionResponse {
            outcome: first,
            position,
            visible,
        }),
    )
        .into_response())
}

macro_rules! action_doc {
    ($name:ident, $action:expr, $path:literal, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "actions", params(("id" = String, Path), ActionParams),
            responses((status = 200, body = ActionResponse), (status = 202, description = "a tasklist node sent it to the owning application", body = RoutedResponse), (status = 503, body = Problem, content_type = "application/problem+json"), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"),
                (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, description = "rejected by the task's rules", body = Problem, content_type = "application/problem+json")))]
        pub async fn $name(
            State(state): State<AppState>,
            User(viewer): User,
            Path(id): Path<String>,
            ApiQuery(p): ApiQuery<ActionParams>,
        ) -> Result<Response, Problem> {
            act(state, viewer, id, $action, p.wait.unwrap_or(false)).await
        }
    };
}

action_doc!(
    claim,
    TaskAction::Claim,
    "/api/v1/tasks/{id}/claim",
    "Claims a task for me."
);
action_doc!(
    unclaim,
    TaskAction::Unclaim,
    "/api/v1/tasks/{id}/unclaim",
    "Gives a task I hold back."
);
action_doc!(
    undefer,
    TaskAction::Undefer,
    "/api/v1/tasks/{id}/undefer",
    "Brings a deferred task back to the inbox."
);

/// Completes a task with result values.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/complete", tag = "actions", params(("id" = String, Path), ActionParams),
    request_body = CompleteBody,
    responses((status = 200, body = ActionResponse), (status = 202, description = "a tasklist node sent it to the owning application", body = RoutedResponse), (status = 503, body = Problem, content_type = "application/problem+json"), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 413, body = Problem, content_type = "application/problem+json"), (status = 415, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn complete(
    State(state): State<AppState>,
    User(viewer): User,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<ActionParams>,
    ApiJson(body): ApiJson<CompleteBody>,
) -> Result<Response, Problem> {
    let action = TaskAction::Complete {
        payload: body.payload,
    };
    act(state, viewer, id, action, p.wait.unwrap_or(false)).await
}

/// Defers a task until a follow-up date.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/defer", tag = "actions", params(("id" = String, Path), ActionParams),
    request_body = DeferBody,
    responses((status = 200, body = ActionResponse), (status = 202, description = "a tasklist node sent it to the owning application", body = RoutedResponse), (status = 503, body = Problem, content_type = "application/problem+json"), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 413, body = Problem, content_type = "application/problem+json"), (status = 415, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn defer(
    State(state): State<AppState>,
    User(viewer): User,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<ActionParams>,
    ApiJson(body): ApiJson<DeferBody>,
) -> Result<Response, Problem> {
    let action = TaskAction::Defer {
        follow_up_date: body.follow_up_date,
    };
    act(state, viewer, id, action, p.wait.unwrap_or(false)).await
}
