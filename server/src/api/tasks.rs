//! The tasklist: a user's tasks (the filter language, sort, paging), one task, its data
//! entries, counts, filter suggestions, and the actions on a task.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use taskpool_core::model::{DataEntry, Task};
use taskpool_core::query::{
    ActionRequest, CompletedPage, Diagram, FormDocument, TaskPage, TimelineEntry, Viewer,
};
use taskpool_node::answers::{ActionResponse, ApplicationCount};
use taskpool_node::node::{NodeError, TaskAction, TaskpoolNode};
use taskpool_node::params::{
    ActionParams, AssignBody, CompleteBody, DeferBody, ReadParams, SuggestionParams, TaskListParams,
};

use super::answers::{BodyAnswers, RequestAnswers};
use super::{AppState, IdempotencyKey, User};
use crate::problem::{ApiJson, ApiQuery, NoQuery, Problem};

/// The tasks I can see.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "tasks", params(TaskListParams),
    responses((status = 200, body = TaskPage), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 503, description = "the view did not reach `position` in time", body = Problem, content_type = "application/problem+json")))]
pub async fn list_tasks(
    State(state): State<AppState>,
    User(viewer): User,
    ApiQuery(params): ApiQuery<TaskListParams>,
) -> Result<Json<TaskPage>, Problem> {
    let q = params.query(viewer)?;
    state.reached(params.position).await?;
    Ok(Json(state.blocking(move |n| n.tasks(&q)).await?))
}

/// One task (404 also when I may not see it).
#[utoipa::path(get, path = "/api/v1/tasks/{id}", tag = "tasks", params(("id" = String, Path), ReadParams),
    responses((status = 200, body = Task), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 503, description = "the view did not reach `position` in time", body = Problem, content_type = "application/problem+json")))]
pub async fn get_task(
    State(state): State<AppState>,
    User(viewer): User,
    ApiQuery(read): ApiQuery<ReadParams>,
    Path(id): Path<String>,
) -> Result<Json<Task>, Problem> {
    state.reached(read.position).await?;
    Ok(Json(state.blocking(move |n| n.task(&viewer, &id)).await?))
}

/// The task's form (Camunda Forms / form-js JSON), registered by its application with
/// the task's process definition under the task's form key; 404 `no-form` when none was.
#[utoipa::path(get, path = "/api/v1/tasks/{id}/form", tag = "tasks", params(("id" = String, Path)),
    responses((status = 200, body = FormDocument), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn task_form(
    State(state): State<AppState>,
    User(viewer): User,
    _: NoQuery,
    Path(id): Path<String>,
) -> Result<Json<FormDocument>, Problem> {
    Ok(Json(
        state.blocking(move |n| n.task_form(&viewer, &id)).await?,
    ))
}

/// What happened to a task I may see (open, or completed and still in the history),
/// oldest first: created, assigned, deferred, my requests and the application's
/// answers, completed; when and by whom.
#[utoipa::path(get, path = "/api/v1/tasks/{id}/timeline", tag = "history", params(("id" = String, Path)),
    responses((status = 200, body = Vec<TimelineEntry>), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn task_timeline(
    State(state): State<AppState>,
    User(viewer): User,
    _: NoQuery,
    Path(id): Path<String>,
) -> Result<Json<Vec<TimelineEntry>>, Problem> {
    Ok(Json(
        state
            .blocking(move |n| n.task_timeline(&viewer, &id))
            .await?,
    ))
}

/// Paging of the history.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CompletedParams {
    /// The first row (default 0).
    #[param(minimum = 0, maximum = 1000000)]
    pub offset: Option<usize>,
    /// 1 to 1000 (default 50).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
}

/// The tasks I completed or could see when they were completed, within the node's
/// history retention (`history-days`), newest first.
#[utoipa::path(get, path = "/api/v1/completed-tasks", tag = "history", params(CompletedParams),
    responses((status = 200, body = CompletedPage), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn completed_tasks(
    State(state): State<AppState>,
    User(viewer): User,
    ApiQuery(p): ApiQuery<CompletedParams>,
) -> Result<Json<CompletedPage>, Problem> {
    let limit = p.limit.unwrap_or(50);
    if limit == 0 || limit > 1000 {
        return Err(Problem::bad_request(
            "limit",
            "the limit must be between 1 and 1000",
        ));
    }
    let offset = p.offset.unwrap_or(0);
    if offset > 1_000_000 {
        return Err(Problem::bad_request(
            "offset",
            "the offset must be at most 1000000",
        ));
    }
    Ok(Json(
        state
            .blocking(move |n| n.completed_tasks(&viewer, offset, limit))
            .await?,
    ))
}

/// The diagram of a task's process (BPMN 2.0 XML, registered by its application with the
/// process definition) and the element the task stands at; 404 `no-diagram` when none
/// was registered.
#[utoipa::path(get, path = "/api/v1/tasks/{id}/diagram", tag = "tasks", params(("id" = String, Path)),
    responses((status = 200, body = Diagram), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn task_diagram(
    State(state): State<AppState>,
    User(viewer): User,
    _: NoQuery,
    Path(id): Path<String>,
) -> Result<Json<Diagram>, Problem> {
    Ok(Json(
        state
            .blocking(move |n| n.task_diagram(&viewer, &id))
            .await?,
    ))
}

/// The data entries correlated with a task (those I may see).
#[utoipa::path(get, path = "/api/v1/tasks/{id}/data-entries", tag = "tasks", params(("id" = String, Path)),
    responses((status = 200, body = Vec<DataEntry>), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn task_data_entries(
    State(state): State<AppState>,
    User(viewer): User,
    _: NoQuery,
    Path(id): Path<String>,
) -> Result<Json<Vec<DataEntry>>, Problem> {
    Ok(Json(
        state
            .blocking(move |n| n.task_data_entries(&viewer, &id))
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/tasks/counts-by-application", tag = "tasks",
    responses((status = 200, body = Vec<ApplicationCount>), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn counts_by_application(
    State(state): State<AppState>,
    User(viewer): User,
    _: NoQuery,
) -> Result<Json<Vec<ApplicationCount>>, Problem> {
    let counts = state
        .blocking(move |n| n.counts_by_application(&viewer))
        .await?;
    Ok(Json(ApplicationCount::list(counts)))
}

/// Payload attribute names of my tasks (filter suggestions).
#[utoipa::path(get, path = "/api/v1/tasks/attributes", tag = "tasks", params(SuggestionParams),
    responses((status = 200, body = Vec<String>), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn attribute_names(
    State(state): State<AppState>,
    User(viewer): User,
    ApiQuery(p): ApiQuery<SuggestionParams>,
) -> Result<Json<Vec<String>>, Problem> {
    let limit = p.limit()?;
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
    let limit = p.limit()?;
    Ok(Json(
        state
            .blocking(move |n| n.attribute_values(&viewer, &name, limit))
            .await?,
    ))
}

/// A user's action: a request to the owning application. Without `wait`: 202 with the
/// request (read it later at `/requests/{id}`, or on the inbox). With `wait`: the
/// application's answer: 200 with the task as the view shows it after the effect, 409
/// with the engine's reason, 504 when it did not answer in time. The wait sleeps on
/// the view's position, never on a blocking thread.
async fn act(
    state: AppState,
    viewer: Viewer,
    id: String,
    action: TaskAction,
    wait: bool,
    key: Option<String>,
) -> Result<Response, Problem> {
    let who = viewer.clone();
    let task_id = id.clone();
    let requested = state
        .blocking(move |n| n.act(&who, &task_id, action, key.as_deref()))
        .await?;
    let after =
        move |n: &TaskpoolNode, viewer: &Viewer, _: &ActionRequest| Ok(n.task(viewer, &id).ok());
    // (The answer and the task's events are one aggregate's, in order everywhere.)
    answer(
        state,
        viewer,
        requested,
        wait,
        std::time::Duration::ZERO,
        after,
    )
    .await
}

/// The answer to a user's request: 202 with the request when not waiting (or still
/// requested); with `wait`, once the application answered, 200 with the request and the
/// task `task_after` finds (as the view shows it after the effect), 409 with the
/// engine's reason, 504 when it did not answer in time. The wait sleeps on the view's
/// position, never on a blocking thread. `settle`: how long a performed answer may wait
/// for `task_after` to find its task (events of other aggregates may reach this view
/// after the answer: over Kafka they travel in other partitions).
pub(super) async fn answer(
    state: AppState,
    viewer: Viewer,
    requested: ActionRequest,
    wait: bool,
    settle: std::time::Duration,
    task_after: impl Fn(&TaskpoolNode, &Viewer, &ActionRequest) -> Result<Option<Task>, NodeError>
        + Send
        + Sync
        + Clone
        + 'static,
) -> Result<Response, Problem> {
    let location = format!("/api/v1/requests/{}", requested.request_id);
    if !wait && !requested.state.is_final() {
        let body = ActionResponse::of(requested, None)?;
        return Ok((
            StatusCode::ACCEPTED,
            [(axum::http::header::LOCATION, location)],
            Json(body),
        )
            .into_response());
    }
    let mut answered = requested.clone();
    while !answered.state.is_final() {
        let mut view = state.view_position.clone();
        let seen = *view.borrow_and_update();
        let (who, asked) = (viewer.clone(), requested.clone());
        answered = state.blocking(move |n| n.request_now(&who, &asked)).await?;
        if answered.state.is_final() {
            break;
        }
        // Until the view moves (an answer may have come), or the request would expire.
        let left = answered
            .requested_at
            .map(|t| {
                t + chrono::Duration::from_std(state.node.request_expiry()).unwrap_or_default()
            })
            .and_then(|due| (due - chrono::Utc::now()).to_std().ok())
            .unwrap_or_default();
        let moved = async move { view.wait_for(|v| *v > seen).await.is_ok() };
        let _ = tokio::time::timeout(left + std::time::Duration::from_millis(10), moved).await;
    }
    let task = match taskpool_node::Problem::of_request(&answered) {
        Some(_) => None,
        None => {
            let until = tokio::time::Instant::now() + settle;
            loop {
                let mut view = state.view_position.clone();
                let seen = *view.borrow_and_update();
                let (who, request, after) = (viewer.clone(), answered.clone(), task_after.clone());
                let found = state.blocking(move |n| after(n, &who, &request)).await?;
                if found.is_some() || tokio::time::Instant::now() >= until {
                    break found;
                }
                let moved = async move { view.wait_for(|v| *v > seen).await.is_ok() };
                let _ = tokio::time::timeout_at(until, moved).await;
            }
        }
    };
    let body = ActionResponse::of(answered, task)?;
    Ok((
        StatusCode::OK,
        [(axum::http::header::LOCATION, location)],
        Json(body),
    )
        .into_response())
}

macro_rules! action_doc {
    ($name:ident, $action:expr, $path:literal, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "actions", params(("id" = String, Path), ActionParams, ("Idempotency-Key" = Option<String>, Header, description = "a client request id: a retry with the same key is answered with the first attempt's request, never performed twice")),
            responses((status = 200, description = "with `wait`: performed; the task as the view shows it after the effect", body = ActionResponse), RequestAnswers))]
        pub async fn $name(
            State(state): State<AppState>,
            User(viewer): User,
            Path(id): Path<String>,
            ApiQuery(p): ApiQuery<ActionParams>,
            IdempotencyKey(key): IdempotencyKey,
        ) -> Result<Response, Problem> {
            act(state, viewer, id, $action, p.wait.unwrap_or(false), key).await
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
#[utoipa::path(post, path = "/api/v1/tasks/{id}/complete", tag = "actions", params(("id" = String, Path), ActionParams, ("Idempotency-Key" = Option<String>, Header, description = "a client request id: a retry with the same key is answered with the first attempt's request, never performed twice")),
    request_body = CompleteBody,
    responses((status = 200, description = "with `wait`: performed; the task as the view shows it after the effect", body = ActionResponse), RequestAnswers, BodyAnswers))]
pub async fn complete(
    State(state): State<AppState>,
    User(viewer): User,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<ActionParams>,
    IdempotencyKey(key): IdempotencyKey,
    ApiJson(body): ApiJson<CompleteBody>,
) -> Result<Response, Problem> {
    let action = TaskAction::Complete {
        payload: body.payload,
    };
    act(state, viewer, id, action, p.wait.unwrap_or(false), key).await
}

/// Gives my task to another user; the owning application decides whether it may (409
/// with its reason when not).
#[utoipa::path(post, path = "/api/v1/tasks/{id}/assign", tag = "actions", params(("id" = String, Path), ActionParams, ("Idempotency-Key" = Option<String>, Header, description = "a client request id: a retry with the same key is answered with the first attempt's request, never performed twice")),
    request_body = AssignBody,
    responses((status = 200, description = "with `wait`: performed; the task as the view shows it after the effect", body = ActionResponse), RequestAnswers, BodyAnswers))]
pub async fn assign(
    State(state): State<AppState>,
    User(viewer): User,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<ActionParams>,
    IdempotencyKey(key): IdempotencyKey,
    ApiJson(body): ApiJson<AssignBody>,
) -> Result<Response, Problem> {
    let action = TaskAction::Assign {
        assignee: body.assignee,
    };
    act(state, viewer, id, action, p.wait.unwrap_or(false), key).await
}

/// Defers a task until a follow-up date.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/defer", tag = "actions", params(("id" = String, Path), ActionParams, ("Idempotency-Key" = Option<String>, Header, description = "a client request id: a retry with the same key is answered with the first attempt's request, never performed twice")),
    request_body = DeferBody,
    responses((status = 200, description = "with `wait`: performed; the task as the view shows it after the effect", body = ActionResponse), RequestAnswers, BodyAnswers))]
pub async fn defer(
    State(state): State<AppState>,
    User(viewer): User,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<ActionParams>,
    IdempotencyKey(key): IdempotencyKey,
    ApiJson(body): ApiJson<DeferBody>,
) -> Result<Response, Problem> {
    let action = TaskAction::Defer {
        follow_up_date: body.follow_up_date,
    };
    act(state, viewer, id, action, p.wait.unwrap_or(false), key).await
}
