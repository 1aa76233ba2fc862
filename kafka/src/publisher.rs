//! The publisher (process-application side): a tracking processor with a stored
//! checkpoint. It reads committed events in order, produces each to its kind's topic
//! keyed by aggregate id (one aggregate's events stay in one partition, in order) with
//! acks=all and the idempotent producer, and moves its checkpoint only after the broker
//! acknowledged the whole batch. On a failure it goes into error mode: it logs, counts,
//! and retries the same batch with backoff until it succeeds (at-least-once; readers
//! absorb the duplicates by aggregate version). An event the broker refuses for good (too
//! large, an invalid record) or the store cannot read is parked instead, holding its
//! aggregate back ([`crate::parked`]): one bad event never stalls the others.

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::util::Timeout;
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use taskpool_core::event_store::{EventReader, UnreadableEvent};
use taskpool_core::listener::{self, Listener};
use taskpool_core::position_signal::PositionSignal;
use taskpool_core::{EventStore, StoredEvent};

use crate::message::EventMessage;
use crate::parked::{self, Held, ParkedEvent};
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
    /// Events parked (refused by the broker for good, or unreadable), now.
    pub parked: u64,
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
    /// The broker refused an event of the last batch for good: send the batch again one
    /// event at a time, to park only that one.
    one_at_a_time: bool,
    /// The parked events were tried again since start.
    retried_parked: bool,
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
        parked::create(&checkpoint)?;
        let status = PublisherStatus {
            checkpoint: read_checkpoint(&checkpoint, origin)?,
            parked: parked::count(&checkpoint, origin)?,
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
            one_at_a_time: false,
            retried_parked: false,
        })
    }

    /// At most `n` events per batch (one checkpoint move each).
    pub fn with_batch_size(mut self, n: usize) -> Self {
        self.batch_size = n.max(1);
        self
    }

    /// A shared view of the publisher's status.
    pub fn status(&self) -> Arc<Mutex<PublisherStatus>> {
        self.status.clone()
    }

    /// Hands one event to the producer; a refusal before sending (the producer's
    /// `message.max.bytes`) comes back as the inner error.
    fn send(
        &self,
        e: &StoredEvent,
    ) -> Result<Result<DeliveryFuture, rdkafka::error::KafkaError>, KafkaError> {
        let payload = serde_json::to_vec(&EventMessage::of(e, &self.origin)?)?;
        let topic = EventMessage::topic(e.aggregate_kind, &self.config.topics);
        let record = FutureRecord::to(topic)
            .key(&e.aggregate_id)
            .payload(&payload);
        Ok(self.producer.send_result(record).map_err(|(e, _)| e))
    }

    /// Sends one event and waits for the broker's answer.
    fn deliver(
        &self,
        e: &StoredEvent,
    ) -> Result<Result<(), rdkafka::error::KafkaError>, KafkaError> {
        match self.send(e)? {
            Ok(d) => acknowledged(d),
            Err(refused) => Ok(Err(refused)),
        }
    }

    /// Produces a batch and waits for every acknowledgement; returns what it parked.
    /// A transient failure fails the whole batch (it is sent again); a permanent refusal
    /// parks the event and holds its aggregate back.
    fn produce(
        &mut self,
        items: &[Result<StoredEvent, UnreadableEvent>],
    ) -> Result<Vec<ParkedEvent>, KafkaError> {
        let mut held = parked::held(&self.checkpoint, &self.origin)?;
        let mut parked = Vec::new();
        let mut in_flight = Vec::new();
        for item in items {
            let e = match item {
                Ok(e) => e,
                Err(unreadable) => {
                    parked.push(ParkedEvent {
                        position: unreadable.position,
                        aggregate_kind: String::new(),
                        aggregate_id: String::new(),
                        error: format!("the store cannot read it: {}", unreadable.error),
                    });
                    continue;
                }
            };
            let aggregate: Held = (
                e.aggregate_kind.as_str().to_string(),
                e.aggregate_id.clone(),
            );
            if held.contains(&aggregate) {
                parked.push(parked_event(
                    e,
                    "waits behind a parked event of its aggregate".into(),
                ));
                continue;
            }
            let sent = if self.one_at_a_time {
                self.deliver(e)?.map(|()| None)
            } else {
                self.send(e)?.map(Some)
            };
            match sent {
                Ok(Some(delivery)) => in_flight.push(delivery),
                Ok(None) => {}
                Err(refused) if permanent(&refused) => {
                    held.insert(aggregate);
                    parked.push(parked_event(e, format!("the broker refuses it: {refused}")));
                }
                Err(other) => return Err(other.into()),
            }
        }
        let mut refused_by_broker = false;
        for d in in_flight {
            match acknowledged(d)? {
                Ok(()) => {}
                Err(refused) if permanent(&refused) => refused_by_broker = true,
                Err(other) => return Err(other.into()),
            }
        }
        if refused_by_broker {
            // Which event it was (and what else shared its request) shows when each is
            // sent alone: the next try does that.
            self.one_at_a_time = true;
            return Err(KafkaError::Other(
                "the broker refused an event for good; sending the batch again one event at a time"
                    .into(),
            ));
        }
        Ok(parked)
    }

    /// Sends the parked events again, oldest first: each that goes through releases its
    /// place (and, when it was the last of its aggregate, the aggregate); the rest stay.
    fn retry_parked(&mut self, reader: &mut EventReader) -> Result<(), KafkaError> {
        let waiting = parked::list(&self.checkpoint, &self.origin)?;
        if waiting.is_empty() {
            return Ok(());
        }
        let mut still_held: HashSet<Held> = HashSet::new();
        let mut sent = 0;
        for p in &waiting {
            let aggregate: Held = (p.aggregate_kind.clone(), p.aggregate_id.clone());
            if still_held.contains(&aggregate) {
                continue;
            }
            let stored = reader
                .read_after_lenient(p.position - 1, 1)?
                .into_iter()
                .next();
            let outcome = match stored {
                Some(Ok(e)) if e.position == p.position => self.deliver(&e)?,
                _ => {
                    // Still unreadable: it stays, and holds nothing.
                    continue;
                }
            };
            match outcome {
                Ok(()) => {
                    parked::remove(&self.checkpoint, &self.origin, p.position)?;
                    sent += 1;
                }
                Err(refused) if permanent(&refused) => {
                    still_held.insert(aggregate);
                }
                Err(other) => return Err(other.into()),
            }
        }
        let left = parked::count(&self.checkpoint, &self.origin)?;
        tracing::info!(target: "taskpool::kafka", sent, left, "sent parked events again");
        if let Ok(mut s) = self.status.lock() {
            s.parked = left;
            s.published += sent;
        }
        Ok(())
    }

    /// Publishes one batch and moves the checkpoint past it, parking what cannot be
    /// published in the same transaction.
    fn publish(
        &mut self,
        items: &[Result<StoredEvent, UnreadableEvent>],
    ) -> Result<(), KafkaError> {
        let Some(last) = items.last().map(|i| match i {
            Ok(e) => e.position,
            Err(u) => u.position,
        }) else {
            return Ok(());
        };
        let parked = self.produce(items)?;
        let tx = self.checkpoint.transaction()?;
        for p in &parked {
            tracing::warn!(target: "taskpool::kafka", position = p.position, aggregate = %p.aggregate_id, error = %p.error, "parked an event the publisher cannot send");
            parked::insert(&tx, &self.origin, p)?;
        }
        tx.execute(
            "INSERT INTO publisher_checkpoint (origin, position) VALUES (?1, ?2)
             ON CONFLICT (origin) DO UPDATE SET position = excluded.position",
            rusqlite::params![self.origin, last],
        )?;
        tx.commit()?;
        self.backoff = FIRST_BACKOFF;
        self.one_at_a_time = false;
        if let Ok(mut s) = self.status.lock() {
            s.checkpoint = last;
            s.published += (items.len() - parked.len()) as u64;
            s.parked += parked.len() as u64;
            s.failing = false;
            s.head = s.head.max(last);
            s.lag = (s.head - last).max(0);
        }
        Ok(())
    }

    /// Publishes the next batch after the checkpoint (after sending the parked events
    /// again, the first time); returns how many events it took (0: nothing new).
    pub fn publish_next(&mut self, reader: &mut EventReader) -> Result<usize, KafkaError> {
        if !self.retried_parked {
            self.retry_parked(reader)?;
            self.retried_parked = true;
        }
        let after = read_checkpoint(&self.checkpoint, &self.origin)?;
        let items = reader.read_after_lenient(after, self.batch_size)?;
        self.publish(&items)?;
        Ok(items.len())
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
    /// long to wait before the same batch is tried again (doubling up to a limit; a
    /// batch that succeeds resets it). `head`: the store's head, for the status.
    pub fn failed(&mut self, e: &KafkaError, head: i64) -> Duration {
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
        let items: Vec<_> = events.iter().cloned().map(Ok).collect();
        self.publish(&items)
    }

    /// Like the default, but reads leniently (an unreadable event is parked, not a
    /// stall) and first sends the parked events again once after start.
    fn catch_up(&mut self, reader: &mut EventReader) -> Result<usize, KafkaError> {
        let mut handled = 0;
        loop {
            match self.publish_next(reader)? {
                0 => return Ok(handled),
                n => handled += n,
            }
        }
    }
}

/// Waits for the broker's answer to one delivery.
fn acknowledged(d: DeliveryFuture) -> Result<Result<(), rdkafka::error::KafkaError>, KafkaError> {
    match futures::executor::block_on(d) {
        Ok(Ok(_)) => Ok(Ok(())),
        Ok(Err((e, _))) => Ok(Err(e)),
        Err(_) => Err(KafkaError::Other("the delivery was cancelled".into())),
    }
}

/// A refusal that sending again cannot change: the event itself is wrong for this broker.
fn permanent(e: &rdkafka::error::KafkaError) -> bool {
    matches!(
        e.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::MessageSizeTooLarge
                | RDKafkaErrorCode::InvalidMessageSize
                | RDKafkaErrorCode::InvalidMessage
                | RDKafkaErrorCode::MessageBatchTooLarge
                | RDKafkaErrorCode::InvalidRecord
        )
    )
}

fn parked_event(e: &StoredEvent, error: String) -> ParkedEvent {
    ParkedEvent {
        position: e.position,
        aggregate_kind: e.aggregate_kind.as_str().to_string(),
        aggregate_id: e.aggregate_id.clone(),
        error,
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
