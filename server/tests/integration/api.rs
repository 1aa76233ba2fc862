//! Every endpoint against the real server on 127.0.0.1 port 0 with fresh data, through a
//! real HTTP client: what succeeds, and how each failure answers.

use crate::common;

use common::{task_json, RemoteEngine, TestServer};
use serde_json::{json, Value};

async fn body(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let v = resp.json().await.unwrap_or(Value::Null);
    if status >= 400 {
        assert_eq!(ct, "application/problem+json", "errors are problems: {v}");
    }
    (status, v)
}

fn ids(page: &Value) -> Vec<String> {
    page["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| t["id"].as_str().expect("id").to_string())
        .collect()
}

fn data_entry(app: &str, id: &str, users: &[&str]) -> Value {
    json!({
        "type": "createOrUpdateDataEntry", "entryType": "order", "entryId": id, "name": format!("Order {id}"),
        "typeName": "Purchase order", "applicationName": app,
        "state": {"processingType": "IN_PROGRESS", "state": "open"},
        "modification": {"time": "2026-01-01T00:00:00Z", "username": "alice", "logMessage": "created"},
        "authorizationChanges": users.iter().map(|u| json!({"kind": "addUser", "name": u})).collect::<Vec<_>>()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasklist_queries_and_actions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = TestServer::start(dir.path()).await;
    let alice = s.user("alice", &["support"]);
    let bob = s.user("bob", &[]);

    // Given: tasks, a correlated data entry and a process definition, sent as "shop".
    let mut t1 = task_json("shop", "t1", &["support"], &[], None);
    t1["correlations"] = json!([{"entryType": "order", "entryId": "o1"}]);
    t1["priority"] = json!(80);
    let mut t2 = task_json("shop", "t2", &["support"], &[], Some("alice"));
    t2["payload"] = json!({"amount": 5000, "customer": "Globex"});
    let events = json!([
        {"type": "taskCreated", "task": t1},
        {"type": "taskCreated", "task": t2},
        {"type": "taskCreated", "task": task_json("shop", "t3", &[], &["bob"], None)},
        {"type": "processDefinitionDeployed", "definition": {
            "id": "order:1", "key": "order", "version": 1, "applicationName": "shop", "name": "Order",
            "candidateStarterGroups": ["support"], "startableFromTasklist": true}}
    ]);
    // alice may read o2, but only zoe worked on it: not among alice's involvements.
    let mut o2 = data_entry("shop", "o2", &["alice"]);
    o2["modification"]["username"] = json!("zoe");
    let entries = json!([data_entry("shop", "o1", &["alice"]), o2]);
    let resp = s
        .client
        .post(s.url("/api/v1/engine-events"))
        .bearer_auth(s.app("shop"))
        .json(&json!({"events": events, "dataEntries": entries}))
        .send()
        .await
        .expect("send");
    let (status, outcome) = body(resp).await;
    assert_eq!(status, 200, "{outcome}");
    s.wait_for_view(outcome["position"].as_i64().expect("position"))
        .await;

    // Lists: alice sees her group's and her own tasks, bob his candidate task.
    let (st, page) = body(s.get(&alice, "/api/v1/tasks").await).await;
    assert_eq!(st, 200);
    assert_eq!(page["total"], 2);
    assert_eq!(ids(&page).len(), 2);
    let (_, page) = body(s.get(&bob, "/api/v1/tasks").await).await;
    assert_eq!(ids(&page), vec!["t3"]);
    // Filter, full text, sort, options, paging.
    let (_, page) = body(
        s.get(&alice, "/api/v1/tasks?filter=amount%20%3E%201000")
            .await,
    )
    .await;
    assert_eq!(ids(&page), vec!["t2"]);
    let (_, page) = body(s.get(&alice, "/api/v1/tasks?q=globex").await).await;
    assert_eq!(ids(&page), vec!["t2"]);
    let (_, page) = body(s.get(&alice, "/api/v1/tasks?sort=-priority").await).await;
    assert_eq!(ids(&page), vec!["t1", "t2"]);
    let (_, page) = body(s.get(&alice, "/api/v1/tasks?assignedToMe=true").await).await;
    assert_eq!(ids(&page), vec!["t2"]);
    let (_, page) = body(s.get(&alice, "/api/v1/tasks?claimable=true").await).await;
    assert_eq!(ids(&page), vec!["t1"]);
    let (_, first) = body(
        s.get(&alice, "/api/v1/tasks?sort=-priority&limit=1&cursor=")
            .await,
    )
    .await;
    assert_eq!(ids(&first), vec!["t1"]);
    let cursor = first["nextCursor"].as_str().expect("cursor").to_string();
    let (_, second) = body(
        s.get(
            &alice,
            &format!("/api/v1/tasks?sort=-priority&limit=1&cursor={cursor}"),
        )
        .await,
    )
    .await;
    assert_eq!(ids(&second), vec!["t2"]);
    let (_, page) = body(
        s.get(&alice, "/api/v1/tasks?limit=1&offset=1&sort=-priority")
            .await,
    )
    .await;
    assert_eq!(
        (ids(&page), page["total"].clone()),
        (vec!["t2".to_string()], json!(2))
    );

    // One task, its data entries; someone else's task is "not found".
    let (st, task) = body(s.get(&alice, "/api/v1/tasks/t1").await).await;
    assert_eq!((st, task["name"].as_str()), (200, Some("Approve t1")));
    assert_eq!(body(s.get(&alice, "/api/v1/tasks/t3").await).await.0, 404);
    assert_eq!(body(s.get(&alice, "/api/v1/tasks/nope").await).await.0, 404);
    let (st, entries) = body(s.get(&alice, "/api/v1/tasks/t1/data-entries").await).await;
    assert_eq!((st, entries[0]["entryId"].as_str()), (200, Some("o1")));
    assert_eq!(
        body(s.get(&bob, "/api/v1/tasks/t1/data-entries").await)
            .await
            .0,
        404
    );

    // Counts, filter suggestions.
    let (_, counts) = body(s.get(&alice, "/api/v1/tasks/counts-by-application").await).await;
    assert_eq!(counts, json!([{"applicationName": "shop", "count": 2}]));
    let (_, names) = body(s.get(&alice, "/api/v1/tasks/attributes").await).await;
    assert_eq!(names, json!(["amount", "customer"]));
    let (_, values) = body(
        s.get(&alice, "/api/v1/tasks/attributes/customer/values")
            .await,
    )
    .await;
    assert_eq!(values, json!(["ACME", "Globex"]));
    assert_eq!(
        body(s.get(&alice, "/api/v1/tasks/attributes?limit=0").await)
            .await
            .0,
        400
    );

    // Business data, process definitions, me.
    let (_, entries) = body(s.get(&alice, "/api/v1/data-entries").await).await;
    assert_eq!(entries.as_array().map(Vec::len), Some(2));
    let (_, entries) = body(s.get(&bob, "/api/v1/data-entries").await).await;
    assert_eq!(entries, json!([]));
    let (_, involved) = body(s.get(&alice, "/api/v1/data-entries?involved=true").await).await;
    let involved: Vec<&str> = involved
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|e| e["entryId"].as_str())
        .collect();
    assert_eq!(involved, ["o1"], "only the entry alice worked on");
    let (st, entry) = body(s.get(&alice, "/api/v1/data-entries/order/o1").await).await;
    assert_eq!(
        (st, entry["protocol"][0]["logMessage"].as_str()),
        (200, Some("created"))
    );
    assert_eq!(
        body(s.get(&bob, "/api/v1/data-entries/order/o1").await)
            .await
            .0,
        404
    );
    let (_, defs) = body(s.get(&alice, "/api/v1/process-definitions").await).await;
    assert_eq!(defs[0]["key"], "order");
    let (_, defs) = body(s.get(&bob, "/api/v1/process-definitions").await).await;
    assert_eq!(defs, json!([]));
    let (_, me) = body(s.get(&alice, "/api/v1/me").await).await;
    assert_eq!(me, json!({"user": "alice", "groups": ["support"]}));

    // Actions: each a request to the owning application, whose engine performs them
    // (interaction stream → engine events with the request id). With `wait` the answer
    // comes once the engine answered: the task as the view shows it after the effect.
    let mut engine = RemoteEngine::connect(&s, "shop").await;
    let ((st, claimed), (kind, _)) = tokio::join!(
        async {
            body(
                s.post(&alice, "/api/v1/tasks/t1/claim?wait=true", None)
                    .await,
            )
            .await
        },
        engine.answer_next(&s)
    );
    assert_eq!(
        (st, kind.as_str()),
        (200, "TaskClaimRequested"),
        "{claimed}"
    );
    assert_eq!(claimed["request"]["state"], "performed", "{claimed}");
    assert_eq!(claimed["request"]["action"], "claim", "{claimed}");
    assert_eq!(
        claimed["task"]["assignee"], "alice",
        "the task after the effect"
    );
    let (_, t1) = body(s.get(&alice, "/api/v1/tasks/t1").await).await;
    assert_eq!(t1["assignee"], "alice");
    let carol = s.user("carol", &["support"]);
    let (st, rejected) = body(s.post(&carol, "/api/v1/tasks/t1/claim", None).await).await;
    assert_eq!(
        (st, rejected["code"].as_str()),
        (409, Some("TASK_ASSIGNED_TO_OTHER_USER")),
        "the pool refuses it before asking the application: {rejected}"
    );
    let ((st, unclaimed), _) = tokio::join!(
        async {
            body(
                s.post(&alice, "/api/v1/tasks/t1/unclaim?wait=true", None)
                    .await,
            )
            .await
        },
        engine.answer_next(&s)
    );
    assert_eq!(st, 200, "{unclaimed}");
    assert_eq!(unclaimed["task"]["assignee"], Value::Null, "{unclaimed}");
    // The engine refuses a request: 409 with its reason.
    let ((st, refused), kind) = tokio::join!(
        async {
            body(
                s.post(&alice, "/api/v1/tasks/t1/claim?wait=true", None)
                    .await,
            )
            .await
        },
        engine.reject_next(&s, "the task is locked by the four-eyes rule")
    );
    assert_eq!(
        (st, kind.as_str()),
        (409, "TaskClaimRequested"),
        "{refused}"
    );
    assert_eq!(refused["code"], "REQUEST_REJECTED", "{refused}");
    assert_eq!(
        refused["detail"],
        "the task is locked by the four-eyes rule"
    );
    assert_eq!(refused["request"]["state"], "rejected", "{refused}");
    // Without `wait`: 202 and where to read the answer.
    let resp = s
        .post(
            &alice,
            "/api/v1/tasks/t1/defer",
            Some(json!({"followUpDate": "2099-01-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(resp.status(), 202);
    let location = resp
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .expect("location")
        .to_string();
    let (_, deferred) = body(resp).await;
    assert_eq!(deferred["request"]["state"], "requested", "{deferred}");
    let request_id = deferred["request"]["requestId"].as_str().expect("id");
    assert_eq!(location, format!("/api/v1/requests/{request_id}"));
    assert_eq!(engine.answer_next(&s).await.0, "TaskDeferRequested");
    let (st, request) = body(s.get(&alice, &location).await).await;
    assert_eq!(
        (st, &request["state"]),
        (200, &json!("performed")),
        "{request}"
    );
    assert_eq!(
        body(s.get(&carol, &location).await).await.0,
        404,
        "another user's request does not exist for carol"
    );
    let (_, mine) = body(s.get(&alice, "/api/v1/requests").await).await;
    let states: Vec<&str> = mine
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|r| r["state"].as_str())
        .collect();
    assert_eq!(
        states,
        ["performed", "rejected", "performed", "performed"],
        "newest first: {mine}"
    );
    let (_, page) = body(s.get(&alice, "/api/v1/tasks").await).await;
    assert_eq!(
        ids(&page),
        vec!["t2"],
        "a deferred task leaves the default inbox"
    );
    let (_, page) = body(s.get(&alice, "/api/v1/tasks?deferred=only").await).await;
    assert_eq!(ids(&page), vec!["t1"]);
    let ((st, _), _) = tokio::join!(
        async {
            body(
                s.post(&alice, "/api/v1/tasks/t1/undefer?wait=true", None)
                    .await,
            )
            .await
        },
        engine.answer_next(&s)
    );
    assert_eq!(st, 200);
    let ((st, done), (kind, _)) = tokio::join!(
        async {
            body(
                s.post(
                    &alice,
                    "/api/v1/tasks/t2/complete?wait=true",
                    Some(json!({"payload": {"approved": true}})),
                )
                .await,
            )
            .await
        },
        engine.answer_next(&s)
    );
    assert_eq!(
        (st, kind.as_str()),
        (200, "TaskCompleteRequested"),
        "{done}"
    );
    assert!(
        done.get("task").is_none(),
        "a completed task has left: {done}"
    );
    let (_, page) = body(s.get(&alice, "/api/v1/tasks").await).await;
    assert_eq!(ids(&page), vec!["t1"], "a completed task leaves the inbox");
    assert_eq!(
        body(
            s.post(&bob, "/api/v1/tasks/t2/complete", Some(json!({})))
                .await
        )
        .await
        .0,
        404
    );
    // Another application cannot read shop's interactions.
    let resp = s
        .client
        .get(s.url("/api/v1/applications/shop/interactions"))
        .bearer_auth(s.app("hr"))
        .send()
        .await
        .expect("send");
    assert_eq!(body(resp).await.0, 403);

    // The outcome log shows them, filterable.
    let (_, outcomes) = body(s.get(&alice, "/api/v1/outcomes?application=tasklist").await).await;
    let codes: Vec<&str> = outcomes
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|o| o["code"].as_str())
        .collect();
    assert!(
        codes.contains(&"TASK_ASSIGNED_TO_OTHER_USER") && codes.contains(&"SENDER-002"),
        "{codes:?}"
    );
    let (_, rejected) = body(s.get(&alice, "/api/v1/outcomes?onlyRejected=true").await).await;
    assert!(rejected
        .as_array()
        .expect("list")
        .iter()
        .all(|o| o["accepted"] == false));
    assert_eq!(
        body(s.get(&alice, "/api/v1/outcomes?limit=5000").await)
            .await
            .0,
        400
    );

    // Operations.
    let (st, health) = body(s.client.get(s.url("/health")).send().await.expect("health")).await;
    assert_eq!((st, health["status"].as_str()), (200, Some("ok")));
    assert_eq!(
        s.client
            .get(s.url("/ready"))
            .send()
            .await
            .expect("ready")
            .status(),
        200
    );
    let metrics = s
        .client
        .get(s.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for name in [
        "taskpool_http_requests_total",
        "taskpool_commands_total",
        "taskpool_projector_lag_events",
        "taskpool_search_lag_events",
        "taskpool_live_subscribers",
    ] {
        assert!(metrics.contains(name), "metrics lack {name}");
    }
    let (st, doc) = body(
        s.client
            .get(s.url("/api/v1/openapi.json"))
            .send()
            .await
            .expect("openapi"),
    )
    .await;
    assert_eq!(st, 200);
    assert!(doc["paths"]["/api/v1/tasks"]["get"].is_object());
    assert_eq!(
        body(s.get(&alice, "/api/v1/nothing-here").await).await.0,
        404
    );
    let resp = s
        .client
        .get(s.url("/api/v1/tasks"))
        .send()
        .await
        .expect("anonymous");
    assert!(
        resp.headers().get("x-request-id").is_some(),
        "every answer carries a request id"
    );
    assert_eq!(body(resp).await.0, 401);
    s.stop().await;
}

fn create_task(mut task: Value) -> Value {
    task["type"] = json!("createTask");
    task
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingestion_commands_and_application_ownership() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = TestServer::start(dir.path()).await;
    let shop = s.app("shop");
    // A command batch of the application's own.
    let (st, out) = body(
        s.post(
            &shop,
            "/api/v1/commands",
            Some(json!({"commands": [
                create_task(task_json("shop", "c1", &["support"], &[], None))
            ]})),
        )
        .await,
    )
    .await;
    assert_eq!(st, 200, "{out}");
    // Another application may neither create tasks in shop's name nor touch shop's task.
    let hr = s.app("hr");
    let (st, out) = body(
        s.post(
            &hr,
            "/api/v1/commands",
            Some(json!({"commands": [
                create_task(task_json("shop", "c2", &[], &[], None))
            ]})),
        )
        .await,
    )
    .await;
    assert_eq!(st, 409);
    assert!(out.to_string().contains("FOREIGN_APPLICATION"), "{out}");
    let (st, _) = body(
        s.post(
            &hr,
            "/api/v1/engine-events",
            Some(json!({"events": [{"type": "taskCompleted", "taskId": "c1"}]})),
        )
        .await,
    )
    .await;
    assert_eq!(st, 409);
    // Per-command mode applies what it can.
    let (st, out) = body(
        s.post(
            &shop,
            "/api/v1/commands",
            Some(json!({"mode": "perCommand", "commands": [
                {"type": "assignTask", "id": "c1", "assignee": "bob"},
                {"type": "assignTask", "id": "missing", "assignee": "bob"}
            ]})),
        )
        .await,
    )
    .await;
    assert_eq!(st, 409, "{out}");
    assert_eq!(out["outcome"]["outcomes"].as_array().map(Vec::len), Some(2));
    assert_eq!(out["code"], "TASK_NOT_FOUND");
    s.wait_for_view(s.server.node.head_position()).await;
    let bob = s.user("bob", &[]);
    let (_, task) = body(s.get(&bob, "/api/v1/tasks/c1").await).await;
    assert_eq!(task["assignee"], "bob");
    // Users cannot use the ingestion API, applications not the tasklist API.
    assert_eq!(
        body(
            s.post(&bob, "/api/v1/commands", Some(json!({"commands": []})))
                .await
        )
        .await
        .0,
        403
    );
    assert_eq!(body(s.get(&shop, "/api/v1/tasks").await).await.0, 403);
    s.stop().await;
}
