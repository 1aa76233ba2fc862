//! The benchmarks' tasks, in one place for the query-side, server-load and desktop
//! start-up benchmarks (the latter two include this file by path: benches of different
//! crates share no module otherwise).
//!
//! A population of [`USERS`] users in [`GROUPS`] groups (three each); task `i` gets a
//! name, a business key, a due date within 2026, a priority, an assignee three times in
//! ten and one candidate group (or, for [`Audience::One`], everything for one user),
//! and the first `fields` of ten payload fields. Seeded: the same run, the same tasks.

#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration as ChronoDuration, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use taskpool_core::command::TaskCommand;
use taskpool_core::model::Task;
use taskpool_core::projector::Projector;
use taskpool_core::testing::fixtures;
use taskpool_core::view::View;
use taskpool_core::{BatchMode, Command, CommandContext, CommandGateway, EventStore};

pub const USERS: usize = 10_000;
pub const GROUPS: usize = 500;

pub fn user(i: usize) -> String {
    format!("user-{i:05}")
}

pub fn group(i: usize) -> String {
    format!("group-{i:03}")
}

/// Each user belongs to three groups.
pub fn groups_of(u: usize) -> Vec<String> {
    (0..3).map(|k| group((u * 7 + k * 131) % GROUPS)).collect()
}

/// Who may see the tasks.
#[derive(Clone, Copy)]
pub enum Audience {
    /// The population: a random user assigned three times in ten, a random group.
    Population,
    /// One user's inbox: `user` assigned three times in ten, candidate group `group`.
    One {
        user: &'static str,
        group: &'static str,
    },
}

pub struct TaskGenerator {
    rng: StdRng,
    base: DateTime<Utc>,
    audience: Audience,
    fields: usize,
}

impl TaskGenerator {
    /// Tasks for `audience` with the first `fields` (at most 10) payload fields.
    pub fn new(seed: u64, audience: Audience, fields: usize) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
            base: Utc
                .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
                .single()
                .unwrap_or_default(),
            audience,
            fields: fields.min(10),
        }
    }

    /// Task `i` of `application`.
    pub fn task(&mut self, i: usize, application: &str) -> Task {
        let rng = &mut self.rng;
        let mut t = fixtures::task(&format!("task-{i:07}"), application);
        t.name = format!("Review order {i}");
        t.business_key = Some(format!("BK-{i}"));
        t.due_date = Some(self.base + ChronoDuration::minutes(rng.gen_range(0..525_600)));
        t.priority = rng.gen_range(0..100);
        match self.audience {
            Audience::Population => {
                if rng.gen_bool(0.3) {
                    t.assignee = Some(user(rng.gen_range(0..USERS)));
                }
                t.candidate_groups.insert(group(rng.gen_range(0..GROUPS)));
            }
            Audience::One { user, group } => {
                if rng.gen_bool(0.3) {
                    t.assignee = Some(user.into());
                }
                t.candidate_groups.insert(group.into());
            }
        }
        let p = &mut t.payload;
        for field in 0..self.fields {
            let (name, value): (&str, serde_json::Value) = match field {
                0 => ("amount", rng.gen_range(0..100_000).into()),
                1 => (
                    "customer",
                    format!("Customer {}", rng.gen_range(0..5000)).into(),
                ),
                2 => ("country", ["DE", "FR", "NL", "US", "JP"][i % 5].into()),
                3 => ("orderId", format!("O-{i}").into()),
                4 => ("urgent", (i % 7 == 0).into()),
                5 => ("items", rng.gen_range(1..50).into()),
                6 => ("channel", ["web", "phone", "mail"][i % 3].into()),
                7 => ("region", format!("R{}", i % 40).into()),
                8 => ("score", rng.gen_range(0.0..1.0).into()),
                _ => (
                    "note",
                    format!("Order note {}", rng.gen_range(0..100_000)).into(),
                ),
            };
            p.insert(name.into(), value);
        }
        t
    }

    /// Creates tasks `from..to` through the gateway, 1,000 per atomic batch; `application`
    /// names each task's application.
    pub fn fill(
        &mut self,
        gateway: &CommandGateway,
        range: std::ops::Range<usize>,
        application: impl Fn(usize) -> String,
    ) -> Result<(), Box<dyn std::error::Error>> {
        for chunk in range.clone().step_by(1000) {
            let batch: Vec<Command> = (chunk..(chunk + 1000).min(range.end))
                .map(|i| TaskCommand::CreateTask(self.task(i, &application(i))).into())
                .collect();
            gateway.handle(batch, BatchMode::Atomic, &CommandContext::default())?;
        }
        Ok(())
    }
}

/// An event store (`dir/events.db`) with `tasks` generated tasks and its view
/// (`dir/view.db`), made once: the marker `ready-N` in `marker_dir` keeps them for
/// later runs (generating a million tasks takes minutes).
pub fn prepare_once(
    marker_dir: &Path,
    dir: &Path,
    tasks: usize,
    mut generator: TaskGenerator,
    application: impl Fn(usize) -> String,
) -> Result<(), Box<dyn std::error::Error>> {
    let marker = marker_dir.join(format!("ready-{tasks}"));
    if marker.exists() {
        println!("reusing the generated data in {}", marker_dir.display());
        return Ok(());
    }
    let _ = std::fs::remove_dir_all(marker_dir);
    std::fs::create_dir_all(dir)?;
    let store = EventStore::open(dir.join("events.db"))?;
    let gateway = Arc::new(CommandGateway::new(&store)?);
    let started = Instant::now();
    generator.fill(&gateway, 0..tasks, application)?;
    println!("event store: {tasks} tasks in {:.1?}", started.elapsed());
    let view = View::open(dir.join("view.db"))?;
    let mut projector = Projector::new(&view)?.with_batch_size(5000);
    let started = Instant::now();
    let applied = projector.catch_up(&mut store.reader()?)?;
    println!(
        "view: {applied} events projected in {:.1?}",
        started.elapsed()
    );
    view.connect()?.execute_batch("ANALYZE")?;
    std::fs::write(marker, b"")?;
    Ok(())
}
