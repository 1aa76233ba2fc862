//! What an operator can set: a TOML file, `TASKPOOL_*` environment variables and CLI
//! flags, in rising order of precedence (the flags are applied by the binary). Every
//! setting has a default that runs out of the box.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The server's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct ServerConfig {
    /// Where the event store, the view, the outcome log and the token secret live.
    pub data_dir: PathBuf,
    /// Where to listen (loopback by default).
    pub listen: SocketAddr,
    /// Also run the example process application in-process (`demo` is its earlier
    /// name, still read).
    #[serde(alias = "demo")]
    pub example: bool,
    /// The example application: new process instances per second.
    #[serde(alias = "demo-rate")]
    pub example_rate: f64,
    /// The largest request body in bytes.
    pub max_body_bytes: usize,
    /// How long a user's request waits for the owning application's answer, in
    /// seconds: then it expires (`?wait=true` answers 504 naming the application).
    pub request_expiry_secs: u64,
    /// What an update of a deleted data entry does: `lax` (it comes back) or `strict`
    /// (refused).
    pub data_entry_deletion: taskpool_core::command_gateway::DeletionStrategy,
    /// Host names the server answers to (default: the listen address and the loopback
    /// names; on every interface, any name unless this is set).
    pub allowed_hosts: Vec<String>,
    /// Origins (`https://inbox.example.com`) whose pages may send state-changing
    /// requests, besides the server's own.
    pub allowed_origins: Vec<String>,
    /// How many event positions of changes the live change log keeps: a stream resuming
    /// from before gets a fresh snapshot marked `reset`.
    pub change_retention: i64,
    /// Days completed tasks (and their timelines) stay in the history.
    pub history_days: i64,
    /// Seconds a live stream lives before it ends (the client reconnects and resumes,
    /// showing its token again: a stream outlives no token by more than this).
    pub max_stream_secs: u64,
    /// Live streams one user may hold open at once (tasks and outcomes together).
    pub max_streams_per_user: usize,
    /// Live streams the node holds open at once.
    pub max_streams: usize,
    /// Seconds between keep-alive comments on event streams.
    pub keep_alive_secs: u64,
    /// The built web UI to serve at `/` (none: `/` says where to find it).
    pub ui_dir: Option<PathBuf>,
    /// What this node is in a distributed setup (see [`Role`]).
    pub role: Role,
    /// The process application this node runs (`process-application` role and demo).
    pub application: String,
    /// Brokers, topics and librdkafka settings (roles other than `single`).
    pub kafka: taskpool_kafka::KafkaConfig,
    pub auth: AuthConfig,
}

/// A node's part in the deployment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Everything in one process (embedded SQLite): the default.
    #[default]
    Single,
    /// Core, event store, publisher to Kafka, interaction consumer, with the example
    /// process application as its engine.
    ProcessApplication,
    /// Kafka consumer, own view, tasklist API; actions go to the owning application.
    Tasklist,
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "single" => Ok(Role::Single),
            "process-application" => Ok(Role::ProcessApplication),
            "tasklist" => Ok(Role::Tasklist),
            other => Err(format!(
                "unknown role `{other}`: single, process-application or tasklist"
            )),
        }
    }
}

/// How callers prove who they are.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct AuthConfig {
    /// The HS256 shared secret. None: the data directory's own (generated on first
    /// start, in `DATA_DIR/jwt-secret`).
    pub hs256_secret: Option<String>,
    /// A PEM file with an RS256 public key: tokens signed by an identity provider.
    pub rs256_public_key_file: Option<PathBuf>,
    /// Development mode: requests without a token act as this user.
    pub dev_user: Option<String>,
    /// Development mode: a static users file (`[users.alice] groups = ["g"]`) giving
    /// the groups of `dev_user` and of users logging in through `/api/v1/dev/token`.
    pub users_file: Option<PathBuf>,
    /// Expected `iss` claim, if any: then every token must carry it.
    pub issuer: Option<String>,
    /// Expected `aud` claim, if any: then every token must carry it. Without it a
    /// token's `aud` is not judged (identity providers set one).
    pub audience: Option<String>,
    /// Whether user tokens may be HS256 (the shared secret). With an identity provider
    /// (RS256) configured, set it to false: only the provider signs users in, the shared
    /// secret then only serves process applications.
    pub hs256_user_tokens: bool,
    /// Groups whose members read every command outcome (operators); others read those
    /// of their own actions and of the tasks they may see.
    pub operator_groups: Vec<String>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            hs256_secret: None,
            rs256_public_key_file: None,
            dev_user: None,
            users_file: None,
            issuer: None,
            audience: None,
            hs256_user_tokens: true,
            operator_groups: Vec::new(),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            example: false,
            example_rate: 0.2,
            max_body_bytes: 10 * 1024 * 1024,
            request_expiry_secs: 30,
            data_entry_deletion: Default::default(),
            keep_alive_secs: 15,
            change_retention: taskpool_node::node::CHANGE_RETENTION,
            history_days: taskpool_node::node::HISTORY_DAYS,
            max_stream_secs: 3600,
            max_streams_per_user: 16,
            max_streams: 10_000,
            allowed_hosts: Vec::new(),
            allowed_origins: Vec::new(),
            ui_dir: None,
            role: Role::Single,
            application: "example".into(),
            kafka: taskpool_kafka::KafkaConfig::default(),
            auth: AuthConfig::default(),
        }
    }
}

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Toml {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("environment variable {name}: {message}")]
    Env { name: String, message: String },
}

impl ServerConfig {
    /// Reads the TOML file (if any), then applies `TASKPOOL_*` variables from `env`.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                toml::from_str(&text).map_err(|source| ConfigError::Toml {
                    path: path.to_path_buf(),
                    source,
                })?
            }
            None => ServerConfig::default(),
        };
        for (name, value) in env {
            config.apply_env(&name, value)?;
        }
        Ok(config)
    }

    fn apply_env(&mut self, name: &str, value: String) -> Result<(), ConfigError> {
        let bad = |message: String| ConfigError::Env {
            name: name.to_string(),
            message,
        };
        match name {
            "TASKPOOL_DATA_DIR" => self.data_dir = value.into(),
            "TASKPOOL_LISTEN" => {
                self.listen = value.parse().map_err(|e| bad(format!("{e}")))?;
            }
            "TASKPOOL_EXAMPLE" | "TASKPOOL_DEMO" => {
                self.example = matches!(value.as_str(), "1" | "true" | "yes")
            }
            "TASKPOOL_UI_DIR" => self.ui_dir = Some(value.into()),
            "TASKPOOL_ROLE" => self.role = value.parse().map_err(bad)?,
            "TASKPOOL_APPLICATION" => self.application = value,
            "TASKPOOL_KAFKA_BROKERS" => self.kafka.brokers = value,
            "TASKPOOL_HS256_SECRET" => self.auth.hs256_secret = Some(value),
            "TASKPOOL_RS256_PUBLIC_KEY_FILE" => {
                self.auth.rs256_public_key_file = Some(value.into())
            }
            "TASKPOOL_DEV_USER" => self.auth.dev_user = Some(value),
            "TASKPOOL_USERS_FILE" => self.auth.users_file = Some(value.into()),
            "TASKPOOL_MAX_STREAMS" => {
                self.max_streams = value.parse().map_err(|e| bad(format!("{e}")))?;
            }
            "TASKPOOL_MAX_STREAMS_PER_USER" => {
                self.max_streams_per_user = value.parse().map_err(|e| bad(format!("{e}")))?;
            }
            "TASKPOOL_MAX_BODY_BYTES" => {
                self.max_body_bytes = value.parse().map_err(|e| bad(format!("{e}")))?;
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_run_on_loopback_under_a_local_directory() {
        let c = ServerConfig::default();
        assert!(c.listen.ip().is_loopback());
        assert_eq!(c.data_dir, PathBuf::from("data"));
    }

    #[test]
    fn roles_and_kafka_settings_come_from_the_file_and_pass_through() {
        let c: ServerConfig = toml::from_str(
            r#"
            role = "tasklist"
            [kafka]
            brokers = "broker-1:9093,broker-2:9093"
            [kafka.topics]
            tasks = "prod.tasks"
            [kafka.properties]
            "security.protocol" = "SASL_SSL"
            "sasl.mechanism" = "PLAIN"
            "#,
        )
        .expect("parses");
        assert_eq!(c.role, Role::Tasklist);
        assert_eq!(c.kafka.topics.tasks, "prod.tasks");
        assert_eq!(c.kafka.topics.interactions, "taskpool.interactions");
        assert_eq!(c.kafka.brokers, "broker-1:9093,broker-2:9093");
        assert_eq!(
            c.kafka
                .properties
                .get("security.protocol")
                .map(String::as_str),
            Some("SASL_SSL")
        );
        #[cfg(feature = "kafka")]
        {
            let client = c.kafka.client();
            assert_eq!(client.get("security.protocol"), Some("SASL_SSL"));
            assert_eq!(
                client.get("bootstrap.servers"),
                Some("broker-1:9093,broker-2:9093")
            );
        }
        assert!(toml::from_str::<ServerConfig>("role = \"leader\"").is_err());
    }

    #[test]
    fn environment_overrides_the_file_and_bad_values_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("server.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9000\"\ndemo = true\n[auth]\ndev-user = \"bob\"\n",
        )
        .expect("write");
        let c = ServerConfig::load(
            Some(&file),
            [("TASKPOOL_LISTEN".to_string(), "127.0.0.1:9100".to_string())],
        )
        .expect("load");
        assert_eq!(c.listen.port(), 9100);
        assert!(c.example, "the earlier name `demo` is still read");
        assert_eq!(c.auth.dev_user.as_deref(), Some("bob"));
        let err = ServerConfig::load(None, [("TASKPOOL_LISTEN".into(), "nowhere".into())])
            .expect_err("bad address");
        assert!(err.to_string().contains("TASKPOOL_LISTEN"));
        std::fs::write(&file, "lisen = 1\n").expect("write");
        let err = ServerConfig::load(Some(&file), []).expect_err("unknown key");
        assert!(err.to_string().contains("lisen"), "{err}");
    }
}
