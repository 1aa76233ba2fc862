//! What travels on the topics: committed events (an envelope with the stored type and
//! version, so a reader can tell an unknown type or a future version from garbage),
//! interaction requests, and tasklist nodes' refusals of events whose aggregate another
//! application owns.

use serde::{Deserialize, Serialize};
use taskpool_core::aggregate::AggregateKind;
use taskpool_core::event::{DomainEvent, EventMetadata};
use taskpool_core::view::deliveries::{DeliveredEvent, RefusedDelivery};
use taskpool_core::Command;
use taskpool_core::StoredEvent;
use uuid::Uuid;

use crate::config::Topics;

/// A committed event on its topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventMessage {
    pub event_id: Uuid,
    pub aggregate_kind: String,
    pub aggregate_id: String,
    pub aggregate_version: i64,
    /// The position in the publishing application's store.
    pub origin_position: i64,
    /// The publishing process application's store (its name).
    pub origin: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub version: i64,
    /// The event body, as stored.
    pub body: serde_json::Value,
    pub metadata: EventMetadata,
}

/// Why a message could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("not an event message: {0}")]
    NotJson(String),
    #[error("unknown aggregate kind `{0}`")]
    UnknownKind(String),
    #[error("{0}")]
    Event(String),
}

impl EventMessage {
    pub fn of(event: &StoredEvent, origin: &str) -> Result<Self, serde_json::Error> {
        Ok(Self {
            event_id: event.event_id,
            aggregate_kind: event.aggregate_kind.as_str().to_string(),
            aggregate_id: event.aggregate_id.clone(),
            aggregate_version: event.aggregate_version,
            origin_position: event.position,
            origin: origin.to_string(),
            event_type: event.event.type_name().to_string(),
            version: taskpool_core::event::EVENT_VERSION,
            body: serde_json::from_str(&event.event.body_json()?)?,
            metadata: event.metadata.clone(),
        })
    }

    /// The topic an event goes to.
    pub fn topic(kind: AggregateKind, topics: &Topics) -> &str {
        match kind {
            AggregateKind::Task => &topics.tasks,
            AggregateKind::DataEntry => &topics.data_entries,
            AggregateKind::ProcessDefinition | AggregateKind::ProcessInstance => &topics.processes,
        }
    }

    /// Decodes a payload into a stored event with its origin (its position is the
    /// origin's; a tasklist node renumbers).
    pub fn decode(payload: &[u8]) -> Result<DeliveredEvent, DecodeError> {
        let m: EventMessage =
            serde_json::from_slice(payload).map_err(|e| DecodeError::NotJson(e.to_string()))?;
        let kind = AggregateKind::parse(&m.aggregate_kind)
            .ok_or_else(|| DecodeError::UnknownKind(m.aggregate_kind.clone()))?;
        let event = DomainEvent::decode(&m.event_type, m.version, &m.body.to_string())
            .map_err(|e| DecodeError::Event(e.to_string()))?;
        Ok(DeliveredEvent {
            origin: m.origin,
            event: StoredEvent {
                position: m.origin_position,
                event_id: m.event_id,
                aggregate_kind: kind,
                aggregate_id: m.aggregate_id,
                aggregate_version: m.aggregate_version,
                event,
                metadata: m.metadata,
            },
        })
    }
}

/// What travels on the interactions topic, keyed by the application it is for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum InteractionTopicMessage {
    /// A user's request, from a tasklist node.
    Request(Box<InteractionMessage>),
    /// A tasklist node refused one of the application's events.
    Refusal(RefusalMessage),
}

/// A tasklist node did not apply an event of this application: another application
/// owns its aggregate (the first to publish it). Every tasklist node sends its own; the
/// application handles each event once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefusalMessage {
    pub refused_event_id: Uuid,
    /// The application whose event was refused (the message's key).
    pub refused_application: String,
    pub aggregate_kind: String,
    pub aggregate_id: String,
    pub aggregate_version: i64,
    pub event_type: String,
    /// The application that owns the aggregate.
    pub owner: String,
    /// What the application is told.
    pub message: String,
}

impl RefusalMessage {
    pub fn of(r: &RefusedDelivery) -> Self {
        Self {
            refused_event_id: r.event_id,
            refused_application: r.origin.clone(),
            aggregate_kind: r.aggregate_kind.as_str().to_string(),
            aggregate_id: r.aggregate_id.clone(),
            aggregate_version: r.aggregate_version,
            event_type: r.event_type.clone(),
            owner: r.owner.clone(),
            message: r.message(),
        }
    }
}

/// A user's request (claim, complete, ..., start a process) on its way to the owning
/// application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InteractionMessage {
    /// Unique per request: the application handles it with this idempotency key, so a
    /// redelivery is answered from the stored outcome.
    pub command_id: Uuid,
    pub application: String,
    pub user: String,
    pub command: Command,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_unknown_types_and_future_versions_are_told_apart() {
        assert!(matches!(
            EventMessage::decode(b"\x00not json"),
            Err(DecodeError::NotJson(_))
        ));
        let mut m = serde_json::json!({
            "eventId": Uuid::nil(), "aggregateKind": "task", "aggregateId": "t1", "aggregateVersion": 1,
            "originPosition": 1, "origin": "shop", "type": "TaskExploded", "version": 1, "body": {},
            "metadata": {"time": "2026-01-01T00:00:00Z", "correlationId": Uuid::nil(), "causationId": Uuid::nil()}
        });
        let err = EventMessage::decode(m.to_string().as_bytes()).expect_err("unknown type");
        assert!(err.to_string().contains("TaskExploded"), "{err}");
        m["type"] = "TaskAssigned".into();
        m["version"] = 99.into();
        let err = EventMessage::decode(m.to_string().as_bytes()).expect_err("future version");
        assert!(err.to_string().contains("99"), "{err}");
    }

    #[test]
    fn requests_and_refusals_are_told_apart_on_the_interactions_topic() {
        let request = InteractionTopicMessage::Request(Box::new(InteractionMessage {
            command_id: Uuid::from_u128(1),
            application: "shop".into(),
            user: "bob".into(),
            command: serde_json::from_value(serde_json::json!({
                "type": "claimInteraction", "id": "t1", "user": "bob"
            }))
            .expect("a command"),
        }));
        let refusal = InteractionTopicMessage::Refusal(RefusalMessage::of(&RefusedDelivery {
            event_id: Uuid::from_u128(2),
            origin: "hr".into(),
            aggregate_kind: AggregateKind::Task,
            aggregate_id: "collide-1".into(),
            aggregate_version: 1,
            event_type: "TaskCreated".into(),
            owner: "shop".into(),
        }));
        for m in [request, refusal] {
            let bytes = serde_json::to_vec(&m).expect("json");
            let back: InteractionTopicMessage = serde_json::from_slice(&bytes).expect("read");
            assert_eq!(back, m);
        }
        // Neither, or a mix of both: refused.
        for junk in [
            serde_json::json!({"commandId": Uuid::nil()}),
            serde_json::json!({"refusedEventId": Uuid::nil(), "commandId": Uuid::nil()}),
        ] {
            assert!(serde_json::from_value::<InteractionTopicMessage>(junk).is_err());
        }
    }
}
