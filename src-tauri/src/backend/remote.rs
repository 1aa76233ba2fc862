//! The remote backend: a taskpool server over HTTP (reqwest) and Server-Sent Events
//! (eventsource-client). Streams resume after the last event id when the connection
//! drops and reconnect with backoff; the window sees the connection state.

use std::time::Duration;

use base64::Engine;
use eventsource_client::{Client, ClientBuilder, ReconnectOptions, SSE};
use futures::StreamExt;
use serde::Deserialize;
use taskpool_collector::outcome_log::OutcomeRecord;
use taskpool_core::live::{LiveItem, Snapshot};
use tokio_util::sync::CancellationToken;

use super::{
    Backend, BackendError, KnownUser, Mode, Reply, Request, Session, Sink, StreamHandle,
    StreamMessage,
};

pub struct RemoteBackend {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct TokenAnswer {
    token: String,
    user: String,
    groups: Vec<String>,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    groups: Vec<String>,
}

#[derive(Deserialize, Default)]
struct ProblemBody {
    #[serde(default)]
    detail: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    field: Option<String>,
}

impl RemoteBackend {
    /// A backend for the server at `url` (`http://host:port`), signing in with `token`
    /// when given, else with the server's development login.
    pub fn new(url: &str, token: Option<String>) -> Result<Self, BackendError> {
        let base = url.trim().trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(BackendError::bad_input(
                "serverUrl",
                "the server URL must start with http:// or https://",
            ));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(BackendError::unreachable)?;
        Ok(Self {
            base,
            token: token.filter(|t| !t.trim().is_empty()),
            http,
        })
    }

    async fn send(
        &self,
        token: Option<&str>,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<serde_json::Value, BackendError> {
        let mut req = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.map_err(BackendError::unreachable)?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(BackendError::unreachable)?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(BackendError::unreachable);
        }
        let problem: ProblemBody = serde_json::from_slice(&bytes).unwrap_or_default();
        Err(BackendError {
            status: status.as_u16(),
            detail: problem
                .detail
                .unwrap_or_else(|| format!("the server answered {status}")),
            code: problem.code,
            field: problem.field,
        })
    }

    fn token<'a>(&self, session: &'a Session) -> Result<&'a str, BackendError> {
        session
            .token
            .as_deref()
            .ok_or_else(BackendError::not_signed_in)
    }

    async fn answer(
        &self,
        session: &Session,
        request: Request,
    ) -> Result<serde_json::Value, BackendError> {
        use reqwest::Method;
        let token = Some(self.token(session)?);
        let get = |path: String| async move { self.send(token, Method::GET, &path, None).await };
        match request {
            Request::Tasks {
                query,
                offset,
                limit,
            } => {
                get(format!(
                    "/api/v1/tasks?{}",
                    join(&query, &format!("offset={offset}&limit={limit}"))
                ))
                .await
            }
            Request::Task { id } => get(format!("/api/v1/tasks/{}", enc(&id))).await,
            Request::TaskDataEntries { id } => {
                get(format!("/api/v1/tasks/{}/data-entries", enc(&id))).await
            }
            Request::DataEntries { involved } => {
                get(format!(
                    "/api/v1/data-entries?limit=200&involved={involved}"
                ))
                .await
            }
            Request::ProcessDefinitions => get("/api/v1/process-definitions".into()).await,
            Request::CountsByApplication => get("/api/v1/tasks/counts-by-application".into()).await,
            Request::Attributes => get("/api/v1/tasks/attributes".into()).await,
            Request::AttributeValues { name } => {
                get(format!("/api/v1/tasks/attributes/{}/values", enc(&name))).await
            }
            Request::Outcomes => get("/api/v1/outcomes?limit=200".into()).await,
            Request::Act { id, action, body } => {
                let body = match (action, body) {
                    (super::Action::Complete, None) => Some(serde_json::json!({ "payload": {} })),
                    (_, body) => body,
                };
                let path = format!("/api/v1/tasks/{}/{}?wait=true", enc(&id), action.as_str());
                self.send(token, Method::POST, &path, body).await
            }
        }
    }

    /// Follows one SSE stream until `stop`, passing its events to `on_event`.
    fn follow(
        &self,
        url: String,
        token: String,
        sink: Sink,
        stop: CancellationToken,
        on_event: fn(&eventsource_client::Event) -> Option<StreamMessage>,
    ) -> Result<(), BackendError> {
        let bad_url =
            |e: eventsource_client::Error| BackendError::bad_input("serverUrl", e.to_string());
        let client = ClientBuilder::for_url(&url)
            .map_err(bad_url)?
            .header("Authorization", &format!("Bearer {token}"))
            .map_err(bad_url)?
            .reconnect(
                ReconnectOptions::reconnect(true)
                    .retry_initial(true)
                    .delay(Duration::from_millis(500))
                    .backoff_factor(2)
                    .delay_max(Duration::from_secs(10))
                    .build(),
            )
            .build();
        tokio::spawn(async move {
            let mut events = client.stream();
            let mut connected = false;
            loop {
                let next = tokio::select! {
                    _ = stop.cancelled() => break,
                    next = events.next() => next,
                };
                let message = match next {
                    None => break,
                    Some(Ok(SSE::Connected(_))) => {
                        connected = true;
                        Some(StreamMessage::State {
                            connected: true,
                            detail: None,
                        })
                    }
                    Some(Ok(SSE::Comment(_))) => None,
                    Some(Ok(SSE::Event(e))) => match e.event_type.as_str() {
                        "end" => {
                            connected = false;
                            Some(StreamMessage::State {
                                connected: false,
                                detail: Some("the server is stopping".into()),
                            })
                        }
                        _ => on_event(&e),
                    },
                    Some(Err(e)) => {
                        tracing::debug!(error = %e, "live stream interrupted; reconnecting");
                        if connected {
                            connected = false;
                            Some(StreamMessage::State {
                                connected: false,
                                detail: Some(e.to_string()),
                            })
                        } else {
                            None
                        }
                    }
                };
                if let Some(m) = message {
                    if !sink(m) {
                        break;
                    }
                }
            }
        });
        Ok(())
    }
}

/// Percent-encodes a path segment.
fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn join(query: &str, more: &str) -> String {
    let q = query.trim_start_matches('?');
    if q.is_empty() {
        more.to_string()
    } else {
        format!("{q}&{more}")
    }
}

fn task_event(e: &eventsource_client::Event) -> Option<StreamMessage> {
    match e.event_type.as_str() {
        "snapshot" => match serde_json::from_str::<Snapshot>(&e.data) {
            Ok(snapshot) => Some(StreamMessage::Snapshot { snapshot }),
            Err(err) => bad_event(e, err),
        },
        "entered" | "changed" | "left" => match serde_json::from_str::<LiveItem>(&e.data) {
            Ok(item) => Some(StreamMessage::Live { item }),
            Err(err) => bad_event(e, err),
        },
        "error" => Some(StreamMessage::Failed {
            error: serde_json::from_str::<ProblemBody>(&e.data)
                .ok()
                .and_then(|p| p.detail)
                .map(|d| BackendError::new(500, d))
                .unwrap_or_else(|| BackendError::new(500, "the server's stream failed")),
        }),
        _ => None,
    }
}

fn outcome_event(e: &eventsource_client::Event) -> Option<StreamMessage> {
    match e.event_type.as_str() {
        "outcome" => match serde_json::from_str::<OutcomeRecord>(&e.data) {
            Ok(outcome) => Some(StreamMessage::Outcome { outcome }),
            Err(err) => bad_event(e, err),
        },
        _ => None,
    }
}

fn bad_event(e: &eventsource_client::Event, err: serde_json::Error) -> Option<StreamMessage> {
    tracing::warn!(event = %e.event_type, error = %err, "ignored an event the server sent that this app cannot read");
    None
}

/// The user and groups a token names (shown in the window; the server checks it).
fn claims_of(token: &str) -> Result<Claims, BackendError> {
    let bad = || BackendError::bad_input("token", "the token is not a JWT with a `sub` claim");
    let payload = token.split('.').nth(1).ok_or_else(bad)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| bad())?;
    serde_json::from_slice(&bytes).map_err(|_| bad())
}

impl Backend for RemoteBackend {
    fn mode(&self) -> Mode {
        Mode::Remote
    }

    fn known_users(&self) -> Vec<KnownUser> {
        Vec::new()
    }

    fn login<'a>(&'a self, user: &'a str) -> Reply<'a, Session> {
        Box::pin(async move {
            if let Some(token) = &self.token {
                let claims = claims_of(token)?;
                // Checks the token (and the server) before the window says "signed in".
                let session = Session {
                    user: claims.sub,
                    groups: claims.groups,
                    token: Some(token.clone()),
                };
                self.send(
                    Some(token),
                    reqwest::Method::GET,
                    "/api/v1/tasks?limit=1",
                    None,
                )
                .await?;
                return Ok(session);
            }
            let answer = self
                .send(
                    None,
                    reqwest::Method::POST,
                    "/api/v1/dev/token",
                    Some(serde_json::json!({ "user": user.trim() })),
                )
                .await?;
            let t: TokenAnswer =
                serde_json::from_value(answer).map_err(BackendError::unreachable)?;
            Ok(Session {
                user: t.user,
                groups: t.groups,
                token: Some(t.token),
            })
        })
    }

    fn request<'a>(
        &'a self,
        session: &'a Session,
        request: Request,
    ) -> Reply<'a, serde_json::Value> {
        Box::pin(self.answer(session, request))
    }

    fn stream_tasks<'a>(
        &'a self,
        session: &'a Session,
        query: &'a str,
        sink: Sink,
    ) -> Reply<'a, StreamHandle> {
        Box::pin(async move {
            let token = self.token(session)?.to_string();
            // A refused query answers with a problem document here, before the stream.
            self.send(
                Some(&token),
                reqwest::Method::GET,
                &format!(
                    "/api/v1/tasks?{}",
                    join(&strip_stream_only(query), "limit=1")
                ),
                None,
            )
            .await?;
            let url = format!(
                "{}/api/v1/stream/tasks?{}",
                self.base,
                query.trim_start_matches('?')
            );
            let stop = CancellationToken::new();
            self.follow(url, token, sink, stop.clone(), task_event)?;
            Ok(StreamHandle::new(stop))
        })
    }

    fn stream_outcomes<'a>(&'a self, session: &'a Session, sink: Sink) -> Reply<'a, StreamHandle> {
        Box::pin(async move {
            let token = self.token(session)?.to_string();
            let url = format!("{}/api/v1/stream/outcomes", self.base);
            let stop = CancellationToken::new();
            self.follow(url, token, sink, stop.clone(), outcome_event)?;
            Ok(StreamHandle::new(stop))
        })
    }
}

/// The stream's query without the parameters only the stream knows (`from`, `limit`).
fn strip_stream_only(query: &str) -> String {
    query
        .trim_start_matches('?')
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("from=") && !p.starts_with("limit="))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_are_read_from_the_token_payload() {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"sub":"alice","groups":["support"],"exp":1}"#);
        let c = claims_of(&format!("h.{payload}.s")).expect("claims");
        assert_eq!(c.sub, "alice");
        assert_eq!(c.groups, vec!["support".to_string()]);
        assert_eq!(
            claims_of("not a token")
                .map(|_| ())
                .expect_err("not a JWT")
                .field
                .as_deref(),
            Some("token")
        );
    }

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(enc("a/b c?"), "a%2Fb%20c%3F");
        assert_eq!(join("", "limit=1"), "limit=1");
        assert_eq!(join("?q=x", "limit=1"), "q=x&limit=1");
        assert_eq!(strip_stream_only("q=x&from=4&limit=9"), "q=x");
    }

    #[test]
    fn urls_must_be_http() {
        assert!(RemoteBackend::new("ftp://x", None).is_err());
        assert!(RemoteBackend::new("http://127.0.0.1:8080/", None).is_ok());
    }
}
