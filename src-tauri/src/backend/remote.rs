//! The remote backend: a taskpool server over HTTP (reqwest) and Server-Sent Events
//! (eventsource-client). Streams resume after the last event id when the connection
//! drops and reconnect with backoff; the window sees the connection state.

use std::time::Duration;

use base64::Engine;
use eventsource_client::{Client, ClientBuilder, ReconnectOptions, SSE};
use futures::StreamExt;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use taskpool_collector::outcome_log::OutcomeRecord;
use taskpool_core::live::{LiveItem, Snapshot};
use taskpool_core::query::TaskPage;
use taskpool_node::node::TaskAction;
use taskpool_node::params::{
    AssignBody, CompleteBody, DeferBody, StartBody, TaskListParams, TaskStreamParams,
};
use tokio_util::sync::CancellationToken;

use super::{
    Answer, Backend, KnownUser, Mode, Problem, Reply, Request, Session, Sink, StreamHandle,
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

/// Whether an `http://` URL names this machine.
fn loopback(url: &str) -> bool {
    let authority = url
        .split_once("://")
        .map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or(""))
        .unwrap_or("");
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority
            .rsplit_once(':')
            .map(|(h, _)| h)
            .unwrap_or(authority),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl RemoteBackend {
    /// A backend for the server at `url` (`http://host:port`), signing in with `token`
    /// when given, else with the server's development login.
    pub fn new(url: &str, token: Option<String>) -> Result<Self, Problem> {
        Self::with_http(url, token, false)
    }

    /// Like [`RemoteBackend::new`]; `allow_insecure_http` lets an `http://` server that
    /// is not this machine be used (the token then crosses the network in clear).
    pub fn with_http(
        url: &str,
        token: Option<String>,
        allow_insecure_http: bool,
    ) -> Result<Self, Problem> {
        let base = url.trim().trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Problem::bad_request(
                "serverUrl",
                "the server URL must start with http:// or https://",
            ));
        }
        if base.starts_with("http://") && !allow_insecure_http && !loopback(&base) {
            return Err(Problem::bad_request(
                "serverUrl",
                "an http:// server that is not this machine would see the token cross the network in clear: use https://, or allow it explicitly in the settings",
            ));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(crate::backend::unreachable)?;
        Ok(Self {
            base,
            token: token.filter(|t| !t.trim().is_empty()),
            http,
        })
    }

    /// Sends a request and reads the answer as the server's document `T` (or its
    /// problem document).
    async fn send<T: DeserializeOwned>(
        &self,
        token: Option<&str>,
        method: reqwest::Method,
        path: &str,
        body: Option<&(dyn erased::Body + Sync)>,
    ) -> Result<T, Problem> {
        self.send_with_key(token, method, path, body, None).await
    }

    /// A user's request (an action, a start) under a key of its own: when its answer is
    /// lost (the server unreachable, or an answer that leaves the outcome open: 502,
    /// 503, 504) it is sent again with the same `Idempotency-Key`, and the server
    /// answers with the first attempt's request, never performing it twice.
    async fn send_keyed<T: DeserializeOwned>(
        &self,
        token: Option<&str>,
        method: reqwest::Method,
        path: &str,
        body: Option<&(dyn erased::Body + Sync)>,
    ) -> Result<T, Problem> {
        let key = idempotency_key();
        let mut pauses = RETRY_PAUSES.iter();
        loop {
            match self
                .send_with_key(token, method.clone(), path, body, Some(&key))
                .await
            {
                Err(p) if matches!(p.status, 0 | 502 | 503 | 504) => match pauses.next() {
                    Some(pause) => tokio::time::sleep(*pause).await,
                    None => return Err(p),
                },
                other => return other,
            }
        }
    }

    async fn send_with_key<T: DeserializeOwned>(
        &self,
        token: Option<&str>,
        method: reqwest::Method,
        path: &str,
        body: Option<&(dyn erased::Body + Sync)>,
        key: Option<&str>,
    ) -> Result<T, Problem> {
        let mut req = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        if let Some(b) = body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(b.to_json()?);
        }
        let resp = req.send().await.map_err(crate::backend::unreachable)?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(crate::backend::unreachable)?;
        if status.is_success() {
            // No content (a deletion) reads as `null`.
            let body: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
            return serde_json::from_slice(body).map_err(crate::backend::unreachable);
        }
        // The server's own problem document; anything else (a proxy's page) is named by
        // its status.
        Err(
            serde_json::from_slice::<Problem>(&bytes).unwrap_or_else(|_| {
                Problem::new(
                    status.as_u16(),
                    "unexpected-answer",
                    format!("the server answered {status}"),
                )
            }),
        )
    }

    fn token<'a>(&self, session: &'a Session) -> Result<&'a str, Problem> {
        session
            .token
            .as_deref()
            .ok_or_else(crate::backend::not_signed_in)
    }

    async fn answer(&self, session: &Session, request: Request) -> Result<Answer, Problem> {
        let token = Some(self.token(session)?);
        let (method, _) = route(&request);
        let url = path(&request)?;
        Ok(match request {
            Request::Tasks { .. } => Answer::Tasks(self.get(token, &url).await?),
            Request::Task { .. } => Answer::Task(self.get(token, &url).await?),
            Request::TaskDataEntries { .. } | Request::DataEntries { .. } => {
                Answer::DataEntries(self.get(token, &url).await?)
            }
            Request::ProcessDefinitions => Answer::ProcessDefinitions(self.get(token, &url).await?),
            Request::TaskForm { .. } | Request::StartForm { .. } => {
                Answer::Form(self.get(token, &url).await?)
            }
            Request::CountsByApplication => Answer::Counts(self.get(token, &url).await?),
            Request::Attributes | Request::AttributeValues { .. } => {
                Answer::Names(self.get(token, &url).await?)
            }
            Request::Outcomes => Answer::Outcomes(self.get(token, &url).await?),
            Request::Requests => Answer::Requests(self.get(token, &url).await?),
            Request::Act { action, .. } => {
                // The server's own bodies for the actions that carry one.
                let complete;
                let defer;
                let assign;
                let body: Option<&(dyn erased::Body + Sync)> = match action {
                    TaskAction::Complete { payload } => {
                        complete = CompleteBody { payload };
                        Some(&complete)
                    }
                    TaskAction::Defer { follow_up_date } => {
                        defer = DeferBody { follow_up_date };
                        Some(&defer)
                    }
                    TaskAction::Assign { assignee } => {
                        assign = AssignBody { assignee };
                        Some(&assign)
                    }
                    TaskAction::Claim | TaskAction::Unclaim | TaskAction::Undefer => None,
                };
                Answer::Action(Box::new(self.send_keyed(token, method, &url, body).await?))
            }
            Request::Filters => Answer::Filters(self.get(token, &url).await?),
            Request::CompletedTasks { .. } => Answer::Completed(self.get(token, &url).await?),
            Request::Timeline { .. } => Answer::Timeline(self.get(token, &url).await?),
            Request::Diagram { .. } => Answer::Diagram(self.get(token, &url).await?),
            Request::SaveFilter { input } | Request::UpdateFilter { input, .. } => Answer::Filter(
                Box::new(self.send(token, method, &url, Some(&input)).await?),
            ),
            Request::DeleteFilter { .. } => {
                let _: serde_json::Value = self.send(token, method, &url, None).await?;
                Answer::Done
            }
            Request::Start { values, .. } => {
                let body = StartBody {
                    values,
                    business_key: None,
                };
                Answer::Action(Box::new(
                    self.send_keyed(token, method, &url, Some(&body)).await?,
                ))
            }
        })
    }

    async fn get<T: DeserializeOwned>(
        &self,
        token: Option<&str>,
        path: &str,
    ) -> Result<T, Problem> {
        self.send(token, reqwest::Method::GET, path, None).await
    }

    /// Follows one SSE stream until `stop`, passing its events to `on_event`.
    fn follow(
        &self,
        url: String,
        token: String,
        sink: Sink,
        stop: CancellationToken,
        on_event: fn(&eventsource_client::Event) -> Option<StreamMessage>,
    ) -> Result<(), Problem> {
        let bad_url =
            |e: eventsource_client::Error| Problem::bad_request("serverUrl", e.to_string());
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
                                detail: Some("the server ended the stream; reconnecting".into()),
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

/// The server's method and path template for a request: the remote backend's route
/// table, named as in the server's API document (a test checks each against it).
fn route(request: &Request) -> (reqwest::Method, &'static str) {
    use reqwest::Method;
    match request {
        Request::Tasks { .. } => (Method::GET, "/api/v1/tasks"),
        Request::Task { .. } => (Method::GET, "/api/v1/tasks/{id}"),
        Request::TaskDataEntries { .. } => (Method::GET, "/api/v1/tasks/{id}/data-entries"),
        Request::TaskForm { .. } => (Method::GET, "/api/v1/tasks/{id}/form"),
        Request::StartForm { .. } => (Method::GET, "/api/v1/process-definitions/{id}/start-form"),
        Request::Start { .. } => (Method::POST, "/api/v1/process-definitions/{id}/start"),
        Request::Filters => (Method::GET, "/api/v1/filters"),
        Request::CompletedTasks { .. } => (Method::GET, "/api/v1/completed-tasks"),
        Request::Timeline { .. } => (Method::GET, "/api/v1/tasks/{id}/timeline"),
        Request::Diagram { .. } => (Method::GET, "/api/v1/tasks/{id}/diagram"),
        Request::SaveFilter { .. } => (Method::POST, "/api/v1/filters"),
        Request::UpdateFilter { .. } => (Method::PUT, "/api/v1/filters/{id}"),
        Request::DeleteFilter { .. } => (Method::DELETE, "/api/v1/filters/{id}"),
        Request::DataEntries { .. } => (Method::GET, "/api/v1/data-entries"),
        Request::ProcessDefinitions => (Method::GET, "/api/v1/process-definitions"),
        Request::CountsByApplication => (Method::GET, "/api/v1/tasks/counts-by-application"),
        Request::Attributes => (Method::GET, "/api/v1/tasks/attributes"),
        Request::AttributeValues { .. } => (Method::GET, "/api/v1/tasks/attributes/{name}/values"),
        Request::Outcomes => (Method::GET, "/api/v1/outcomes"),
        Request::Requests => (Method::GET, "/api/v1/requests"),
        Request::Act { action, .. } => (
            Method::POST,
            match action {
                TaskAction::Claim => "/api/v1/tasks/{id}/claim",
                TaskAction::Unclaim => "/api/v1/tasks/{id}/unclaim",
                TaskAction::Complete { .. } => "/api/v1/tasks/{id}/complete",
                TaskAction::Defer { .. } => "/api/v1/tasks/{id}/defer",
                TaskAction::Undefer => "/api/v1/tasks/{id}/undefer",
                TaskAction::Assign { .. } => "/api/v1/tasks/{id}/assign",
            },
        ),
    }
}

/// The request's path and query: its template with the path parameters filled in
/// (percent-encoded), and the query parameters it takes.
fn path(request: &Request) -> Result<String, Problem> {
    let (_, template) = route(request);
    let filled = match request {
        Request::Task { id }
        | Request::TaskDataEntries { id }
        | Request::TaskForm { id }
        | Request::StartForm { id }
        | Request::Start { id, .. }
        | Request::UpdateFilter { id, .. }
        | Request::Timeline { id }
        | Request::Diagram { id }
        | Request::DeleteFilter { id }
        | Request::Act { id, .. } => template.replace("{id}", &enc(id)),
        Request::AttributeValues { name } => template.replace("{name}", &enc(name)),
        _ => template.to_string(),
    };
    Ok(match request {
        Request::Tasks { params } => format!("{filled}?{}", query_string(params)?),
        Request::DataEntries { involved } => format!("{filled}?limit=200&involved={involved}"),
        Request::Outcomes => format!("{filled}?limit=200"),
        Request::Requests => format!("{filled}?limit=100"),
        Request::CompletedTasks { offset } => format!("{filled}?limit=200&offset={offset}"),
        Request::Act { .. } | Request::Start { .. } => format!("{filled}?wait=true"),
        _ => filled,
    })
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

/// A query string from one of the node's parameter types (what the server decodes).
fn query_string(params: &impl serde::Serialize) -> Result<String, Problem> {
    serde_urlencoded::to_string(params).map_err(|e| Problem::bad_request("query", e.to_string()))
}

/// A request body of any of the server's body types, behind one reference.
mod erased {
    use super::Problem;

    pub trait Body {
        fn to_json(&self) -> Result<Vec<u8>, Problem>;
    }

    impl<T: serde::Serialize> Body for T {
        fn to_json(&self) -> Result<Vec<u8>, Problem> {
            serde_json::to_vec(self).map_err(|e| Problem::internal(e.to_string()))
        }
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
            error: serde_json::from_str::<Problem>(&e.data)
                .unwrap_or_else(|_| Problem::internal("the server's stream failed")),
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
/// Pauses before each retry of a user's request.
const RETRY_PAUSES: [Duration; 2] = [Duration::from_millis(500), Duration::from_millis(1500)];

/// A fresh idempotency key: 32 random hexadecimal digits.
fn idempotency_key() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn claims_of(token: &str) -> Result<Claims, Problem> {
    let bad = || Problem::bad_request("token", "the token is not a JWT with a `sub` claim");
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
                let _: TaskPage = self.get(Some(token), "/api/v1/tasks?limit=1").await?;
                return Ok(session);
            }
            let login = serde_json::json!({ "user": user.trim() });
            let t: TokenAnswer = self
                .send(
                    None,
                    reqwest::Method::POST,
                    "/api/v1/dev/token",
                    Some(&login),
                )
                .await?;
            Ok(Session {
                user: t.user,
                groups: t.groups,
                token: Some(t.token),
            })
        })
    }

    fn request<'a>(&'a self, session: &'a Session, request: Request) -> Reply<'a, Answer> {
        Box::pin(self.answer(session, request))
    }

    fn stream_tasks<'a>(
        &'a self,
        session: &'a Session,
        params: TaskStreamParams,
        sink: Sink,
    ) -> Reply<'a, StreamHandle> {
        Box::pin(async move {
            let token = self.token(session)?.to_string();
            // A refused query answers with a problem document here, before the stream.
            let probe = TaskListParams {
                limit: Some(1),
                ..params.list_params()
            };
            let _: TaskPage = self
                .get(
                    Some(&token),
                    &format!("/api/v1/tasks?{}", query_string(&probe)?),
                )
                .await?;
            let url = format!(
                "{}/api/v1/stream/tasks?{}",
                self.base,
                query_string(&params)?
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
    }

    #[test]
    fn query_strings_are_the_parameter_types_the_server_decodes() {
        let params = TaskStreamParams {
            filter: Some("amount > 100 & x".into()),
            assigned_to_me: Some(true),
            from: Some(4),
            ..Default::default()
        };
        let query = query_string(&params).expect("query");
        assert_eq!(
            query,
            "filter=amount+%3E+100+%26+x&assignedToMe=true&from=4"
        );
        let back: TaskStreamParams = serde_urlencoded::from_str(&query).expect("decodes");
        assert_eq!(back, params);
        let probe = TaskListParams {
            limit: Some(1),
            ..params.list_params()
        };
        assert_eq!(
            query_string(&probe).expect("query"),
            "filter=amount+%3E+100+%26+x&limit=1&assignedToMe=true"
        );
    }

    /// One request of each kind (and each action).
    fn every_request() -> Vec<Request> {
        let id = || "a/b".to_string();
        let mut all = vec![
            Request::Tasks {
                params: TaskListParams::default(),
            },
            Request::Task { id: id() },
            Request::TaskDataEntries { id: id() },
            Request::DataEntries { involved: true },
            Request::ProcessDefinitions,
            Request::CountsByApplication,
            Request::Attributes,
            Request::AttributeValues { name: "x y".into() },
            Request::Outcomes,
            Request::Requests,
            Request::TaskForm { id: id() },
            Request::StartForm { id: id() },
            Request::Start {
                id: id(),
                values: Default::default(),
            },
            Request::Filters,
            Request::SaveFilter {
                input: Default::default(),
            },
            Request::UpdateFilter {
                id: id(),
                input: Default::default(),
            },
            Request::DeleteFilter { id: id() },
            Request::CompletedTasks { offset: 200 },
            Request::Timeline { id: id() },
            Request::Diagram { id: id() },
        ];
        for action in [
            TaskAction::Claim,
            TaskAction::Unclaim,
            TaskAction::Complete {
                payload: Default::default(),
            },
            TaskAction::Defer {
                follow_up_date: chrono::Utc::now(),
            },
            TaskAction::Undefer,
            TaskAction::Assign {
                assignee: "bob".into(),
            },
        ] {
            all.push(Request::Act { id: id(), action });
        }
        all
    }

    #[test]
    fn every_route_is_in_the_servers_api_document() {
        // The document the server serves, as the UI keeps it (a server test keeps it
        // equal to the server's).
        let document: serde_json::Value = serde_json::from_str(include_str!(
            "../../../ui/src/lib/api-document/openapi.json"
        ))
        .expect("the API document");
        let requests = every_request();
        assert_eq!(requests.len(), 26, "a request of each kind");
        for request in &requests {
            let (method, template) = route(request);
            let operation = &document["paths"][template][method.as_str().to_ascii_lowercase()];
            assert!(
                operation.is_object(),
                "{method} {template} ({request:?}) is not in the server's API document"
            );
        }
    }

    #[test]
    fn paths_fill_the_templates_with_encoded_values() {
        let requests = every_request();
        assert_eq!(path(&requests[1]).expect("path"), "/api/v1/tasks/a%2Fb");
        assert_eq!(
            path(&requests[7]).expect("path"),
            "/api/v1/tasks/attributes/x%20y/values"
        );
        assert_eq!(
            path(&requests[9]).expect("path"),
            "/api/v1/requests?limit=100"
        );
        assert_eq!(
            path(&requests[11]).expect("path"),
            "/api/v1/process-definitions/a%2Fb/start-form"
        );
        assert_eq!(
            path(&requests[12]).expect("path"),
            "/api/v1/process-definitions/a%2Fb/start?wait=true"
        );
        assert_eq!(path(&requests[16]).expect("path"), "/api/v1/filters/a%2Fb");
        assert_eq!(
            path(&requests[17]).expect("path"),
            "/api/v1/completed-tasks?limit=200&offset=200"
        );
        assert_eq!(
            path(&requests[19]).expect("path"),
            "/api/v1/tasks/a%2Fb/diagram"
        );
        assert_eq!(
            path(&requests[20]).expect("path"),
            "/api/v1/tasks/a%2Fb/claim?wait=true"
        );
    }

    /// An answer lost to a 503 is asked again under the same key; the next action is
    /// another request with another key.
    #[tokio::test]
    async fn a_users_request_is_sent_again_under_its_key_when_its_outcome_is_left_open(
    ) -> Result<(), Box<dyn std::error::Error>> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let keys = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let seen = keys.clone();
        tokio::spawn(async move {
            for n in 0.. {
                let Ok((mut conn, _)) = listener.accept().await else {
                    return;
                };
                let mut buf = vec![0u8; 8192];
                let read = conn.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..read]).to_lowercase();
                let key = head
                    .lines()
                    .find_map(|l| l.strip_prefix("idempotency-key: "))
                    .unwrap_or("")
                    .trim()
                    .to_string();
                if let Ok(mut k) = seen.lock() {
                    k.push(key);
                }
                let (status, body) = if n == 0 {
                    (
                        "503 Service Unavailable",
                        r#"{"type":"x","title":"t","status":503}"#,
                    )
                } else {
                    ("200 OK", r#"{"ok":true}"#)
                };
                let answer = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = conn.write_all(answer.as_bytes()).await;
            }
        });
        let backend = RemoteBackend::new(&url, Some("t".into()))?;
        let post = || {
            backend.send_keyed::<serde_json::Value>(
                Some("t"),
                reqwest::Method::POST,
                "/api/v1/tasks/t/claim?wait=true",
                None,
            )
        };
        assert_eq!(post().await?, serde_json::json!({"ok": true}));
        post().await?;
        let keys = keys.lock().map(|k| k.clone()).unwrap_or_default();
        assert_eq!(keys.len(), 3, "{keys:?}");
        assert_eq!(keys[0].len(), 32, "{keys:?}");
        assert_eq!(
            keys[0], keys[1],
            "the retry carries the first attempt's key"
        );
        assert_ne!(keys[1], keys[2], "another request, another key");
        Ok(())
    }

    #[test]
    fn urls_must_be_http() {
        assert!(RemoteBackend::new("ftp://x", None).is_err());
        assert!(RemoteBackend::new("http://127.0.0.1:8080/", None).is_ok());
        assert!(RemoteBackend::new("http://localhost:8080", None).is_ok());
        assert!(RemoteBackend::new("http://[::1]:8080", None).is_ok());
        assert!(RemoteBackend::new("https://tasks.example.com", None).is_ok());
        assert!(RemoteBackend::new("http://tasks.example.com", None).is_err());
        assert!(RemoteBackend::new("http://127.0.0.1.evil.example", None).is_err());
        assert!(RemoteBackend::with_http("http://tasks.example.com", None, true).is_ok());
    }
}
