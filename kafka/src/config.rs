//! Where the brokers are, what the topics are called, and librdkafka settings passed
//! through as they are (SASL / TLS for Event Hubs or Confluent Cloud).

use std::collections::BTreeMap;

#[cfg(feature = "client")]
use rdkafka::ClientConfig;
use serde::Deserialize;

/// The topics (names configurable).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Topics {
    /// Task events, keyed by task id.
    pub tasks: String,
    /// Data entry events, keyed by entry type and id.
    pub data_entries: String,
    /// Process definition and instance events, keyed by their id.
    pub processes: String,
    /// Interaction requests for the process applications, keyed by application name.
    pub interactions: String,
}

impl Default for Topics {
    fn default() -> Self {
        Self {
            tasks: "taskpool.tasks".into(),
            data_entries: "taskpool.data-entries".into(),
            processes: "taskpool.processes".into(),
            interactions: "taskpool.interactions".into(),
        }
    }
}

impl Topics {
    /// The event topics a tasklist node reads.
    pub fn event_topics(&self) -> [&str; 3] {
        [&self.tasks, &self.data_entries, &self.processes]
    }
}

/// The Kafka settings of a node.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct KafkaConfig {
    /// `bootstrap.servers`.
    pub brokers: String,
    pub topics: Topics,
    /// Partitions of topics this node creates (when they do not exist yet).
    pub partitions: i32,
    /// Any librdkafka property (`security.protocol`, `sasl.mechanism`,
    /// `sasl.username`, `ssl.ca.location`, ...), applied to every client.
    pub properties: BTreeMap<String, String>,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        Self {
            brokers: "127.0.0.1:9092".into(),
            topics: Topics::default(),
            partitions: 3,
            properties: BTreeMap::new(),
        }
    }
}

impl KafkaConfig {
    /// The largest event body a publisher can send: the producer's `message.max.bytes`
    /// (librdkafka's default 1,000,000) less room for the message's envelope (its
    /// metadata and identity). An event over it is refused when it is made.
    pub fn max_event_bytes(&self) -> usize {
        let message = self
            .properties
            .get("message.max.bytes")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(1_000_000);
        message.saturating_sub(16 * 1024)
    }

    /// A client configuration with the brokers and the pass-through properties.
    #[cfg(feature = "client")]
    pub fn client(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers);
        for (k, v) in &self.properties {
            c.set(k, v);
        }
        c
    }
}
