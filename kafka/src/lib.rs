//! Distribution over Kafka (the seeds' scenario "without Axon Server"): process
//! applications keep their own event store and publish each committed event
//! ([`publisher`]); tasklist nodes read every partition themselves and project into their
//! own view, with the offsets stored in the same transaction as the rows
//! ([`consumer`]); interaction requests travel back to the owning application over a
//! topic keyed by application name ([`interactions`]). The core stays free of Kafka.
//!
//! Without the `client` feature (on by default) only [`config`] is built: the settings
//! types, with no librdkafka linked.

pub mod config;
#[cfg(feature = "client")]
pub mod consumer;
#[cfg(feature = "client")]
pub mod interactions;
#[cfg(feature = "client")]
pub mod message;
#[cfg(feature = "client")]
pub mod parked;
#[cfg(feature = "client")]
pub mod partitions;
#[cfg(feature = "client")]
pub mod publisher;
#[cfg(feature = "client")]
pub mod test_broker;
#[cfg(feature = "client")]
pub mod topics;

pub use config::{KafkaConfig, Topics};
#[cfg(feature = "client")]
pub use consumer::TasklistConsumer;
#[cfg(feature = "client")]
pub use interactions::{InteractionConsumer, InteractionRouter};
#[cfg(feature = "client")]
pub use publisher::{Publisher, PublisherStatus};

/// Why a Kafka part failed.
#[cfg(feature = "client")]
#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    #[error("kafka: {0}")]
    Client(#[from] rdkafka::error::KafkaError),
    #[error("store: {0}")]
    Store(#[from] taskpool_core::event_store::StoreError),
    #[error("view: {0}")]
    Projector(#[from] taskpool_core::projector::ProjectorError),
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("gateway: {0}")]
    Gateway(#[from] taskpool_core::command_gateway::GatewayError),
    #[error("encoding: {0}")]
    Json(#[from] serde_json::Error),
    #[error("topic {topic} has no partitions (does it exist?)")]
    NoPartitions { topic: String },
    #[error("{0}")]
    Other(String),
}
