//! Ways of running the server: with the example application (it acts on claims),
//! RS256 tokens from an identity provider, development mode, and the `token` subcommand.

use crate::common;

use std::time::Duration;

use common::{SseReader, TestServer};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use taskpool_server::auth::Claims;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_application_shows_live_tasks_and_its_engine_acts_on_a_claim() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = TestServer::start_with(dir.path(), |c| {
        c.example = true;
        c.example_rate = 0.0;
    })
    .await;
    // The development login hands out tokens for the example users.
    let login: Value = s
        .client
        .post(s.url("/api/v1/dev/token"))
        .json(&json!({"user": "bob"}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    assert_eq!(login["groups"], json!(["support"]));
    let bob = login["token"].as_str().expect("token").to_string();
    let mut stream = SseReader::open(&s, &bob, "/api/v1/stream/tasks?claimable=true", None).await;
    let snapshot = stream
        .next(Duration::from_secs(20))
        .await
        .expect("snapshot");
    let tasks = snapshot.data["tasks"].as_array().expect("tasks").clone();
    assert!(!tasks.is_empty(), "bob has claimable example tasks");
    let id = tasks[0]["id"].as_str().expect("id").to_string();
    // Answered once the example engine performed it: the task, assigned to bob.
    let resp = s
        .post(&bob, &format!("/api/v1/tasks/{id}/claim?wait=true"), None)
        .await;
    assert_eq!(resp.status(), 200);
    let answer: Value = resp.json().await.expect("json");
    assert_eq!(answer["request"]["state"], "performed", "{answer}");
    assert_eq!(answer["task"]["assignee"], "bob", "{answer}");
    // The example engine performs the claim: the task leaves bob's claimable list.
    loop {
        let e = stream
            .next(Duration::from_secs(20))
            .await
            .expect("a change");
        if e.event == "left" && e.data["taskId"] == id.as_str() {
            break;
        }
    }
    let task: Value = s
        .get(&bob, &format!("/api/v1/tasks/{id}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(task["assignee"], "bob");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rs256_tokens_and_development_mode() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let users = dir.path().join("users.toml");
    std::fs::write(&users, "[users.dora]\ngroups = [\"support\"]\n").expect("users");
    let s = TestServer::start_with(dir.path(), |c| {
        c.auth.rs256_public_key_file = Some(fixtures.join("rs256-test-public.pem"));
        c.auth.dev_user = Some("dora".into());
        c.auth.users_file = Some(users.clone());
    })
    .await;
    let pem = std::fs::read(fixtures.join("rs256-test-private.pem")).expect("key");
    let claims = Claims {
        sub: "erin".into(),
        groups: vec!["finance".into()],
        app: None,
        exp: 4_000_000_000,
        iat: 0,
        iss: None,
    };
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &claims,
        &EncodingKey::from_rsa_pem(&pem).expect("pem"),
    )
    .expect("sign");
    let me: Value = s
        .get(&token, "/api/v1/me")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(me, json!({"user": "erin", "groups": ["finance"]}));
    // Without a token, development mode acts as dora with the users file's groups.
    let me: Value = s
        .client
        .get(s.url("/api/v1/me"))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(me, json!({"user": "dora", "groups": ["support"]}));
    s.stop().await;
}

#[test]
fn the_token_subcommand_signs_with_the_data_directory_secret() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_taskpool-server"))
        .args([
            "token",
            "--user",
            "alice",
            "--groups",
            "approvers,support",
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).expect("utf-8");
    let auth =
        taskpool_server::auth::Authenticator::new(dir.path(), &Default::default()).expect("auth");
    assert_eq!(
        auth.verify(token.trim()).expect("valid"),
        taskpool_server::auth::Caller::User {
            user: "alice".into(),
            groups: vec!["approvers".into(), "support".into()]
        }
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_taskpool-server"))
        .args(["token", "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert!(
        !out.status.success(),
        "a token needs a user or an application"
    );
}
