//! The example application inside a task pool node (the server's `--example`, the
//! desktop's embedded mode), so a new user sees tasks at once and every claim,
//! completion and deferral is acted on by a real (small) engine: it reads the
//! interaction requests addressed to it from the event store and answers them in its
//! own transactions. New process instances start now and then.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::{directory, EngineVariables, ExampleApplication};
use taskpool_collector::properties::SenderProperties;
use taskpool_collector::sender::GatewaySender;
use taskpool_collector::Collector;
use taskpool_core::query::StaticUserDirectory;

use taskpool_node::node::TaskpoolNode;
use taskpool_node::resync::ResyncPage;

/// The example users and their groups (alice, bob, carol).
pub fn users() -> StaticUserDirectory {
    StaticUserDirectory::from_pairs(directory::USERS.iter().copied())
}

/// Starts the example application on `node`; new instances at `rate` per second
/// (0: only the starting set). Stops with the node.
pub fn start(
    node: Arc<TaskpoolNode>,
    application: &str,
    rate: f64,
) -> anyhow::Result<JoinHandle<()>> {
    let props = SenderProperties::default();
    let sender = Arc::new(
        GatewaySender::new(node.gateway().clone(), application, props.clone())
            .with_outcome_log(node.outcome_log().clone()),
    );
    let enricher = crate::enricher();
    let collector = Arc::new(Collector::new(
        props,
        enricher,
        sender,
        Arc::new(EngineVariables),
    ));
    let conn = taskpool_core::sqlite::open_wal(
        &node.data_dir().join(format!("{application}-app.db")),
        "FULL",
    )?;
    let mut app = ExampleApplication::open(application, conn, collector)?;
    app.deploy()?;
    if app.instance_count()? == 0 {
        app.create_starting_set()?;
        tracing::info!("example application: created the starting set for alice, bob and carol");
    } else {
        resync(&node, application, &app);
    }
    let mut reader = node.event_reader()?;
    let stop = node.stop_flag();
    let commits = node.gateway().commit_signal();
    Ok(std::thread::Builder::new()
        .name("example-application".into())
        .spawn(move || {
            let mut rng = rand::thread_rng();
            let mut next_start = Instant::now() + period(rate);
            let mut waiter = commits.waiter();
            let mut seen = 0;
            while !stop.load(Ordering::Relaxed) {
                if let Err(e) = app.process_interactions(&mut reader) {
                    tracing::warn!(error = %e, "example application: could not act on interactions");
                }
                if rate > 0.0 && Instant::now() >= next_start {
                    if let Err(e) = app.start_random(&mut rng) {
                        tracing::warn!(error = %e, "example application: could not start an instance");
                    }
                    next_start = Instant::now() + period(rate);
                }
                // Sleeps until the store moves (an interaction may have come), the next
                // start is due, or the node stops.
                let until_start =
                    (rate > 0.0).then(|| next_start.saturating_duration_since(Instant::now()));
                seen = waiter.wait_beyond(seen, until_start);
            }
        })?)
}

/// Re-syncs the application's open tasks with the pool, as a restarted engine does:
/// whatever drifted while it was away (a task the pool lacks, one it should no longer
/// have, another assignee) is set right.
fn resync(node: &TaskpoolNode, application: &str, app: &ExampleApplication) {
    let tasks = match app.open_tasks() {
        Ok(Some(tasks)) => tasks,
        Ok(None) => {
            tracing::info!("example application: tasks from before whole-task keeping; no re-sync");
            return;
        }
        Err(e) => {
            tracing::warn!(error = %e, "example application: could not read its open tasks; no re-sync");
            return;
        }
    };
    let id = format!("{application}-start-{}", uuid::Uuid::new_v4());
    let pages: Vec<_> = tasks.chunks(500).map(<[_]>::to_vec).collect();
    let count = pages.len().max(1);
    for (i, tasks) in pages
        .into_iter()
        .chain(std::iter::once(Vec::new()))
        .take(count)
        .enumerate()
    {
        let page = ResyncPage {
            page: i as u32,
            last: i + 1 == count,
            tasks,
        };
        match node.resync(application, &id, page) {
            Ok(outcome) if outcome.complete => tracing::info!(
                resync = %id,
                changed = outcome.events,
                deleted = outcome.deleted.len(),
                "example application: re-synced its open tasks with the pool"
            ),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, resync = %id, "example application: re-sync failed");
                return;
            }
        }
    }
}

fn period(rate: f64) -> Duration {
    if rate > 0.0 {
        Duration::from_secs_f64((1.0 / rate).min(3600.0))
    } else {
        Duration::from_secs(3600)
    }
}
