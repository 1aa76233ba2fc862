//! Interaction routing back to the engines: a tasklist node sends a user's claim,
//! completion or deferral to the owning process application over the interactions topic,
//! keyed by application name ([`InteractionRouter`]); each process application reads
//! every partition, acts only on messages keyed with its own name, and hands them to its
//! command gateway with the request's id as idempotency key, so a redelivery is harmless
//! ([`InteractionConsumer`]). Its engine then acts on the resulting `*Requested` event
//! like on any other, and answers it; a request its gateway refuses is answered as
//! rejected. Answers travel back on the events topic. No engine is addressed directly.
//!
//! The topic also carries a tasklist node's refusal of an application's event whose
//! aggregate another application owns ([`InteractionRouter::tell_refused`]): the
//! application records it in its outcome log as a single node would have answered it.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rusqlite::Connection;
use taskpool_collector::outcome_log::OutcomeLog;
use taskpool_core::command_gateway::{CommandOutcome, OutcomeStatus};
use taskpool_core::{BatchMode, Command, CommandContext, CommandGateway, Rejection, RejectionCode};
use uuid::Uuid;

use crate::message::{InteractionMessage, InteractionTopicMessage, RefusalMessage};
use crate::partitions::{run_until, PartitionReader};
use crate::{KafkaConfig, KafkaError};

/// Sends interactions to their application (tasklist side).
pub struct InteractionRouter {
    producer: std::sync::Mutex<FutureProducer>,
    config: KafkaConfig,
}

fn router_producer(config: &KafkaConfig) -> Result<FutureProducer, KafkaError> {
    Ok(config
        .client()
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("message.timeout.ms", "10000")
        .create()?)
}

impl InteractionRouter {
    pub fn new(config: &KafkaConfig) -> Result<Self, KafkaError> {
        Ok(Self {
            producer: std::sync::Mutex::new(router_producer(config)?),
            config: config.clone(),
        })
    }

    /// Sends `command` by `user` to `application` as request `command_id`; Ok once the
    /// broker has acknowledged it (an error leaves open whether it holds it).
    pub async fn route(
        &self,
        application: &str,
        user: &str,
        command: Command,
        command_id: Uuid,
    ) -> Result<Uuid, KafkaError> {
        let message = InteractionMessage {
            command_id,
            application: application.to_string(),
            user: user.to_string(),
            command,
        };
        self.send(application, &serde_json::to_vec(&message)?)
            .await?;
        Ok(command_id)
    }

    /// Tells an application that a tasklist node refused one of its events; Ok once
    /// the broker has acknowledged it.
    pub async fn tell_refused(&self, refusal: &RefusalMessage) -> Result<(), KafkaError> {
        self.send(&refusal.refused_application, &serde_json::to_vec(refusal)?)
            .await
    }

    async fn send(&self, application: &str, payload: &[u8]) -> Result<(), KafkaError> {
        let producer = self
            .producer
            .lock()
            .map_err(|_| KafkaError::Other("router lock poisoned".into()))?
            .clone();
        let record = FutureRecord::to(&self.config.topics.interactions)
            .key(application)
            .payload(payload);
        match producer.send(record, Duration::from_secs(10)).await {
            Ok(_) => Ok(()),
            Err((e, _)) => {
                // A timed-out idempotent producer stays fenced: the next send gets a
                // fresh one. This one's outcome is unknown (the broker may hold it).
                if let (Ok(fresh), Ok(mut p)) =
                    (router_producer(&self.config), self.producer.lock())
                {
                    *p = fresh;
                }
                Err(e.into())
            }
        }
    }
}

/// Receives the interactions addressed to one application (process-application side).
pub struct InteractionConsumer {
    reader: PartitionReader,
    application: String,
    gateway: Arc<CommandGateway>,
    offsets: Connection,
    outcome_log: Option<Arc<OutcomeLog>>,
}

impl InteractionConsumer {
    /// Reads the interactions topic for `application`; the offsets live in the SQLite
    /// file `offsets_db`.
    pub fn new(
        config: &KafkaConfig,
        application: &str,
        gateway: Arc<CommandGateway>,
        offsets_db: &Path,
        outcome_log: Option<Arc<OutcomeLog>>,
    ) -> Result<Self, KafkaError> {
        let reader = PartitionReader::new(
            config,
            &format!("taskpool-app-{application}"),
            vec![config.topics.interactions.clone()],
        )?;
        let offsets = taskpool_core::sqlite::open_wal(offsets_db, "FULL")?;
        offsets.execute_batch(
            "CREATE TABLE IF NOT EXISTS interaction_offsets (partition INTEGER PRIMARY KEY, next_offset INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS refused_events (event_id TEXT PRIMARY KEY, received_at TEXT NOT NULL);",
        )?;
        let mut c = Self {
            reader,
            application: application.to_string(),
            gateway,
            offsets,
            outcome_log,
        };
        c.assign()?;
        Ok(c)
    }

    /// Assigns every partition of the interactions topic at the offsets stored.
    fn assign(&mut self) -> Result<(), KafkaError> {
        let offsets = &self.offsets;
        self.reader.assign(|_, p| {
            offsets
                .query_row(
                    "SELECT next_offset FROM interaction_offsets WHERE partition = ?1",
                    [p],
                    |r| r.get(0),
                )
                .ok()
        })
    }

    /// Handles what is there (waiting up to `wait` for the first message); returns how
    /// many interactions were for this application.
    pub fn poll_batch(&mut self, wait: Duration) -> Result<usize, KafkaError> {
        let mut handled = 0;
        let mut next: Vec<(i32, i64)> = Vec::new();
        let messages = self.reader.poll_batch(500, wait);
        for m in &messages {
            next.push((m.partition(), m.offset() + 1));
            if m.key() != Some(self.application.as_bytes()) {
                continue;
            }
            let message: InteractionTopicMessage = match m.payload().map(serde_json::from_slice) {
                Some(Ok(msg)) => msg,
                other => {
                    let error = match other {
                        Some(Err(e)) => e.to_string(),
                        _ => "no payload".into(),
                    };
                    tracing::warn!(target: "taskpool::kafka", partition = m.partition(), offset = m.offset(), %error, "skipped an unreadable interaction");
                    continue;
                }
            };
            match message {
                InteractionTopicMessage::Request(request) => self.perform(&request)?,
                InteractionTopicMessage::Refusal(refusal) => self.refused(&refusal)?,
            }
            handled += 1;
        }
        if !next.is_empty() {
            let tx = self.offsets.transaction()?;
            for (p, o) in next {
                tx.execute(
                    "INSERT INTO interaction_offsets (partition, next_offset) VALUES (?1, ?2)
                     ON CONFLICT (partition) DO UPDATE SET next_offset = excluded.next_offset",
                    rusqlite::params![p, o],
                )?;
            }
            tx.commit()?;
        }
        Ok(handled)
    }

    /// Hands a user's request to the gateway; a refusal there is answered too.
    fn perform(&self, message: &InteractionMessage) -> Result<(), KafkaError> {
        // The request keeps the id the tasklist node gave it: the engine's answer
        // echoes it, and comes back to that node through the events topic.
        let ctx = CommandContext {
            user: Some(message.user.clone()),
            idempotency_key: Some(format!("interaction/{}", message.command_id)),
            command_id: Some(message.command_id),
            ..Default::default()
        };
        let outcome =
            self.gateway
                .handle(vec![message.command.clone()], BatchMode::Atomic, &ctx)?;
        let mut outcomes = outcome.outcomes;
        // Refused here (claimed by someone else meanwhile, completed…): the refusal
        // is an answer too, so the user learns it on the node they asked.
        let refusal = outcomes.first().and_then(|o| o.rejection()).and_then(|r| {
            message
                .command
                .refusal(message.command_id, r.message.clone())
        });
        if let Some(answer) = refusal {
            let ctx = CommandContext {
                user: Some(message.user.clone()),
                idempotency_key: Some(format!("interaction-refusal/{}", message.command_id)),
                ..Default::default()
            };
            let answered = self.gateway.handle(vec![answer], BatchMode::Atomic, &ctx)?;
            outcomes.extend(answered.outcomes);
        }
        if let Some(log) = &self.outcome_log {
            if let Err(e) = log.record_for("tasklist", Some(&message.user), &outcomes) {
                tracing::warn!(target: "taskpool::kafka", error = %e, "could not record an outcome");
            }
        }
        Ok(())
    }

    /// A tasklist node refused one of this application's events (another application
    /// owns its aggregate): recorded in the outcome log as the refusal a single node
    /// would have answered (`FOREIGN_APPLICATION`), once per event however many
    /// tasklist nodes tell it.
    fn refused(&self, refusal: &RefusalMessage) -> Result<(), KafkaError> {
        let id = refusal.refused_event_id.to_string();
        let known: bool = self.offsets.query_row(
            "SELECT EXISTS (SELECT 1 FROM refused_events WHERE event_id = ?1)",
            [&id],
            |r| r.get(0),
        )?;
        if known {
            return Ok(());
        }
        tracing::warn!(target: "taskpool::kafka", aggregate = %refusal.aggregate_id, owner = %refusal.owner, event = %refusal.event_type, "the task pool refused an event of this application: another application owns its aggregate");
        if let Some(log) = &self.outcome_log {
            let outcome = CommandOutcome {
                command_id: refusal.refused_event_id,
                command_type: refusal.event_type.clone(),
                aggregate_id: refusal.aggregate_id.clone(),
                status: OutcomeStatus::Rejected(Rejection::new(
                    RejectionCode::ForeignApplication,
                    refusal.message.clone(),
                )),
            };
            // Recorded before it is marked handled: a crash between the two records it
            // twice rather than never.
            log.record(&self.application, &[outcome])
                .map_err(|e| KafkaError::Other(format!("outcome log: {e}")))?;
        }
        self.offsets.execute(
            "INSERT OR IGNORE INTO refused_events (event_id, received_at) VALUES (?1, ?2)",
            rusqlite::params![id, chrono::Utc::now().to_rfc3339()],
        )?;
        Ok(())
    }

    /// Follows the interactions topic until `stop`.
    pub fn run(mut self, stop: Arc<AtomicBool>) {
        run_until(
            &stop,
            "interaction consumer",
            &mut self,
            |c| c.poll_batch(Duration::from_millis(100)).map(|_| ()),
            Self::assign,
        );
    }
}
