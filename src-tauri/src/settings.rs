//! What the user can change in the app (mode, server URL, token), kept as JSON in the
//! app's data directory. Flags given on the command line win for that run.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::backend::Mode;

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Settings {
    pub mode: Mode,
    /// The taskpool server (remote mode), `http://host:port`.
    pub server_url: String,
    /// A bearer token for the server; empty: the server's development login.
    pub token: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("could not read or write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a settings file: {source}")]
    Format {
        path: PathBuf,
        source: serde_json::Error,
    },
}

pub fn path_in(data_dir: &Path) -> PathBuf {
    data_dir.join("settings.json")
}

/// The stored settings; the defaults (embedded) when there are none yet.
pub fn load(path: &Path) -> Result<Settings, SettingsError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| SettingsError::Format {
            path: path.to_path_buf(),
            source,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Settings::default()),
        Err(source) => Err(SettingsError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Writes the settings atomically (a new file renamed over the old one).
pub fn save(path: &Path, settings: &Settings) -> Result<(), SettingsError> {
    let io = |source| SettingsError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_vec_pretty(settings).map_err(|source| SettingsError::Format {
        path: path.to_path_buf(),
        source,
    })?;
    std::fs::write(&tmp, text).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_and_default_to_embedded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = path_in(dir.path());
        assert_eq!(load(&path).expect("load"), Settings::default());
        let s = Settings {
            mode: Mode::Remote,
            server_url: "http://127.0.0.1:8080".into(),
            token: "t".into(),
        };
        save(&path, &s).expect("save");
        assert_eq!(load(&path).expect("load"), s);
    }

    #[test]
    fn a_broken_settings_file_is_an_error_not_a_reset() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = path_in(dir.path());
        std::fs::write(&path, b"{\"mode\": \"sideways\"}").expect("write");
        assert!(matches!(load(&path), Err(SettingsError::Format { .. })));
    }
}
