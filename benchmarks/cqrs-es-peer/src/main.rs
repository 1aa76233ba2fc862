//! cqrs-es 0.5 + sqlite-es 0.5 on the command gateway benchmark's workload: 20,000
//! tasks, each created, updated, assigned, updated and completed (100,000 commands),
//! one command per unit of work as cqrs-es handles them. Prints
//! `peer commands/s: N` for the gateway benchmark to read.
//!
//! `cargo run --release -- DIR [TASKS]`

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Serialize, Deserialize)]
struct Task {
    created: bool,
    completed: bool,
    name: String,
    priority: i64,
    assignee: Option<String>,
    candidate_groups: BTreeSet<String>,
    payload: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug)]
enum TaskCommand {
    Create {
        name: String,
        priority: i64,
        candidate_groups: BTreeSet<String>,
        payload: BTreeMap<String, serde_json::Value>,
    },
    UpdateAttributes {
        priority: i64,
    },
    Assign {
        assignee: String,
    },
    Complete,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum TaskEvent {
    Created {
        name: String,
        priority: i64,
        candidate_groups: BTreeSet<String>,
        payload: BTreeMap<String, serde_json::Value>,
    },
    AttributesUpdated {
        priority: i64,
    },
    Assigned {
        assignee: String,
    },
    Completed,
}

impl DomainEvent for TaskEvent {
    fn event_type(&self) -> String {
        match self {
            TaskEvent::Created { .. } => "TaskCreated",
            TaskEvent::AttributesUpdated { .. } => "TaskAttributesUpdated",
            TaskEvent::Assigned { .. } => "TaskAssigned",
            TaskEvent::Completed => "TaskCompleted",
        }
        .to_string()
    }
    fn event_version(&self) -> String {
        "1".to_string()
    }
}

#[derive(Debug)]
struct Refused(&'static str);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Refused {}

impl Aggregate for Task {
    const TYPE: &'static str = "task";
    type Command = TaskCommand;
    type Event = TaskEvent;
    type Error = Refused;
    type Services = ();

    async fn handle(
        &mut self,
        command: TaskCommand,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), Refused> {
        let event = match command {
            TaskCommand::Create {
                name,
                priority,
                candidate_groups,
                payload,
            } if !self.created => TaskEvent::Created {
                name,
                priority,
                candidate_groups,
                payload,
            },
            TaskCommand::Create { .. } => return Err(Refused("task exists")),
            _ if !self.created || self.completed => return Err(Refused("no open task")),
            TaskCommand::UpdateAttributes { priority } => TaskEvent::AttributesUpdated { priority },
            TaskCommand::Assign { assignee } => TaskEvent::Assigned { assignee },
            TaskCommand::Complete => TaskEvent::Completed,
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: TaskEvent) {
        match event {
            TaskEvent::Created {
                name,
                priority,
                candidate_groups,
                payload,
            } => {
                self.created = true;
                self.name = name;
                self.priority = priority;
                self.candidate_groups = candidate_groups;
                self.payload = payload;
            }
            TaskEvent::AttributesUpdated { priority } => self.priority = priority,
            TaskEvent::Assigned { assignee } => self.assignee = Some(assignee),
            TaskEvent::Completed => self.completed = true,
        }
    }
}

fn commands(tasks: usize) -> Vec<(String, TaskCommand)> {
    let id = |i: usize| format!("task-{i:06}");
    let mut all = Vec::with_capacity(tasks * 5);
    for i in 0..tasks {
        let payload = BTreeMap::from([
            ("amount".to_string(), serde_json::json!(i * 10)),
            (
                "customer".to_string(),
                serde_json::json!(format!("Customer {}", i % 97)),
            ),
        ]);
        all.push((
            id(i),
            TaskCommand::Create {
                name: format!("Task {i}"),
                priority: 50,
                candidate_groups: BTreeSet::from([format!("group-{}", i % 50)]),
                payload,
            },
        ));
    }
    for round in 0..2 {
        for i in 0..tasks {
            all.push((
                id(i),
                TaskCommand::UpdateAttributes {
                    priority: 60 + round,
                },
            ));
        }
        if round == 0 {
            for i in 0..tasks {
                all.push((
                    id(i),
                    TaskCommand::Assign {
                        assignee: format!("user-{}", i % 1000),
                    },
                ));
            }
        }
    }
    for i in 0..tasks {
        all.push((id(i), TaskCommand::Complete));
    }
    all
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or("usage: cqrs-es-peer DIR [TASKS]")?;
    let tasks: usize = args
        .next()
        .map(|t| t.parse())
        .transpose()?
        .unwrap_or(20_000);
    let url = format!("sqlite://{dir}/peer.db");
    let pool = sqlite_es::default_sqlite_pool(&url).await;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS events (
            aggregate_type text NOT NULL, aggregate_id text NOT NULL,
            sequence integer CHECK (sequence >= 0) NOT NULL, event_type text NOT NULL,
            event_version text NOT NULL, payload text NOT NULL, metadata text NOT NULL,
            PRIMARY KEY (aggregate_type, aggregate_id, sequence)) STRICT",
    )
    .execute(&pool)
    .await?;
    let cqrs = sqlite_es::sqlite_cqrs::<Task>(pool.clone(), vec![], ());
    let commands = commands(tasks);
    let count = commands.len();
    let started = Instant::now();
    for (id, command) in commands {
        cqrs.execute(&id, command).await?;
    }
    let rate = count as f64 / started.elapsed().as_secs_f64();
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&pool)
        .await?;
    if stored != count as i64 {
        return Err(format!("{stored} events stored for {count} commands").into());
    }
    println!("peer commands/s: {rate:.0}");
    Ok(())
}
