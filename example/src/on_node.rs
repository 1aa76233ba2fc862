//! The example application inside a task pool node (the server's `--example`, the
//! desktop's embedded mode), so a new user sees tasks at once and every claim,
//! completion and deferral is acted on by a real (small) engine: it reads the
//! interaction requests addressed to it from the event store and answers them in its
//! own transactions. New process instances start now and then.
//!
//! It sends with the `txjob` sender: the commands of an engine transaction are written
//! as a job in the application's own database, in that transaction, and sent after it
//! with the job's id as idempotency key. So a crash at any point neither loses a step
//! (the job is sent at the next start) nor does it twice (a job sent but not yet
//! deleted is answered from the pool's stored outcome when sent again), and the engine
//! never knows a task the pool lacks, or the other way round.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::{directory, EngineVariables, ExampleApplication};
use taskpool_collector::properties::{SenderProperties, SenderType};
use taskpool_collector::sender::{GatewaySender, JobWorker};
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
    let props = SenderProperties {
        sender_type: SenderType::Txjob,
        ..SenderProperties::default()
    };
    let sender = Arc::new(
        GatewaySender::new(node.gateway().clone(), application, props.clone())
            .with_outcome_log(node.outcome_log().clone()),
    );
    let enricher = crate::enricher();
    let collector = Arc::new(Collector::new(
        props.clone(),
        enricher,
        sender.clone(),
        Arc::new(EngineVariables),
    ));
    let app_db = node.data_dir().join(format!("{application}-app.db"));
    let conn = taskpool_core::sqlite::open_wal(&app_db, "FULL")?;
    let mut app = ExampleApplication::open(application, conn, collector)?;
    let mut jobs = Jobs(JobWorker::new(
        taskpool_core::sqlite::open_wal(&app_db, "FULL")?,
        sender,
        Duration::from_millis(props.job_max_backoff_ms),
    )?);
    // What a crash left unsent goes first: the pool then holds what the engine holds.
    jobs.send_due();
    app.deploy()?;
    jobs.send_due();
    if app.instance_count()? == 0 {
        app.create_starting_set()?;
        jobs.send_due();
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
                jobs.send_due();
                // Sleeps until the store moves (an interaction may have come), the next
                // start is due, a job waiting to be sent again is due, or the node stops.
                let until_start =
                    (rate > 0.0).then(|| next_start.saturating_duration_since(Instant::now()));
                let until = match (until_start, jobs.next_due()) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                seen = waiter.wait_beyond(seen, until);
            }
        })?)
}

/// The application's job worker (its `txjob` outbox), run by the application's own
/// thread after each of its steps: nothing polls while nothing is pending.
struct Jobs(JobWorker);

impl Jobs {
    /// Sends every due job (oldest first; a failing one is retried later with backoff).
    fn send_due(&mut self) {
        if let Err(e) = self.0.run_due() {
            tracing::warn!(error = %e, "example application: sending its jobs failed; retrying");
        }
    }

    /// How long until the next job waiting to be sent again is due (none pending: None).
    fn next_due(&self) -> Option<Duration> {
        self.0.next_due().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "example application: cannot read its job table; retries wait for the next event");
            None
        })
    }
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
