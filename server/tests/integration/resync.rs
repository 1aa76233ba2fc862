//! Re-sync: a process application sends its open tasks in pages under one re-sync id,
//! and the pool converges on them, once, whatever is resent or restarted.

use serde_json::{json, Value};

use crate::common::{task_json, TestServer};

async fn page(s: &TestServer, id: &str, page: u32, last: bool, tasks: Vec<Value>) -> (u16, Value) {
    let resp = s
        .post(
            &s.app("shop"),
            &format!("/api/v1/resyncs/{id}/pages"),
            Some(json!({"page": page, "last": last, "tasks": tasks})),
        )
        .await;
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// The shop's open tasks as the pool has them: id → assignee.
async fn pool(s: &TestServer) -> Vec<(String, Value)> {
    s.assignees(
        &s.user("carol", &["support"]),
        "/api/v1/tasks?limit=1000&deferred=include",
    )
    .await
}

fn ids(tasks: &[(String, Value)]) -> Vec<&str> {
    tasks.iter().map(|(id, _)| id.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resync_converges_once_and_survives_a_restart_halfway() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = TestServer::start(dir.path()).await;
    let t = |id: &str, assignee: Option<&str>| task_json("shop", id, &["support"], &[], assignee);
    let out = s
        .engine(
            "shop",
            json!([
                {"type": "taskCreated", "task": t("a", None)},
                {"type": "taskCreated", "task": t("b", Some("bob"))},
                {"type": "taskCreated", "task": t("lost", None)},
            ]),
            None,
        )
        .await;
    s.wait_for_view(out["position"].as_i64().expect("position"))
        .await;
    // The engine's truth: `lost` is gone, `b` is carol's now, `new` appeared while the
    // application was away.
    let (st, first) = page(
        &s,
        "r1",
        0,
        false,
        vec![t("a", None), t("b", Some("carol"))],
    )
    .await;
    assert_eq!(st, 200, "{first}");
    assert_eq!(first["complete"], false, "{first}");
    assert_eq!(first["events"], 1, "b's assignee: {first}");
    // The engine creates a task while the re-sync runs (not in any page): it stays.
    let out = s
        .engine(
            "shop",
            json!([{"type": "taskCreated", "task": t("meanwhile", None)}]),
            None,
        )
        .await;
    s.wait_for_view(out["position"].as_i64().expect("position"))
        .await;
    assert_eq!(
        ids(&pool(&s).await),
        ["a", "b", "lost", "meanwhile"],
        "nothing deleted before the last page"
    );
    // The node is killed halfway (here: stopped) and the application starts over.
    s.stop().await;
    s = TestServer::start(dir.path()).await;
    let (st, again) = page(
        &s,
        "r1",
        0,
        false,
        vec![t("a", None), t("b", Some("carol"))],
    )
    .await;
    assert_eq!(
        (st, &again["events"]),
        (200, &json!(1)),
        "the page's stored outcome: {again}"
    );
    let (st, last) = page(&s, "r1", 1, true, vec![t("new", None)]).await;
    assert_eq!(st, 200, "{last}");
    assert_eq!(last["complete"], true, "{last}");
    assert_eq!(last["deleted"], json!(["lost"]), "{last}");
    s.wait_for_view(last["position"].as_i64().expect("position"))
        .await;
    let converged = pool(&s).await;
    assert_eq!(
        converged,
        [
            ("a".to_string(), Value::Null),
            ("b".to_string(), json!("carol")),
            ("meanwhile".to_string(), Value::Null),
            ("new".to_string(), Value::Null),
        ]
    );
    // The last page resent: nothing more.
    let (_, resent) = page(&s, "r1", 1, true, vec![t("new", None)]).await;
    assert_eq!(
        (&resent["complete"], &resent["deleted"]),
        (&json!(true), &json!([])),
        "{resent}"
    );
    // A second identical re-sync changes nothing (`meanwhile` included this time).
    let head = s.server.node.head_position();
    let (_, second) = page(
        &s,
        "r2",
        0,
        true,
        vec![
            t("a", None),
            t("b", Some("carol")),
            t("meanwhile", None),
            t("new", None),
        ],
    )
    .await;
    assert_eq!(
        (&second["events"], &second["deleted"]),
        (&json!(0), &json!([])),
        "{second}"
    );
    assert_eq!(s.server.node.head_position(), head, "no event at all");
    assert_eq!(pool(&s).await, converged);
    // Another application's task, or too big a page, is refused naming the field.
    let foreign = task_json("hr", "h1", &[], &[], None);
    let (st, problem) = page(&s, "r3", 0, true, vec![foreign]).await;
    assert_eq!(st, 422, "{problem}");
    assert_eq!(problem["field"], "tasks[0].sourceReference.applicationName");
    assert_eq!(pool(&s).await, converged, "a refused page deletes nothing");
    s.stop().await;
}

/// The example application re-syncs when it starts: drift made while it was away (a
/// task it never had, another assignee on one of its tasks) is set right.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_application_resyncs_on_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let example = |c: &mut taskpool_server::ServerConfig| {
        c.example = true;
        c.example_rate = 0.0;
    };
    let s = TestServer::start_with(dir.path(), example).await;
    // The starting set, as the view has it once it caught up (under load it lags).
    s.wait_for_view(s.server.node.head_position()).await;
    let alice = s.user("alice", &["approvers", "support"]);
    let all = "/api/v1/tasks?limit=1000&deferred=include";
    let before = s.assignees(&alice, all).await;
    assert!(!before.is_empty(), "the starting set");
    // Drift, as if the pool had been fed wrongly: a task the engine never had, and one
    // of its tasks given to someone else.
    let victim = before
        .iter()
        .find(|(_, a)| a.is_null())
        .expect("an unassigned task")
        .0
        .clone();
    let out = s
        .engine(
            "example",
            json!([
                {"type": "taskCreated", "task": task_json("example", "ghost", &["support"], &[], None)},
                {"type": "taskAssigned", "taskId": victim, "assignee": "mallory"},
            ]),
            None,
        )
        .await;
    s.wait_for_view(out["position"].as_i64().expect("position"))
        .await;
    assert_ne!(s.assignees(&alice, all).await, before);
    s.stop().await;
    let s = TestServer::start_with(dir.path(), example).await;
    let head = s.server.node.head_position();
    s.wait_for_view(head).await;
    assert_eq!(
        s.assignees(&alice, all).await,
        before,
        "the ghost is gone, the victim unassigned again"
    );
    s.stop().await;
}
