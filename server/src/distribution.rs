//! The Kafka roles of a node (built with the `kafka` feature, on by default): a
//! process-application node publishes its events and follows its interactions; a
//! tasklist node projects every application's events from Kafka into its own view and
//! routes user actions to their application.

use std::sync::{Arc, Mutex};

use taskpool_kafka::{InteractionRouter, PublisherStatus};
use taskpool_node::node::{InteractionRoute, NodeOptions};
use taskpool_node::TaskpoolNode;

use crate::config::{Role, ServerConfig};

/// Before the node starts: the topics exist, and a tasklist node's view is written by
/// its consumer and its actions routed.
pub async fn prepare(config: &ServerConfig, options: &mut NodeOptions) -> anyhow::Result<()> {
    if config.role == Role::Single {
        return Ok(());
    }
    let kafka = config.kafka.clone();
    tokio::task::spawn_blocking(move || taskpool_kafka::topics::ensure_topics(&kafka)).await??;
    if config.role == Role::ProcessApplication {
        // What the publisher cannot send is refused at the door, not stalled on later.
        options.max_event_bytes = Some(config.kafka.max_event_bytes());
    }
    if config.role == Role::Tasklist {
        options.follow_store = false;
        options.router = Some(Arc::new(KafkaRoute(InteractionRouter::new(&config.kafka)?)));
    }
    Ok(())
}

/// After the node started: the role's Kafka threads, adopted by the node. Returns the
/// publisher's status (a process-application node).
pub async fn start(
    config: &ServerConfig,
    node: &Arc<TaskpoolNode>,
) -> anyhow::Result<Option<Arc<Mutex<PublisherStatus>>>> {
    match config.role {
        Role::Single => Ok(None),
        Role::ProcessApplication => {
            let (node2, kafka, app) = (
                node.clone(),
                config.kafka.clone(),
                config.application.clone(),
            );
            let p = tokio::task::spawn_blocking(move || {
                taskpool_kafka::Publisher::new(&kafka, &app, &node2.data_dir().join("kafka.db"))
            })
            .await??;
            let status = p.status();
            let (store, commits, stop) = (
                node.store().clone(),
                node.gateway().commit_signal(),
                node.stop_flag(),
            );
            node.adopt_thread(
                std::thread::Builder::new()
                    .name("publisher".into())
                    .spawn(move || p.run(&store, commits, stop))?,
            );
            let (node2, kafka, app) = (
                node.clone(),
                config.kafka.clone(),
                config.application.clone(),
            );
            let consumer = tokio::task::spawn_blocking(move || {
                taskpool_kafka::InteractionConsumer::new(
                    &kafka,
                    &app,
                    node2.gateway().clone(),
                    &node2.data_dir().join("kafka.db"),
                    Some(node2.outcome_log().clone()),
                )
            })
            .await??;
            let stop = node.stop_flag();
            node.adopt_thread(
                std::thread::Builder::new()
                    .name("interactions".into())
                    .spawn(move || consumer.run(stop))?,
            );
            Ok(Some(status))
        }
        Role::Tasklist => {
            let (node2, kafka) = (node.clone(), config.kafka.clone());
            let consumer = tokio::task::spawn_blocking(move || {
                taskpool_kafka::TasklistConsumer::new(
                    &kafka,
                    node2.view(),
                    Some(node2.view_signal()),
                )
            })
            .await??;
            let stop = node.stop_flag();
            node.adopt_thread(
                std::thread::Builder::new()
                    .name("tasklist-consumer".into())
                    .spawn(move || consumer.run(stop))?,
            );
            Ok(None)
        }
    }
}

/// User actions of a tasklist node go to their application over Kafka.
struct KafkaRoute(InteractionRouter);

impl InteractionRoute for KafkaRoute {
    fn route(
        &self,
        application: &str,
        user: &str,
        command: taskpool_core::Command,
        request_id: uuid::Uuid,
    ) -> Result<(), String> {
        futures::executor::block_on(self.0.route(application, user, command, request_id))
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}
