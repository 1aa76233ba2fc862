//! Distribution over Kafka (the seeds' scenario "without Axon Server"): process
//! applications keep their own event store and publish each committed event
//! ([`publisher`]); tasklist nodes read every partition themselves and project into their
//! own view, with the offsets stored in the same transaction as the rows
//! ([`consumer`]); interaction requests travel back to the owning application over a
//! topic keyed by application name ([`interactions`]). The core stays free of Kafka.

pub mod config;
pub mod consumer;
pub mod interactions;
pub mod message;
pub mod publisher;
pub mod test_broker;
pub mod topics;

pub use config::{KafkaConfig, Topics};
pub use consumer::TasklistConsumer;
pub use interactions::{InteractionConsumer, InteractionRouter};
pub use publisher::{Publisher, PublisherStatus};

/// Why a Kafka part failed.
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
