//! Fuzzes the filter parser and compiler with random and near-valid input for a while
//! (`TASKPOOL_FUZZ_SECONDS`, default 60): no panic, and every input either parses and
//! compiles to SQL that SQLite accepts, or is refused with a message.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use taskpool_core::query::{self, Filter, TaskQuery, Viewer};
use taskpool_core::view::View;

fn near_valid() -> impl Strategy<Value = String> {
    let field = prop::sample::select(vec![
        "task.priority",
        "task.due",
        "task.name",
        "task.assignee",
        "data.state",
        "amount",
        "customer.name",
        "task.nope",
        "x",
        "'",
        "a.b.c",
        "task.",
    ]);
    let op = prop::sample::select(vec![
        "=", "!=", "<", "<=", ">", ">=", "~", "in", "between", "==", "!", "<>",
    ]);
    let value = prop::sample::select(vec![
        "1",
        "-2.5",
        "2026-01-01",
        "\"x y\"",
        "\"a\\\"b\"",
        "(1, 2)",
        "(",
        ")",
        "1 and 2",
        "'; DROP TABLE tasks; --",
        "%",
        "_",
        "\"",
        "NaN",
        "1e999",
        "\\",
    ]);
    let clause = (field, op, value).prop_map(|(f, o, v)| format!("{f} {o} {v}"));
    prop::collection::vec(clause, 1..5).prop_map(|c| c.join(" and "))
}

#[test]
fn the_filter_parser_survives_fuzzing() {
    let seconds: u64 = std::env::var("TASKPOOL_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let dir = tempfile::tempdir().expect("dir");
    let view = View::open(dir.path().join("view.db")).expect("view");
    let conn = view.connect().expect("conn");
    let mut runner = TestRunner::default();
    let random = any::<String>();
    let structured = near_valid();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let (mut inputs, mut parsed, mut compiled) = (0u64, 0u64, 0u64);
    while Instant::now() < deadline {
        for _ in 0..200 {
            let input = if inputs % 2 == 0 {
                random.new_tree(&mut runner).expect("tree").current()
            } else {
                structured.new_tree(&mut runner).expect("tree").current()
            };
            inputs += 1;
            match Filter::parse(&input) {
                Err(e) => assert!(!e.message.is_empty()),
                Ok(filter) => {
                    parsed += 1;
                    let mut q = TaskQuery::for_viewer(Viewer::user("alice", &["g"]));
                    q.filter = filter;
                    q.text = Some(input.clone());
                    match query::tasks(&conn, &q) {
                        Ok(page) => {
                            compiled += 1;
                            assert!(page.tasks.is_empty());
                        }
                        Err(query::QueryError::Sqlite(e)) => {
                            panic!("`{input}` produced SQL that SQLite refused: {e}")
                        }
                        Err(e) => assert!(!e.to_string().is_empty()),
                    }
                }
            }
        }
    }
    println!("fuzzed {inputs} filters for {seconds} s: {parsed} parsed, {compiled} ran");
    assert!(inputs > 1000);
    assert!(compiled > 0, "some near-valid filters ran");
    // The tables are intact.
    let n: i64 = conn
        .query_row("SELECT COUNT(*) FROM tasks", [], |r| r.get(0))
        .expect("tasks table");
    assert_eq!(n, 0);
}
