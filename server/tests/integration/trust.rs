//! Trust under attack: what used to take a node down no longer does. The payload that
//! asked a node for a gigabyte is refused at the door (the real binary's peak memory
//! stays small), every way in names the limit and the field, and a stored event the
//! view cannot read is parked while the node stays ready and goes on.

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::{spawn_server, task_json, TestServer};

/// The peak resident memory of a process (VmHWM), in MiB.
fn peak_rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb / 1024)
        .expect("VmHWM")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_amplification_payload_is_refused_and_the_node_stays_small() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, base) = spawn_server(dir.path(), &[]);
    let token = std::process::Command::new(env!("CARGO_BIN_EXE_taskpool-server"))
        .args(["token", "--application", "shop", "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("token");
    let token = String::from_utf8(token.stdout)
        .expect("utf8")
        .trim()
        .to_string();
    let client = reqwest::Client::new();
    // A 200,000-character key over 5,000 array items: 0.2 MB that once asked the payload
    // index for a gigabyte (the path copied per item).
    let mut task = task_json("shop", "boom", &["support"], &[], None);
    let key = "k".repeat(200_000);
    task["payload"] = json!({ key: (0..5_000).collect::<Vec<u32>>() });
    let body = json!({"events": [{"type": "taskCreated", "task": task}]});
    let size = serde_json::to_vec(&body).expect("json").len();
    assert!(size < 300_000, "{size} bytes");
    let resp = client
        .post(format!("{base}/api/v1/engine-events"))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 422);
    let problem: Value = resp.json().await.expect("problem");
    assert_eq!(problem["field"], "events", "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("key length of 200000")),
        "{problem}"
    );
    // Values up to the limits are indexed within bounds: the most values a payload may
    // hold, under long (allowed) keys, in a few tasks.
    for i in 0..5 {
        let mut task = task_json("shop", &format!("wide-{i}"), &["support"], &[], None);
        let long = "p".repeat(250);
        let values: serde_json::Map<String, Value> = (0..100)
            .map(|j| (format!("{long}{j}"), json!((0..99).collect::<Vec<u32>>())))
            .collect();
        task["payload"] = Value::Object(values);
        let resp = client
            .post(format!("{base}/api/v1/engine-events"))
            .bearer_auth(&token)
            .json(&json!({"events": [{"type": "taskCreated", "task": task}]}))
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status(), 200, "{:?}", resp.text().await);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let peak = peak_rss_mib(child.id());
    eprintln!("peak RSS of the server: {peak} MiB");
    let _ = child.kill();
    let _ = child.wait();
    assert!(peak < 300, "peak RSS {peak} MiB");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_way_in_names_the_limit_and_the_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = TestServer::start(dir.path()).await;
    let head = s.server.node.head_position();
    let shop = s.app("shop");
    let many_users: Vec<String> = (0..1_001).map(|i| format!("u{i}")).collect();
    let users: Vec<&str> = many_users.iter().map(String::as_str).collect();
    let cases = [
        (
            "/api/v1/engine-events",
            json!({"events": [{"type": "taskCreated", "task": task_json("shop", "t1", &[], &users, None)}]}),
            "events",
            "candidateUsers",
        ),
        (
            "/api/v1/commands",
            json!({"commands": [{"type": "assignTask", "id": "x".repeat(300), "assignee": "bob"}]}),
            "commands[0].id",
            "length of 300",
        ),
        (
            "/api/v1/commands",
            json!({"commands": [{"type": "updateTaskAttributes", "id": "t1", "payload": {"deep": (0..40).fold(json!(1), |v, _| json!({"d": v}))}}]}),
            "commands[0].payload.deep.d",
            "depth",
        ),
    ];
    for (path, body, field, detail) in cases {
        let resp = s.post(&shop, path, Some(body)).await;
        assert_eq!(resp.status(), 422, "{path}");
        let problem: Value = resp.json().await.expect("problem");
        assert!(
            problem["field"]
                .as_str()
                .is_some_and(|f| f.starts_with(field)),
            "{path}: {problem}"
        );
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains(detail)),
            "{path}: {problem}"
        );
    }
    // A user's completion values.
    let position = s
        .create_task("shop", "t2", &["support"], &[], Some("alice"))
        .await;
    s.wait_for_view(position).await;
    let head_before = s.server.node.head_position();
    let alice = s.user("alice", &["support"]);
    let resp = s
        .post(
            &alice,
            "/api/v1/tasks/t2/complete",
            Some(json!({"payload": {"list": vec![0; 10_001]}})),
        )
        .await;
    assert_eq!(resp.status(), 422);
    let problem: Value = resp.json().await.expect("problem");
    assert_eq!(problem["field"], "payload.list", "{problem}");
    assert_eq!(s.server.node.head_position(), head_before, "nothing stored");
    assert!(head < head_before);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poisoned_event_is_parked_and_the_node_stays_ready_and_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = TestServer::start(dir.path()).await;
    for id in ["a", "b"] {
        s.create_task("shop", id, &["support"], &[], None).await;
    }
    s.stop().await;
    // `a`'s event as a newer build (or a bug) might have written it, and a view rebuilt
    // from scratch (as after an upgrade).
    let raw = rusqlite::Connection::open(dir.path().join("events.db")).expect("events");
    raw.execute(
        "UPDATE events SET payload = '{\"unexpected\": true}' WHERE aggregate_id = 'a'",
        [],
    )
    .expect("poison");
    drop(raw);
    std::fs::remove_file(dir.path().join("view.db")).expect("view");
    let s = TestServer::start(dir.path()).await;
    let head = s.server.node.head_position();
    s.wait_for_view(head).await;
    let ready = s.client.get(s.url("/ready")).send().await.expect("ready");
    assert_eq!(ready.status(), 200);
    let health: Value = s
        .client
        .get(s.url("/health"))
        .send()
        .await
        .expect("health")
        .json()
        .await
        .expect("json");
    assert_eq!(health["status"], "degraded", "{health}");
    assert_eq!(health["parkedEvents"], 1, "{health}");
    let metrics = s
        .client
        .get(s.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(metrics.contains("taskpool_parked_events 1"), "{metrics}");
    // It goes on: a new task shows.
    let position = s.create_task("shop", "c", &["support"], &[], None).await;
    s.wait_for_view(position).await;
    let page: Value = s
        .get(&s.user("carol", &["support"]), "/api/v1/tasks")
        .await
        .json()
        .await
        .expect("json");
    let ids: Vec<&str> = page["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .filter_map(|t| t["id"].as_str())
        .collect();
    assert_eq!(ids.len(), 2, "b and c: {ids:?}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_names_and_cross_site_pages_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = TestServer::start(dir.path()).await;
    s.create_task("shop", "t1", &["support"], &[], None).await;
    let alice = s.user("alice", &["support"]);
    // DNS rebinding: a hostile name pointing at 127.0.0.1.
    let resp = s
        .client
        .get(s.url("/api/v1/tasks"))
        .bearer_auth(&alice)
        .header("host", "rebind.attacker.test")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 421);
    let head = s.server.node.head_position();
    // A cross-site page posting a claim (no body needed).
    let resp = s
        .client
        .post(s.url("/api/v1/tasks/t1/claim"))
        .bearer_auth(&alice)
        .header("origin", "http://attacker.test")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 403);
    let problem: Value = resp.json().await.expect("problem");
    assert_eq!(problem["field"], "Origin", "{problem}");
    assert_eq!(s.server.node.head_position(), head, "nothing stored");
    // The server's own page may.
    let own = s.base.clone();
    let resp = s
        .client
        .post(s.url("/api/v1/tasks/t1/claim"))
        .bearer_auth(&alice)
        .header("origin", own)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 202);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_methods_and_huge_offsets_cost_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = TestServer::start(dir.path()).await;
    let alice = s.user("alice", &["support"]);
    for i in 0..60 {
        let method = reqwest::Method::from_bytes(format!("JUNK{i}").as_bytes()).expect("method");
        let _ = s
            .client
            .request(method, s.url("/api/v1/tasks"))
            .bearer_auth(&alice)
            .send()
            .await
            .expect("send");
    }
    let metrics = s
        .client
        .get(s.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let methods: std::collections::BTreeSet<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("taskpool_http_requests_total"))
        .filter_map(|l| l.split("method=\"").nth(1)?.split('"').next())
        .collect();
    // The methods HTTP defines that the API serves, and one "other" for every junk one
    // (other tests in this binary share the recorder, so PUT and DELETE may show too).
    let known = [
        "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "other",
    ];
    assert!(methods.iter().all(|m| known.contains(m)), "{methods:?}");
    assert!(methods.contains("other"), "{methods:?}");
    let resp = s
        .get(&alice, &format!("/api/v1/tasks?offset={}", 1u64 << 63))
        .await;
    assert_eq!(resp.status(), 400);
    let problem: Value = resp.json().await.expect("problem");
    assert_eq!(problem["field"], "offset", "{problem}");
    // The token in the query string only on streams.
    let resp = s
        .client
        .get(s.url(&format!("/api/v1/me?access_token={alice}")))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 401);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_outcomes_does_not_silence_the_outcome_stream() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = TestServer::start(dir.path()).await;
    s.create_task("shop", "t1", &["support"], &[], None).await;
    let alice = s.user("alice", &["support"]);
    let mut outcomes =
        crate::common::SseReader::open(&s, &alice, "/api/v1/stream/outcomes", None).await;
    // 10,000 outcomes at once (more than any feed buffer), then one more command.
    let burst: Vec<Value> = (0..10_000)
        .map(|i| json!({"type": "assignTask", "id": "t1", "assignee": format!("u{}", i % 2)}))
        .collect();
    let resp = s
        .post(
            &s.app("shop"),
            "/api/v1/commands",
            Some(json!({"mode": "perCommand", "commands": burst})),
        )
        .await;
    assert_eq!(resp.status(), 200);
    s.create_task("shop", "after-burst", &["support"], &[], None)
        .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut seen = 0;
    loop {
        let e = outcomes
            .next(Duration::from_secs(30))
            .await
            .expect("the outcome stream goes on");
        seen += 1;
        if e.data["aggregateId"] == "after-burst" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "after {seen} outcomes"
        );
    }
    assert!(
        seen > 10_000,
        "every outcome of the burst, then the next: {seen}"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_user_cannot_hold_every_stream() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = TestServer::start_with(dir.path(), |c| {
        c.max_streams_per_user = 3;
        c.max_streams = 5;
    })
    .await;
    let alice = s.user("alice", &["support"]);
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(crate::common::SseReader::open(&s, &alice, "/api/v1/stream/tasks", None).await);
    }
    let refused = s.get(&alice, "/api/v1/stream/tasks").await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().get("retry-after").is_some());
    // Others still get theirs, up to the node's limit.
    let bob = s.user("bob", &["support"]);
    let _b1 = crate::common::SseReader::open(&s, &bob, "/api/v1/stream/tasks", None).await;
    let _b2 = crate::common::SseReader::open(&s, &bob, "/api/v1/stream/outcomes", None).await;
    assert_eq!(
        s.get(&bob, "/api/v1/stream/tasks").await.status(),
        429,
        "the node's limit"
    );
    // A closed stream gives its place back.
    drop(open.pop());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let again = s.get(&alice, "/api/v1/stream/tasks").await;
    assert_eq!(again.status(), 200);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcomes_are_read_as_the_tasks_they_concern() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s =
        TestServer::start_with(dir.path(), |c| c.auth.operator_groups = vec!["ops".into()]).await;
    s.create_task("shop", "hr-secret", &["hr"], &[], None).await;
    s.create_task("shop", "open-to-all", &["support", "hr"], &[], None)
        .await;
    let hanna = s.user("hanna", &["hr"]);
    for id in ["hr-secret", "open-to-all"] {
        let resp = s
            .post(&hanna, &format!("/api/v1/tasks/{id}/claim"), None)
            .await;
        assert_eq!(resp.status(), 202);
    }
    let ids = |v: &Value| -> Vec<String> {
        let mut ids: Vec<String> = v
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|o| o["aggregateId"].as_str().map(String::from))
            .collect();
        ids.sort();
        ids.dedup();
        ids
    };
    let list = |token: String, query: &'static str| {
        let s = &s;
        async move {
            s.get(&token, &format!("/api/v1/outcomes{query}"))
                .await
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    // Bob (support) sees the outcome about the task he may see, not the HR one.
    let bob = s.user("bob", &["support"]);
    assert_eq!(
        ids(&list(bob.clone(), "?application=tasklist").await),
        ["open-to-all"]
    );
    // Probing a task he cannot see finds nothing.
    assert_eq!(
        ids(&list(bob, "?taskId=hr-secret").await),
        Vec::<String>::new()
    );
    // Hanna reads her own actions; an operator reads everything.
    assert_eq!(
        ids(&list(hanna, "?application=tasklist").await),
        ["hr-secret", "open-to-all"]
    );
    let operator = s.user("olga", &["ops"]);
    assert_eq!(
        ids(&list(operator, "?application=tasklist").await),
        ["hr-secret", "open-to-all"]
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_reads_the_outcomes_of_what_it_sent_and_nothing_else() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = TestServer::start(dir.path()).await;
    s.create_task("shop", "shop-1", &["support"], &[], None)
        .await;
    s.create_task("hr", "hr-1", &["hr"], &[], None).await;
    // hr touches shop's task: refused, and recorded as hr's.
    let refused = s
        .post(
            &s.app("hr"),
            "/api/v1/engine-events",
            Some(json!({"events": [{"type": "taskCompleted", "taskId": "shop-1"}]})),
        )
        .await;
    assert_eq!(refused.status(), 409);
    let mut live =
        crate::common::SseReader::open(&s, &s.app("hr"), "/api/v1/stream/outcomes", Some("0"))
            .await;
    let read = |app: &'static str, query: &'static str| {
        let s = &s;
        async move {
            let resp = s
                .get(&s.app(app), &format!("/api/v1/outcomes{query}"))
                .await;
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, hr) = read("hr", "").await;
    assert_eq!(status, 200, "{hr}");
    let rows: Vec<(String, String, bool)> = hr
        .as_array()
        .expect("list")
        .iter()
        .map(|o| {
            (
                o["application"].as_str().unwrap_or("").to_string(),
                o["aggregateId"].as_str().unwrap_or("").to_string(),
                o["accepted"] == true,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("hr".to_string(), "shop-1".to_string(), false),
            ("hr".to_string(), "hr-1".to_string(), true),
        ],
        "hr's own, newest first, and none of shop's"
    );
    // Asking for another application's is refused, not quietly narrowed.
    let (status, problem) = read("hr", "?application=shop").await;
    assert_eq!(status, 403, "{problem}");
    // The live stream carries hr's, from the start, and then the next one.
    s.create_task("hr", "hr-2", &["hr"], &[], None).await;
    s.create_task("shop", "shop-2", &["support"], &[], None)
        .await;
    s.create_task("hr", "hr-3", &["hr"], &[], None).await;
    let mut streamed = Vec::new();
    while streamed.last().map(String::as_str) != Some("hr-3") {
        let e = live
            .next(Duration::from_secs(10))
            .await
            .expect("the outcome stream goes on");
        assert_eq!(e.data["application"], "hr", "{:?}", e.data);
        streamed.push(e.data["aggregateId"].as_str().unwrap_or("").to_string());
    }
    assert_eq!(streamed, ["hr-1", "shop-1", "hr-2", "hr-3"]);
    s.stop().await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_directory_is_its_owners_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let s = TestServer::start(&data).await;
    s.create_task("shop", "t1", &["support"], &[], None).await;
    s.stop().await;
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    let mut files = 0;
    for entry in std::fs::read_dir(&data).expect("dir") {
        let path = entry.expect("entry").path();
        if path.is_file() {
            files += 1;
            assert_eq!(
                mode(&path) & 0o077,
                0,
                "{} is readable by others",
                path.display()
            );
        }
    }
    assert!(files >= 4, "events, view, outcomes, secret…");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_outlives_no_token_by_more_than_its_age() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = TestServer::start_with(dir.path(), |c| c.max_stream_secs = 1).await;
    let alice = s.user("alice", &["support"]);
    let mut stream = crate::common::SseReader::open(&s, &alice, "/api/v1/stream/tasks", None).await;
    let first = stream.next(Duration::from_secs(5)).await.expect("snapshot");
    assert_eq!(first.event, "snapshot");
    let started = std::time::Instant::now();
    let end = stream.next(Duration::from_secs(5)).await.expect("an end");
    assert_eq!(end.event, "end", "{end:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn result_values_without_a_name_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = TestServer::start(dir.path()).await;
    let position = s.create_task("shop", "t1", &["support"], &[], None).await;
    s.wait_for_view(position).await;
    let alice = s.user("alice", &["support"]);
    let head = s.server.node.head_position();
    let resp = s
        .post(
            &alice,
            "/api/v1/tasks/t1/complete",
            Some(json!({"payload": {"": 1}})),
        )
        .await;
    assert_eq!(resp.status(), 422);
    let problem: Value = resp.json().await.expect("problem");
    assert_eq!(problem["field"], "payload", "{problem}");
    assert_eq!(s.server.node.head_position(), head, "nothing stored");
    s.stop().await;
}
