//! Forms: the example application registers a form per user task and a start form per
//! process with its definitions; a task's form is read as the task is (404 for one the
//! caller may not see), a start form as the definition is startable, and a form key no
//! form was registered under is a 404 `no-form` naming it.

use crate::common;

use common::{json_of, task_json, TestServer};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_are_read_as_their_task_or_start_allows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = TestServer::with_example(dir.path()).await;
    let alice = s.user("alice", &["approvers", "support"]);
    let outsider = s.user("dave", &["visitors"]);

    let (_, page) = json_of(
        s.get(
            &alice,
            "/api/v1/tasks?filter=task.taskDefinitionKey%20%3D%20triage&limit=1",
        )
        .await,
    )
    .await;
    let triage = page["tasks"][0]["id"]
        .as_str()
        .expect("a triage task")
        .to_string();
    let (status, form) =
        json_of(s.get(&alice, &format!("/api/v1/tasks/{triage}/form")).await).await;
    assert_eq!(status, 200, "{form}");
    assert_eq!(form["formKey"], "handle-incident-triage");
    let keys: Vec<&str> = form["form"]["components"]
        .as_array()
        .expect("components")
        .iter()
        .filter_map(|c| c["key"].as_str())
        .collect();
    assert!(keys.contains(&"assignTo"), "{keys:?}");
    let (status, problem) = json_of(
        s.get(&outsider, &format!("/api/v1/tasks/{triage}/form"))
            .await,
    )
    .await;
    assert_eq!(
        (status, problem["detail"].as_str()),
        (404, Some("no such task"))
    );

    // Start forms, for those who may start the process.
    let (_, definitions) = json_of(s.get(&alice, "/api/v1/process-definitions").await).await;
    let approve = definitions
        .as_array()
        .expect("definitions")
        .iter()
        .find(|d| d["key"] == "approve-request")
        .expect("approve-request");
    assert!(
        approve.get("forms").is_none(),
        "the list carries no forms: {approve}"
    );
    let id = approve["id"].as_str().expect("id");
    let path = format!("/api/v1/process-definitions/{id}/start-form");
    let (status, start) = json_of(s.get(&alice, &path).await).await;
    assert_eq!(status, 200, "{start}");
    assert_eq!(start["formKey"], "approve-request-start");
    let (status, _) = json_of(s.get(&outsider, &path).await).await;
    assert_eq!(status, 404);

    // A task whose form key names no registered form.
    let app = approve["applicationName"]
        .as_str()
        .expect("app")
        .to_string();
    let mut task = task_json(&app, "formless", &["support"], &[], None);
    task["formKey"] = json!("nowhere");
    let out = s
        .engine(&app, json!([{"type": "taskCreated", "task": task}]), None)
        .await;
    s.wait_for_view(out["position"].as_i64().expect("position"))
        .await;
    let (status, problem) = json_of(s.get(&alice, "/api/v1/tasks/formless/form").await).await;
    assert_eq!(status, 404, "{problem}");
    assert!(
        problem["type"]
            .as_str()
            .is_some_and(|t| t.ends_with("no-form")),
        "{problem}"
    );
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("nowhere")),
        "{problem}"
    );
    s.stop().await;
}
