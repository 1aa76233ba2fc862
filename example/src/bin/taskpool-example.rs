//! The single-node task pool with the example process application: core (SQLite event
//! store and gateway), collector and sender, the example engine, its job worker, and
//! simulated users who claim and complete tasks. Prints what happens.
//!
//! `taskpool-example --data-dir DIR [--rate STARTS_PER_SEC] [--seconds N] [--sender-config FILE]`

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rand::Rng;
use taskpool_collector::outcome_log::{OutcomeLog, OutcomeQuery};
use taskpool_collector::properties::{SenderProperties, SenderType};
use taskpool_collector::sender::{GatewaySender, JobWorker};
use taskpool_collector::Collector;
use taskpool_core::command::{CompleteInteraction, TaskCommand, UserInteraction};
use taskpool_core::projector::{Follow, Projector};
use taskpool_core::query::{self, TaskQuery, Viewer};
use taskpool_core::view::View;
use taskpool_core::{CommandContext, CommandGateway, EventStore};
use taskpool_example::{directory, EngineVariables, ExampleApplication};

// The allocator every Taskpool binary uses (see ARCHITECTURE.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Args {
    data_dir: PathBuf,
    rate: f64,
    seconds: Option<u64>,
    sender_config: Option<PathBuf>,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        data_dir: PathBuf::from("data"),
        rate: 0.5,
        seconds: None,
        sender_config: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--data-dir" => a.data_dir = value()?.into(),
            "--rate" => a.rate = value()?.parse().context("--rate must be a number")?,
            "--seconds" => {
                a.seconds = Some(value()?.parse().context("--seconds must be a number")?)
            }
            "--sender-config" => a.sender_config = Some(value()?.into()),
            "-h" | "--help" => {
                println!("taskpool-example --data-dir DIR [--rate STARTS_PER_SEC] [--seconds N] [--sender-config FILE]");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other}"),
        }
    }
    Ok(a)
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = args()?;
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create {}", args.data_dir.display()))?;
    let store = EventStore::open(args.data_dir.join("events.db"))?;
    let gateway = Arc::new(CommandGateway::new(&store)?);
    let log = Arc::new(OutcomeLog::open(
        &args.data_dir.join("outcomes.db"),
        10_000,
    )?);
    let props = SenderProperties::load(args.sender_config.as_deref())?;
    let sender = Arc::new(
        GatewaySender::new(gateway.clone(), "example", props.clone()).with_outcome_log(log.clone()),
    );
    let enricher = taskpool_example::enricher();
    let collector = Arc::new(Collector::new(
        props.clone(),
        enricher,
        sender.clone(),
        Arc::new(EngineVariables),
    ));
    let app_db = args.data_dir.join("example-app.db");
    let mut app = ExampleApplication::open(
        "example",
        taskpool_core::sqlite::open_wal(&app_db, "FULL")?,
        collector,
    )?;
    let stop = Arc::new(AtomicBool::new(false));
    if props.sender_type == SenderType::Txjob {
        let worker = JobWorker::new(
            taskpool_core::sqlite::open_wal(&app_db, "FULL")?,
            sender.clone(),
            Duration::from_millis(props.job_max_backoff_ms),
        )?;
        let stop = stop.clone();
        std::thread::spawn(move || worker.run(Duration::from_millis(50), stop));
    }
    app.deploy()?;
    if app.instance_count()? == 0 {
        app.create_starting_set()?;
        println!(
            "created the starting set for {}",
            directory::USERS
                .iter()
                .map(|(u, _)| *u)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    // The query side: a projector keeps the view (view.db) up to date.
    let view = View::open(args.data_dir.join("view.db"))?;
    let projector = Projector::new(&view)?;
    let view_signal = projector.signal();
    {
        let (store, stop, commits) = (store.clone(), stop.clone(), gateway.commit_signal());
        std::thread::spawn(move || {
            if let Err(e) = projector.run(&store, Follow::Signal(commits), stop) {
                tracing::error!(error = %e, "projector stopped");
            }
        });
    }
    let view_conn = view.connect()?;
    let mut reader = store.reader()?;
    let mut rng = rand::thread_rng();
    let started = Instant::now();
    let mut last_report = Instant::now();
    let mut next_start = Instant::now();
    println!(
        "running; Ctrl-C to stop. Data in {}",
        args.data_dir.display()
    );
    loop {
        if args
            .seconds
            .is_some_and(|s| started.elapsed() >= Duration::from_secs(s))
        {
            break;
        }
        if args.rate > 0.0 && Instant::now() >= next_start {
            app.start_random(&mut rng)?;
            next_start = Instant::now() + Duration::from_secs_f64(1.0 / args.rate);
        }
        // Simulated users: now and then someone claims or completes a task.
        if rng.gen_bool(0.2) {
            let tasks = app.active_tasks()?;
            if !tasks.is_empty() {
                let (id, key, assignee) = &tasks[rng.gen_range(0..tasks.len())];
                let user = assignee.clone().unwrap_or_else(|| {
                    directory::USERS[rng.gen_range(0..directory::USERS.len())]
                        .0
                        .to_string()
                });
                let command = match assignee {
                    None => TaskCommand::ClaimInteraction(UserInteraction {
                        id: id.clone(),
                        user: user.clone(),
                    }),
                    Some(_) => {
                        let mut payload = taskpool_core::model::Payload::new();
                        if key == "approve" {
                            payload.insert("approved".into(), rng.gen_bool(0.7).into());
                        }
                        TaskCommand::CompleteInteraction(CompleteInteraction {
                            id: id.clone(),
                            user: user.clone(),
                            payload,
                        })
                    }
                };
                let ctx = CommandContext {
                    user: Some(user.clone()),
                    ..Default::default()
                };
                let outcome = gateway.send(command.into(), &ctx)?;
                log.record_for("tasklist", Some(&user), std::slice::from_ref(&outcome))?;
            }
        }
        app.process_interactions(&mut reader)?;
        if last_report.elapsed() >= Duration::from_secs(5) {
            let tasks = app.active_tasks()?;
            let rejected = log.list(&OutcomeQuery {
                only_rejected: true,
                limit: 1,
                ..Default::default()
            })?;
            let mut inboxes = Vec::new();
            for (user, groups) in directory::USERS {
                let q = TaskQuery::for_viewer(Viewer::user(*user, groups));
                inboxes.push(format!("{user} {}", query::tasks(&view_conn, &q)?.total));
            }
            println!(
                "events: {:>6} (view at {:>6})   active tasks: {:>4} ({} claimed)   inboxes: {}   last rejection: {}",
                reader.head_position()?,
                view_signal.head(),
                tasks.len(),
                tasks.iter().filter(|t| t.2.is_some()).count(),
                inboxes.join(", "),
                rejected.first().map(|r| format!("{} {}", r.code, r.message)).unwrap_or_else(|| "none".into())
            );
            last_report = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, Ordering::Relaxed);
    gateway.commit_signal().wake_all();
    println!(
        "stopped after {:?}; {} events stored",
        started.elapsed(),
        reader.head_position()?
    );
    Ok(())
}
