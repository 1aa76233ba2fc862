//! The live task stream over SSE: snapshot, then relevant changes; resume with
//! Last-Event-ID gets exactly the missed relevant changes; shutdown ends it cleanly.

use crate::common;

use std::time::Duration;

use common::{task_json, SseReader, TestServer};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_after_a_hundred_changes_misses_nothing_and_repeats_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = TestServer::start(dir.path()).await;
    // Ten tasks alice holds in her list before she disconnects.
    let mut p = 0;
    for i in 0..10 {
        p = s
            .create_task("shop", &format!("known-{i}"), &["support"], &[], None)
            .await;
    }
    s.wait_for_view(p).await;
    let alice = s.user("alice", &["support"]);

    // Connect: the snapshot, then one live change.
    let mut stream = SseReader::open(&s, &alice, "/api/v1/stream/tasks", None).await;
    let snapshot = stream
        .next(Duration::from_secs(10))
        .await
        .expect("snapshot");
    assert_eq!(snapshot.event, "snapshot");
    assert_eq!(snapshot.data["total"], 10);
    s.create_task("shop", "second", &["support"], &[], None)
        .await;
    let entered = stream.next(Duration::from_secs(10)).await.expect("live");
    assert_eq!(
        (entered.event.as_str(), entered.data["task"]["id"].as_str()),
        ("entered", Some("second"))
    );
    let last_id = entered.id.clone().expect("id");
    assert_eq!(
        last_id,
        entered.data["position"].to_string(),
        "the id is the position"
    );
    drop(stream);

    // 100 changes while disconnected: 60 concern alice, 40 do not. (A task that entered
    // and left again while she was away is not reported at all: she never held it, and
    // the view keeps no state of a completed task to send. Her list ends the same.)
    let mut expected = Vec::new();
    for i in 0..10 {
        s.engine(
            "shop",
            json!([{"type": "taskCompleted", "taskId": format!("known-{i}")}]),
            None,
        )
        .await;
        expected.push(("left", format!("known-{i}")));
    }
    for i in 0..40 {
        s.create_task("shop", &format!("mine-{i}"), &["support"], &[], None)
            .await;
        expected.push(("entered", format!("mine-{i}")));
        s.create_task("shop", &format!("other-{i}"), &["finance"], &[], None)
            .await;
    }
    for i in 10..20 {
        s.engine(
            "shop",
            json!([{"type": "taskAssigned", "taskId": format!("mine-{i}"), "assignee": "bob"}]),
            None,
        )
        .await;
        expected.push(("changed", format!("mine-{i}")));
    }
    // Reconnect with the last id: exactly the missed relevant changes, in order.
    let mut stream = SseReader::open(&s, &alice, "/api/v1/stream/tasks", Some(&last_id)).await;
    let mut got = Vec::new();
    let mut last = last_id.parse::<i64>().expect("position");
    while got.len() < expected.len() {
        let Some(e) = stream.next(Duration::from_secs(20)).await else {
            panic!(
                "missed changes; got {} of {}: {got:?}",
                got.len(),
                expected.len()
            )
        };
        assert_ne!(e.event, "snapshot", "a resumed stream has no snapshot");
        let p: i64 = e.id.as_deref().expect("id").parse().expect("position");
        assert!(p > last, "positions rise: {p} after {last}");
        last = p;
        let id = e.data["task"]["id"]
            .as_str()
            .or(e.data["taskId"].as_str())
            .expect("task id")
            .to_string();
        got.push((e.event.clone(), id));
    }
    let expected: Vec<(String, String)> = expected
        .into_iter()
        .map(|(k, id)| (k.to_string(), id))
        .collect();
    assert_eq!(got, expected);
    assert!(
        stream.next(Duration::from_millis(1500)).await.is_none(),
        "nothing more, nothing twice"
    );
    // The stream follows live: a reassignment away from alice's group leaves.
    s.engine(
        "shop",
        json!([{"type": "candidateGroupsRemoved", "taskId": "mine-30", "groups": ["support"]}]),
        None,
    )
    .await;
    let e = stream.next(Duration::from_secs(10)).await.expect("left");
    assert_eq!(
        (e.event.as_str(), e.data["taskId"].as_str()),
        ("left", Some("mine-30"))
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filtered_streams_shutdown_and_bad_requests() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = TestServer::start(dir.path()).await;
    let alice = s.user("alice", &["support"]);
    let mut big = task_json("shop", "big", &["support"], &[], None);
    big["payload"] = json!({"amount": 9000});
    s.engine("shop", json!([{"type": "taskCreated", "task": big}]), None)
        .await;
    let p = s
        .create_task("shop", "small", &["support"], &[], None)
        .await;
    s.wait_for_view(p).await;
    let mut stream = SseReader::open(
        &s,
        &alice,
        "/api/v1/stream/tasks?filter=amount%20%3E%201000",
        None,
    )
    .await;
    let snapshot = stream
        .next(Duration::from_secs(10))
        .await
        .expect("snapshot");
    let ids: Vec<&str> = snapshot.data["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .filter_map(|t| t["id"].as_str())
        .collect();
    assert_eq!(ids, vec!["big"]);
    // The token also works as access_token (EventSource cannot send headers).
    let resp = s
        .client
        .get(s.url(&format!("/api/v1/stream/tasks?access_token={alice}")))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 200);
    drop(resp);
    for bad in [
        "/api/v1/stream/tasks?filter=amount%20%3E%3E%201",
        "/api/v1/stream/tasks?limit=0",
        "/api/v1/stream/tasks?nope=1",
    ] {
        let resp = s.get(&alice, bad).await;
        assert_eq!(resp.status(), 400, "{bad}");
    }
    let resp = s
        .client
        .get(s.url("/api/v1/stream/tasks"))
        .bearer_auth(&alice)
        .header("Last-Event-ID", "yesterday")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 400);
    let mut outcomes = SseReader::open(&s, &alice, "/api/v1/stream/outcomes", None).await;
    let claimed = s.post(&alice, "/api/v1/tasks/small/claim", None).await;
    assert_eq!(claimed.status(), 202, "requested: no engine answers here");
    let o = outcomes
        .next(Duration::from_secs(10))
        .await
        .expect("outcome");
    assert_eq!(
        (
            o.event.as_str(),
            o.data["aggregateId"].as_str(),
            o.data["accepted"].as_bool()
        ),
        ("outcome", Some("small"), Some(true))
    );
    // Shutdown ends every stream with an `end` event.
    let stop = tokio::spawn(async move { s.stop().await });
    let end = stream.next(Duration::from_secs(10)).await.expect("end");
    assert_eq!(
        (end.event.as_str(), end.data["reason"].as_str()),
        ("end", Some("shutdown"))
    );
    let end = outcomes.next(Duration::from_secs(10)).await.expect("end");
    assert_eq!(end.event, "end");
    tokio::time::timeout(Duration::from_secs(20), stop)
        .await
        .expect("stops in time")
        .expect("join");
}
