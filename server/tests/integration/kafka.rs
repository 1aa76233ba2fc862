//! The distributed scenario against the real broker: a process-application node (its
//! own event store, publisher, interaction consumer, the example engine) and two
//! tasklist nodes (each its own view from Kafka), all real servers on loopback.

use crate::common;

use std::time::{Duration, Instant};

use common::{task_json, TestServer};
use serde_json::{json, Value};
use taskpool_core::projector::Projector;
use taskpool_core::view::{self, View};
use taskpool_kafka::test_broker::TestBroker;
use taskpool_server::config::Role;

async fn node(dir: &std::path::Path, role: Role, broker: &TestBroker, app: &str) -> TestServer {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_test_writer()
        .try_init();
    let brokers = broker.brokers();
    let app = app.to_string();
    TestServer::start_with(dir, move |c| {
        c.role = role;
        c.application = app;
        c.example_rate = 0.0;
        c.kafka.brokers = brokers;
        // One identity provider for all nodes: a token is valid on each.
        c.auth.hs256_secret = Some("the test cluster's shared secret".into());
    })
    .await
}

/// Polls `check` until it holds (20 s at most).
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn task_on(s: &TestServer, token: &str, id: &str) -> Option<Value> {
    let resp = s.get(token, &format!("/api/v1/tasks/{id}")).await;
    if resp.status() == 200 {
        resp.json().await.ok()
    } else {
        None
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn engine_to_both_tasklists_and_a_claim_back_to_the_engine() {
    let broker = TestBroker::start();
    let dirs: Vec<_> = (0..3)
        .map(|_| tempfile::tempdir().expect("tempdir"))
        .collect();
    let a = node(dirs[0].path(), Role::ProcessApplication, &broker, "alpha").await;
    let t1 = node(dirs[1].path(), Role::Tasklist, &broker, "alpha").await;
    let t2 = node(dirs[2].path(), Role::Tasklist, &broker, "alpha").await;

    // An engine transaction in application alpha: a task for group support.
    let mut task = task_json("alpha", "kt-1", &["support"], &[], None);
    task["sourceReference"]["applicationName"] = json!("alpha");
    a.engine(
        "alpha",
        json!([{"type": "taskCreated", "task": task}]),
        None,
    )
    .await;
    let bob = t1.user("bob", &["support"]);
    let carol = t1.user("carol", &["managers"]);
    for t in [&t1, &t2] {
        eventually("the task on both tasklist nodes", async || {
            task_on(t, &bob, "kt-1").await.is_some()
        })
        .await;
        assert!(
            task_on(t, &carol, "kt-1").await.is_none(),
            "carol is not in support"
        );
    }
    // Tasklist nodes take no ingestion: the aggregates live in the applications.
    let resp = t1
        .post(
            &t1.app("alpha"),
            "/api/v1/engine-events",
            Some(json!({"events": []})),
        )
        .await;
    assert_eq!(resp.status(), 404);

    // bob claims on node 1: the claim travels to alpha over Kafka, alpha's engine
    // (the example application) assigns, and both nodes show the new assignee.
    let resp = t1.post(&bob, "/api/v1/tasks/kt-1/claim", None).await;
    assert_eq!(resp.status(), 202, "{:?}", resp.text().await);
    // kt-1 is not one of the example engine's own tasks, so use one it started.
    let page: Value = t1.get(&bob, "/api/v1/tasks?claimable=true&filter=task.applicationName%20%3D%20alpha%20and%20task.taskDefinitionKey%20%3D%20triage").await.json().await.expect("json");
    let engine_task = page["tasks"][0]["id"]
        .as_str()
        .expect("an example triage task")
        .to_string();
    // With `wait`, node 1 answers once alpha's engine performed it (its answer came
    // back on the bus): the task as node 1 shows it after the effect.
    let resp = t1
        .post(
            &bob,
            &format!("/api/v1/tasks/{engine_task}/claim?wait=true"),
            None,
        )
        .await;
    assert_eq!(resp.status(), 200);
    let answered: Value = resp.json().await.expect("json");
    assert_eq!(
        answered["request"]["applicationName"], "alpha",
        "{answered}"
    );
    assert_eq!(answered["request"]["state"], "performed", "{answered}");
    assert_eq!(answered["task"]["assignee"], "bob", "{answered}");
    // Dave claims it too, on node 2, which does not refuse it itself (it routes):
    // alpha refuses, and the refusal comes back to node 2 with its reason.
    let dave = t2.user("dave", &["support"]);
    let resp = t2
        .post(
            &dave,
            &format!("/api/v1/tasks/{engine_task}/claim?wait=true"),
            None,
        )
        .await;
    let refused: Value = resp.json().await.expect("json");
    assert_eq!(refused["status"], 409, "{refused}");
    assert_eq!(refused["code"], "REQUEST_REJECTED", "{refused}");
    assert!(
        refused["detail"]
            .as_str()
            .is_some_and(|d| d.contains("bob")),
        "the reason names who holds it: {refused}"
    );
    for t in [&t1, &t2] {
        eventually("the new assignee on both nodes", async || {
            task_on(t, &bob, &engine_task)
                .await
                .is_some_and(|task| task["assignee"] == "bob")
        })
        .await;
    }
    // alpha handled the claim request once and logged its outcome.
    let outcomes: Value = a
        .get(&bob, "/api/v1/outcomes?application=tasklist")
        .await
        .json()
        .await
        .expect("json");
    assert!(outcomes
        .as_array()
        .expect("list")
        .iter()
        .any(|o| o["aggregateId"] == engine_task.as_str() && o["accepted"] == true));
    t1.stop().await;
    t2.stop().await;
    a.stop().await;
}

fn dump_view(v: &View) -> Vec<String> {
    view::dump_state(&v.connect().expect("conn")).expect("dump")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_ten_second_broker_outage_mid_stream_loses_nothing_and_doubles_nothing() {
    let broker = TestBroker::start();
    let dirs: Vec<_> = (0..3)
        .map(|_| tempfile::tempdir().expect("tempdir"))
        .collect();
    let a = node(dirs[0].path(), Role::ProcessApplication, &broker, "alpha").await;
    let t1 = node(dirs[1].path(), Role::Tasklist, &broker, "alpha").await;
    let t2 = node(dirs[2].path(), Role::Tasklist, &broker, "alpha").await;

    // 1,000 commands flow into alpha (engine transactions of one task each, some with an
    // assignment); the broker stops answering for 10 s in the middle.
    let (client, base, token) = (a.client.clone(), a.base.clone(), a.app("alpha"));
    let writer = tokio::spawn(async move {
        for i in 0..1000 {
            let mut t = task_json("alpha", &format!("o-{i:04}"), &["support"], &[], None);
            t["sourceReference"]["applicationName"] = json!("alpha");
            let mut events = vec![json!({"type": "taskCreated", "task": t})];
            if i % 4 == 0 {
                events.push(json!({"type": "taskAssigned", "taskId": format!("o-{i:04}"), "assignee": "bob"}));
            }
            let resp = client
                .post(format!("{base}/api/v1/engine-events"))
                .bearer_auth(&token)
                .json(&json!({"events": events}))
                .send()
                .await
                .expect("send");
            assert_eq!(resp.status(), 200);
            tokio::time::sleep(Duration::from_millis(15)).await;
        }
    });
    tokio::time::sleep(Duration::from_secs(3)).await;
    broker.pause();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let health: Value = a
        .client
        .get(a.url("/health"))
        .send()
        .await
        .expect("health")
        .json()
        .await
        .expect("json");
    broker.resume();
    writer.await.expect("writer");
    assert!(
        health["publisher"]["errors"].as_u64().unwrap_or(0) > 0
            || health["publisher"]["lag"].as_i64().unwrap_or(0) > 0,
        "the publisher noticed the outage: {health}"
    );

    // Both views converge to the store: every event applied exactly once.
    let head = a.server.node.head_position();
    for t in [&t1, &t2] {
        let node = t.server.node.clone();
        eventually("the tasklist node caught up", async || {
            node.view_position() >= head
        })
        .await;
        assert_eq!(
            t.server.node.view_position(),
            head,
            "no event applied twice"
        );
    }
    let rebuild_dir = tempfile::tempdir().expect("tempdir");
    let rebuilt = View::open(rebuild_dir.path().join("view.db")).expect("view");
    Projector::new(&rebuilt)
        .expect("projector")
        .catch_up(&mut a.server.node.store().reader().expect("reader"))
        .expect("rebuild");
    let expected = dump_view(&rebuilt);
    assert!(expected.len() > 2000);
    assert_eq!(dump_view(t1.server.node.view()), expected);
    assert_eq!(dump_view(t2.server.node.view()), expected);
    t1.stop().await;
    t2.stop().await;
    a.stop().await;
}
