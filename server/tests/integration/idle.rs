//! An idle node costs nothing: the real server binary with the example application
//! (what `./run server` runs), its CPU time read from /proc over idle seconds after each
//! kind of event (a task change made by the engine for a user's claim, a process end,
//! a data entry, a variable, a process start). The figures are printed (run with
//! `--nocapture`); a loop that spins after some kind of event fails the test.

#![cfg(target_os = "linux")]

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use crate::common;
use serde_json::{json, Value};
use taskpool_server::auth::{application_token, load_or_create_secret, user_token};

/// Idle CPU above this share of one core counts as a spinning loop (a spinning loop
/// uses the whole core; a sleeping node uses well under 1 %).
const MAX_IDLE_SHARE: f64 = 0.05;
const IDLE: Duration = Duration::from_secs(2);

struct Node {
    child: Child,
    base: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &Path) -> Node {
    let (child, base) = common::spawn_server(dir, &["--example", "--example-rate", "0"]);
    Node { child, base }
}

/// The process's CPU time so far (user + system), from /proc/PID/stat.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after ')'.
    let ticks: u64 =
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    // Linux reports in clock ticks of 1/100 s (USER_HZ) on every common architecture.
    Duration::from_millis(ticks * 10)
}

/// Lets the node finish what the event started, then measures its CPU over an idle
/// stretch; returns the share of one core.
fn idle_share(node: &Node, after: &str, figures: &mut Vec<(String, f64)>) -> f64 {
    std::thread::sleep(Duration::from_millis(1500));
    let pid = node.child.id();
    let (cpu, wall) = (cpu_time(pid), Instant::now());
    std::thread::sleep(IDLE);
    let share = (cpu_time(pid) - cpu).as_secs_f64() / wall.elapsed().as_secs_f64();
    figures.push((after.to_string(), share));
    share
}

struct Client {
    http: reqwest::Client,
    base: String,
    alice: String,
    app: String,
}

impl Client {
    async fn get(&self, path: &str) -> Value {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.alice)
            .send()
            .await
            .expect("get");
        assert_eq!(resp.status(), 200, "GET {path}");
        resp.json().await.expect("json")
    }

    async fn post(&self, token: &str, path: &str, body: Value) -> Value {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("post");
        let status = resp.status();
        let body: Value = resp.json().await.expect("json");
        assert!(status.is_success(), "POST {path}: {status} {body}");
        body
    }

    /// Waits until alice's task `id` satisfies `done` (`None`: the task is gone).
    async fn wait_for_task(&self, id: &str, done: impl Fn(Option<&Value>) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let page = self.get("/api/v1/tasks?limit=100").await;
            let task = page["tasks"]
                .as_array()
                .and_then(|ts| ts.iter().find(|t| t["id"] == id));
            if done(task) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "task {id} did not get there: {task:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn engine(&self, events: Value) {
        let app = self.app.clone();
        self.post(&app, "/api/v1/engine-events", json!({ "events": events }))
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_node_costs_nothing_whatever_the_newest_event_is() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path());
    let secret = load_or_create_secret(dir.path(), None).expect("secret");
    let groups = ["approvers".to_string(), "support".to_string()];
    let client = Client {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client"),
        base: node.base.clone(),
        alice: user_token(&secret, "alice", &groups, 3600).expect("token"),
        app: application_token(&secret, "probe", 3600).expect("token"),
    };
    let mut figures = Vec::new();
    idle_share(
        &node,
        "start (the example application's starting set)",
        &mut figures,
    );

    // A user's claim: the example engine assigns the task (interaction, then task events).
    let page = client.get("/api/v1/tasks?limit=100").await;
    let approve = page["tasks"]
        .as_array()
        .and_then(|ts| {
            ts.iter()
                .find(|t| t["taskDefinitionKey"] == "approve" && t["assignee"].is_null())
        })
        .and_then(|t| t["id"].as_str())
        .expect("an unassigned approve task for alice")
        .to_string();
    client
        .post(
            &client.alice,
            &format!("/api/v1/tasks/{approve}/claim"),
            json!({}),
        )
        .await;
    client
        .wait_for_task(&approve, |t| t.is_some_and(|t| t["assignee"] == "alice"))
        .await;
    idle_share(&node, "a claim (task assigned by the engine)", &mut figures);

    // An approval: the engine completes the task, updates the request's data entry and
    // ends the process (the newest event is no task change).
    client
        .post(
            &client.alice,
            &format!("/api/v1/tasks/{approve}/complete"),
            json!({"payload": {"approved": true}}),
        )
        .await;
    client.wait_for_task(&approve, |t| t.is_none()).await;
    idle_share(&node, "an approval (process ended)", &mut figures);

    // Another application's engine transactions, one kind of event each.
    client
        .engine(json!([{"type": "processStarted", "instanceId": "p-1", "definitionId": "probe:1",
            "definitionKey": "probe", "applicationName": "probe", "businessKey": null, "startedBy": "alice"}]))
        .await;
    idle_share(&node, "a process start", &mut figures);
    client
        .engine(json!([{"type": "variableCreated", "instanceId": "p-1", "name": "amount", "value": 42}]))
        .await;
    idle_share(&node, "a variable", &mut figures);
    let app = client.app.clone();
    client
        .post(&app, "/api/v1/commands", json!({"commands": [{
            "type": "createOrUpdateDataEntry", "entryType": "order", "entryId": "o-1", "name": "Order o-1",
            "typeName": "Purchase order", "applicationName": "probe",
            "state": {"processingType": "IN_PROGRESS", "state": "open"},
            "modification": {"time": "2026-01-01T00:00:00Z", "username": "alice"},
            "authorizationChanges": [{"kind": "addUser", "name": "alice"}]}]}))
        .await;
    idle_share(&node, "a data entry", &mut figures);
    client
        .engine(json!([{"type": "processEnded", "instanceId": "p-1", "cancelled": false, "reason": null}]))
        .await;
    idle_share(&node, "a process end", &mut figures);

    println!("idle CPU of a single node (example application), share of one core over {IDLE:?}:");
    for (after, share) in &figures {
        println!("  after {after:<48} {:>6.2} %", share * 100.0);
    }
    for (after, share) in &figures {
        assert!(
            *share <= MAX_IDLE_SHARE,
            "the idle node used {:.1} % of a core after {after}",
            share * 100.0
        );
    }
}
