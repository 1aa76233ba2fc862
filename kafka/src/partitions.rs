//! What both Kafka consumers share (the tasklist node's and the process application's):
//! every partition of their topics assigned by hand at the offsets they stored (no
//! consumer group: each reader reads everything), batches polled waiting only for the
//! first message, and the loop that, after a failure, pauses and reassigns from the
//! stored offsets (what was applied is never read again; what was not, is).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::BorrowedMessage;
use rdkafka::{Offset, TopicPartitionList};

use crate::topics::{assigned_consumer, wait_for_partitions};
use crate::{KafkaConfig, KafkaError};

/// Reads every partition of some topics from offsets its owner stores.
pub struct PartitionReader {
    consumer: BaseConsumer,
    topics: Vec<String>,
}

impl PartitionReader {
    /// A reader of `topics`; `name` names the client (and its throwaway group id).
    pub fn new(config: &KafkaConfig, name: &str, topics: Vec<String>) -> Result<Self, KafkaError> {
        Ok(Self {
            consumer: assigned_consumer(config, name)?,
            topics,
        })
    }

    /// Assigns every partition at the next offset `stored(topic, partition)` gives, or
    /// at the beginning (waiting up to 30 s for each topic to exist).
    pub fn assign(&self, stored: impl Fn(&str, i32) -> Option<i64>) -> Result<(), KafkaError> {
        let mut list = TopicPartitionList::new();
        for topic in &self.topics {
            for p in wait_for_partitions(&self.consumer, topic, Duration::from_secs(30))? {
                let offset = stored(topic, p)
                    .map(Offset::Offset)
                    .unwrap_or(Offset::Beginning);
                list.add_partition_offset(topic, p, offset)?;
            }
        }
        self.consumer.assign(&list)?;
        Ok(())
    }

    /// Up to `max` messages: waits up to `wait` for the first, then takes only what is
    /// already there. A consumer error ends the batch early (logged; the next poll goes
    /// on from where the consumer is).
    pub fn poll_batch(&self, max: usize, wait: Duration) -> Vec<BorrowedMessage<'_>> {
        let mut out = Vec::new();
        let mut timeout = wait;
        while out.len() < max {
            let Some(result) = self.consumer.poll(timeout) else {
                break;
            };
            timeout = Duration::ZERO;
            match result {
                Ok(m) => out.push(m),
                Err(e) => {
                    tracing::warn!(target: "taskpool::kafka", error = %e, "consumer error");
                    break;
                }
            }
        }
        out
    }
}

/// Runs `step` on `owner` until `stop`; after a failure, pauses and calls `reassign`
/// (which assigns again from the owner's stored offsets).
pub fn run_until<T>(
    stop: &AtomicBool,
    what: &str,
    owner: &mut T,
    mut step: impl FnMut(&mut T) -> Result<(), KafkaError>,
    mut reassign: impl FnMut(&mut T) -> Result<(), KafkaError>,
) {
    while !stop.load(Ordering::Relaxed) {
        if let Err(e) = step(owner) {
            tracing::error!(target: "taskpool::kafka", error = %e, "{what} failed; retrying");
            std::thread::sleep(Duration::from_millis(500));
            if let Err(e) = reassign(owner) {
                tracing::error!(target: "taskpool::kafka", error = %e, "{what} cannot reassign");
            }
        }
    }
}
