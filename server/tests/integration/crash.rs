//! The server killed with SIGKILL under write load, three times, then restarted: every
//! command it answered as accepted is in the event store, and the view converges to the
//! store (the same tasks, none twice).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common;
use serde_json::{json, Value};
use taskpool_core::event::{ProcessInstanceEvent, TaskEvent};
use taskpool_core::{DomainEvent, EventStore};
use taskpool_server::auth::{application_token, load_or_create_secret, user_token};

fn start(dir: &Path) -> (Child, String) {
    common::spawn_server(dir, &[])
}

fn task(id: &str) -> Value {
    json!({
        "id": id,
        "sourceReference": {"kind": "process", "instanceId": id, "executionId": id, "definitionId": "d:1",
            "definitionKey": "d", "name": "D", "applicationName": "shop"},
        "taskDefinitionKey": "k", "name": id, "candidateGroups": ["support"], "createTime": "2026-01-01T00:00:00Z"
    })
}

/// Every event in the node's store at `dir`, in position order.
fn stored_events(dir: &Path) -> Vec<DomainEvent> {
    let store = EventStore::open(dir.join("events.db")).expect("store");
    let mut reader = store.reader().expect("reader");
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let events = reader.read_after(after, 5000).expect("read");
        let Some(last) = events.last().map(|e| e.position) else {
            return all;
        };
        after = last;
        all.extend(events.into_iter().map(|e| e.event));
    }
}

pub(crate) fn stored_task_ids(dir: &Path) -> Vec<String> {
    stored_events(dir)
        .into_iter()
        .filter_map(|e| match e {
            DomainEvent::Task(TaskEvent::TaskCreated(t)) => Some(t.id),
            _ => None,
        })
        .collect()
}

/// An engine posting one `taskCreated` per request to a node, noting what was accepted.
pub(crate) struct Writer {
    pub client: reqwest::Client,
    pub base: String,
    pub token: String,
    pub accepted: Arc<Mutex<BTreeSet<String>>>,
}

impl Writer {
    /// Posts tasks `{prefix}-0`, `{prefix}-1`, … (at most `limit`) until the node is
    /// gone; every one answered 200 is noted as accepted. Any other answer fails.
    pub fn spawn(self, prefix: String, limit: usize) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            for i in 0..limit {
                let id = format!("{prefix}-{i}");
                let resp = self
                    .client
                    .post(format!("{}/api/v1/engine-events", self.base))
                    .bearer_auth(&self.token)
                    .json(&json!({"events": [{"type": "taskCreated", "task": task(&id)}]}))
                    .send()
                    .await;
                match resp {
                    Ok(r) if r.status() == 200 => {
                        self.accepted.lock().expect("lock").insert(id);
                    }
                    Ok(r) => panic!("refused: {}", r.status()),
                    Err(_) => break, // the node is gone
                }
            }
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_commands_survive_sigkill_and_the_view_converges() {
    let dir = tempfile::tempdir().expect("tempdir");
    let accepted: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    for round in 0..3 {
        let (mut child, base) = start(dir.path());
        let secret = load_or_create_secret(dir.path(), None).expect("secret");
        let app = application_token(&secret, "shop", 3600).expect("token");
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let writer = Writer {
                    client: client.clone(),
                    base: base.clone(),
                    token: app.clone(),
                    accepted: accepted.clone(),
                };
                writer.spawn(format!("r{round}-w{w}"), usize::MAX)
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(800 + 300 * round)).await;
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        for w in writers {
            w.await.expect("writer");
        }
    }
    // Restart: every accepted command is stored; the view converges to the store.
    let (mut child, base) = start(dir.path());
    let stored = stored_task_ids(dir.path());
    let stored_set: BTreeSet<String> = stored.iter().cloned().collect();
    assert_eq!(stored.len(), stored_set.len(), "no task created twice");
    let accepted = accepted.lock().expect("lock").clone();
    assert!(
        accepted.len() > 50,
        "the load ran: {} accepted",
        accepted.len()
    );
    let missing: Vec<_> = accepted.difference(&stored_set).collect();
    assert!(missing.is_empty(), "accepted but lost: {missing:?}");
    let secret = load_or_create_secret(dir.path(), None).expect("secret");
    let user = user_token(&secret, "carol", &["support".into()], 3600).expect("token");
    if let Err(why) = converged(
        &client,
        &base,
        &user,
        (stored.len(), &accepted),
        Duration::from_secs(60),
        &[],
    )
    .await
    {
        panic!("{why}");
    }
    let ready = client
        .get(format!("{base}/ready"))
        .send()
        .await
        .expect("ready");
    assert_eq!(ready.status(), 200);
    child.kill().expect("kill");
    child.wait().expect("reaped");
}

/// Waits (at most `limit`) until the node at `base` lists `total` tasks to `user`, then
/// reads every fiftieth of `accepted` there; otherwise says why, with the health of the
/// nodes at `bases`.
pub(crate) async fn converged(
    client: &reqwest::Client,
    base: &str,
    user: &str,
    (total, accepted): (usize, &BTreeSet<String>),
    limit: Duration,
    bases: &[&str],
) -> Result<(), String> {
    let deadline = Instant::now() + limit;
    loop {
        let page: Value = client
            .get(format!("{base}/api/v1/tasks?limit=1"))
            .bearer_auth(user)
            .send()
            .await
            .expect("query")
            .json()
            .await
            .expect("json");
        if page["total"].as_u64() == Some(total as u64) {
            break;
        }
        if Instant::now() > deadline {
            let mut health = Vec::new();
            for b in bases {
                health.push(match client.get(format!("{b}/health")).send().await {
                    Ok(r) => r.text().await.unwrap_or_default(),
                    Err(e) => e.to_string(),
                });
            }
            return Err(format!(
                "the view at {base} did not converge: {} of {total}; health: {health:?}",
                page["total"]
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for id in accepted.iter().step_by((accepted.len() / 50).max(1)) {
        let resp = client
            .get(format!("{base}/api/v1/tasks/{id}"))
            .bearer_auth(user)
            .send()
            .await
            .expect("get");
        if resp.status() != 200 {
            return Err(format!("{id} at {base}: {}", resp.status()));
        }
    }
    Ok(())
}

/// Kills its server when dropped (a failing test leaves no process behind).
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// (The engine's instance and task ids; the pool's instance and task ids as created.)
type Holdings = (
    (BTreeSet<String>, BTreeSet<String>),
    (Vec<String>, Vec<String>),
);

/// What the example application's engine holds (its own tables) and what the pool got
/// from it (the events it sent): process instances and tasks by id.
fn engine_and_pool(dir: &Path) -> Holdings {
    let engine = rusqlite::Connection::open(dir.join("example-app.db")).expect("engine db");
    let ids = |sql: &str| -> BTreeSet<String> {
        let mut stmt = engine.prepare(sql).expect("engine query");
        let rows = stmt.query_map([], |r| r.get::<_, String>(0)).expect("rows");
        rows.collect::<Result<_, _>>().expect("ids")
    };
    let engine_ids = (
        ids("SELECT id FROM engine_instances"),
        ids("SELECT id FROM engine_tasks"),
    );
    let (mut instances, mut tasks) = (Vec::new(), Vec::new());
    for e in stored_events(dir) {
        match e {
            DomainEvent::ProcessInstance(ProcessInstanceEvent::ProcessInstanceStarted(s)) => {
                instances.push(s.instance_id)
            }
            DomainEvent::Task(TaskEvent::TaskCreated(t)) => tasks.push(t.id),
            _ => {}
        }
    }
    (engine_ids, (instances, tasks))
}

/// The server with its example application (100 new instances a second) SIGKILLed
/// thirty times at random moments, then started again: every process instance and task the
/// engine holds reached the pool once, and the pool holds none the engine does not know
/// (a step the engine redid after a crash would leave the first attempt's ids behind).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_application_killed_thirty_times_never_does_a_step_twice() {
    use rand::{Rng, SeedableRng};
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rng = rand::rngs::StdRng::seed_from_u64(19);
    for _ in 0..30 {
        let (child, _) = common::spawn_server(dir.path(), &["--example", "--example-rate", "100"]);
        let child = Killed(child);
        tokio::time::sleep(Duration::from_millis(rng.gen_range(150..700))).await;
        drop(child);
    }
    // Started again without new instances: what a crash left unsent goes out first.
    let (child, _) = common::spawn_server(dir.path(), &["--example", "--example-rate", "0"]);
    let child = Killed(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    let ((engine_instances, engine_tasks), (instances, tasks)) = loop {
        let seen = engine_and_pool(dir.path());
        let ((ei, et), (pi, pt)) = &seen;
        let sent = pi.iter().cloned().collect::<BTreeSet<_>>() == *ei
            && pt.iter().cloned().collect::<BTreeSet<_>>() == *et;
        if sent || Instant::now() > deadline {
            break seen;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    drop(child);
    assert!(
        engine_instances.len() > 40,
        "the engine ran: {} instances",
        engine_instances.len()
    );
    let pool_instances: BTreeSet<String> = instances.iter().cloned().collect();
    let pool_tasks: BTreeSet<String> = tasks.iter().cloned().collect();
    assert_eq!(
        instances.len(),
        pool_instances.len(),
        "no instance started twice"
    );
    assert_eq!(tasks.len(), pool_tasks.len(), "no task created twice");
    let orphans: Vec<_> = pool_instances.difference(&engine_instances).collect();
    assert!(
        orphans.is_empty(),
        "instances the engine does not know: {orphans:?}"
    );
    let orphans: Vec<_> = pool_tasks.difference(&engine_tasks).collect();
    assert!(
        orphans.is_empty(),
        "tasks the engine does not know: {orphans:?}"
    );
    let lost: Vec<_> = engine_instances.difference(&pool_instances).collect();
    assert!(lost.is_empty(), "instances the pool never got: {lost:?}");
    let lost: Vec<_> = engine_tasks.difference(&pool_tasks).collect();
    assert!(lost.is_empty(), "tasks the pool never got: {lost:?}");
}
