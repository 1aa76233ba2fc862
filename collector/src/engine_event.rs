//! What a process engine reports inside one of its transactions. Engine adapters
//! translate their engine's own events into these.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use taskpool_core::command::UpdateTaskAttributes;
use taskpool_core::field_path;
use taskpool_core::model::{ProcessDefinition, Task};

/// Defines [`EngineEvent`] (`{"type": "taskCreated", ...}` on the wire) and its decoder:
/// the body is decoded as the externally tagged twin `Wire` under path tracking, so a bad
/// field deep inside an event is named (`events[0].task.createTime`), which serde's
/// internally tagged decoding cannot do.
macro_rules! engine_events {
    ($( $(#[$vmeta:meta])* $variant:ident { $( $field:ident : $ty:ty ),* $(,)? } ),* $(,)?) => {
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[serde(tag = "type", rename_all = "camelCase", rename_all_fields = "camelCase")]
        pub enum EngineEvent {
            $( $(#[$vmeta])* $variant { $( $field: $ty ),* }, )*
        }

        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase", rename_all_fields = "camelCase", deny_unknown_fields)]
        enum Wire {
            $( $variant { $( $field: $ty ),* }, )*
        }

        impl From<Wire> for EngineEvent {
            fn from(wire: Wire) -> Self {
                match wire {
                    $( Wire::$variant { $( $field ),* } => EngineEvent::$variant { $( $field ),* }, )*
                }
            }
        }
    };
}

engine_events! {
    TaskCreated {
        task: Box<Task>,
    },
    TaskAssigned {
        task_id: String,
        assignee: Option<String>,
    },
    CandidateUsersAdded {
        task_id: String,
        users: BTreeSet<String>,
    },
    CandidateUsersRemoved {
        task_id: String,
        users: BTreeSet<String>,
    },
    CandidateGroupsAdded {
        task_id: String,
        groups: BTreeSet<String>,
    },
    CandidateGroupsRemoved {
        task_id: String,
        groups: BTreeSet<String>,
    },
    TaskAttributesUpdated {
        update: UpdateTaskAttributes,
    },
    TaskCompleted {
        task_id: String,
    },
    TaskDeleted {
        task_id: String,
        reason: Option<String>,
    },
    VariableCreated {
        instance_id: String,
        name: String,
        value: serde_json::Value,
    },
    VariableUpdated {
        instance_id: String,
        name: String,
        value: serde_json::Value,
    },
    VariableDeleted {
        instance_id: String,
        name: String,
    },
    ProcessStarted {
        instance_id: String,
        definition_id: String,
        definition_key: String,
        application_name: String,
        business_key: Option<String>,
        started_by: Option<String>,
    },
    ProcessEnded {
        instance_id: String,
        cancelled: bool,
        reason: Option<String>,
    },
    ProcessDefinitionDeployed {
        definition: ProcessDefinition,
    },
    /// The engine did what a user requested (sent with the engine events it caused).
    RequestPerformed {
        task_id: String,
        request_id: uuid::Uuid,
    },
    /// The engine refused what a user requested, and why (for the user).
    RequestRejected {
        task_id: String,
        request_id: uuid::Uuid,
        reason: String,
    },
    /// The engine started the process a user asked for (sent with the engine events of
    /// the start: `processStarted`, its variables, its first tasks).
    StartPerformed {
        definition_id: String,
        request_id: uuid::Uuid,
        instance_id: String,
    },
    /// The engine refused to start the process a user asked for, and why.
    StartRejected {
        definition_id: String,
        request_id: uuid::Uuid,
        reason: String,
    },
}

impl<'de> Deserialize<'de> for EngineEvent {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = serde_json::Value::deserialize(deserializer)?;
        let serde_json::Value::Object(mut map) = value else {
            return Err(D::Error::custom(
                "an engine event is a JSON object with a `type`",
            ));
        };
        let tag = match map.remove("type") {
            Some(serde_json::Value::String(tag)) => tag,
            Some(_) => return Err(D::Error::custom("`type` must be a string")),
            None => return Err(D::Error::missing_field("type")),
        };
        let wire = serde_json::Value::Object(serde_json::Map::from_iter([(
            tag,
            serde_json::Value::Object(map),
        )]));
        serde_path_to_error::deserialize::<_, Wire>(wire)
            .map(EngineEvent::from)
            .map_err(|e| {
                // The first segment is the tag itself.
                let path = e.path().to_string();
                let inner = path.split_once('.').map(|(_, rest)| rest).unwrap_or("");
                D::Error::custom(field_path::nested(inner, e.inner()))
            })
    }
}
