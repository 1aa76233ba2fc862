//! Every error answer is `application/problem+json` (RFC 9457), naming the bad field when
//! there is one. Also the strict extractors for JSON bodies and query strings: unknown
//! fields are refused, and the error says where the input went wrong.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use taskpool_core::query::QueryError;

use crate::auth::AuthError;
use taskpool_node::NodeError;

/// An error answer: the task pool's one problem document ([`taskpool_node::Problem`]),
/// sent as `application/problem+json`. A thin wrapper only because the response
/// conversion (axum's trait) cannot be implemented on the node's type here.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(transparent)]
pub struct Problem(pub taskpool_node::Problem);

impl Problem {
    pub fn new(status: StatusCode, kind: &str, detail: impl Into<String>) -> Self {
        Self(taskpool_node::Problem::new(status.as_u16(), kind, detail))
    }

    /// Says when to try again (`Retry-After`).
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.0.retry_after = Some(secs);
        self
    }

    pub fn field(self, field: impl Into<String>) -> Self {
        Self(self.0.field(field))
    }

    pub fn code(self, code: impl Into<String>) -> Self {
        Self(self.0.code(code))
    }

    pub fn bad_request(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self(taskpool_node::Problem::bad_request(field, detail))
    }

    pub fn unprocessable(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self(taskpool_node::Problem::unprocessable(field, detail))
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self(taskpool_node::Problem::not_found(detail))
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self(taskpool_node::Problem::forbidden(detail))
    }

    pub fn internal(detail: impl Into<String>) -> Self {
        Self(taskpool_node::Problem::internal(detail))
    }
}

impl std::ops::Deref for Problem {
    type Target = taskpool_node::Problem;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Problem {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

// The API document describes the node's problem document.
impl utoipa::PartialSchema for Problem {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <taskpool_node::Problem as utoipa::PartialSchema>::schema()
    }
}

impl utoipa::ToSchema for Problem {
    fn name() -> std::borrow::Cow<'static, str> {
        <taskpool_node::Problem as utoipa::ToSchema>::name()
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self.0).unwrap_or_default();
        let mut response = (status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = self.0.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<taskpool_node::Problem> for Problem {
    fn from(p: taskpool_node::Problem) -> Self {
        Self(p)
    }
}

impl From<AuthError> for Problem {
    fn from(e: AuthError) -> Self {
        Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", e.to_string())
    }
}

impl From<QueryError> for Problem {
    fn from(e: QueryError) -> Self {
        Self(e.into())
    }
}

impl From<NodeError> for Problem {
    fn from(e: NodeError) -> Self {
        Self(e.into())
    }
}

/// A JSON body, decoded strictly; errors name the path of the bad field.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| {
                let mime = ct
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                mime == "application/json" || mime.ends_with("+json")
            });
        if !json {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "send the body as application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            let status = e.status();
            if status == StatusCode::PAYLOAD_TOO_LARGE {
                Problem::new(
                    status,
                    "too-large",
                    "the request body is larger than the limit",
                )
            } else {
                Problem::new(status, "invalid-body", e.body_text())
            }
        })?;
        // Every body is a JSON object (serde would also read a struct from an array).
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        if first.is_some_and(|b| *b != b'{') {
            return Err(Problem::unprocessable(
                "body",
                "the body must be a JSON object",
            ));
        }
        decode_json(&bytes).map(ApiJson)
    }
}

/// Decodes JSON; the error names the path (`events[1].taskId`).
pub fn decode_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let inner = e.inner();
        if inner.is_syntax() || inner.is_eof() {
            return Problem::bad_request("body", format!("malformed JSON: {inner}"));
        }
        // A tagged value (an engine event, a command) names the path inside it.
        let (path, detail) =
            taskpool_core::field_path::join(&e.path().to_string(), &inner.to_string());
        // "missing field `createTime`" at `events[0].task`: the field is
        // `events[0].task.createTime`.
        let missing = detail
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next());
        let field = match (path.is_empty(), missing) {
            (true, Some(name)) => name.to_string(),
            (true, None) => "body".to_string(),
            (false, Some(name)) => format!("{path}.{name}"),
            (false, None) => path,
        };
        Problem::unprocessable(field, detail)
    })
}

/// The query of an endpoint that takes no parameters: any parameter is refused as
/// unknown, as everywhere else, never silently ignored (`?wait=true` on an ingestion
/// call does not wait).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

/// Extracts [`NoParams`]: add it to every handler without query parameters.
pub type NoQuery = ApiQuery<NoParams>;

/// A query string, decoded strictly (unknown parameters are refused).
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded_parse(query));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|e| {
                let path = e.path().to_string();
                let detail = e.into_inner().to_string();
                let field = if path == "." {
                    detail
                        .split('`')
                        .nth(1)
                        .map(String::from)
                        .unwrap_or_else(|| "query".into())
                } else {
                    path
                };
                Problem::bad_request(field, format!("bad query parameter: {detail}"))
            })
    }
}

fn form_urlencoded_parse(query: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(query.as_bytes())
}
