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

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    sender: SenderProperties,
}

#[derive(Debug, thiserror::Error)]
pub enum PropertiesError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
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
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), PropertiesError> {
        fn parse<T: serde::de::DeserializeOwned>(name: &str, raw: &str) -> Result<T, PropertiesError> {
            // Reuse TOML's value syntax: bools, numbers and bare words (as strings).
            let quoted = match raw {
                "true" | "false" => raw.to_string(),
                _ if raw.parse::<f64>().is_ok() => raw.to_string(),
                _ => format!("{raw:?}"),
            };
            toml::from_str::<std::collections::BTreeMap<String, T>>(&format!("v = {quoted}"))
                .map_err(|e| PropertiesError::Env { name: name.to_string(), message: e.message().to_string() })?
                .remove("v")
                .ok_or_else(|| PropertiesError::Env { name: name.to_string(), message: "no value".into() })
        }
        let set = |key: &str, apply: &mut dyn FnMut(&str, &str) -> Result<(), PropertiesError>| {
            let name = format!("TASKPOOL_SENDER_{key}");
            match get(&name) {
                Some(raw) => apply(&name, raw.trim()),
                None => Ok(()),
            }
        };
        set("ENABLED", &mut |n, v| Ok(self.enabled = parse(n, v)?))?;
        set("TYPE", &mut |n, v| Ok(self.sender_type = parse(n, v)?))?;
        set("SEND_WITHIN_TRANSACTION", &mut |n, v| Ok(self.send_within_transaction = parse(n, v)?))?;
        set("SERIALIZE_PAYLOAD", &mut |n, v| Ok(self.serialize_payload = parse(n, v)?))?;
        set("ACCUMULATOR", &mut |n, v| Ok(self.accumulator = parse(n, v)?))?;
        set("TASK_ENABLED", &mut |n, v| Ok(self.task.enabled = parse(n, v)?))?;
        set("PROCESS_DEFINITION_ENABLED", &mut |n, v| Ok(self.process_definition.enabled = parse(n, v)?))?;
        set("PROCESS_INSTANCE_ENABLED", &mut |n, v| Ok(self.process_instance.enabled = parse(n, v)?))?;
        set("PROCESS_VARIABLE_ENABLED", &mut |n, v| Ok(self.process_variable.enabled = parse(n, v)?))?;
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
        let err = p.apply_env(|n| (n == "TASKPOOL_SENDER_ENABLED").then(|| "maybe".into())).expect_err("bad");
        assert!(err.to_string().contains("TASKPOOL_SENDER_ENABLED"), "{err}");
    }
}
