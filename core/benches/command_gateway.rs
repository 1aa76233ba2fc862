//! Command gateway throughput against the raw SQLite insert rate of the same rows.
//!
//! `cargo bench -p taskpool-core --bench command_gateway`
//!
//! For batch sizes 1, 10 and 100: 100,000 commands (create, update, assign, update,
//! complete over 20,000 tasks) through the gateway, then the very event rows it wrote
//! inserted by plain rusqlite into a fresh store in the same batch sizes.

use std::time::Instant;

use rusqlite::params;
use taskpool_core::command::{AssignTask, CompleteTask, TaskCommand, UpdateTaskAttributes};
use taskpool_core::testing::fixtures;
use taskpool_core::{BatchMode, Command, CommandContext, CommandGateway, EventStore};

// The allocator every Taskpool binary uses (see ARCHITECTURE.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TASKS: usize = 20_000;

fn commands() -> Vec<Command> {
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

type Row = (String, String, String, i64, String, i64, String, String);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let commands = commands();
    println!(
        "command gateway vs raw rusqlite insert, {} commands over {TASKS} tasks",
        commands.len()
    );
    println!(
        "{:>6} {:>14} {:>14} {:>7}",
        "batch", "gateway cmd/s", "raw rows/s", "ratio"
    );
    for batch in [1usize, 10, 100] {
        let store = EventStore::open(dir.path().join(format!("gateway-{batch}.db")))?;
        let gateway = CommandGateway::new(&store)?;
        let ctx = CommandContext {
            application: Some("bench-app".into()),
            ..Default::default()
        };
        let started = Instant::now();
        for chunk in commands.chunks(batch) {
            let outcome = gateway.handle(chunk.to_vec(), BatchMode::Atomic, &ctx)?;
            if outcome.events_appended() != chunk.len() {
                return Err(format!("batch not fully accepted: {outcome:?}").into());
            }
        }
        let gateway_rate = commands.len() as f64 / started.elapsed().as_secs_f64();

        let rows: Vec<Row> = {
            let conn = store.connect()?;
            let mut stmt = conn.prepare(
                "SELECT event_id, aggregate_kind, aggregate_id, aggregate_version, event_type,
                        event_version, payload, metadata FROM events ORDER BY position",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ))
            })?;
            rows.collect::<Result<_, _>>()?
        };
        let raw_store = EventStore::open(dir.path().join(format!("raw-{batch}.db")))?;
        let mut conn = raw_store.connect()?;
        let started = Instant::now();
        for chunk in rows.chunks(batch) {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO events (event_id, aggregate_kind, aggregate_id, aggregate_version,
                                         event_type, event_version, payload, metadata)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?;
                for r in chunk {
                    stmt.execute(params![r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7])?;
                }
            }
            tx.commit()?;
        }
        let raw_rate = rows.len() as f64 / started.elapsed().as_secs_f64();
        println!(
            "{batch:>6} {gateway_rate:>14.0} {raw_rate:>14.0} {:>7.2}",
            gateway_rate / raw_rate
        );
    }
    Ok(())
}
