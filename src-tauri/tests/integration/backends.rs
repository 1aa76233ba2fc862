//! The desktop app's two backends run the same scenario and must answer alike: the
//! embedded task pool in this process, and a real taskpool server (with its example
//! application) reached over HTTP and SSE.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use taskpool_core::live::LiveItem;
use taskpool_core::query::RequestState;
use taskpool_core::query::TaskPage;
use taskpool_desktop::backend::embedded::EmbeddedBackend;
use taskpool_desktop::backend::remote::RemoteBackend;
use taskpool_desktop::backend::{Answer, Backend, Request, Sink, StreamMessage};
use taskpool_node::node::TaskAction;
use taskpool_node::params::{TaskListParams, TaskStreamParams};
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

fn page_of(answer: Answer) -> TaskPage {
    match answer {
        Answer::Tasks(page) => page,
        other => panic!("not a page of tasks: {other:?}"),
    }
}

fn stream_params(f: impl FnOnce(&mut TaskStreamParams)) -> TaskStreamParams {
    let mut p = TaskStreamParams::default();
    f(&mut p);
    p
}

fn list_params(f: impl FnOnce(&mut TaskListParams)) -> TaskListParams {
    let mut p = TaskListParams::default();
    f(&mut p);
    p
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
        .stream_tasks(
            &alice,
            stream_params(|p| {
                p.claimable = Some(true);
                p.limit = Some(1000);
            }),
            sink,
        )
        .await
        .expect("task stream");
    let snapshot = first_snapshot(&got).await;
    assert!(
        !snapshot.tasks.is_empty(),
        "alice has claimable example tasks"
    );
    assert!(snapshot.tasks.iter().all(|t| t.assignee.is_none()));
    let id = snapshot.tasks[0].id.clone();

    let claimed = backend
        .request(
            &alice,
            Request::Act {
                id: id.clone(),
                action: TaskAction::Claim,
            },
        )
        .await
        .expect("claim");
    // The answer comes once the engine performed it: the task as the view shows it
    // after the effect, assigned to alice.
    assert!(
        matches!(&claimed, Answer::Action(a)
            if a.request.state == RequestState::Performed
                && a.task.as_ref().and_then(|t| t.assignee.as_deref()) == Some("alice")),
        "{claimed:?}"
    );
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
    assert!(
        matches!(&task, Answer::Task(t) if t.assignee.as_deref() == Some("alice")),
        "{task:?}"
    );

    backend
        .request(
            &alice,
            Request::Act {
                id: id.clone(),
                action: TaskAction::Complete {
                    payload: json!({"approved": true})
                        .as_object()
                        .cloned()
                        .unwrap_or_default(),
                },
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
        .stream_tasks(
            &alice,
            stream_params(|p| p.filter = Some("amount >".into())),
            collecting().0,
        )
        .await
        .expect_err("a broken filter is refused");
    assert_eq!(
        (err.status, err.field.as_deref()),
        (400, Some("filter")),
        "{err:?}"
    );
    let err = backend
        .request(
            &alice,
            Request::Tasks {
                params: list_params(|p| {
                    p.sort = Some("+nope".into());
                    p.limit = Some(10);
                }),
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
                action: TaskAction::Claim,
            },
        )
        .await
        .expect_err("an unknown task");
    assert_eq!(err.status, 404);

    // Paging: the list's further pages answer in the same shape.
    let page = page_of(
        backend
            .request(
                &alice,
                Request::Tasks {
                    params: list_params(|p| {
                        p.sort = Some("-priority".into());
                        p.offset = Some(1);
                        p.limit = Some(2);
                    }),
                },
            )
            .await
            .expect("page"),
    );
    assert!(page.tasks.len() <= 2, "{page:?}");
    assert!(page.total >= 1, "{page:?}");

    // Bob may not see alice's claimed-then-completed task, nor act on tasks outside
    // his groups.
    let bob = backend.login("bob").await.expect("bob");
    let bobs = page_of(
        backend
            .request(
                &bob,
                Request::Tasks {
                    params: list_params(|p| p.limit = Some(1000)),
                },
            )
            .await
            .expect("bob's tasks"),
    );
    let bobs_ids: Vec<&str> = bobs.tasks.iter().map(|t| t.id.as_str()).collect();
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
                    action: TaskAction::Claim,
                },
            )
            .await
            .expect_err("bob cannot claim a task he cannot see");
        assert_eq!(err.status, 404);
    }
}

/// What the window sends is decoded strictly into the node's types before any backend
/// sees it: unknown parameters and ill-typed bodies are refused at the boundary, naming
/// what is wrong.
#[test]
fn the_window_boundary_refuses_unknown_parameters_and_ill_typed_bodies() {
    let refused = |v: serde_json::Value| {
        serde_json::from_value::<Request>(v.clone())
            .expect_err(&format!("{v} is refused"))
            .to_string()
    };
    assert!(refused(json!({"kind": "tasks", "params": {"bogus": 1}})).contains("bogus"));
    assert!(refused(
        json!({"kind": "act", "id": "t", "action": {"kind": "complete", "payload": 5}})
    )
    .contains("map"));
    assert!(
        refused(json!({"kind": "act", "id": "t", "action": {"kind": "defer"}}))
            .contains("followUpDate")
    );
    assert!(serde_json::from_value::<TaskStreamParams>(json!({"bogus": 1})).is_err());
    // What the UI sends today decodes.
    let act: Request = serde_json::from_value(json!({"kind": "act", "id": "t",
        "action": {"kind": "defer", "followUpDate": "2026-12-24T08:00:00Z"}}))
    .expect("a deferral");
    assert!(matches!(
        act,
        Request::Act {
            action: TaskAction::Defer { .. },
            ..
        }
    ));
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
fn example_server(data_dir: &std::path::Path, listen: &str) -> ServerConfig {
    ServerConfig {
        data_dir: data_dir.to_path_buf(),
        listen: listen.parse().expect("addr"),
        example: true,
        example_rate: 0.0,
        ..ServerConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_remote_backend_runs_the_scenario_against_a_real_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = taskpool_server::serve(example_server(dir.path(), "127.0.0.1:0"))
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
    let server = taskpool_server::serve(example_server(dir.path(), "127.0.0.1:0"))
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
    let config = |listen: &str| example_server(dir.path(), listen);
    let server = taskpool_server::serve(config("127.0.0.1:0"))
        .await
        .expect("server");
    let addr = server.addr;
    let backend = RemoteBackend::new(&format!("http://{addr}"), None).expect("remote");
    let alice = backend.login("alice").await.expect("login");
    let (sink, got) = collecting();
    let _stream = backend
        .stream_tasks(
            &alice,
            stream_params(|p| {
                p.claimable = Some(true);
                p.limit = Some(1000);
            }),
            sink,
        )
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
                action: TaskAction::Claim,
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
