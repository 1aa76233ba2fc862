//! Every error answer is `application/problem+json` (RFC 9457), naming the bad field when
//! there is one. Also the strict extractors for JSON bodies and query strings: unknown
//! fields are refused, and the error says where the input went wrong.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use taskpool_core::query::QueryError;

use crate::auth::AuthError;
use crate::node::NodeError;

/// A problem detail (RFC 9457).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The offending input, as a path (`commands[2].id`, `filter`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// A machine-readable code (a rejection code for refused commands).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The command outcome, for a refused command.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub outcome: Option<serde_json::Value>,
}

impl Problem {
    pub fn new(status: StatusCode, kind: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("https://taskpool.dev/problems/{kind}"),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: detail.into(),
            field: None,
            code: None,
            outcome: None,
        }
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    pub fn bad_request(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::BAD_REQUEST, "invalid-input", detail).field(field)
    }

    pub fn unprocessable(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-input", detail).field(field)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::NOT_FOUND, "not-found", detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn internal(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", detail)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<AuthError> for Problem {
    fn from(e: AuthError) -> Self {
        Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", e.to_string())
    }
}

impl From<QueryError> for Problem {
    fn from(e: QueryError) -> Self {
        match &e {
            QueryError::Filter(_)
            | QueryError::UnknownField { .. }
            | QueryError::BadValue { .. } => Problem::bad_request("filter", e.to_string()),
            QueryError::BadSort { .. } => Problem::bad_request("sort", e.to_string()),
            QueryError::BadCursor => Problem::bad_request("cursor", e.to_string()),
            QueryError::BadLimit { .. } => Problem::bad_request("limit", e.to_string()),
            QueryError::Sqlite(_) => {
                tracing::error!(error = %e, "view query failed");
                Problem::internal("the view could not answer")
            }
        }
    }
}

impl From<NodeError> for Problem {
    fn from(e: NodeError) -> Self {
        match e {
            NodeError::Query(q) => q.into(),
            NodeError::TaskNotFound => Problem::not_found("no such task"),
            NodeError::Routing(e) => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "routing-failed",
                format!("the action could not be sent to its application: {e}"),
            ),
            NodeError::ShuttingDown => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "shutting-down",
                "the server is shutting down",
            ),
            other => {
                tracing::error!(error = %other, "request failed");
                Problem::internal(other.to_string())
            }
        }
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
        decode_json(&bytes).map(ApiJson)
    }
}

/// Decodes JSON; the error names the path (`events[1].taskId`).
pub fn decode_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let detail = format!("{inner}");
        if inner.is_syntax() || inner.is_eof() {
            Problem::bad_request("body", format!("malformed JSON: {detail}"))
        } else {
            let field = if path == "." {
                // "missing field `followUpDate`": name the field.
                detail
                    .strip_prefix("missing field `")
                    .and_then(|rest| rest.split('`').next())
                    .map(String::from)
                    .unwrap_or_else(|| "body".into())
            } else {
                path
            };
            Problem::unprocessable(field, detail)
        }
    })
}

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
