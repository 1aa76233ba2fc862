//! Starting a process from the inbox: a request to the owning application like an action
//! on a task. With the example application as the engine: started (200 with the new
//! instance and its first task I may see), refused by the engine with its reason (409),
//! not mine to start (404), listed among my requests.

use crate::common;

use common::{json_of, TestServer};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_request_ends_in_the_engines_answer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = TestServer::with_example(dir.path()).await;
    let alice = s.user("alice", &["approvers", "support"]);
    let (_, definitions) = json_of(s.get(&alice, "/api/v1/process-definitions").await).await;
    let id = definitions
        .as_array()
        .expect("definitions")
        .iter()
        .find(|d| d["key"] == "handle-incident")
        .and_then(|d| d["id"].as_str())
        .expect("handle-incident")
        .to_string();
    let path = format!("/api/v1/process-definitions/{id}/start?wait=true");

    // Started: the new instance's first task (triage, for support: alice sees it).
    let (status, started) = json_of(
        s.post(
            &alice,
            &path,
            Some(json!({"values": {"title": "Beamer in room 4 flickers", "severity": "3"}})),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{started}");
    assert_eq!(started["request"]["state"], "performed");
    assert_eq!(started["request"]["action"], "start");
    let instance = started["request"]["instanceId"]
        .as_str()
        .expect("an instance");
    assert_eq!(started["task"]["sourceReference"]["instanceId"], instance);
    assert_eq!(started["task"]["name"], "Triage: Beamer in room 4 flickers");
    assert_eq!(started["task"]["payload"]["reporter"], "alice");

    // The engine refuses what its start form requires and is missing.
    let (status, refused) = json_of(
        s.post(&alice, &path, Some(json!({"values": {"severity": "2"}})))
            .await,
    )
    .await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["code"], "REQUEST_REJECTED");
    assert!(
        refused["detail"]
            .as_str()
            .is_some_and(|d| d.contains("what is wrong is required")),
        "{refused}"
    );

    // Without waiting: 202 and where to look.
    let resp = s
        .post(
            &alice,
            &format!("/api/v1/process-definitions/{id}/start"),
            Some(json!({"values": {"title": "Coffee machine leaks", "severity": 4}})),
        )
        .await;
    assert_eq!(resp.status(), 202);
    assert!(resp.headers().get("location").is_some());

    // Not mine to start: as if it did not exist.
    let outsider = s.user("dave", &["visitors"]);
    let (status, _) = json_of(
        s.post(&outsider, &path, Some(json!({"values": {"title": "x"}})))
            .await,
    )
    .await;
    assert_eq!(status, 404);
    // Unknown fields are refused, naming them.
    let (status, problem) = json_of(
        s.post(&alice, &path, Some(json!({"values": {}, "colour": "red"})))
            .await,
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("colour")),
        "{problem}"
    );

    // My requests list the starts, each where it stands.
    let (_, requests) = json_of(s.get(&alice, "/api/v1/requests").await).await;
    let starts: Vec<&str> = requests
        .as_array()
        .expect("requests")
        .iter()
        .filter(|r| r["action"] == "start")
        .filter_map(|r| r["state"].as_str())
        .collect();
    assert!(
        starts.contains(&"performed") && starts.contains(&"rejected"),
        "{requests}"
    );
    s.stop().await;
}
