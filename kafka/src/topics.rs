//! Creating the topics when they do not exist, and finding their partitions.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::types::RDKafkaErrorCode;

use crate::{KafkaConfig, KafkaError};

/// Creates the event and interaction topics (an existing topic is fine).
pub fn ensure_topics(config: &KafkaConfig) -> Result<(), KafkaError> {
    let admin: AdminClient<DefaultClientContext> = config.client().create()?;
    let t = &config.topics;
    let names = [&t.tasks, &t.data_entries, &t.processes, &t.interactions];
    let new: Vec<NewTopic> = names
        .iter()
        .map(|n| NewTopic::new(n, config.partitions, TopicReplication::Fixed(1)))
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let results = futures::executor::block_on(admin.create_topics(&new, &options))?;
    for r in results {
        match r {
            Ok(name) => tracing::info!(target: "taskpool::kafka", topic = %name, "created topic"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => {
                return Err(KafkaError::Other(format!(
                    "cannot create topic {name}: {code}"
                )))
            }
        }
    }
    Ok(())
}

/// A consumer for manual assignment: offsets are kept by the caller (never committed
/// to the broker), and idle fetches return within 10 ms (a live inbox wants changes
/// within milliseconds, not librdkafka's default half second). The group id is unique
/// and unused: no consumer group splits the work.
pub fn assigned_consumer(config: &KafkaConfig, name: &str) -> Result<BaseConsumer, KafkaError> {
    Ok(config
        .client()
        .set("group.id", format!("{name}-{}", uuid::Uuid::new_v4()))
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("fetch.wait.max.ms", "10")
        .create()?)
}

/// The partitions of `topic`, waiting up to `patience` for it to exist.
pub fn wait_for_partitions(
    consumer: &BaseConsumer,
    topic: &str,
    patience: Duration,
) -> Result<Vec<i32>, KafkaError> {
    let deadline = std::time::Instant::now() + patience;
    loop {
        match partitions(consumer, topic, Duration::from_secs(5)) {
            Ok(p) => return Ok(p),
            Err(e) if std::time::Instant::now() < deadline => {
                tracing::info!(target: "taskpool::kafka", %topic, error = %e, "waiting for the topic");
                std::thread::sleep(Duration::from_millis(500));
            }
            Err(e) => return Err(e),
        }
    }
}

/// The partitions of `topic` (waiting up to `timeout` for the metadata).
pub fn partitions(
    consumer: &BaseConsumer,
    topic: &str,
    timeout: Duration,
) -> Result<Vec<i32>, KafkaError> {
    let metadata = consumer.fetch_metadata(Some(topic), timeout)?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic)
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    if partitions.is_empty() {
        return Err(KafkaError::NoPartitions {
            topic: topic.to_string(),
        });
    }
    Ok(partitions)
}
