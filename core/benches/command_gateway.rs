//! Command gateway throughput against the raw SQLite insert rate of the same rows.
//!
//! `cargo bench -p taskpool-core --bench command_gateway`
//!
//! For batch sizes 1, 10 and 100: 100,000 commands (create, update, assign, update,
//! complete over 20,000 tasks) through the gateway, then the events it wrote inserted as
//! lean rows (integer position, aggregate, sequence, type, payload; unique aggregate and
//! sequence) by plain rusqlite in the same batch sizes. Then the Rust peer, cqrs-es +
//! sqlite-es (`benchmarks/cqrs-es-peer`, built here by cargo), on the same workload.
//! "store rows/s" inserts the gateway's own rows into a fresh event store: the floor of
//! the event schema, apart from the gateway's work.
//! `PEER=0` leaves the peer out; `BATCHES=1,100` chooses the batch sizes;
//! `ONLY_GATEWAY=1` runs the gateway alone (for a profiler); `RESTRICT=0` sends as no
//! particular application.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use rusqlite::params;
use taskpool_core::command::{AssignTask, CompleteTask, TaskCommand, UpdateTaskAttributes};
use taskpool_core::testing::fixtures;
use taskpool_core::{BatchMode, CommandContext, CommandGateway, EventStore};

// The allocator every Taskpool binary uses (see ARCHITECTURE.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TASKS: usize = 20_000;

fn commands() -> Vec<taskpool_core::Command> {
    let mut all = Vec::with_capacity(TASKS * 5);
    let id = |i: usize| format!("task-{i:06}");
    for i in 0..TASKS {
        let mut task = fixtures::task(&id(i), "bench-app");
        task.payload
            .insert("amount".into(), serde_json::json!(i * 10));
        task.payload.insert(
            "customer".into(),
            serde_json::json!(format!("Customer {}", i % 97)),
        );
        task.candidate_groups.insert(format!("group-{}", i % 50));
        all.push(TaskCommand::CreateTask(task).into());
    }
    for round in 0..2 {
        for i in 0..TASKS {
            all.push(
                TaskCommand::UpdateTaskAttributes(UpdateTaskAttributes {
                    id: id(i),
                    priority: Some(60 + round),
                    ..Default::default()
                })
                .into(),
            );
        }
        if round == 0 {
            for i in 0..TASKS {
                all.push(
                    TaskCommand::AssignTask(AssignTask {
                        id: id(i),
                        assignee: Some(format!("user-{}", i % 1000)),
                    })
                    .into(),
                );
            }
        }
    }
    for i in 0..TASKS {
        all.push(
            TaskCommand::CompleteTask(CompleteTask {
                id: id(i),
                assignee: None,
            })
            .into(),
        );
    }
    all
}

/// The lean event row of the raw baseline: position, aggregate, sequence, type, payload.
const LEAN_SCHEMA: &str = "CREATE TABLE events (
    position INTEGER PRIMARY KEY,
    aggregate TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    UNIQUE (aggregate, sequence)
)";

const LEAN_INSERT: &str =
    "INSERT INTO events (aggregate, sequence, event_type, payload) VALUES (?1, ?2, ?3, ?4)";

const STORE_COLUMNS: &str = "event_id, aggregate_kind, aggregate_id, aggregate_version,
    event_type, event_version, payload, time, correlation_id, causation_id, user_name,
    application";

type StoreRow = Vec<rusqlite::types::Value>;

/// Rows per second inserting `rows` with `sql` in transactions of `batch` rows.
fn insert_rate(
    conn: &mut rusqlite::Connection,
    rows: &[StoreRow],
    batch: usize,
    sql: &str,
    insert: impl Fn(&mut rusqlite::CachedStatement<'_>, &StoreRow) -> rusqlite::Result<usize>,
) -> rusqlite::Result<f64> {
    let started = Instant::now();
    for chunk in rows.chunks(batch) {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        {
            let mut stmt = tx.prepare_cached(sql)?;
            for r in chunk {
                insert(&mut stmt, r)?;
            }
        }
        tx.commit()?;
    }
    Ok(rows.len() as f64 / started.elapsed().as_secs_f64())
}

/// Runs the peer (cqrs-es + sqlite-es, its own workspace) on the same workload; its
/// commands per second, or why it did not run.
fn peer(dir: &Path) -> Result<f64, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let manifest = root.join("benchmarks/cqrs-es-peer/Cargo.toml");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("cqrs-es-peer");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["run", "--quiet", "--release", "--manifest-path"])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target)
        .arg("--")
        .arg(dir)
        .arg(TASKS.to_string())
        .output()
        .map_err(|e| format!("cargo: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("peer commands/s: "))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| {
            format!(
                "no figure ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            )
        })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let commands = commands();
    println!(
        "command gateway vs a raw rusqlite insert of lean event rows, {} commands over {TASKS} tasks",
        commands.len()
    );
    println!(
        "{:>6} {:>14} {:>14} {:>14} {:>7}",
        "batch", "gateway cmd/s", "store rows/s", "lean rows/s", "ratio"
    );
    let mut batch_one = 0.0;
    let batches: Vec<usize> = match std::env::var("BATCHES") {
        Ok(list) => list
            .split(',')
            .map(|b| b.trim().parse())
            .collect::<Result<_, _>>()?,
        Err(_) => vec![1, 10, 100],
    };
    for batch in batches {
        let store = EventStore::open(dir.path().join(format!("gateway-{batch}.db")))?;
        let gateway = CommandGateway::new(&store)?;
        let ctx = CommandContext {
            application: Some("bench-app".into()),
            // As a process application's commands arrive: only its own aggregates.
            restrict_to_application: std::env::var("RESTRICT").as_deref() != Ok("0"),
            ..Default::default()
        };
        // Units of work arrive owned (parsed from a request or a message).
        let units: Vec<Vec<taskpool_core::Command>> =
            commands.chunks(batch).map(|c| c.to_vec()).collect();
        let started = Instant::now();
        for unit in units {
            let len = unit.len();
            let outcome = gateway.handle(unit, BatchMode::Atomic, &ctx)?;
            if outcome.events_appended() != len {
                return Err(format!("batch not fully accepted: {outcome:?}").into());
            }
        }
        let gateway_rate = commands.len() as f64 / started.elapsed().as_secs_f64();
        if batch == 1 {
            batch_one = gateway_rate;
        }

        if std::env::var("ONLY_GATEWAY").as_deref() == Ok("1") {
            println!("{batch:>6} {gateway_rate:>14.0}");
            continue;
        }
        // The events the gateway stored, inserted again as they are (the floor of this
        // schema) and as lean rows.
        let rows: Vec<StoreRow> = {
            let conn = store.connect()?;
            let mut stmt = conn.prepare(&format!(
                "SELECT {STORE_COLUMNS} FROM events ORDER BY position"
            ))?;
            let rows = stmt.query_map([], |r| (0..12).map(|i| r.get(i)).collect())?;
            rows.collect::<Result<_, _>>()?
        };
        let mut conn = EventStore::open(dir.path().join(format!("store-{batch}.db")))?.connect()?;
        let store_insert = format!(
            "INSERT INTO events ({STORE_COLUMNS}) VALUES ({})",
            ["?"; 12].join(", ")
        );
        let store_rate = insert_rate(&mut conn, &rows, batch, &store_insert, |stmt, r| {
            stmt.execute(rusqlite::params_from_iter(r))
        })?;
        let mut conn = taskpool_core::sqlite::open_wal(
            &dir.path().join(format!("lean-{batch}.db")),
            "NORMAL",
        )?;
        conn.execute_batch(LEAN_SCHEMA)?;
        let lean_rate = insert_rate(&mut conn, &rows, batch, LEAN_INSERT, |stmt, r| {
            stmt.execute(params![r[2], r[3], r[4], r[6]])
        })?;
        println!(
            "{batch:>6} {gateway_rate:>14.0} {store_rate:>14.0} {lean_rate:>14.0} {:>7.2}",
            gateway_rate / lean_rate
        );
    }
    if std::env::var("PEER").as_deref() == Ok("0") {
        println!("peer: not run (PEER=0)");
        return Ok(());
    }
    let peer_dir = tempfile::tempdir()?;
    match peer(peer_dir.path()) {
        Ok(rate) => println!(
            "peer (cqrs-es 0.5 + sqlite-es 0.5, one command per unit of work): {rate:.0} cmd/s; gateway batch 1 / peer: {:.1}",
            batch_one / rate
        ),
        Err(why) => println!("peer: not run: {why}"),
    }
    Ok(())
}
