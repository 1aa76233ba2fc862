//! A process application with the `txjob` sender, for crash tests.
//!
//! `txjob-app DIR enqueue TASK` creates TASK in an engine transaction (the commands
//! become a job row), prints `job committed`, and waits to be killed, sending nothing.
//! `txjob-app DIR send-then-wait` sends the oldest job to the gateway but does not
//! finish it, prints `sent`, and waits to be killed.
//! `txjob-app DIR work` runs the job worker until no job is left, prints `done`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use taskpool_collector::engine_transaction::NoVariables;
use taskpool_collector::properties::{SenderProperties, SenderType};
use taskpool_collector::sender::{GatewaySender, JobQueue, JobWorker};
use taskpool_collector::{Collector, EngineEvent};
use taskpool_core::command::{CreateOrUpdateDataEntry, DataEntryCommand};
use taskpool_core::model::{DataEntryState, Modification, ProcessingType};
use taskpool_core::testing::fixtures;
use taskpool_core::{Command, CommandGateway, EventStore};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::path::PathBuf::from(args.get(1).context("DIR")?);
    let mode = args.get(2).context("MODE")?.as_str();
    let store = EventStore::open(dir.join("events.db"))?;
    let gateway = Arc::new(CommandGateway::new(&store)?);
    let props = SenderProperties {
        sender_type: SenderType::Txjob,
        ..Default::default()
    };
    let sender = Arc::new(GatewaySender::new(gateway, "crash-app", props.clone()));
    let open_app = || rusqlite::Connection::open(dir.join("app.db"));
    match mode {
        "enqueue" => {
            let task = args.get(3).context("TASK")?;
            let collector =
                Collector::new(props, Default::default(), sender, Arc::new(NoVariables));
            let mut db = open_app()?;
            let mut tx = collector.begin(&mut db)?;
            tx.record(EngineEvent::TaskCreated {
                task: Box::new(fixtures::task(task, "crash-app")),
            })?;
            tx.record(EngineEvent::TaskAssigned {
                task_id: task.clone(),
                assignee: Some("bob".into()),
            })?;
            // A command whose repeat would show: an update with a log message adds a
            // protocol entry every time it is applied (a resent create would not).
            tx.send_data_entry(DataEntryCommand::CreateOrUpdateDataEntry(
                CreateOrUpdateDataEntry {
                    entry_type: "order".into(),
                    entry_id: task.clone(),
                    name: "Order".into(),
                    description: None,
                    type_name: "Order".into(),
                    application_name: "crash-app".into(),
                    form_key: None,
                    state: DataEntryState::new(ProcessingType::InProgress, "placed"),
                    payload: Default::default(),
                    correlations: Default::default(),
                    modification: Modification {
                        time: chrono::Utc::now(),
                        username: Some("bob".into()),
                        log_message: Some("placed".into()),
                        log_notes: None,
                    },
                    authorization_changes: vec![],
                },
            ))?;
            tx.commit()?;
            println!("job committed");
        }
        "send-then-wait" => {
            let db = open_app()?;
            let (id, commands): (String, String) = db.query_row(
                "SELECT id, commands FROM taskpool_jobs ORDER BY seq LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let commands: Vec<Command> = serde_json::from_str(&commands)?;
            sender.dispatch(commands, Some(id))?;
            println!("sent");
        }
        "work" => {
            let mut worker = JobWorker::new(open_app()?, sender, Duration::from_secs(1))?;
            while JobQueue::pending(&open_app()?)? > 0 {
                worker.run_due()?;
                std::thread::sleep(Duration::from_millis(20));
            }
            println!("done");
            return Ok(());
        }
        other => bail!("unknown mode {other}"),
    }
    use std::io::Write;
    std::io::stdout().flush()?;
    loop {
        std::thread::sleep(Duration::from_secs(60));
    }
}
