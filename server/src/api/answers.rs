//! What the request endpoints (actions on tasks, process starts) may answer besides
//! their own 200, described once for the API document.

use taskpool_node::answers::ActionResponse;

use crate::problem::Problem;

/// Every user request's answers but its 200 (which says what was performed).
#[derive(utoipa::IntoResponses)]
#[allow(dead_code, clippy::large_enum_variant)] // only described, never built
pub enum RequestAnswers {
    /// requested: on its way to the owning application (see `Location`)
    #[response(status = 202)]
    Requested(ActionResponse),
    /// with `wait`: the application did not answer in time
    #[response(status = 504, content_type = "application/problem+json")]
    Expired(Problem),
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(Problem),
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(Problem),
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(Problem),
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(Problem),
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(Problem),
    /// refused by the pool (the task's rules) or, with `wait`, by the application (its reason)
    #[response(status = 409, content_type = "application/problem+json")]
    Refused(Problem),
    /// the `Idempotency-Key` was used for another request
    #[response(status = 422, content_type = "application/problem+json")]
    KeyReused(Problem),
}

/// What a request with a body may answer besides.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code, clippy::large_enum_variant)] // only described, never built
pub enum BodyAnswers {
    #[response(status = 413, content_type = "application/problem+json")]
    TooLarge(Problem),
    #[response(status = 415, content_type = "application/problem+json")]
    NotJson(Problem),
}
