//! The history: a completed task stays in "Completed" for those who could see it, with
//! its timeline (created, requests and answers, assigned, completed: when and by whom);
//! those who could not see it find neither.

use crate::common;

use common::{json_of, TestServer};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completed_task_keeps_its_timeline_for_those_who_could_see_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = TestServer::with_example(dir.path()).await;
    let bob = s.user("bob", &["support"]);
    let id = s.claimable_triage(&bob).await.expect("a triage task");
    let (status, _) = json_of(
        s.post(&bob, &format!("/api/v1/tasks/{id}/claim?wait=true"), None)
            .await,
    )
    .await;
    assert_eq!(status, 200);
    let (status, done) = json_of(
        s.post(
            &bob,
            &format!("/api/v1/tasks/{id}/complete?wait=true"),
            Some(json!({"payload": {"assignTo": "carol"}})),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{done}");

    // In bob's history, completed by him.
    let (status, completed) = json_of(s.get(&bob, "/api/v1/completed-tasks").await).await;
    assert_eq!(status, 200, "{completed}");
    let entry = completed["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .find(|c| c["task"]["id"] == id.as_str())
        .expect("the completed task");
    assert_eq!(entry["completedBy"], "bob");
    assert!(entry["completedAt"].is_string());

    // Its timeline, in order, with who.
    let (status, timeline) =
        json_of(s.get(&bob, &format!("/api/v1/tasks/{id}/timeline")).await).await;
    assert_eq!(status, 200, "{timeline}");
    let steps: Vec<(String, String, String)> = timeline
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            let text = |k: &str| e[k].as_str().unwrap_or("").to_string();
            (text("kind"), text("user"), text("detail"))
        })
        .collect();
    let kinds: Vec<&str> = steps.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(kinds.first(), Some(&"created"), "{steps:?}");
    assert_eq!(kinds.last().copied(), Some("performed"), "{steps:?}");
    assert!(
        steps.contains(&("requested".into(), "bob".into(), "claim".into())),
        "{steps:?}"
    );
    assert!(
        steps.contains(&("assigned".into(), String::new(), "bob".into())),
        "{steps:?}"
    );
    assert!(
        steps.contains(&("requested".into(), "bob".into(), "complete".into())),
        "{steps:?}"
    );
    assert!(
        steps.contains(&("completed".into(), "bob".into(), String::new())),
        "{steps:?}"
    );
    let claim = kinds
        .iter()
        .position(|k| *k == "assigned")
        .expect("assigned");
    let completed_at = kinds
        .iter()
        .position(|k| *k == "completed")
        .expect("completed");
    assert!(claim < completed_at, "{steps:?}");

    // Someone who could not see the task finds neither.
    let outsider = s.user("dave", &["visitors"]);
    let (status, _) = json_of(
        s.get(&outsider, &format!("/api/v1/tasks/{id}/timeline"))
            .await,
    )
    .await;
    assert_eq!(status, 404);
    let (_, none) = json_of(s.get(&outsider, "/api/v1/completed-tasks").await).await;
    assert_eq!(none["total"], 0, "{none}");
    s.stop().await;
}
