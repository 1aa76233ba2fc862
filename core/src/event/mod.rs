//! Events: facts the task pool has accepted. Delivered at least once; every consumer
//! applies them idempotently by their position (or event id).

mod data_entry;
mod process;
mod task;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use data_entry::{DataEntryAnonymized, DataEntryChanged, DataEntryDeleted, DataEntryEvent};
pub use process::{
    ProcessDefinitionEvent, ProcessInstanceEvent, ProcessInstanceStarted, ProcessStartRequested,
};
pub use task::{
    TaskAssigned, TaskCandidateGroupsChanged, TaskCandidateUsersChanged, TaskCompleted,
    TaskDeleted, TaskEvent, TaskInteractionRequested,
};

use crate::aggregate::AggregateKind;

/// The version of the event shapes written by this build. A stored event with a higher
/// version was written by a newer build and is refused; a lower one is upcast.
pub const EVENT_VERSION: i64 = 1;

/// Any event of any aggregate.
#[derive(Debug, Clone, PartialEq)]
pub enum DomainEvent {
    Task(TaskEvent),
    DataEntry(DataEntryEvent),
    ProcessDefinition(ProcessDefinitionEvent),
    ProcessInstance(ProcessInstanceEvent),
}

/// Why a stored event could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum EventDecodeError {
    #[error("unknown event type `{0}`")]
    UnknownType(String),
    #[error(
        "event type `{event_type}` has version {version}, newer than this build's {EVENT_VERSION}"
    )]
    FutureVersion { event_type: String, version: i64 },
    #[error("event type `{event_type}` version {version} has a bad body: {source}")]
    BadBody {
        event_type: String,
        version: i64,
        #[source]
        source: serde_json::Error,
    },
}

impl DomainEvent {
    pub fn type_name(&self) -> &'static str {
        match self {
            DomainEvent::Task(e) => e.type_name(),
            DomainEvent::DataEntry(e) => e.type_name(),
            DomainEvent::ProcessDefinition(e) => e.type_name(),
            DomainEvent::ProcessInstance(e) => e.type_name(),
        }
    }

    pub fn aggregate_kind(&self) -> AggregateKind {
        match self {
            DomainEvent::Task(_) => AggregateKind::Task,
            DomainEvent::DataEntry(_) => AggregateKind::DataEntry,
            DomainEvent::ProcessDefinition(_) => AggregateKind::ProcessDefinition,
            DomainEvent::ProcessInstance(_) => AggregateKind::ProcessInstance,
        }
    }

    pub fn body_json(&self) -> Result<String, serde_json::Error> {
        match self {
            DomainEvent::Task(e) => e.body_json(),
            DomainEvent::DataEntry(e) => e.body_json(),
            DomainEvent::ProcessDefinition(e) => e.body_json(),
            DomainEvent::ProcessInstance(e) => e.body_json(),
        }
    }

    /// Decodes a stored event, upcasting older versions to the current shape.
    pub fn decode(event_type: &str, version: i64, body: &str) -> Result<Self, EventDecodeError> {
        if version > EVENT_VERSION {
            return Err(EventDecodeError::FutureVersion {
                event_type: event_type.to_string(),
                version,
            });
        }
        // Version 1 is the first shape: there is nothing to upcast yet. When a shape
        // changes, bump EVENT_VERSION and transform older bodies here before decoding.
        let bad_body = |source| EventDecodeError::BadBody {
            event_type: event_type.to_string(),
            version,
            source,
        };
        if let Some(r) = TaskEvent::from_body_str(event_type, body) {
            return r.map(DomainEvent::Task).map_err(bad_body);
        }
        if let Some(r) = DataEntryEvent::from_body_str(event_type, body) {
            return r.map(DomainEvent::DataEntry).map_err(bad_body);
        }
        if let Some(r) = ProcessDefinitionEvent::from_body_str(event_type, body) {
            return r.map(DomainEvent::ProcessDefinition).map_err(bad_body);
        }
        if let Some(r) = ProcessInstanceEvent::from_body_str(event_type, body) {
            return r.map(DomainEvent::ProcessInstance).map_err(bad_body);
        }
        Err(EventDecodeError::UnknownType(event_type.to_string()))
    }
}

impl Serialize for DomainEvent {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            DomainEvent::Task(e) => e.serialize(serializer),
            DomainEvent::DataEntry(e) => e.serialize(serializer),
            DomainEvent::ProcessDefinition(e) => e.serialize(serializer),
            DomainEvent::ProcessInstance(e) => e.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for DomainEvent {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        let (type_name, body) =
            crate::tagged::split_tag(value).map_err(serde::de::Error::custom)?;
        let body = body.to_string();
        DomainEvent::decode(&type_name, EVENT_VERSION, &body).map_err(serde::de::Error::custom)
    }
}

/// What is known about an event beside its body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventMetadata {
    pub time: DateTime<Utc>,
    /// The unit of work (command batch) that produced the event.
    pub correlation_id: Uuid,
    /// The id of the command that produced the event.
    pub causation_id: Uuid,
    /// The acting end user, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The process application that sent the command, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application: Option<String>,
}

/// An event as stored: its global position, identity, aggregate and version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredEvent {
    /// The global position in the event store: increasing in commit order.
    pub position: i64,
    pub event_id: Uuid,
    pub aggregate_kind: AggregateKind,
    pub aggregate_id: String,
    /// The aggregate's version after this event (1 for its first event).
    pub aggregate_version: i64,
    pub event: DomainEvent,
    pub metadata: EventMetadata,
}
