//! Sender properties, as in the reference sender: from a TOML file, then environment
//! variables (`TASKPOOL_SENDER_*`) on top.

use serde::Deserialize;
use taskpool_core::BatchMode;

use crate::accumulator::AccumulatorKind;

/// `sender.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SenderType {
    /// Each command straight to the gateway, as the engine reports it.
    Simple,
    /// Accumulate per engine transaction; send before or after commit.
    #[default]
    Tx,
    /// Accumulate; write a job in the engine transaction; a worker sends it later.
    Txjob,
    /// The application's own [`crate::sender::CommandSender`].
    Custom,
}

/// Per-category switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Switch {
    pub enabled: bool,
}

impl Default for Switch {
    fn default() -> Self {
        Self { enabled: true }
    }
}

/// The `[sender]` table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct SenderProperties {
    /// false: log every command (SENDER-001) instead of sending it.
    pub enabled: bool,
    #[serde(rename = "type")]
    pub sender_type: SenderType,
    /// tx: true sends before the engine commits (inside its unit of work), false after.
    pub send_within_transaction: bool,
    /// true: data entry payloads become a generic JSON map; false: passed through as given.
    pub serialize_payload: bool,
    pub accumulator: AccumulatorKind,
    /// How a unit of commands is applied: all or nothing (default) or each on its own.
    pub batch_mode: BatchMode,
    pub task: Switch,
    pub process_definition: Switch,
    pub process_instance: Switch,
    pub process_variable: Switch,
    /// txjob: the longest wait between two attempts, in milliseconds.
    pub job_max_backoff_ms: u64,
}

impl Default for SenderProperties {
    fn default() -> Self {
        Self {
            enabled: true,
            sender_type: SenderType::Tx,
            send_within_transaction: true,
            serialize_payload: true,
            accumulator: AccumulatorKind::Projecting,
            batch_mode: BatchMode::Atomic,
            task: Switch::default(),
            process_definition: Switch::default(),
            process_instance: Switch::default(),
            process_variable: Switch::default(),
            job_max_backoff_ms: 60_000,
        }
    }
}

/// Reads `TASKPOOL_SENDER_<key>` through `get`, parsed with TOML's value syntax (bools,
/// numbers, and bare words as strings).
fn env_value<T: serde::de::DeserializeOwned>(
    get: &dyn Fn(&str) -> Option<String>,
    key: &str,
) -> Result<Option<T>, PropertiesError> {
    let name = format!("TASKPOOL_SENDER_{key}");
    let Some(raw) = get(&name) else {
        return Ok(None);
    };
    let raw = raw.trim();
    let literal = match raw {
        "true" | "false" => raw.to_string(),
        _ if raw.parse::<f64>().is_ok() => raw.to_string(),
        _ => format!("{raw:?}"),
    };
    let err = |message: String| PropertiesError::Env {
        name: name.clone(),
        message,
    };
    toml::from_str::<std::collections::BTreeMap<String, T>>(&format!("v = {literal}"))
        .map_err(|e| err(e.message().to_string()))?
        .remove("v")
        .map(Some)
        .ok_or_else(|| err("no value".into()))
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    sender: SenderProperties,
}

#[derive(Debug, thiserror::Error)]
pub enum PropertiesError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("bad sender properties: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("environment variable {name}: {message}")]
    Env { name: String, message: String },
}

impl SenderProperties {
    /// Parses the `[sender]` table of a TOML document.
    pub fn from_toml(text: &str) -> Result<Self, PropertiesError> {
        Ok(toml::from_str::<File>(text)?.sender)
    }

    /// Reads a TOML file (when given) and applies `TASKPOOL_SENDER_*` variables.
    pub fn load(path: Option<&std::path::Path>) -> Result<Self, PropertiesError> {
        let mut props = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| PropertiesError::Read {
                    path: p.display().to_string(),
                    source,
                })?;
                Self::from_toml(&text)?
            }
            None => Self::default(),
        };
        props.apply_env(|name| std::env::var(name).ok())?;
        Ok(props)
    }

    /// Applies `TASKPOOL_SENDER_*` overrides from `get`.
    pub fn apply_env(
        &mut self,
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<(), PropertiesError> {
        let get = &get;
        if let Some(v) = env_value(get, "ENABLED")? {
            self.enabled = v;
        }
        if let Some(v) = env_value(get, "TYPE")? {
            self.sender_type = v;
        }
        if let Some(v) = env_value(get, "SEND_WITHIN_TRANSACTION")? {
            self.send_within_transaction = v;
        }
        if let Some(v) = env_value(get, "SERIALIZE_PAYLOAD")? {
            self.serialize_payload = v;
        }
        if let Some(v) = env_value(get, "ACCUMULATOR")? {
            self.accumulator = v;
        }
        if let Some(v) = env_value(get, "BATCH_MODE")? {
            self.batch_mode = v;
        }
        if let Some(v) = env_value(get, "TASK_ENABLED")? {
            self.task.enabled = v;
        }
        if let Some(v) = env_value(get, "PROCESS_DEFINITION_ENABLED")? {
            self.process_definition.enabled = v;
        }
        if let Some(v) = env_value(get, "PROCESS_INSTANCE_ENABLED")? {
            self.process_instance.enabled = v;
        }
        if let Some(v) = env_value(get, "PROCESS_VARIABLE_ENABLED")? {
            self.process_variable.enabled = v;
        }
        Ok(())
    }

    /// Logs SENDER-011 … SENDER-018: which command categories will be distributed.
    pub fn log_startup(&self) {
        let on = |s: &Switch| self.enabled && s.enabled;
        if on(&self.task) {
            tracing::info!(target: "sender", code = "SENDER-011", "Taskpool task commands will be distributed over command bus.");
        } else {
            tracing::info!(target: "sender", code = "SENDER-012", "Taskpool task command distribution is disabled by property.");
        }
        if on(&self.process_definition) {
            tracing::info!(target: "sender", code = "SENDER-013", "Taskpool process definition commands will be distributed over command bus.");
        } else {
            tracing::info!(target: "sender", code = "SENDER-014", "Taskpool process definition command distribution is disabled by property.");
        }
        if on(&self.process_instance) {
            tracing::info!(target: "sender", code = "SENDER-015", "Taskpool process instance commands will be distributed over command bus.");
        } else {
            tracing::info!(target: "sender", code = "SENDER-016", "Taskpool process instance command distribution is disabled by property.");
        }
        if on(&self.process_variable) {
            tracing::info!(target: "sender", code = "SENDER-017", "Taskpool process variable commands will be distributed over command bus.");
        } else {
            tracing::info!(target: "sender", code = "SENDER-018", "Taskpool process variable command distribution is disabled by property.");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_then_env() {
        let mut p = SenderProperties::from_toml(
            "[sender]\ntype = \"txjob\"\nsend-within-transaction = false\n[sender.task]\nenabled = false\n",
        )
        .expect("parses");
        assert_eq!(p.sender_type, SenderType::Txjob);
        assert!(!p.send_within_transaction);
        assert!(!p.task.enabled);
        p.apply_env(|n| match n {
            "TASKPOOL_SENDER_TYPE" => Some("simple".into()),
            "TASKPOOL_SENDER_ENABLED" => Some("false".into()),
            _ => None,
        })
        .expect("env");
        assert_eq!(p.sender_type, SenderType::Simple);
        assert!(!p.enabled);
    }

    #[test]
    fn bad_properties_are_named() {
        let err = SenderProperties::from_toml("[sender]\ntype = \"pigeon\"\n").expect_err("bad");
        assert!(err.to_string().contains("pigeon"), "{err}");
        let err = SenderProperties::from_toml("[sender]\nspeed = 3\n").expect_err("bad");
        assert!(err.to_string().contains("speed"), "{err}");
        let mut p = SenderProperties::default();
        let err = p
            .apply_env(|n| (n == "TASKPOOL_SENDER_ENABLED").then(|| "maybe".into()))
            .expect_err("bad");
        assert!(err.to_string().contains("TASKPOOL_SENDER_ENABLED"), "{err}");
    }
}
