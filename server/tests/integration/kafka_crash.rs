//! The Kafka scenario under write load, its nodes SIGKILLed: a process-application node
//! (its event store, its publisher) and a tasklist node (its consumer, its view), each a
//! server process of its own, killed and restarted on their data twice each while an
//! engine keeps posting. Every transaction the application node accepted is in its
//! store once, and the tasklist node's view ends with exactly those tasks.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common;
use crate::crash::{stored_task_ids, Writer};
use taskpool_kafka::test_broker::TestBroker;
use taskpool_server::auth::{application_token, load_or_create_secret, user_token};

fn start(dir: &Path, role: &str, broker: &TestBroker) -> (Child, String) {
    common::spawn_server(
        dir,
        &[
            "--role",
            role,
            "--application",
            "shop",
            "--kafka-brokers",
            &broker.brokers(),
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_sigkilled_under_load_lose_nothing_and_double_nothing() {
    let broker = TestBroker::start();
    let app_dir = tempfile::tempdir().expect("tempdir");
    let list_dir = tempfile::tempdir().expect("tempdir");
    let accepted: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let (mut app, mut app_base) = start(app_dir.path(), "process-application", &broker);
    let (mut list, mut list_base) = start(list_dir.path(), "tasklist", &broker);
    let secret = load_or_create_secret(app_dir.path(), None).expect("secret");
    let app_token = application_token(&secret, "shop", 3600).expect("token");
    for round in 0..4 {
        let writers: Vec<_> = (0..3)
            .map(|w| {
                let writer = Writer {
                    client: client.clone(),
                    base: app_base.clone(),
                    token: app_token.clone(),
                    accepted: accepted.clone(),
                };
                writer.spawn(format!("k{round}-w{w}"), 400)
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(700 + 200 * round)).await;
        // Even rounds kill the application node (its writers lose their node too), odd
        // rounds the tasklist node while the writers go on.
        if round % 2 == 0 {
            app.kill().expect("SIGKILL");
            app.wait().expect("reaped");
            for w in writers {
                w.await.expect("writer");
            }
            (app, app_base) = start(app_dir.path(), "process-application", &broker);
        } else {
            list.kill().expect("SIGKILL");
            list.wait().expect("reaped");
            for w in writers {
                w.await.expect("writer");
            }
            (list, list_base) = start(list_dir.path(), "tasklist", &broker);
        }
        eprintln!(
            "round {round}: {} accepted so far",
            accepted.lock().expect("lock").len()
        );
    }
    let stored = stored_task_ids(app_dir.path());
    let stored_set: BTreeSet<String> = stored.iter().cloned().collect();
    assert_eq!(stored.len(), stored_set.len(), "no task created twice");
    let accepted = accepted.lock().expect("lock").clone();
    assert!(accepted.len() > 100, "the load ran: {}", accepted.len());
    let missing: Vec<_> = accepted.difference(&stored_set).collect();
    assert!(missing.is_empty(), "accepted but lost: {missing:?}");
    // The tasklist node's view ends with exactly the application's tasks.
    let list_secret = load_or_create_secret(list_dir.path(), None).expect("secret");
    let user = user_token(&list_secret, "carol", &["support".into()], 3600).expect("token");
    let outcome = crate::crash::converged(
        &client,
        &list_base,
        &user,
        (stored.len(), &accepted),
        Duration::from_secs(120),
        &[&app_base, &list_base],
    )
    .await;
    if let Err(why) = outcome {
        for mut child in [app, list] {
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("on the tasklist node: {why}");
    }
    for mut child in [app, list] {
        child.kill().expect("kill");
        child.wait().expect("reaped");
    }
}
