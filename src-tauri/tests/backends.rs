//! The desktop app's two backends run the same scenario and must answer alike: the
//! embedded task pool in this process, and a real taskpool server (with its demo
//! application) reached over HTTP and SSE.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use taskpool_core::live::LiveItem;
use taskpool_desktop::backend::embedded::EmbeddedBackend;
use taskpool_desktop::backend::remote::RemoteBackend;
use taskpool_desktop::backend::{Action, Backend, Request, Sink, StreamMessage};
use taskpool_server::ServerConfig;

type Received = Arc<Mutex<Vec<StreamMessage>>>;

fn collecting() -> (Sink, Received) {
    let got: Received = Arc::new(Mutex::new(Vec::new()));
    let sink_got = got.clone();
    let sink: Sink = Arc::new(move |m| {
        sink_got.lock().expect("lock").push(m);
        true
    });
    (sink, got)
}

async fn first_snapshot(got: &Received) -> taskpool_core::live::Snapshot {
    wait_for("the snapshot", || {
        got.lock().expect("lock").iter().find_map(|m| match m {
            StreamMessage::Snapshot { snapshot } => Some(snapshot.clone()),
            _ => None,
        })
    })
    .await
}

async fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The scenario: alice sees claimable tasks, claims one (it leaves her claimable list,
/// live), completes it (gone), sees both outcomes; bad input is refused and changes
/// nothing.
async fn scenario(backend: &dyn Backend) {
    let alice = backend.login("alice").await.expect("login");
    assert_eq!(alice.user, "alice");
    assert!(
        alice.groups.contains(&"approvers".to_string()),
        "{:?}",
        alice.groups
    );

    let (outcome_sink, outcomes) = collecting();
    let _outcomes = backend
        .stream_outcomes(&alice, outcome_sink)
        .await
        .expect("outcome stream");
    let (sink, got) = collecting();
    let _stream = backend
        .stream_tasks(&alice, "unassigned=true&limit=1000", sink)
        .await
        .expect("task stream");
    let snapshot = first_snapshot(&got).await;
    assert!(!snapshot.tasks.is_empty(), "alice has claimable demo tasks");
    assert!(snapshot.tasks.iter().all(|t| t.assignee.is_none()));
    let id = snapshot.tasks[0].id.clone();

    let claimed = backend
        .request(
            &alice,
            Request::Act {
                id: id.clone(),
                action: Action::Claim,
                body: None,
            },
        )
        .await
        .expect("claim");
    assert_eq!(claimed["visible"], json!(true), "{claimed}");
    // The engine (the example application) performs the claim; then it leaves the
    // claimable list, live.
    wait_for("the claimed task to leave the claimable list", || {
        got.lock().expect("lock").iter().find_map(|m| match m {
            StreamMessage::Live {
                item: LiveItem::Left { task_id, .. },
            } if *task_id == id => Some(()),
            _ => None,
        })
    })
    .await;
    let task = backend
        .request(&alice, Request::Task { id: id.clone() })
        .await
        .expect("task");
    assert_eq!(task["assignee"], json!("alice"));

    backend
        .request(
            &alice,
            Request::Act {
                id: id.clone(),
                action: Action::Complete,
                body: Some(json!({"payload": {"approved": true}})),
            },
        )
        .await
        .expect("complete");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match backend
            .request(&alice, Request::Task { id: id.clone() })
            .await
        {
            Err(e) if e.status == 404 => break,
            _ => assert!(
                Instant::now() < deadline,
                "the completed task is still there"
            ),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    wait_for("both outcomes", || {
        let o = outcomes.lock().expect("lock");
        let of_task: Vec<_> = o
            .iter()
            .filter_map(|m| match m {
                StreamMessage::Outcome { outcome } if outcome.aggregate_id == id => {
                    Some(outcome.clone())
                }
                _ => None,
            })
            .collect();
        (of_task.len() >= 2 && of_task.iter().all(|r| r.accepted)).then_some(())
    })
    .await;

    // Bad input: a clear error naming the input, nothing changed.
    let err = backend
        .stream_tasks(&alice, "filter=amount%20%3E", collecting().0)
        .await
        .expect_err("a broken filter is refused");
    assert_eq!(
        (err.status, err.field.as_deref()),
        (400, Some("filter")),
        "{err:?}"
    );
    let err = backend
        .stream_tasks(&alice, "bogus=1", collecting().0)
        .await
        .expect_err("an unknown parameter is refused");
    assert_eq!(err.status, 400, "{err:?}");
    let err = backend
        .request(
            &alice,
            Request::Tasks {
                query: "sort=%2Bnope".into(),
                offset: 0,
                limit: 10,
            },
        )
        .await
        .expect_err("an unknown sort key is refused");
    assert_eq!(
        (err.status, err.field.as_deref()),
        (400, Some("sort")),
        "{err:?}"
    );
    let err = backend
        .request(
            &alice,
            Request::Act {
                id: "no-such-task".into(),
                action: Action::Claim,
                body: None,
            },
        )
        .await
        .expect_err("an unknown task");
    assert_eq!(err.status, 404);
    let err = backend
        .request(
            &alice,
            Request::Act {
                id: snapshot.tasks[1].id.clone(),
                action: Action::Complete,
                body: Some(json!({"payload": 5})),
            },
        )
        .await
        .expect_err("a payload that is not an object");
    assert!(err.status == 400 || err.status == 422, "{err:?}");

    // Paging: the list's further pages answer in the same shape.
    let page = backend
        .request(
            &alice,
            Request::Tasks {
                query: "sort=-priority".into(),
                offset: 1,
                limit: 2,
            },
        )
        .await
        .expect("page");
    assert!(
        page["tasks"].as_array().is_some_and(|t| t.len() <= 2),
        "{page}"
    );
    assert!(page["total"].as_u64().is_some_and(|t| t >= 1), "{page}");

    // Bob may not see alice's claimed-then-completed task, nor act on tasks outside
    // his groups.
    let bob = backend.login("bob").await.expect("bob");
    let bobs = backend
        .request(
            &bob,
            Request::Tasks {
                query: String::new(),
                offset: 0,
                limit: 1000,
            },
        )
        .await
        .expect("bob's tasks");
    let bobs_ids: Vec<&str> = bobs["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["id"].as_str())
        .collect();
    let hidden = snapshot
        .tasks
        .iter()
        .find(|t| !bobs_ids.contains(&t.id.as_str()) && t.id != id);
    if let Some(hidden) = hidden {
        let err = backend
            .request(
                &bob,
                Request::Act {
                    id: hidden.id.clone(),
                    action: Action::Claim,
                    body: None,
                },
            )
            .await
            .expect_err("bob cannot claim a task he cannot see");
        assert_eq!(err.status, 404);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_backend_runs_the_scenario() {
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = EmbeddedBackend::start(dir.path(), 0.0).expect("embedded");
    scenario(&backend).await;
    tokio::task::spawn_blocking(move || backend.shutdown())
        .await
        .expect("shutdown");
}

/// A server on `listen` with the example process application, no simulated users.
fn demo_server(data_dir: &std::path::Path, listen: &str) -> ServerConfig {
    ServerConfig {
        data_dir: data_dir.to_path_buf(),
        listen: listen.parse().expect("addr"),
        demo: true,
        demo_rate: 0.0,
        ..ServerConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_remote_backend_runs_the_scenario_against_a_real_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = taskpool_server::serve(demo_server(dir.path(), "127.0.0.1:0"))
        .await
        .expect("server");
    let backend = RemoteBackend::new(&format!("http://{}", server.addr), None).expect("remote");
    scenario(&backend).await;
    server.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_backend_with_a_bad_token_or_no_server_says_so() {
    let backend = RemoteBackend::new("http://127.0.0.1:9", None).expect("remote");
    let err = backend
        .login("alice")
        .await
        .expect_err("nothing listens on port 9");
    assert_eq!(err.status, 0, "{err:?}");
    let dir = tempfile::tempdir().expect("tempdir");
    let server = taskpool_server::serve(demo_server(dir.path(), "127.0.0.1:0"))
        .await
        .expect("server");
    // A well-formed token the server did not sign.
    let forged = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.c2lnbmF0dXJl";
    let backend = RemoteBackend::new(&format!("http://{}", server.addr), Some(forged.into()))
        .expect("remote");
    let err = backend
        .login("")
        .await
        .expect_err("the server refuses the token");
    assert_eq!(err.status, 401, "{err:?}");
    server.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_stream_reconnects_after_a_server_restart_and_resumes_where_it_was() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = |listen: &str| demo_server(dir.path(), listen);
    let server = taskpool_server::serve(config("127.0.0.1:0"))
        .await
        .expect("server");
    let addr = server.addr;
    let backend = RemoteBackend::new(&format!("http://{addr}"), None).expect("remote");
    let alice = backend.login("alice").await.expect("login");
    let (sink, got) = collecting();
    let _stream = backend
        .stream_tasks(&alice, "unassigned=true&limit=1000", sink)
        .await
        .expect("stream");
    let snapshot = first_snapshot(&got).await;
    let id = snapshot.tasks[0].id.clone();

    // The server goes away: the window hears it.
    server.stop().await.expect("stop");
    wait_for("the stream to report the lost connection", || {
        got.lock().expect("lock").iter().find_map(|m| match m {
            StreamMessage::State {
                connected: false, ..
            } => Some(()),
            _ => None,
        })
    })
    .await;
    // It comes back on the same address with the same data (and token secret); a
    // change is made before the stream has reconnected.
    let server = taskpool_server::serve(config(&addr.to_string()))
        .await
        .expect("restarted");
    backend
        .request(
            &alice,
            Request::Act {
                id: id.clone(),
                action: Action::Claim,
                body: None,
            },
        )
        .await
        .expect("claim after the restart");
    wait_for(
        "the claimed task to leave, delivered after the reconnect",
        || {
            got.lock().expect("lock").iter().find_map(|m| match m {
                StreamMessage::Live {
                    item: LiveItem::Left { task_id, .. },
                } if *task_id == id => Some(()),
                _ => None,
            })
        },
    )
    .await;
    let messages = got.lock().expect("lock").clone();
    let snapshots = messages
        .iter()
        .filter(|m| matches!(m, StreamMessage::Snapshot { .. }))
        .count();
    assert_eq!(
        snapshots, 1,
        "the stream resumed after its last event, it did not start over"
    );
    let left = messages
        .iter()
        .filter(|m| matches!(m, StreamMessage::Live { item: LiveItem::Left { task_id, .. } } if *task_id == id))
        .count();
    assert_eq!(left, 1, "the change arrived once");
    assert!(
        messages.iter().rev().any(|m| matches!(
            m,
            StreamMessage::State {
                connected: true,
                ..
            }
        )),
        "the stream says it is connected again"
    );
    server.stop().await.expect("stop");
}
