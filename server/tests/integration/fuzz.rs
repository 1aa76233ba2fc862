//! Fuzzing the ways in: random mutations of valid engine transactions and command
//! batches (values of the wrong type, missing and extra fields, huge and deep values,
//! unknown types, garbage bytes) through the real server, parser and gateway. No input
//! makes it fail: every answer is a 2xx or a 4xx problem naming what is wrong, and the
//! node keeps answering.

use proptest::prelude::*;
use serde_json::{json, Value};

use crate::common::{task_json, TestServer};

static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
static SERVER: std::sync::OnceLock<TestServer> = std::sync::OnceLock::new();

fn server() -> (&'static tokio::runtime::Runtime, &'static TestServer) {
    let rt = RUNTIME.get_or_init(|| tokio::runtime::Runtime::new().expect("runtime"));
    let s = SERVER.get_or_init(|| {
        let dir = Box::leak(Box::new(tempfile::tempdir().expect("tempdir")));
        std::thread::scope(|scope| {
            scope
                .spawn(|| rt.block_on(TestServer::start(dir.path())))
                .join()
                .expect("start")
        })
    });
    (rt, s)
}

/// Any JSON value, nested a little.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,20}".prop_map(Value::from),
        prop::sample::select(vec![
            "",
            "taskCreated",
            "createTask",
            "2026-01-01T00:00:00Z",
            "x".repeat(300).leak() as &str
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map("[a-zA-Z]{1,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Replaces the value at a random path of `doc` (or adds a field there).
fn mutate(doc: &mut Value, path: &[usize], replacement: Value, add: Option<String>) {
    let mut node = doc;
    for (depth, pick) in path.iter().enumerate() {
        let next = match node {
            Value::Object(map) if !map.is_empty() => {
                let key = map
                    .keys()
                    .nth(pick % map.len())
                    .cloned()
                    .unwrap_or_default();
                map.get_mut(&key)
            }
            Value::Array(items) if !items.is_empty() => {
                let i = pick % items.len();
                items.get_mut(i)
            }
            _ => None,
        };
        match next {
            Some(n) if depth + 1 < path.len() && (n.is_object() || n.is_array()) => node = n,
            Some(n) => {
                match (&add, &mut *n) {
                    (Some(key), Value::Object(map)) => {
                        map.insert(key.clone(), replacement);
                    }
                    _ => *n = replacement,
                }
                return;
            }
            None => return,
        }
    }
}

fn engine_template() -> Value {
    json!({"events": [
        {"type": "taskCreated", "task": task_json("shop", "f1", &["support"], &["bob"], Some("alice"))},
        {"type": "taskAssigned", "taskId": "f1", "assignee": "bob"},
        {"type": "taskAttributesUpdated", "update": {"id": "f1", "priority": 3, "payload": {"a": [1, {"b": "c"}]}}},
        {"type": "requestRejected", "taskId": "f1", "requestId": "6f1c1f1e-0000-4000-8000-000000000000", "reason": "no"},
        {"type": "taskCompleted", "taskId": "f1"}
    ], "dataEntries": [], "variables": {"pi-f1": {"x": 1}}})
}

fn commands_template() -> Value {
    json!({"mode": "perCommand", "commands": [
        {"type": "createTask", "id": "c1", "sourceReference": task_json("shop", "c1", &[], &[], None)["sourceReference"].clone(), "taskDefinitionKey": "k", "name": "n", "createTime": "2026-01-01T00:00:00Z", "payload": {"p": 1}},
        {"type": "addCandidateGroups", "id": "c1", "groups": ["support"]},
        {"type": "createOrUpdateDataEntry", "entryType": "order", "entryId": "o1", "name": "Order", "type": "Order", "applicationName": "shop",
         "state": {"processingType": "IN_PROGRESS", "state": "new"}, "modification": {"time": "2026-01-01T00:00:00Z"}, "authorizationChanges": []},
        {"type": "changeProcessVariables", "instanceId": "pi-c1", "changes": []}
    ]})
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn no_input_fails_the_server(
        engine in any::<bool>(),
        mutations in prop::collection::vec(
            (prop::collection::vec(any::<usize>(), 1..6), any_json(), prop::option::weighted(0.3, "[a-zA-Z]{1,10}")),
            0..4,
        ),
        garbage in prop::option::weighted(0.1, prop::collection::vec(any::<u8>(), 0..200)),
    ) {
        let (rt, s) = server();
        let (path, mut doc) = if engine {
            ("/api/v1/engine-events", engine_template())
        } else {
            ("/api/v1/commands", commands_template())
        };
        for (at, value, add) in mutations {
            mutate(&mut doc, &at, value, add);
        }
        let body = match garbage {
            Some(bytes) => bytes,
            None => serde_json::to_vec(&doc).expect("json"),
        };
        let (status, problem) = rt.block_on(async {
            let resp = s
                .client
                .post(s.url(path))
                .bearer_auth(s.app("shop"))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .expect("the server answers");
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        });
        prop_assert!(status < 500, "{} {}: {}", path, status, problem);
        if status >= 400 {
            prop_assert!(
                problem["detail"].as_str().is_some_and(|d| !d.is_empty()),
                "a problem that says what is wrong: {}",
                problem
            );
        }
    }
}
