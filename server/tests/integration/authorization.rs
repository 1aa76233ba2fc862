//! The authorization matrix: users A (alice), B (bob), a member C of group `support`
//! (carol), and application tokens (the owner `shop`, a stranger `hr`) try every task
//! endpoint on every task. Only the allowed combinations succeed; a task the caller may
//! not see answers 404, never 403; applications may not use the tasklist API, and may
//! only touch their own application's tasks through the ingestion API.

use crate::common;

use common::{task_json, TestServer};
use serde_json::json;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    Alice,
    Bob,
    Carol,
    Shop,
    Hr,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_allowed_combinations_succeed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = TestServer::start(dir.path()).await;
    // Tasks: assigned to alice; candidate user bob; candidate group support; nobody's.
    let tasks = [
        (
            "t-alice",
            task_json("shop", "t-alice", &[], &[], Some("alice")),
        ),
        ("t-bob", task_json("shop", "t-bob", &[], &["bob"], None)),
        (
            "t-support",
            task_json("shop", "t-support", &["support"], &[], None),
        ),
        ("t-nobody", {
            // Values and a key nobody else's task has: a leak would show.
            let mut t = task_json("shop", "t-nobody", &["finance"], &[], None);
            t["payload"] = json!({"customer": "SECRET-CO", "salary": 99000});
            t
        }),
    ];
    let events: Vec<_> = tasks
        .iter()
        .map(|(_, t)| json!({"type": "taskCreated", "task": t}))
        .collect();
    let out = s.engine("shop", json!(events), None).await;
    s.wait_for_view(out["position"].as_i64().expect("position"))
        .await;

    let token = |w: Who| match w {
        Who::Alice => s.user("alice", &["approvers"]),
        Who::Bob => s.user("bob", &[]),
        Who::Carol => s.user("carol", &["support"]),
        Who::Shop => s.app("shop"),
        Who::Hr => s.app("hr"),
    };
    let sees = |w: Who, task: &str| {
        matches!(
            (w, task),
            (Who::Alice, "t-alice") | (Who::Bob, "t-bob") | (Who::Carol, "t-support")
        )
    };
    let endpoints: [(&str, &str, Option<serde_json::Value>); 7] = [
        ("GET", "", None),
        ("GET", "/data-entries", None),
        ("POST", "/claim", None),
        ("POST", "/unclaim", None),
        ("POST", "/complete", Some(json!({"payload": {}}))),
        (
            "POST",
            "/defer",
            Some(json!({"followUpDate": "2099-01-01T00:00:00Z"})),
        ),
        ("POST", "/undefer", None),
    ];
    let mut checked = 0;
    for who in [Who::Alice, Who::Bob, Who::Carol, Who::Shop, Who::Hr] {
        let t = token(who);
        for (task, _) in &tasks {
            for (method, suffix, body) in &endpoints {
                let path = format!("/api/v1/tasks/{task}{suffix}");
                let resp = if *method == "GET" {
                    s.get(&t, &path).await
                } else {
                    s.post(&t, &path, body.clone()).await
                };
                let status = resp.status().as_u16();
                let text = resp.text().await.unwrap_or_default();
                let allowed = match who {
                    Who::Shop | Who::Hr => status == 403,
                    // An action of the rightful user: performed at once (nothing to ask)
                    // or requested (202: no engine answers here); never refused, since
                    // nobody else holds these tasks.
                    _ if sees(who, task) => status == 200 || (*method == "POST" && status == 202),
                    _ => status == 404,
                };
                assert!(allowed, "{who:?} {method} {path}: {status} {text}");
                checked += 1;
            }
        }
        // The list shows exactly the visible tasks.
        let resp = s.get(&t, "/api/v1/tasks?deferred=include").await;
        match who {
            Who::Shop | Who::Hr => assert_eq!(resp.status(), 403),
            _ => {
                let page: serde_json::Value = resp.json().await.expect("json");
                let ids: Vec<&str> = page["tasks"]
                    .as_array()
                    .expect("tasks")
                    .iter()
                    .filter_map(|t| t["id"].as_str())
                    .collect();
                let expected: Vec<&str> = tasks
                    .iter()
                    .map(|(id, _)| *id)
                    .filter(|id| sees(who, id))
                    .collect();
                assert_eq!(ids, expected, "{who:?}");
            }
        }
    }
    assert_eq!(checked, 5 * 4 * 7);
    // Filter suggestions come from visible tasks only: the hidden task's key and values
    // are not offered.
    for who in [Who::Alice, Who::Bob, Who::Carol] {
        let names: Vec<String> = s
            .get(&token(who), "/api/v1/tasks/attributes")
            .await
            .json()
            .await
            .expect("json");
        assert!(
            names.contains(&"customer".to_string()),
            "{who:?}: {names:?}"
        );
        assert!(!names.contains(&"salary".to_string()), "{who:?}: {names:?}");
        let values: Vec<String> = s
            .get(&token(who), "/api/v1/tasks/attributes/customer/values")
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(values, ["ACME"], "{who:?}");
    }

    // Ingestion: the owner may change its tasks, a stranger may not (nothing applied).
    let head = s.server.node.head_position();
    for (task, _) in &tasks {
        let resp = s
            .post(&token(Who::Hr), "/api/v1/engine-events", Some(json!({"events": [{"type": "taskAssigned", "taskId": task, "assignee": "mallory"}]})))
            .await;
        assert_eq!(
            resp.status(),
            409,
            "{}",
            resp.text().await.unwrap_or_default()
        );
    }
    assert_eq!(
        s.server.node.head_position(),
        head,
        "nothing of a refused batch is stored"
    );
    let resp = s
        .post(&token(Who::Shop), "/api/v1/engine-events", Some(json!({"events": [{"type": "taskAssigned", "taskId": "t-nobody", "assignee": "bob"}]})))
        .await;
    assert_eq!(resp.status(), 200);
    // Users may not use the ingestion API; no token at all is 401.
    for who in [Who::Alice, Who::Carol] {
        let resp = s
            .post(
                &token(who),
                "/api/v1/engine-events",
                Some(json!({"events": []})),
            )
            .await;
        assert_eq!(resp.status(), 403);
    }
    let resp = s
        .client
        .post(s.url("/api/v1/engine-events"))
        .json(&json!({"events": []}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 401);
    s.stop().await;
}
