//! A user's action ends in the engine's answer: with the example application as the
//! engine, two users racing for one task get exactly one 200 and one 409 naming who
//! holds it; a claim answered 200 is visible to the very next read; an application that
//! never answers makes the action expire with 504 naming it; a task opened and claimed the
//! moment it was created is found though the view lags.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{task_json, TestServer};

async fn claimable(s: &TestServer, token: &str, filter: &str) -> Vec<String> {
    let path = format!(
        "/api/v1/tasks?claimable=true&limit=1000&filter={}",
        urlencode(filter)
    );
    let page: Value = s.get(token, &path).await.json().await.expect("json");
    page["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .filter_map(|t| t["id"].as_str().map(String::from))
        .collect()
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Waits until `token` has at least `n` claimable tasks matching `filter`.
async fn at_least(s: &TestServer, token: &str, filter: &str, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ids = claimable(s, token, filter).await;
        if ids.len() >= n {
            return ids;
        }
        assert!(
            Instant::now() < deadline,
            "only {} claimable tasks",
            ids.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn claim(s: &TestServer, token: &str, id: &str) -> (u16, Value) {
    let resp = s
        .post(token, &format!("/api/v1/tasks/{id}/claim?wait=true"), None)
        .await;
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_claims_end_in_one_200_and_one_409_naming_the_holder_ten_rounds_in_a_row() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = TestServer::start_with(dir.path(), |c| {
        c.example = true;
        c.example_rate = 20.0;
    })
    .await;
    let alice = s.user("alice", &["approvers", "support"]);
    let bob = s.user("bob", &["support"]);
    let triage = "task.taskDefinitionKey = triage";
    let mut engine_refusals = 0;
    let mut taken = Vec::new();
    for round in 0..10 {
        let ids = at_least(&s, &bob, triage, 1).await;
        let id = ids
            .into_iter()
            .find(|id| !taken.contains(id))
            .expect("a fresh task");
        taken.push(id.clone());
        let (a, b) = tokio::join!(claim(&s, &alice, &id), claim(&s, &bob, &id));
        let mut statuses = [a.0, b.0];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 409], "round {round}: {a:?} / {b:?}");
        let ((_, won), (_, lost), winner) = if a.0 == 200 {
            (a, b, "alice")
        } else {
            (b, a, "bob")
        };
        assert_eq!(won["task"]["assignee"], winner, "round {round}: {won}");
        assert_eq!(won["request"]["state"], "performed", "round {round}: {won}");
        let reason = lost["detail"].as_str().unwrap_or("");
        assert!(
            reason.contains(winner),
            "round {round}: the refusal names who holds it: {lost}"
        );
        match lost["code"].as_str() {
            // The engine refused: both requests reached it.
            Some("REQUEST_REJECTED") => engine_refusals += 1,
            // The pool refused: the winner's effect was in before the second request.
            Some("TASK_ASSIGNED_TO_OTHER_USER") => {}
            other => panic!("round {round}: unexpected refusal {other:?}: {lost}"),
        }
    }
    eprintln!("racing claims: {engine_refusals} of 10 refused by the engine, the rest by the pool");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_answered_200_is_visible_to_the_next_read_100_of_100() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = TestServer::start_with(dir.path(), |c| {
        c.example = true;
        c.example_rate = 50.0;
    })
    .await;
    let alice = s.user("alice", &["approvers", "support"]);
    // Not her own requests: the engine refuses those (four-eyes rule).
    let filter = "requester != alice";
    let ids = at_least(&s, &alice, filter, 100).await;
    let mut seen = 0;
    for id in ids.iter().take(100) {
        let (status, answer) = claim(&s, &alice, id).await;
        assert_eq!(status, 200, "{answer}");
        let task: Value = s
            .get(&alice, &format!("/api/v1/tasks/{id}"))
            .await
            .json()
            .await
            .expect("json");
        if task["assignee"] == "alice" {
            seen += 1;
        }
    }
    assert_eq!(seen, 100, "claims whose effect the next GET showed");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_that_never_answers_makes_the_action_expire_with_504_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = TestServer::start_with(dir.path(), |c| c.request_expiry_secs = 1).await;
    let out = s
        .engine(
            "shop",
            json!([{"type": "taskCreated", "task": task_json("shop", "t1", &["support"], &[], None)}]),
            None,
        )
        .await;
    s.wait_for_view(out["position"].as_i64().expect("position"))
        .await;
    let alice = s.user("alice", &["support"]);
    let started = Instant::now();
    let (status, problem) = claim(&s, &alice, "t1").await;
    assert_eq!(status, 504, "{problem}");
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(problem["code"], "REQUEST_EXPIRED", "{problem}");
    assert_eq!(
        problem["detail"], "no answer from application `shop` within 1 s",
        "{problem}"
    );
    let id = problem["request"]["requestId"].as_str().expect("id");
    let request: Value = s
        .get(&alice, &format!("/api/v1/requests/{id}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(request["state"], "expired", "{request}");
    assert_eq!(request["applicationName"], "shop", "{request}");
    s.stop().await;
}

/// Reassigning is a request like the others: who holds a task may give it on, the
/// application decides (the example refuses users it does not have), anyone else is
/// refused by the pool.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_is_given_on_by_its_holder_as_its_application_allows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = TestServer::start_with(dir.path(), |c| {
        c.example = true;
    })
    .await;
    let alice = s.user("alice", &["approvers", "support"]);
    let bob = s.user("bob", &["support"]);
    let id = at_least(&s, &alice, "task.taskDefinitionKey = triage", 1).await[0].clone();
    let (status, answer) = claim(&s, &alice, &id).await;
    assert_eq!(status, 200, "{answer}");
    let assign = |token: String, to: &'static str| {
        let s = &s;
        let id = id.clone();
        async move {
            let resp = s
                .post(
                    &token,
                    &format!("/api/v1/tasks/{id}/assign?wait=true"),
                    Some(json!({"assignee": to})),
                )
                .await;
            (
                resp.status().as_u16(),
                resp.json::<Value>().await.expect("json"),
            )
        }
    };
    // Not a user of the application: its engine refuses, saying why.
    let (status, refused) = assign(alice.clone(), "mallory").await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["code"], "REQUEST_REJECTED");
    assert!(
        refused["detail"]
            .as_str()
            .is_some_and(|d| d.contains("mallory is not a user")),
        "{refused}"
    );
    // bob does not hold it: the pool refuses.
    let (status, refused) = assign(bob.clone(), "carol").await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["code"], "TASK_NOT_ASSIGNED_TO_USER", "{refused}");
    // alice gives it to bob: done, and the view shows bob.
    let (status, given) = assign(alice.clone(), "bob").await;
    assert_eq!(status, 200, "{given}");
    assert_eq!(given["request"]["action"], "assign");
    assert_eq!(given["task"]["assignee"], "bob", "{given}");
    s.stop().await;
}

/// A client that did not get an answer sends its action again with the same
/// `Idempotency-Key`: it gets the first attempt's request and outcome, and the task is
/// claimed once. The same key on another request is refused; a key that is no key too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_action_with_its_idempotency_key_is_performed_once_and_answered_alike() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = TestServer::start_with(dir.path(), |c| c.example = true).await;
    let bob = s.user("bob", &["support"]);
    let id = at_least(&s, &bob, "task.taskDefinitionKey = triage", 1).await[0].clone();
    let claim = format!("/api/v1/tasks/{id}/claim?wait=true");
    let (first, answer) = s.post_keyed(&bob, &claim, "retry-1", None).await;
    assert_eq!(first, 200, "{answer}");
    let request = answer["request"]["requestId"].clone();
    assert!(request.is_string(), "{answer}");
    // The retry: the same request, as it stands (performed), and no second claim.
    let (again, retried) = s.post_keyed(&bob, &claim, "retry-1", None).await;
    assert_eq!(again, 200, "{retried}");
    assert_eq!(retried["request"]["requestId"], request, "{retried}");
    assert_eq!(retried["request"]["state"], "performed", "{retried}");
    let (requested, timeline) = s.requests_in_timeline(&bob, &id).await;
    assert_eq!(
        requested, 1,
        "one claim request in the timeline: {timeline}"
    );
    // The same key on another request: refused, naming the header; nothing done.
    let (reused, problem) = s
        .post_keyed(
            &bob,
            &format!("/api/v1/tasks/{id}/unclaim?wait=true"),
            "retry-1",
            None,
        )
        .await;
    assert_eq!(reused, 422, "{problem}");
    assert_eq!(problem["field"], "Idempotency-Key", "{problem}");
    let task: Value = s
        .get(&bob, &format!("/api/v1/tasks/{id}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(task["assignee"], "bob", "{task}");
    let (bad, problem) = s.post_keyed(&bob, &claim, "no spaces here", None).await;
    assert_eq!(bad, 400, "{problem}");
    assert_eq!(problem["field"], "Idempotency-Key", "{problem}");
    s.stop().await;
}

/// Holds the write lock of the node's view for `hold`, so the view falls behind the
/// store the way it does under load; `locked` fires once the lock is taken.
fn hold_the_view(dir: &std::path::Path, hold: Duration) -> std::thread::JoinHandle<()> {
    let path = dir.join("view.db");
    let (locked, taken) = std::sync::mpsc::channel();
    let holder = std::thread::spawn(move || {
        let conn = rusqlite::Connection::open(path).expect("view");
        conn.execute_batch("BEGIN IMMEDIATE").expect("lock");
        locked.send(()).expect("signal");
        std::thread::sleep(hold);
        conn.execute_batch("COMMIT").expect("unlock");
    });
    taken.recv().expect("the view is locked");
    holder
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_opened_and_claimed_the_moment_it_was_created_is_found() {
    // A link mailed the moment a task was created opens it, though the view lags.
    let dir = tempfile::tempdir().expect("tempdir");
    let s = TestServer::start(dir.path()).await;
    let hanna = s.user("hanna", &["hr"]);
    for (round, ask) in ["open", "claim"].into_iter().enumerate() {
        let id = format!("just-created-{round}");
        let holder = hold_the_view(dir.path(), Duration::from_millis(500));
        s.create_task("shop", &id, &["hr"], &[], None).await;
        let status = match ask {
            "open" => s.get(&hanna, &format!("/api/v1/tasks/{id}")).await.status(),
            _ => s
                .post(&hanna, &format!("/api/v1/tasks/{id}/claim"), None)
                .await
                .status(),
        };
        holder.join().expect("holder");
        assert!(status.is_success(), "{ask} {id}: {status}");
    }
    // A task that does not exist is still not found, once the view has caught up.
    let started = Instant::now();
    let missing = s.get(&hanna, "/api/v1/tasks/never-created").await;
    assert_eq!(missing.status(), 404);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "a caught-up view answers at once"
    );
    s.stop().await;
}
