//! Idempotency across restarts, and bad input: each refused with a clear problem, and
//! nothing stored.

use crate::common;

use common::{task_json, TestServer};
use proptest::prelude::*;
use serde_json::{json, Value};

async fn count_events(s: &TestServer) -> i64 {
    s.server.node.head_position()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_engine_transaction_is_applied_once_even_after_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = TestServer::start(dir.path()).await;
    let events = json!([
        {"type": "taskCreated", "task": task_json("shop", "once", &["support"], &[], None)},
        {"type": "taskAssigned", "taskId": "once", "assignee": "alice"}
    ]);
    let first = s.engine("shop", events.clone(), Some("tx-42")).await;
    let head = count_events(&s).await;
    let again = s.engine("shop", events.clone(), Some("tx-42")).await;
    assert_eq!(first, again, "the stored outcome is returned");
    assert_eq!(count_events(&s).await, head, "nothing new stored");
    // Another application's identical key is its own.
    let other = s
        .post(&s.app("hr"), "/api/v1/engine-events", Some(json!({"events": [{"type": "taskCreated", "task": task_json("hr", "hr-1", &[], &[], None)}]})))
        .await;
    assert_eq!(other.status(), 200);
    let head = count_events(&s).await;
    s.stop().await;

    let s = TestServer::start(dir.path()).await;
    let after_restart = s.engine("shop", events.clone(), Some("tx-42")).await;
    assert_eq!(first, after_restart);
    assert_eq!(count_events(&s).await, head, "a restart keeps the key");
    // The same key with another transaction is refused, naming the key, and stores
    // nothing (the same content in other whitespace is the same request).
    let other = json!([{"type": "taskAssigned", "taskId": "once", "assignee": "carol"}]);
    let resp = s
        .client
        .post(s.url("/api/v1/engine-events"))
        .bearer_auth(s.app("shop"))
        .header("Idempotency-Key", "tx-42")
        .json(&json!({ "events": other }))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 422);
    let problem: Value = resp.json().await.expect("problem");
    assert_eq!(problem["field"], "Idempotency-Key", "{problem}");
    assert_eq!(count_events(&s).await, head, "nothing stored");
    let spaced = s
        .client
        .post(s.url("/api/v1/engine-events"))
        .bearer_auth(s.app("shop"))
        .header("Idempotency-Key", "tx-42")
        .header("content-type", "application/json")
        .body(serde_json::to_string_pretty(&json!({ "events": events })).expect("json"))
        .send()
        .await
        .expect("send");
    assert_eq!(spaced.status(), 200, "the same request, other whitespace");
    s.wait_for_view(head).await;
    let page: Value = s
        .get(&s.user("alice", &[]), "/api/v1/tasks")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(page["total"], 1);
    // The same for command batches.
    let batch = json!({"commands": [{"type": "assignTask", "id": "once", "assignee": "bob"}]});
    let post = |key: &'static str| {
        s.client
            .post(s.url("/api/v1/commands"))
            .bearer_auth(s.app("shop"))
            .header("Idempotency-Key", key)
            .json(&batch)
            .send()
    };
    let a: Value = post("cmd-1")
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let b: Value = post("cmd-1")
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(a, b);
    assert_eq!(count_events(&s).await, head + 1);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_clearly_and_stores_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = TestServer::start(dir.path()).await;
    let shop = s.app("shop");
    let alice = s.user("alice", &["support"]);
    s.create_task("shop", "t1", &["support"], &[], None).await;
    let head = count_events(&s).await;
    let raw = |path: &str, token: &str, body: Vec<u8>, ct: &str| {
        s.client
            .post(s.url(path))
            .bearer_auth(token.to_string())
            .header("content-type", ct.to_string())
            .body(body)
            .send()
    };
    let mut task =
        serde_json::to_value(taskpool_core::testing::fixtures::task("t2", "shop")).expect("task");
    task.as_object_mut().map(|t| t.remove("createTime"));
    let missing_create_time = serde_json::to_vec(&serde_json::json!({"events": [
        {"type": "taskAssigned", "taskId": "t1", "assignee": "bob"},
        {"type": "taskCreated", "task": task},
    ]}))
    .expect("body");
    let mut eleven_mb = br#"{"events":[{"type":"taskCreated","task":{"id":""#.to_vec();
    eleven_mb.extend(std::iter::repeat_n(b'x', 11 * 1024 * 1024));
    eleven_mb.extend(br#""}}]}"#);
    // (path, token, body, content type, expected status, the field the problem names)
    type Case<'a> = (&'a str, &'a str, Vec<u8>, &'a str, u16, &'a str);
    let cases: Vec<Case> = vec![
        ("/api/v1/engine-events", &shop, b"{not json".to_vec(), "application/json", 400, "body"),
        ("/api/v1/engine-events", &shop, br#"{"events": "many"}"#.to_vec(), "application/json", 422, "events"),
        ("/api/v1/engine-events", &shop, br#"{"events": [], "extra": 1}"#.to_vec(), "application/json", 422, "extra"),
        ("/api/v1/engine-events", &shop, br#"{"events": [{"type": "taskCreated", "task": {"id": 7}}]}"#.to_vec(), "application/json", 422, "events[0].task.id"),
        ("/api/v1/engine-events", &shop, missing_create_time, "application/json", 422, "events[1].task.createTime"),
        ("/api/v1/engine-events", &shop, br#"{"events": [{"type": "taskAssigned", "assignee": "bob"}]}"#.to_vec(), "application/json", 422, "events[0].taskId"),
        ("/api/v1/engine-events", &shop, br#"{"events": [{"type": "taskExploded"}]}"#.to_vec(), "application/json", 422, "events[0]"),
        ("/api/v1/engine-events", &shop, br#"{"events": []}"#.to_vec(), "text/plain", 415, ""),
        ("/api/v1/engine-events", &shop, eleven_mb.clone(), "application/json", 413, ""),
        ("/api/v1/commands", &shop, eleven_mb, "application/json", 413, ""),
        ("/api/v1/commands", &shop, br#"{"commands": [{"type": "assignTask", "id": "t1", "assignee": "bob", "color": "red"}]}"#.to_vec(), "application/json", 422, "commands[0].color"),
        ("/api/v1/commands", &shop, br#"{"commands": [{"id": "t1"}]}"#.to_vec(), "application/json", 422, "commands[0].type"),
        ("/api/v1/commands", &shop, br#"{"commands": [{"type": "createTask", "id": "t9", "name": "x", "taskDefinitionKey": "k", "createTime": "2026-01-01T00:00:00Z", "sourceReference": {"kind": "workflow"}}]}"#.to_vec(), "application/json", 422, "commands[0].sourceReference.kind"),
        ("/api/v1/commands", &shop, br#"[1, 2"#.to_vec(), "application/json", 422, "body"),
        ("/api/v1/tasks/t1/complete", &alice, b"[]".to_vec(), "application/json", 422, "body"),
        ("/api/v1/tasks/t1/complete", &alice, br#"{"payload": 5}"#.to_vec(), "application/json", 422, "payload"),
        ("/api/v1/tasks/t1/complete", &alice, br#"{"payload": {}, "sneaky": true}"#.to_vec(), "application/json", 422, "sneaky"),
        ("/api/v1/tasks/t1/defer", &alice, br#"{"followUpDate": "next tuesday"}"#.to_vec(), "application/json", 422, "followUpDate"),
        ("/api/v1/tasks/t1/defer", &alice, br#"{}"#.to_vec(), "application/json", 422, "followUpDate"),
        ("/api/v1/dev/token", &alice, br#"{"user": "alice"}"#.to_vec(), "application/json", 404, ""),
        // A parameter an endpoint does not take is refused, not silently ignored.
        ("/api/v1/engine-events?wait=true", &shop, br#"{"events": []}"#.to_vec(), "application/json", 400, "wait"),
        ("/api/v1/commands?dryRun=1", &shop, br#"{"commands": []}"#.to_vec(), "application/json", 400, "dryRun"),
        ("/api/v1/dev/token?as=bob", &alice, br#"{"user": "alice"}"#.to_vec(), "application/json", 400, "as"),
    ];
    for (path, token, body, ct, status, field) in cases {
        let size = body.len();
        let resp = raw(path, token, body, ct).await.expect("send");
        let got = resp.status().as_u16();
        let ctype = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let problem: Value = resp.json().await.unwrap_or(Value::Null);
        assert_eq!(got, status, "{path} ({size} bytes): {problem}");
        assert_eq!(ctype, "application/problem+json", "{path}");
        assert!(
            problem["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{problem}"
        );
        if !field.is_empty() {
            let named = problem["field"].as_str().unwrap_or("");
            assert_eq!(named, field, "{path}: {problem}");
        }
    }
    // Hostile query strings.
    for q in [
        "filter=amount%20%3E%20'%3B%20DROP%20TABLE%20tasks%3B--",
        "filter=task.nope%20%3D%201",
        "filter=amount%20%3E",
        "sort=%2Bnothing",
        "limit=100000",
        "limit=-1",
        "offset=abc",
        "cursor=garbage&limit=5",
        "deferred=sometimes",
        "q=%22unbalanced",
    ] {
        let resp = s.get(&alice, &format!("/api/v1/tasks?{q}")).await;
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap_or_default();
        assert!(
            status == 400 || (q.starts_with("q=") && status == 200),
            "{q}: {status} {body}"
        );
    }
    // Every GET without parameters refuses one too.
    for path in [
        "/api/v1/tasks/t1?wait=5",
        "/api/v1/tasks/t1/data-entries?x=1",
        "/api/v1/tasks/counts-by-application?x=1",
        "/api/v1/process-definitions?x=1",
        "/api/v1/data-entries/order/o-1?x=1",
        "/api/v1/me?x=1",
        "/health?x=1",
        "/ready?x=1",
        "/metrics?x=1",
        "/api/v1/openapi.json?x=1",
    ] {
        let resp = s.get(&alice, path).await;
        let status = resp.status().as_u16();
        let problem: Value = resp.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 400, "{path}: {problem}");
        let named = problem["field"].as_str().unwrap_or("");
        assert!(
            path.ends_with(&format!("?{named}=1")) || path.ends_with(&format!("?{named}=5")),
            "{path}: {problem}"
        );
    }
    assert_eq!(count_events(&s).await, head, "nothing was stored");
    let page: Value = s
        .get(&alice, "/api/v1/tasks")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(page["total"], 1, "the view is intact");
    s.stop().await;
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Any filter string: a 200 or a 400 problem, never a server error.
    #[test]
    fn arbitrary_filter_strings_never_fail_the_server(filter in ".{0,80}", text in "[ -~]{0,20}") {
        let rt = RUNTIME.get_or_init(|| tokio::runtime::Runtime::new().expect("runtime"));
        let status = rt.block_on(async {
            let s = SERVER.get_or_init(|| {
                let dir = Box::leak(Box::new(tempfile::tempdir().expect("tempdir")));
                std::thread::scope(|scope| scope.spawn(|| rt.block_on(TestServer::start(dir.path()))).join().expect("start"))
            });
            let token = s.user("alice", &["support"]);
            let resp = s.client.get(s.url("/api/v1/tasks")).bearer_auth(token).query(&[("filter", filter.as_str()), ("q", text.as_str())]).send().await.expect("send");
            resp.status().as_u16()
        });
        prop_assert!(status == 200 || status == 400, "status {}", status);
    }
}

static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
static SERVER: std::sync::OnceLock<TestServer> = std::sync::OnceLock::new();

/// The reference's lenient engine contract: engines resend (retries, restarts,
/// re-syncs), and a resend must not fail the new work in its transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engine_resending_what_the_pool_has_applies_the_rest_of_its_transaction() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = TestServer::start(dir.path()).await;
    s.engine(
        "shop",
        json!([
            {"type": "taskCreated", "task": task_json("shop", "open", &["support"], &[], None)},
            {"type": "taskCreated", "task": task_json("shop", "done", &["support"], &[], None)},
            {"type": "taskCompleted", "taskId": "done"},
        ]),
        None,
    )
    .await;
    // One transaction: a create for a task the pool has (now assigned to alice), a
    // complete and an assignment for the task it completed, and a new task.
    let out = s
        .engine(
            "shop",
            json!([
                {"type": "taskCreated", "task": task_json("shop", "open", &["support"], &[], Some("alice"))},
                {"type": "taskCompleted", "taskId": "done"},
                {"type": "taskAssigned", "taskId": "done", "assignee": "bob"},
                {"type": "taskCreated", "task": task_json("shop", "new", &["support"], &[], None)},
            ]),
            None,
        )
        .await;
    let outcomes = out["outcomes"].as_array().expect("outcomes");
    assert!(outcomes.iter().all(|o| o["status"] == "accepted"), "{out}");
    // The collector folds the completed task's events into one command; it is
    // acknowledged as ignored, naming why.
    let ignored: Vec<(&str, &str)> = outcomes
        .iter()
        .filter_map(|o| Some((o["aggregateId"].as_str()?, o["ignored"]["code"].as_str()?)))
        .collect();
    assert_eq!(ignored, [("done", "TASK_COMPLETED")], "{out}");
    s.wait_for_view(out["position"].as_i64().expect("position"))
        .await;
    let tasks = s
        .assignees(&s.user("carol", &["support"]), "/api/v1/tasks")
        .await;
    assert_eq!(
        tasks,
        [
            ("new".to_string(), Value::Null),
            ("open".to_string(), json!("alice"))
        ],
        "the resent create updated `open`, `new` was created, `done` stays completed"
    );
    s.stop().await;
}

/// Read-your-writes on queries: a read that names the position of its own write sees
/// it, even right after a transaction of a thousand tasks the projector is still
/// applying; one that names a position no event has is told so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_after_a_position_sees_that_write() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = TestServer::start(dir.path()).await;
    let alice = s.user("alice", &["support"]);
    for round in 1..=5 {
        let events: Vec<Value> = (0..1000)
            .map(|i| json!({"type": "taskCreated", "task": task_json("shop", &format!("ryw-{round}-{i}"), &["support"], &[], None)}))
            .collect();
        let out = s.engine("shop", json!(events), None).await;
        let position = out["position"].as_i64().expect("position");
        let page: Value = s
            .get(
                &alice,
                &format!("/api/v1/tasks?position={position}&limit=1"),
            )
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(
            page["total"],
            round * 1000,
            "round {round}: all of it, at once"
        );
        let last = format!("ryw-{round}-999");
        let task: Value = s
            .get(&alice, &format!("/api/v1/tasks/{last}?position={position}"))
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(task["id"], last.as_str(), "round {round}: {task}");
    }
    let resp = s.get(&alice, "/api/v1/tasks?position=-1").await;
    assert_eq!(resp.status(), 400);
    // A position no event has yet will not come by waiting: refused at once.
    let resp = s
        .get(&alice, &format!("/api/v1/tasks?position={}", i64::MAX))
        .await;
    assert_eq!(resp.status(), 400);
    let problem: Value = resp.json().await.expect("problem");
    assert_eq!(problem["field"], "position", "{problem}");
    s.stop().await;
}
