//! Saved filters over HTTP: saved per user with their counts, kept across a restart,
//! renamed, deleted; what cannot run, a taken name or someone else's filter refused.

use crate::common;

use common::{json_of, task_json, TestServer};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saved_filters_are_mine_counted_and_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = TestServer::start(dir.path()).await;
    let mut events = Vec::new();
    for (id, amount) in [("t1", 50), ("t2", 1500), ("t3", 2500)] {
        let mut task = task_json("shop", id, &["sales"], &[], None);
        task["payload"]["amount"] = json!(amount);
        events.push(json!({"type": "taskCreated", "task": task}));
    }
    let out = s.engine("shop", Value::Array(events), None).await;
    s.wait_for_view(out["position"].as_i64().expect("position"))
        .await;
    let alice = s.user("alice", &["sales"]);
    let bob = s.user("bob", &["sales"]);

    let (status, big) = json_of(
        s.post(
            &alice,
            "/api/v1/filters",
            Some(json!({"name": "Big orders", "view": "claimable", "filter": "amount > 1000", "sort": "-priority"})),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{big}");
    assert_eq!(big["count"], 2);
    let id = big["id"].as_str().expect("id").to_string();
    // A name taken, a filter that cannot run, an unknown field: refused, naming why.
    let (status, _) = json_of(
        s.post(
            &alice,
            "/api/v1/filters",
            Some(json!({"name": "Big orders"})),
        )
        .await,
    )
    .await;
    assert_eq!(status, 409);
    let (status, problem) = json_of(
        s.post(
            &alice,
            "/api/v1/filters",
            Some(json!({"name": "x", "filter": "amount >"})),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (422, Some("filter")),
        "{problem}"
    );
    let (status, _) = json_of(
        s.post(
            &alice,
            "/api/v1/filters",
            Some(json!({"name": "x", "colour": "red"})),
        )
        .await,
    )
    .await;
    assert_eq!(status, 422);

    // bob sees none of alice's, and cannot change or delete them.
    let (_, bobs) = json_of(s.get(&bob, "/api/v1/filters").await).await;
    assert_eq!(bobs, json!([]));
    let url = s.url(&format!("/api/v1/filters/{id}"));
    let resp = s
        .client
        .delete(&url)
        .bearer_auth(&bob)
        .send()
        .await
        .expect("delete");
    assert_eq!(resp.status(), 404);
    let resp = s
        .client
        .delete(s.url("/api/v1/filters/not-a-uuid"))
        .bearer_auth(&bob)
        .send()
        .await
        .expect("delete");
    assert_eq!(resp.status(), 404);

    // Kept across a restart; renamed; the count follows the tasks.
    s.stop().await;
    let s = TestServer::start(dir.path()).await;
    let alice = s.user("alice", &["sales"]);
    let resp = s
        .client
        .put(s.url(&format!("/api/v1/filters/{id}")))
        .bearer_auth(&alice)
        .json(&json!({"name": "Large orders", "view": "all", "filter": "amount > 2000"}))
        .send()
        .await
        .expect("put");
    let (status, renamed) = json_of(resp).await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(
        (renamed["name"].as_str(), renamed["count"].as_u64()),
        (Some("Large orders"), Some(1))
    );
    let (_, list) = json_of(s.get(&alice, "/api/v1/filters").await).await;
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["count"], 1);
    let resp = s
        .client
        .delete(s.url(&format!("/api/v1/filters/{id}")))
        .bearer_auth(&alice)
        .send()
        .await
        .expect("delete");
    assert_eq!(resp.status(), 204);
    let (_, list) = json_of(s.get(&alice, "/api/v1/filters").await).await;
    assert_eq!(list, json!([]));
    s.stop().await;
}
