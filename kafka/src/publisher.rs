//! The publisher (process-application side): a tracking processor with a stored
//! checkpoint. It reads committed events in order, produces each to its kind's topic
//! keyed by aggregate id (one aggregate's events stay in one partition, in order) with
//! acks=all and the idempotent producer, and moves its checkpoint only after the broker
//! acknowledged the whole batch. On a failure it goes into error mode: it logs, counts,
//! and retries the same batch with backoff until it succeeds (at-least-once; readers
//! absorb the duplicates by aggregate version).

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use taskpool_core::event_store::EventReader;
use taskpool_core::listener::{self, Listener};
use taskpool_core::position_signal::PositionSignal;
use taskpool_core::{EventStore, StoredEvent};

use crate::message::EventMessage;
use crate::{KafkaConfig, KafkaError};

/// What the publisher is doing (exported as metrics and on /health).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PublisherStatus {
    /// The last position acknowledged by the broker.
    pub checkpoint: i64,
    /// The store's head when last looked at.
    pub head: i64,
    /// Events not yet acknowledged.
    pub lag: i64,
    /// Failed attempts so far.
    pub errors: u64,
    /// In error mode (retrying with backoff).
    pub failing: bool,
    pub last_error: Option<String>,
    /// Events published since start.
    pub published: u64,
}

/// Publishes one event store to Kafka.
pub struct Publisher {
    config: KafkaConfig,
    origin: String,
    producer: FutureProducer,
    checkpoint: Connection,
    batch_size: usize,
    status: Arc<Mutex<PublisherStatus>>,
    /// The pause before the next try in error mode.
    backoff: Duration,
}

const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

impl Publisher {
    /// A publisher for the store of application `origin`; its checkpoint lives in the
    /// SQLite file `checkpoint_db`.
    pub fn new(
        config: &KafkaConfig,
        origin: &str,
        checkpoint_db: &Path,
    ) -> Result<Self, KafkaError> {
        let producer = create_producer(config)?;
        let checkpoint = taskpool_core::sqlite::open_wal(checkpoint_db, "FULL")?;
        checkpoint.execute_batch(
            "CREATE TABLE IF NOT EXISTS publisher_checkpoint (origin TEXT PRIMARY KEY, position INTEGER NOT NULL)",
        )?;
        let status = PublisherStatus {
            checkpoint: read_checkpoint(&checkpoint, origin)?,
            ..Default::default()
        };
        Ok(Self {
            config: config.clone(),
            origin: origin.to_string(),
            producer,
            checkpoint,
            batch_size: 5000,
            status: Arc::new(Mutex::new(status)),
            backoff: FIRST_BACKOFF,
        })
    }

    /// A shared view of the publisher's status.
    pub fn status(&self) -> Arc<Mutex<PublisherStatus>> {
        self.status.clone()
    }

    /// Produces `events` and waits for every acknowledgement.
    pub fn produce(&self, events: &[StoredEvent]) -> Result<(), KafkaError> {
        let mut deliveries = Vec::with_capacity(events.len());
        for e in events {
            let payload = serde_json::to_vec(&EventMessage::of(e, &self.origin)?)?;
            let topic = EventMessage::topic(e.aggregate_kind, &self.config.topics);
            let record = FutureRecord::to(topic)
                .key(&e.aggregate_id)
                .payload(&payload);
            match self.producer.send_result(record) {
                Ok(delivery) => deliveries.push(delivery),
                Err((e, _)) => return Err(e.into()),
            }
        }
        for d in deliveries {
            match futures::executor::block_on(d) {
                Ok(Ok(_)) => {}
                Ok(Err((e, _))) => return Err(e.into()),
                Err(_) => return Err(KafkaError::Other("the delivery was cancelled".into())),
            }
        }
        Ok(())
    }

    /// Publishes everything after the checkpoint once (one batch at a time, the
    /// checkpoint moved after each acknowledged batch); returns how many events.
    pub fn publish_pending(&mut self, reader: &mut EventReader) -> Result<usize, KafkaError> {
        Listener::catch_up(self, reader)
    }

    /// Follows the store until `stop`: publishes, sleeps until the next commit, retries
    /// with backoff on failure. To stop it, set `stop`, then call `wake_all` on
    /// `commits`.
    pub fn run(mut self, store: &EventStore, commits: PositionSignal, stop: Arc<AtomicBool>) {
        let mut waiter = commits.waiter();
        let mut reader = match store.reader() {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(target: "taskpool::kafka", error = %e, "publisher cannot read the store");
                return;
            }
        };
        // Never gives up: every failure is retried with backoff.
        let _ = listener::follow(&mut self, &mut reader, &mut waiter, &stop, |p, e, head| {
            Some(p.failed(e, head))
        });
        let _ = rdkafka::producer::Producer::flush(
            &self.producer,
            Timeout::After(Duration::from_secs(5)),
        );
    }

    /// Error mode: counts and shows the failure, makes a fresh producer, and says how
    /// long to wait before the same batch is tried again (doubling up to a limit).
    fn failed(&mut self, e: &KafkaError, head: i64) -> Duration {
        let backoff = self.backoff;
        tracing::warn!(target: "taskpool::kafka", error = %e, retry_in = ?backoff, "publisher in error mode, retrying");
        if let Ok(mut s) = self.status.lock() {
            s.errors += 1;
            s.failing = true;
            s.last_error = Some(e.to_string());
            s.head = head.max(s.head);
            s.lag = (s.head - s.checkpoint).max(0);
        }
        self.backoff = (backoff * 2).min(MAX_BACKOFF);
        // After a delivery timeout the idempotent producer is fenced for good: start a
        // fresh one (what was in flight may arrive twice; readers drop duplicates by
        // aggregate version).
        match create_producer(&self.config) {
            Ok(p) => self.producer = p,
            Err(e) => {
                tracing::warn!(target: "taskpool::kafka", error = %e, "cannot recreate the producer")
            }
        }
        backoff
    }
}

/// A listener of its application's event store, keyed by the application's name; its
/// checkpoint lives in `kafka.db` and moves after the broker acknowledged a batch.
impl Listener for Publisher {
    type Error = KafkaError;

    fn id(&self) -> &str {
        &self.origin
    }

    fn checkpoint(&mut self) -> Result<i64, KafkaError> {
        Ok(read_checkpoint(&self.checkpoint, &self.origin)?)
    }

    fn batch(&self) -> usize {
        self.batch_size
    }

    fn handle(&mut self, events: &[StoredEvent]) -> Result<(), KafkaError> {
        let Some(last) = events.last().map(|e| e.position) else {
            return Ok(());
        };
        self.produce(events)?;
        self.checkpoint.execute(
            "INSERT INTO publisher_checkpoint (origin, position) VALUES (?1, ?2)
             ON CONFLICT (origin) DO UPDATE SET position = excluded.position",
            rusqlite::params![self.origin, last],
        )?;
        self.backoff = FIRST_BACKOFF;
        if let Ok(mut s) = self.status.lock() {
            s.checkpoint = last;
            s.published += events.len() as u64;
            s.failing = false;
            s.head = s.head.max(last);
            s.lag = (s.head - last).max(0);
        }
        Ok(())
    }
}

fn create_producer(config: &KafkaConfig) -> Result<FutureProducer, KafkaError> {
    Ok(config
        .client()
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("message.timeout.ms", "5000")
        .set("linger.ms", "2")
        .create()?)
}

fn read_checkpoint(conn: &Connection, origin: &str) -> rusqlite::Result<i64> {
    Ok(conn
        .query_row(
            "SELECT position FROM publisher_checkpoint WHERE origin = ?1",
            [origin],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0))
}
