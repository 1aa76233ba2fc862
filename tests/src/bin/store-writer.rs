//! Appends command batches to an event store in a loop, printing
//! `committed <correlation-id> <events>` after each commit. Tests kill it with SIGKILL
//! and check what survived.
//!
//! `store-writer DB RUN MODE BATCHES` where MODE is `fresh` (each batch creates five new
//! tasks and updates a hot task five times) or `contend` (each batch adds this run's
//! user to the shared tasks c1 and c2).

use std::io::Write;

use anyhow::{bail, Context};
use taskpool_core::command::{CandidateUsers, TaskCommand, UpdateTaskAttributes};
use taskpool_core::testing::fixtures;
use taskpool_core::{BatchMode, Command, CommandContext, CommandGateway, EventStore};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, db, run, mode, batches] = args.as_slice() else {
        bail!("usage: store-writer DB RUN MODE BATCHES");
    };
    let batches: u64 = batches.parse().context("BATCHES must be a number")?;
    let store = EventStore::open(db)?;
    let gateway = CommandGateway::new(&store)?;
    let ctx = CommandContext::default();
    let create =
        |id: &str| -> Command { TaskCommand::CreateTask(fixtures::task(id, "app")).into() };
    // Setup creates what is missing (a create resent for an existing task would reset
    // it to the one sent): it may race with another writer, so per command.
    let reader = store.reader()?;
    let missing: Vec<Command> = ["hot", "c1", "c2"]
        .into_iter()
        .filter(|id| {
            reader
                .aggregate_version(taskpool_core::aggregate::AggregateKind::Task, id)
                .map(|v| v == 0)
                .unwrap_or(true)
        })
        .map(create)
        .collect();
    if !missing.is_empty() {
        gateway.handle(missing, BatchMode::PerCommand, &ctx)?;
    }
    let mut out = std::io::stdout().lock();
    for b in 0..batches {
        let commands: Vec<Command> = match mode.as_str() {
            "fresh" => {
                let mut c: Vec<Command> = (0..5)
                    .map(|i| create(&format!("r{run}-b{b}-{i}")))
                    .collect();
                c.extend((0..5).map(|i| -> Command {
                    TaskCommand::UpdateTaskAttributes(UpdateTaskAttributes {
                        id: "hot".into(),
                        priority: Some(((b * 5 + i) % 1000) as i32 + 1000 * run.len() as i32),
                        ..Default::default()
                    })
                    .into()
                }));
                c
            }
            "contend" => ["c1", "c2"]
                .iter()
                .map(|id| -> Command {
                    TaskCommand::AddCandidateUsers(CandidateUsers {
                        id: (*id).into(),
                        users: [format!("{run}-{b}")].into(),
                    })
                    .into()
                })
                .collect(),
            other => bail!("unknown mode {other}"),
        };
        let outcome = gateway.handle(commands, BatchMode::Atomic, &ctx)?;
        if !outcome.all_accepted() {
            bail!("batch {b} rejected: {outcome:?}");
        }
        writeln!(
            out,
            "committed {} {}",
            outcome.correlation_id,
            outcome.events_appended()
        )?;
        out.flush()?;
    }
    Ok(())
}
