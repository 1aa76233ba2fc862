//! The tasklist-node consumer: every node keeps a full view of its own, so it reads
//! every partition of the event topics itself (manual assignment, no consumer group
//! splitting the work) and stores the next offset of each partition in its SQLite view,
//! in the same transaction as the view rows. A crash or a redelivery never applies an
//! event twice and never skips one; duplicates from the publisher's retries are
//! recognised by aggregate version; messages that cannot be read are parked with their
//! offset and never block the ones after them. An event whose aggregate another
//! application owns is refused, and its application told over the interactions topic.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::message::Message;
use taskpool_core::position_signal::PositionSignal;
use taskpool_core::projector::{DeliveryOffset, ParkedDelivery, Projector};
use taskpool_core::view::deliveries::DeliveredEvent;
use taskpool_core::view::View;

use crate::interactions::InteractionRouter;
use crate::message::{EventMessage, RefusalMessage};
use crate::partitions::{run_until, PartitionReader};
use crate::{KafkaConfig, KafkaError};

/// Reads the event topics into a view.
pub struct TasklistConsumer {
    reader: PartitionReader,
    projector: Projector,
    /// The view has upkeep left (full-text merging): poll without waiting between steps.
    upkeep: bool,
    /// Tells applications the events the view refused (their aggregate is another's).
    refusals: RefusalOutbox,
}

/// The view's refusals on their way to their applications: sent after the batch that
/// recorded them (and at start, what an earlier run left), again after a failure.
struct RefusalOutbox {
    router: InteractionRouter,
    /// Whether the view may hold refusals not yet sent.
    pending: bool,
    /// After a failed send, not before this.
    retry_at: Option<Instant>,
}

impl RefusalOutbox {
    /// Sends what the view holds unsent; a failure is logged and retried later (the
    /// view keeps the refusals until the broker acknowledged them).
    fn send(&mut self, projector: &mut Projector) {
        if !self.pending || self.retry_at.is_some_and(|t| Instant::now() < t) {
            return;
        }
        match self.try_send(projector) {
            Ok(()) => {
                self.pending = false;
                self.retry_at = None;
            }
            Err(e) => {
                tracing::warn!(target: "taskpool::kafka", error = %e, "could not tell an application of a refused event; trying again");
                self.retry_at = Some(Instant::now() + REFUSAL_RETRY);
            }
        }
    }

    fn try_send(&mut self, projector: &mut Projector) -> Result<(), KafkaError> {
        loop {
            let unsent = projector.unsent_refusals(100)?;
            if unsent.is_empty() {
                return Ok(());
            }
            let mut sent = Vec::with_capacity(unsent.len());
            for r in &unsent {
                futures::executor::block_on(self.router.tell_refused(&RefusalMessage::of(r)))?;
                sent.push(r.event_id);
            }
            projector.refusals_sent(&sent)?;
        }
    }
}

/// How long the outbox waits after a failed send.
const REFUSAL_RETRY: Duration = Duration::from_secs(5);

impl TasklistConsumer {
    /// A consumer projecting into `view`; `signal` is the view's position signal (live
    /// subscriptions wait on it).
    pub fn new(
        config: &KafkaConfig,
        view: &View,
        signal: Option<PositionSignal>,
    ) -> Result<Self, KafkaError> {
        let mut projector = Projector::new(view)?;
        if let Some(s) = signal {
            projector = projector.with_signal(s);
        }
        let topics = config.topics.event_topics().map(String::from).to_vec();
        let mut c = Self {
            reader: PartitionReader::new(config, "taskpool-tasklist", topics)?,
            projector,
            upkeep: false,
            refusals: RefusalOutbox {
                router: InteractionRouter::new(config)?,
                pending: true,
                retry_at: None,
            },
        };
        c.assign()?;
        Ok(c)
    }

    /// The view's position signal.
    pub fn signal(&self) -> PositionSignal {
        self.projector.signal()
    }

    /// Assigns every partition of the event topics at the offsets the view stored.
    fn assign(&mut self) -> Result<(), KafkaError> {
        let stored: BTreeMap<(String, i32), i64> = self
            .projector
            .delivery_offsets()?
            .into_iter()
            .filter_map(|o| Some((partition_of(&o.source)?, o.next_offset)))
            .collect();
        self.reader
            .assign(|topic, p| stored.get(&(topic.to_string(), p)).copied())
    }

    /// Reads what is there (up to `max` messages, waiting up to `wait` for the first)
    /// and applies it in one transaction, then tells applications the events refused;
    /// returns how many events were applied.
    pub fn poll_batch(&mut self, max: usize, wait: Duration) -> Result<usize, KafkaError> {
        let applied = self.apply_batch(max, wait)?;
        self.refusals.send(&mut self.projector);
        Ok(applied)
    }

    fn apply_batch(&mut self, max: usize, wait: Duration) -> Result<usize, KafkaError> {
        let mut events: Vec<DeliveredEvent> = Vec::new();
        let mut parked: Vec<ParkedDelivery> = Vec::new();
        let mut offsets: BTreeMap<(String, i32), i64> = BTreeMap::new();
        let messages = self.reader.poll_batch(max, wait);
        for m in &messages {
            let (topic, partition, offset) = (m.topic().to_string(), m.partition(), m.offset());
            match m.payload().map(EventMessage::decode) {
                Some(Ok(e)) => events.push(e),
                outcome => {
                    let error = match outcome {
                        Some(Err(e)) => e.to_string(),
                        _ => "a message without payload".to_string(),
                    };
                    tracing::warn!(target: "taskpool::kafka", %topic, partition, offset, %error, "parked a message that cannot be applied");
                    parked.push(ParkedDelivery {
                        source: source_of(&topic, partition),
                        offset,
                        key: m.key().map(|k| String::from_utf8_lossy(k).into_owned()),
                        payload: m.payload().map(<[u8]>::to_vec),
                        error,
                    });
                }
            }
            offsets.insert((topic, partition), offset + 1);
        }
        if messages.is_empty() {
            return Ok(0);
        }
        let offsets: Vec<DeliveryOffset> = offsets
            .into_iter()
            .map(|((topic, partition), next_offset)| DeliveryOffset {
                source: source_of(&topic, partition),
                next_offset,
            })
            .collect();
        let delivered = self.projector.apply_delivered(&events, &offsets, &parked)?;
        if delivered.refused > 0 {
            self.refusals.pending = true;
        }
        Ok(delivered.applied)
    }

    /// Follows the topics until `stop`.
    pub fn run(mut self, stop: Arc<AtomicBool>) {
        // The view holds the offsets: after a failure it reassigns from them.
        run_until(
            &stop,
            "tasklist consumer",
            &mut self,
            Self::step,
            Self::assign,
        );
    }

    /// One batch; when there was none, one step of the view's upkeep (and while upkeep
    /// is left, the next poll does not wait).
    fn step(&mut self) -> Result<(), KafkaError> {
        let wait = if self.upkeep {
            Duration::ZERO
        } else {
            Duration::from_millis(100)
        };
        if self.poll_batch(2000, wait)? == 0 {
            self.upkeep = match self.projector.maintain() {
                Ok(more) => more,
                Err(e) => {
                    tracing::warn!(target: "taskpool::kafka", error = %e, "view upkeep failed");
                    false
                }
            };
        }
        Ok(())
    }
}

/// The view's name for a topic partition as a delivery source: `topic/partition`.
fn source_of(topic: &str, partition: i32) -> String {
    format!("{topic}/{partition}")
}

/// The topic partition a delivery source names (the last `/` splits: topic names may
/// not hold one, but be lenient).
fn partition_of(source: &str) -> Option<(String, i32)> {
    let (topic, partition) = source.rsplit_once('/')?;
    Some((topic.to_string(), partition.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partition_round_trips_through_its_source_name() {
        assert_eq!(
            partition_of(&source_of("taskpool.tasks", 2)),
            Some(("taskpool.tasks".to_string(), 2))
        );
        assert_eq!(partition_of("no-partition"), None);
        assert_eq!(partition_of("t/x"), None);
    }
}
