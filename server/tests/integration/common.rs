//! Helpers for the server's integration tests: a real server on 127.0.0.1 port 0 with a
//! fresh data directory, tokens signed with that directory's secret, engine transactions
//! sent through the ingestion API, and a small Server-Sent Events reader.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::{Client, Response};
use serde_json::{json, Value};
use taskpool_server::auth::{application_token, load_or_create_secret, user_token};
use taskpool_server::{serve, RunningServer, ServerConfig};

pub struct TestServer {
    pub base: String,
    pub data_dir: PathBuf,
    pub server: RunningServer,
    secret: Vec<u8>,
    pub client: Client,
}

impl TestServer {
    pub async fn start(data_dir: &Path) -> Self {
        Self::start_with(data_dir, |_| {}).await
    }

    pub async fn start_with(data_dir: &Path, adjust: impl FnOnce(&mut ServerConfig)) -> Self {
        let mut config = ServerConfig {
            data_dir: data_dir.to_path_buf(),
            listen: "127.0.0.1:0".parse().expect("address"),
            keep_alive_secs: 1,
            ..Default::default()
        };
        adjust(&mut config);
        let configured = config.auth.hs256_secret.clone();
        let server = serve(config).await.expect("server starts");
        let secret = load_or_create_secret(data_dir, configured.as_deref()).expect("secret");
        Self {
            base: format!("http://{}", server.addr),
            data_dir: data_dir.to_path_buf(),
            server,
            secret,
            client: Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
        }
    }

    /// A server with the example application as its engine (no load generator), once
    /// the view holds the application's starting set (under load it lags).
    pub async fn with_example(data_dir: &Path) -> Self {
        let s = Self::start_with(data_dir, |c| c.example = true).await;
        s.wait_for_view(s.server.node.head_position()).await;
        s
    }

    pub async fn stop(self) {
        self.server.stop().await.expect("stops");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn user(&self, user: &str, groups: &[&str]) -> String {
        let groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
        user_token(&self.secret, user, &groups, 3600).expect("token")
    }

    pub fn app(&self, app: &str) -> String {
        application_token(&self.secret, app, 3600).expect("token")
    }

    pub async fn get(&self, token: &str, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    /// A user's request with an `Idempotency-Key`: its status and its JSON (Null when
    /// none).
    pub async fn post_keyed(
        &self,
        token: &str,
        path: &str,
        key: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .client
            .post(self.url(path))
            .bearer_auth(token)
            .header("Idempotency-Key", key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, token: &str, path: &str, body: Option<Value>) -> Response {
        let mut req = self.client.post(self.url(path)).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.expect("request")
    }

    /// Sends one engine transaction as `app`; panics unless it is accepted.
    pub async fn engine(&self, app: &str, events: Value, key: Option<&str>) -> Value {
        let mut req = self
            .client
            .post(self.url("/api/v1/engine-events"))
            .bearer_auth(self.app(app))
            .json(&json!({ "events": events }));
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let body: Value = resp.json().await.expect("json");
        assert_eq!(status, 200, "engine transaction refused: {body}");
        body
    }

    /// Creates a task of `app` with candidate groups / users and an optional assignee.
    pub async fn create_task(
        &self,
        app: &str,
        id: &str,
        groups: &[&str],
        users: &[&str],
        assignee: Option<&str>,
    ) -> i64 {
        let body = self
            .engine(app, json!([{ "type": "taskCreated", "task": task_json(app, id, groups, users, assignee) }]), None)
            .await;
        body["position"].as_i64().expect("position")
    }

    /// The tasks a GET of `path` lists for `token`, as (id, assignee), by id.
    pub async fn assignees(&self, token: &str, path: &str) -> Vec<(String, Value)> {
        let page: Value = self.get(token, path).await.json().await.expect("json");
        let mut tasks: Vec<(String, Value)> = page["tasks"]
            .as_array()
            .expect("tasks")
            .iter()
            .map(|t| {
                let id = t["id"].as_str().unwrap_or("").to_string();
                (id, t["assignee"].clone())
            })
            .collect();
        tasks.sort_by(|a, b| a.0.cmp(&b.0));
        tasks
    }

    /// The first triage task of the example application `token` may claim, if any.
    pub async fn claimable_triage(&self, token: &str) -> Option<String> {
        let page: Value = self
            .get(
                token,
                "/api/v1/tasks?claimable=true&filter=task.taskDefinitionKey%20%3D%20triage&limit=1",
            )
            .await
            .json()
            .await
            .ok()?;
        page["tasks"][0]["id"].as_str().map(String::from)
    }

    /// How many requests the task's timeline holds, and the timeline.
    pub async fn requests_in_timeline(&self, token: &str, id: &str) -> (usize, Value) {
        let timeline: Value = self
            .get(token, &format!("/api/v1/tasks/{id}/timeline"))
            .await
            .json()
            .await
            .expect("json");
        let requested = timeline
            .as_array()
            .expect("entries")
            .iter()
            .filter(|e| e["kind"] == "requested")
            .count();
        (requested, timeline)
    }

    /// Waits until the view has applied `position`.
    pub async fn wait_for_view(&self, position: i64) {
        let node = self.server.node.clone();
        let ok = tokio::task::spawn_blocking(move || {
            node.wait_for_view(position, Duration::from_secs(20))
        })
        .await
        .expect("join");
        assert!(ok, "the view did not reach {position}");
    }
}

/// An answer's status and JSON body (`null` when it has none).
pub async fn json_of(resp: Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

pub fn task_json(
    app: &str,
    id: &str,
    groups: &[&str],
    users: &[&str],
    assignee: Option<&str>,
) -> Value {
    let mut task = json!({
        "id": id,
        "sourceReference": {
            "kind": "process", "instanceId": format!("pi-{id}"), "executionId": format!("ex-{id}"),
            "definitionId": "order:1", "definitionKey": "order", "name": "Order", "applicationName": app
        },
        "taskDefinitionKey": "approve",
        "name": format!("Approve {id}"),
        "priority": 50,
        "candidateGroups": groups,
        "candidateUsers": users,
        "createTime": "2026-01-01T10:00:00Z",
        "dueDate": "2026-02-01T10:00:00Z",
        "businessKey": format!("BK-{id}"),
        "payload": { "amount": 100, "customer": "ACME" }
    });
    if let Some(a) = assignee {
        task["assignee"] = json!(a);
    }
    task
}

/// One Server-Sent Event.
#[derive(Debug, Clone, PartialEq)]
pub struct SseEvent {
    pub event: String,
    pub id: Option<String>,
    pub data: Value,
}

/// Reads events from a `text/event-stream` response.
pub struct SseReader {
    stream: futures_util::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buffer: String,
}

impl SseReader {
    pub async fn open(
        server: &TestServer,
        token: &str,
        path: &str,
        last_event_id: Option<&str>,
    ) -> Self {
        let mut req = server
            .client
            .get(server.url(path))
            .bearer_auth(token)
            .timeout(Duration::from_secs(3600));
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id);
        }
        let resp = req.send().await.expect("stream request");
        assert_eq!(
            resp.status(),
            200,
            "stream refused: {:?}",
            resp.text().await
        );
        Self::from_response_unchecked(resp)
    }

    pub fn from_response_unchecked(resp: Response) -> Self {
        Self {
            stream: resp.bytes_stream().boxed(),
            buffer: String::new(),
        }
    }

    /// The next event (comments skipped), or None on timeout / end.
    pub async fn next(&mut self, timeout: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut event, mut id, mut data) = (String::from("message"), None, String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("id:") {
                        id = Some(v.trim().to_string());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.strip_prefix(' ').unwrap_or(v));
                    }
                }
                if data.is_empty() && id.is_none() {
                    continue; // a keep-alive comment
                }
                return Some(SseEvent {
                    event,
                    id,
                    data: serde_json::from_str(&data).unwrap_or(Value::String(data)),
                });
            }
            let chunk = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .ok()??;
            let chunk = chunk.ok()?;
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

/// A remote process application's engine in a test: reads the interaction requests
/// addressed to it and answers each with the engine transaction a real engine would
/// report (assign, complete, set the follow-up date).
pub struct RemoteEngine {
    pub app: String,
    reader: SseReader,
}

impl RemoteEngine {
    pub async fn connect(server: &TestServer, app: &str) -> Self {
        let reader = SseReader::open(
            server,
            &server.app(app),
            &format!("/api/v1/applications/{app}/interactions"),
            None,
        )
        .await;
        Self {
            app: app.to_string(),
            reader,
        }
    }

    /// The next interaction request.
    async fn next_request(&mut self) -> SseEvent {
        let e = self
            .reader
            .next(Duration::from_secs(20))
            .await
            .expect("an interaction request");
        assert_eq!(e.event, "interaction", "{e:?}");
        e
    }

    /// Refuses the next interaction request with `reason`, as an engine would; returns
    /// its type.
    pub async fn reject_next(&mut self, server: &TestServer, reason: &str) -> String {
        let e = self.next_request().await;
        let rejected = json!({"type": "requestRejected", "taskId": e.data["id"], "requestId": e.data["requestId"], "reason": reason});
        server.engine(&self.app, json!([rejected]), None).await;
        e.data["type"].as_str().expect("type").to_string()
    }

    /// Answers the next interaction request; returns its type and the answer's position.
    pub async fn answer_next(&mut self, server: &TestServer) -> (String, i64) {
        let e = self.next_request().await;
        let kind = e.data["type"].as_str().expect("type").to_string();
        let id = e.data["id"].clone();
        let user = e.data["user"].clone();
        let event = match kind.as_str() {
            "TaskClaimRequested" => json!({"type": "taskAssigned", "taskId": id, "assignee": user}),
            "TaskUnclaimRequested" => {
                json!({"type": "taskAssigned", "taskId": id, "assignee": null})
            }
            "TaskCompleteRequested" => json!({"type": "taskCompleted", "taskId": id}),
            "TaskDeferRequested" => {
                json!({"type": "taskAttributesUpdated", "update": {"id": id, "followUpDate": e.data["followUpDate"]}})
            }
            "TaskUndeferRequested" => {
                json!({"type": "taskAttributesUpdated", "update": {"id": id, "followUpDate": null}})
            }
            other => panic!("unexpected interaction {other}"),
        };
        // The answer travels with the engine events it caused.
        let performed =
            json!({"type": "requestPerformed", "taskId": id, "requestId": e.data["requestId"]});
        let out = server
            .engine(&self.app, json!([event, performed]), None)
            .await;
        let position = out["position"].as_i64().expect("position");
        server.wait_for_view(position).await;
        (kind, position)
    }
}

/// Starts the real server binary on a free port with data in `dir` (and `extra` flags);
/// returns the process and its base URL (from the address line it prints).
pub fn spawn_server(dir: &std::path::Path, extra: &[&str]) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_taskpool-server"))
        .args(["--listen", "127.0.0.1:0", "--print-address", "--data-dir"])
        .arg(dir)
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("server starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("address line");
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .expect("address")
        .to_string();
    (child, base)
}
