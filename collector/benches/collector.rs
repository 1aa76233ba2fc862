//! Engine events per second through collector + projecting accumulator + tx sender
//! into the core (SQLite event store), at 1 and 100 engine events per transaction.
//!
//! `cargo bench -p taskpool-collector --bench collector`

use std::sync::Arc;
use std::time::Instant;

use taskpool_collector::engine_transaction::NoVariables;
use taskpool_collector::properties::SenderProperties;
use taskpool_collector::sender::GatewaySender;
use taskpool_collector::{Collector, EngineEvent};
use taskpool_core::command::UpdateTaskAttributes;
use taskpool_core::testing::fixtures;
use taskpool_core::{CommandGateway, EventStore};

// The allocator every Taskpool binary uses (see ARCHITECTURE.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TASKS: usize = 20_000;

/// Each task's life as an engine reports it, task after task.
fn engine_events() -> Vec<EngineEvent> {
    let mut all = Vec::with_capacity(TASKS * 5);
    for i in 0..TASKS {
        let id = format!("task-{i:06}");
        let mut task = fixtures::task(&id, "bench-app");
        task.payload.insert("amount".into(), serde_json::json!(i));
        all.push(EngineEvent::TaskCreated {
            task: Box::new(task),
        });
        all.push(EngineEvent::CandidateGroupsAdded {
            task_id: id.clone(),
            groups: [format!("group-{}", i % 50)].into(),
        });
        all.push(EngineEvent::TaskAssigned {
            task_id: id.clone(),
            assignee: Some(format!("user-{}", i % 1000)),
        });
        all.push(EngineEvent::TaskAttributesUpdated {
            update: UpdateTaskAttributes {
                id: id.clone(),
                priority: Some(70),
                ..Default::default()
            },
        });
        all.push(EngineEvent::TaskCompleted { task_id: id });
    }
    all
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let events = engine_events();
    println!(
        "collector + projecting accumulator + tx sender into the core: {} engine events",
        events.len()
    );
    println!(
        "{:>6} {:>16} {:>14} {:>14}",
        "batch", "engine events/s", "commands sent", "events stored"
    );
    for batch in [1usize, 100] {
        let dir = tempfile::tempdir()?;
        let store = EventStore::open(dir.path().join("events.db"))?;
        let gateway = Arc::new(CommandGateway::new(&store)?);
        let props = SenderProperties::default();
        let sender = Arc::new(GatewaySender::new(gateway, "bench-app", props.clone()));
        let collector = Collector::new(props, Default::default(), sender, Arc::new(NoVariables));
        let mut app_db = rusqlite::Connection::open(dir.path().join("app.db"))?;
        app_db.pragma_update(None, "journal_mode", "WAL")?;
        app_db.pragma_update(None, "synchronous", "NORMAL")?;
        let started = Instant::now();
        let mut commands = 0;
        for chunk in events.chunks(batch) {
            let mut tx = collector.begin(&mut app_db)?;
            for e in chunk {
                tx.record(e.clone())?;
            }
            commands += tx.commit()?.commands.len();
        }
        let rate = events.len() as f64 / started.elapsed().as_secs_f64();
        let stored = store.reader()?.head_position()?;
        println!("{batch:>6} {rate:>16.0} {commands:>14} {stored:>14}");
    }
    Ok(())
}
