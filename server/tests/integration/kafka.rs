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
use taskpool_server::config::{Role, ServerConfig};

async fn node(dir: &std::path::Path, role: Role, broker: &TestBroker, app: &str) -> TestServer {
    node_at_rate(dir, role, broker, app, 0.0).await
}

/// A node whose example engine (process-application role) starts `rate` instances a
/// second.
async fn node_at_rate(
    dir: &std::path::Path,
    role: Role,
    broker: &TestBroker,
    app: &str,
    rate: f64,
) -> TestServer {
    node_with(dir, role, broker, app, rate, |_| {}).await
}

/// A node as [`node_at_rate`] makes it, with `adjust` applied to its settings last.
async fn node_with(
    dir: &std::path::Path,
    role: Role,
    broker: &TestBroker,
    app: &str,
    rate: f64,
    adjust: impl FnOnce(&mut ServerConfig) + Send + 'static,
) -> TestServer {
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
        c.example = role == Role::ProcessApplication;
        c.example_rate = rate;
        c.kafka.brokers = brokers;
        // One identity provider for all nodes: a token is valid on each.
        c.auth.hs256_secret = Some("the test cluster's shared secret, 32 bytes or more".into());
        c.auth.operator_groups = vec!["ops".into()];
        adjust(c);
    })
    .await
}

/// A broker, process application `alpha` (its example engine starting `rate` instances
/// a second) and tasklist nodes, each node in a directory of its own.
struct Cluster {
    broker: TestBroker,
    app: TestServer,
    tasklists: Vec<TestServer>,
    _dirs: Vec<tempfile::TempDir>,
}

impl Cluster {
    async fn start(rate: f64, tasklists: usize) -> Self {
        Self::start_with(rate, tasklists, |_| {}).await
    }

    /// With `adjust` applied to each tasklist node's settings.
    async fn start_with(
        rate: f64,
        tasklists: usize,
        adjust: impl Fn(&mut ServerConfig) + Clone + Send + 'static,
    ) -> Self {
        let broker = TestBroker::start();
        let dirs: Vec<_> = (0..=tasklists)
            .map(|_| tempfile::tempdir().expect("tempdir"))
            .collect();
        let app = node_at_rate(
            dirs[0].path(),
            Role::ProcessApplication,
            &broker,
            "alpha",
            rate,
        )
        .await;
        let mut nodes = Vec::new();
        for dir in &dirs[1..] {
            nodes.push(
                node_with(
                    dir.path(),
                    Role::Tasklist,
                    &broker,
                    "alpha",
                    0.0,
                    adjust.clone(),
                )
                .await,
            );
        }
        Self {
            broker,
            app,
            tasklists: nodes,
            _dirs: dirs,
        }
    }

    async fn stop(self) {
        for t in self.tasklists {
            t.stop().await;
        }
        self.app.stop().await;
    }
}

/// Waits for a triage task of the example application that `token` may claim on `t`.
async fn claimable_triage_on(t: &TestServer, token: &str) -> String {
    let mut id = String::new();
    eventually("a claimable triage task on the tasklist node", async || {
        id = t.claimable_triage(token).await.unwrap_or_default();
        !id.is_empty()
    })
    .await;
    id
}

/// Polls `check` until it holds (30 s at most).
async fn eventually(what: &str, check: impl AsyncFnMut() -> bool) {
    eventually_within(what, Duration::from_secs(30), check).await
}

/// Polls `check` until it holds (`limit` at most).
async fn eventually_within(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + limit;
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
    let cluster = Cluster::start(0.0, 2).await;
    let a = &cluster.app;
    let (t1, t2) = (&cluster.tasklists[0], &cluster.tasklists[1]);

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

    // bob starts a process on node 1: the start travels to alpha over Kafka, alpha's
    // engine starts it, and its answer and first task come back to both nodes.
    let definition = "handle-incident:1:alpha";
    let resp = t1
        .post(
            &bob,
            &format!("/api/v1/process-definitions/{definition}/start?wait=true"),
            Some(json!({"values": {"title": "Badge reader down", "severity": 2}})),
        )
        .await;
    let started: Value = resp.json().await.expect("json");
    assert_eq!(started["request"]["state"], "performed", "{started}");
    let first = started["task"]["id"]
        .as_str()
        .expect("its first task")
        .to_string();
    eventually("the started process's task on node 2", async || {
        task_on(t2, &bob, &first).await.is_some()
    })
    .await;
    // A start alpha's engine refuses comes back refused, with its reason.
    let resp = t2
        .post(
            &dave,
            &format!("/api/v1/process-definitions/{definition}/start?wait=true"),
            Some(json!({"values": {"title": "Badge reader down", "severity": 9}})),
        )
        .await;
    let refused: Value = resp.json().await.expect("json");
    assert_eq!(refused["code"], "REQUEST_REJECTED", "{refused}");
    assert!(
        refused["detail"]
            .as_str()
            .is_some_and(|d| d.contains("severity")),
        "{refused}"
    );
    cluster.stop().await;
}

fn dump_view(v: &View) -> Vec<String> {
    view::dump_state(&v.connect().expect("conn")).expect("dump")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_ten_second_broker_outage_mid_stream_loses_nothing_and_doubles_nothing() {
    let cluster = Cluster::start(0.0, 2).await;
    let (broker, a) = (&cluster.broker, &cluster.app);
    let (t1, t2) = (&cluster.tasklists[0], &cluster.tasklists[1]);

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
    cluster.stop().await;
}

/// Two users on two tasklist nodes claim the same task at the same moment, ten rounds:
/// both requests travel to alpha; exactly one is performed (200 on its node, the task
/// assigned) and the other is refused with a reason naming the holder (409 on the
/// other node), the answer having come back over the bus.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_claims_through_two_tasklist_nodes_end_in_one_200_and_one_409() {
    let cluster = Cluster::start(5.0, 2).await;
    let (t1, t2) = (&cluster.tasklists[0], &cluster.tasklists[1]);
    let bob = t1.user("bob", &["support"]);
    let alice = t2.user("alice", &["support"]);
    let claimable = async |t: &TestServer, token: &str| -> Vec<String> {
        let page: Value = t
            .get(token, "/api/v1/tasks?claimable=true&limit=1000&filter=task.taskDefinitionKey%20%3D%20triage")
            .await
            .json()
            .await
            .expect("json");
        page["tasks"]
            .as_array()
            .expect("tasks")
            .iter()
            .filter_map(|t| t["id"].as_str().map(String::from))
            .collect()
    };
    let claim = async |t: &TestServer, token: &str, id: &str| -> (u16, Value) {
        let resp = t
            .post(token, &format!("/api/v1/tasks/{id}/claim?wait=true"), None)
            .await;
        (
            resp.status().as_u16(),
            resp.json().await.unwrap_or(Value::Null),
        )
    };
    let mut taken: Vec<String> = Vec::new();
    for round in 0..10 {
        // A triage task both nodes show as claimable.
        let mut id = None;
        let deadline = Instant::now() + Duration::from_secs(60);
        while id.is_none() {
            let on_t2 = claimable(t2, &alice).await;
            id = claimable(t1, &bob)
                .await
                .into_iter()
                .find(|i| on_t2.contains(i) && !taken.contains(i));
            assert!(Instant::now() < deadline, "round {round}: no shared task");
            if id.is_none() {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        let id = id.expect("a task");
        taken.push(id.clone());
        let (b, al) = tokio::join!(claim(t1, &bob, &id), claim(t2, &alice, &id));
        let mut statuses = [b.0, al.0];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 409], "round {round}: {b:?} / {al:?}");
        let ((_, won), (_, lost), winner) = if b.0 == 200 {
            (b, al, "bob")
        } else {
            (al, b, "alice")
        };
        assert_eq!(won["task"]["assignee"], winner, "round {round}: {won}");
        assert_eq!(lost["code"], "REQUEST_REJECTED", "round {round}: {lost}");
        assert!(
            lost["detail"].as_str().is_some_and(|d| d.contains(winner)),
            "round {round}: the refusal names the holder: {lost}"
        );
    }
    // Each tasklist node keeps its users' requests with their answers.
    for (t, token) in [(&t1, &bob), (&t2, &alice)] {
        let mine: Value = t
            .get(token, "/api/v1/requests?limit=100")
            .await
            .json()
            .await
            .expect("json");
        let states: Vec<&str> = mine
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|r| r["state"].as_str())
            .collect();
        assert_eq!(states.len(), 10, "{mine}");
        assert!(
            states.iter().all(|s| *s == "performed" || *s == "rejected"),
            "{mine}"
        );
    }
    cluster.stop().await;
}

/// A process-application node whose broker limit was lowered after it stored a large
/// event: the publisher parks that event, `/health` says degraded and names it, and the
/// next events reach the tasklist node.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_event_the_broker_refuses_is_parked_the_node_is_degraded_and_later_tasks_flow() {
    let broker = TestBroker::start();
    let dirs: Vec<_> = (0..2)
        .map(|_| tempfile::tempdir().expect("tempdir"))
        .collect();
    let with_limit = |brokers: String, limit: &'static str| {
        move |c: &mut taskpool_server::config::ServerConfig| {
            c.role = Role::ProcessApplication;
            c.application = "alpha".into();
            c.example = true;
            c.kafka.brokers = brokers;
            c.kafka
                .properties
                .insert("message.max.bytes".into(), limit.into());
            c.auth.hs256_secret = Some("the test cluster's shared secret, 32 bytes or more".into());
        }
    };
    // Stored before the operator lowered the limit to the broker's (the door check
    // then let it in).
    {
        let store =
            taskpool_core::EventStore::open(dirs[0].path().join("events.db")).expect("store");
        let mut big = taskpool_core::testing::fixtures::task("big", "alpha");
        big.candidate_groups.insert("support".into());
        big.payload
            .insert("scan".into(), json!("x".repeat(100_000)));
        taskpool_core::CommandGateway::new(&store)
            .expect("gateway")
            .handle(
                vec![taskpool_core::command::TaskCommand::CreateTask(big).into()],
                taskpool_core::BatchMode::Atomic,
                &taskpool_core::CommandContext::default(),
            )
            .expect("stored");
    }
    let a = TestServer::start_with(dirs[0].path(), with_limit(broker.brokers(), "50000")).await;
    let mut small = task_json("alpha", "small", &["support"], &[], None);
    small["sourceReference"]["applicationName"] = json!("alpha");
    a.engine(
        "alpha",
        json!([{"type": "taskCreated", "task": small}]),
        None,
    )
    .await;
    let t = node(dirs[1].path(), Role::Tasklist, &broker, "alpha").await;
    let bob = t.user("bob", &["support"]);
    eventually("the later task on the tasklist node", async || {
        task_on(&t, &bob, "small").await.is_some()
    })
    .await;
    assert!(task_on(&t, &bob, "big").await.is_none());
    let health: Value = a.get("", "/health").await.json().await.expect("health");
    assert_eq!(health["status"], "degraded", "{health}");
    assert_eq!(health["publisher"]["parked"], 1, "{health}");
    let metrics = a.get("", "/metrics").await.text().await.expect("metrics");
    assert!(
        metrics.contains("taskpool_publisher_parked_events 1"),
        "{metrics}"
    );
}

/// A user's claim while the broker is paused: the tasklist node cannot confirm the
/// hand-off in time, and answers 202 with the request's id (its outcome unknown), not a
/// 503 that might be a yes. The client retries with the same `Idempotency-Key` once the
/// broker is back: the same request, performed, and the task claimed once however many
/// of the two sends reached the engine.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unconfirmed_hand_off_is_answered_with_its_request_and_a_keyed_retry_performs_it_once() {
    let cluster = Cluster::start(2.0, 1).await;
    let (broker, t) = (&cluster.broker, &cluster.tasklists[0]);
    let bob = t.user("bob", &["support"]);
    let id = claimable_triage_on(t, &bob).await;
    let keyed_claim = async |wait: bool| -> (u16, Value) {
        t.post_keyed(
            &bob,
            &format!("/api/v1/tasks/{id}/claim?wait={wait}"),
            "claim-during-outage",
            None,
        )
        .await
    };
    broker.pause();
    let (status, first) = keyed_claim(false).await;
    broker.resume();
    assert_eq!(status, 202, "outcome unknown, with the request: {first}");
    let request = first["request"]["requestId"].clone();
    assert!(request.is_string(), "{first}");
    let (status, retried) = keyed_claim(true).await;
    assert_eq!(status, 200, "{retried}");
    assert_eq!(retried["request"]["requestId"], request, "{retried}");
    assert_eq!(retried["task"]["assignee"], "bob", "{retried}");
    // The engine's pool claimed it once: one request in the task's timeline.
    let (claims, timeline) = t.requests_in_timeline(&bob, &id).await;
    assert_eq!(claims, 1, "{timeline}");
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hand_off_the_broker_never_took_is_sent_again_once_it_is_back() {
    // A single broker killed takes half a minute or more to take writes again after
    // its restart: the request must outlive that.
    let mut cluster = Cluster::start_with(2.0, 1, |c| c.request_expiry_secs = 180).await;
    let t = &cluster.tasklists[0];
    let bob = t.user("bob", &["support"]);
    let id = claimable_triage_on(t, &bob).await;
    // The broker is gone: the claim cannot reach it (no key: the client will not retry).
    cluster.broker.kill();
    let resp = t
        .post(&bob, &format!("/api/v1/tasks/{id}/claim"), None)
        .await;
    assert_eq!(resp.status(), 202, "outcome unknown, with the request");
    let first: Value = resp.json().await.expect("json");
    let request = first["request"]["requestId"].clone();
    cluster.broker.restart();
    let restarted = Instant::now();
    // The tasklist node sends it again itself; alpha's engine performs it, once.
    eventually_within(
        "the claim performed without a retry",
        Duration::from_secs(150),
        async || {
            task_on(t, &bob, &id)
                .await
                .is_some_and(|task| task["assignee"] == "bob")
        },
    )
    .await;
    println!(
        "performed {:?} after the broker's restart",
        restarted.elapsed()
    );
    let answered: Value = t
        .get(
            &bob,
            &format!("/api/v1/requests/{}", request.as_str().unwrap_or("")),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(answered["state"], "performed", "{answered}");
    let (claims, timeline) = t.requests_in_timeline(&bob, &id).await;
    assert_eq!(claims, 1, "{timeline}");
    cluster.stop().await;
}

/// A unit of work `app` sends as commands: its status.
async fn send_commands(s: &TestServer, app: &str, commands: Value) -> u16 {
    s.post(
        &s.app(app),
        "/api/v1/commands",
        Some(json!({ "commands": commands })),
    )
    .await
    .status()
    .as_u16()
}

/// The colliding input: shop's task `collide-1` and data entry `order:42`, then hr's.
fn colliding(app: &str) -> Vec<Value> {
    let mut task = task_json(app, "collide-1", &["support"], &[], None);
    task["type"] = json!("createTask");
    vec![
        json!([task]),
        json!([{
            "type": "createOrUpdateDataEntry", "entryType": "order", "entryId": "42",
            "name": format!("Order 42 of {app}"), "typeName": "Purchase order", "applicationName": app,
            "state": {"processingType": "IN_PROGRESS", "state": "open"},
            "modification": {"time": "2026-01-01T00:00:00Z", "username": "alice"},
            "authorizationChanges": [{"kind": "addGroup", "name": "support"}]
        }]),
    ]
}

/// The refusals `app` reads in its outcome log on `s` (with its own token), as
/// (aggregate, code), sorted.
async fn refusals(s: &TestServer, app: &str) -> Vec<(String, String)> {
    let list: Value = s
        .get(&s.app(app), "/api/v1/outcomes?onlyRejected=true")
        .await
        .json()
        .await
        .expect("json");
    let mut out: Vec<(String, String)> = list
        .as_array()
        .expect("list")
        .iter()
        .map(|o| {
            let field = |k: &str| o[k].as_str().unwrap_or("").to_string();
            (field("aggregateId"), field("code"))
        })
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_id_another_application_owns_is_refused_alike_on_a_single_node_and_through_kafka() {
    // A single node: hr's commands on shop's ids are refused at once (409), and its
    // outcome log says why.
    let single_dir = tempfile::tempdir().expect("tempdir");
    let single = TestServer::start_with(single_dir.path(), |c| {
        c.auth.operator_groups = vec!["ops".into()];
    })
    .await;
    for unit in colliding("shop") {
        assert_eq!(send_commands(&single, "shop", unit).await, 200);
    }
    for unit in colliding("hr") {
        assert_eq!(send_commands(&single, "hr", unit).await, 409);
    }
    let on_a_single_node = refusals(&single, "hr").await;
    assert_eq!(on_a_single_node.len(), 2, "{on_a_single_node:?}");
    assert!(on_a_single_node
        .iter()
        .all(|(_, code)| code == "FOREIGN_APPLICATION"));
    single.stop().await;

    // Through Kafka: shop and hr each their own store (hr cannot know of shop's ids, so
    // it takes them), two tasklist nodes.
    let broker = TestBroker::start();
    let dirs: Vec<_> = (0..4)
        .map(|_| tempfile::tempdir().expect("tempdir"))
        .collect();
    let shop = node(dirs[0].path(), Role::ProcessApplication, &broker, "shop").await;
    let hr = node(dirs[1].path(), Role::ProcessApplication, &broker, "hr").await;
    let t1 = node(dirs[2].path(), Role::Tasklist, &broker, "shop").await;
    let t2 = node(dirs[3].path(), Role::Tasklist, &broker, "shop").await;
    let bob = t1.user("bob", &["support"]);
    for unit in colliding("shop") {
        assert_eq!(send_commands(&shop, "shop", unit).await, 200);
    }
    for t in [&t1, &t2] {
        eventually("shop's task on the tasklist node", async || {
            task_on(t, &bob, "collide-1").await.is_some()
        })
        .await;
    }
    for unit in colliding("hr") {
        assert_eq!(send_commands(&hr, "hr", unit).await, 200, "hr cannot know");
    }
    // hr goes on with the task it thinks its own, and with one of its own.
    assert_eq!(
        send_commands(
            &hr,
            "hr",
            json!([{"type": "assignTask", "id": "collide-1", "assignee": "hr-bob"}])
        )
        .await,
        200
    );
    let mut own = task_json("hr", "hr-after", &["support"], &[], None);
    own["type"] = json!("createTask");
    assert_eq!(send_commands(&hr, "hr", json!([own])).await, 200);
    // Every tasklist node shows shop's task as shop sent it, and hr's own task.
    for t in [&t1, &t2] {
        eventually("hr's own task on the tasklist node", async || {
            task_on(t, &bob, "hr-after").await.is_some()
        })
        .await;
        let task = task_on(t, &bob, "collide-1").await.expect("collide-1");
        assert_eq!(task["sourceReference"]["applicationName"], "shop", "{task}");
        assert!(task["assignee"].is_null(), "hr's assignment: {task}");
    }
    // hr learns it in its outcome log: the refusals a single node answers, and the
    // assignment after them; once each, though both tasklist nodes told it. (A claim
    // routed to hr after the tasklist nodes told it is handled after their refusals:
    // one partition per application.)
    let resp = t1.post(&bob, "/api/v1/tasks/hr-after/claim", None).await;
    assert_eq!(resp.status(), 202);
    eventually("hr handled the claim after the refusals", async || {
        let olga = hr.user("olga", &["ops"]);
        let list: Value = hr
            .get(
                &olga,
                "/api/v1/outcomes?application=tasklist&taskId=hr-after",
            )
            .await
            .json()
            .await
            .expect("json");
        !list.as_array().expect("list").is_empty()
    })
    .await;
    let mut through_kafka = refusals(&hr, "hr").await;
    let assignment = ("collide-1".to_string(), "FOREIGN_APPLICATION".to_string());
    let at = through_kafka
        .iter()
        .rposition(|r| *r == assignment)
        .expect("the assignment's refusal");
    through_kafka.remove(at);
    assert_eq!(through_kafka, on_a_single_node);
    // Each tasklist node's health counts what it refused, all of it told.
    for t in [&t1, &t2] {
        let health: Value = t.get("", "/health").await.json().await.expect("health");
        assert_eq!(health["refusedEvents"], 3, "{health}");
        assert_eq!(health["refusedEventsUnsent"], 0, "{health}");
        assert_eq!(health["status"], "ok", "{health}");
    }
    for t in [t1, t2, hr, shop] {
        t.stop().await;
    }
}
