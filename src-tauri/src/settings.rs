//! What the user can change in the app (mode, server URL, token), kept in the app's data
//! directory: the settings as JSON, the token in a file of its own; both readable by
//! the user only (0600). Flags given on the command line win for that run.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::backend::Mode;

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Settings {
    pub mode: Mode,
    /// The taskpool server (remote mode), `http://host:port`.
    pub server_url: String,
    /// A bearer token for the server; empty: the server's development login. Kept in
    /// its own file (`token`), never in the settings JSON.
    #[serde(skip_serializing)]
    pub token: String,
    /// Allows an `http://` server that is not this machine (the token then crosses the
    /// network in clear): only by an explicit choice.
    pub allow_insecure_http: bool,
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

/// The token's own file, beside the settings.
fn token_path(settings: &Path) -> PathBuf {
    settings.with_file_name("token")
}

/// The stored settings; the defaults (embedded) when there are none yet. A token left
/// in an older settings file is read (and moves to its own file at the next save).
pub fn load(path: &Path) -> Result<Settings, SettingsError> {
    let mut settings = match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| SettingsError::Format {
            path: path.to_path_buf(),
            source,
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Settings::default(),
        Err(source) => {
            return Err(SettingsError::Io {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    match std::fs::read_to_string(token_path(path)) {
        Ok(token) => settings.token = token.trim().to_string(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(SettingsError::Io {
                path: token_path(path),
                source,
            })
        }
    }
    Ok(settings)
}

/// Writes `bytes` to `path` atomically, readable by the user only.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
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
    let text = serde_json::to_vec_pretty(settings).map_err(|source| SettingsError::Format {
        path: path.to_path_buf(),
        source,
    })?;
    write_private(path, &text).map_err(io)?;
    let token = token_path(path);
    if settings.token.is_empty() {
        match std::fs::remove_file(&token) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(e)),
            _ => Ok(()),
        }
    } else {
        write_private(&token, settings.token.as_bytes()).map_err(io)
    }
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
            allow_insecure_http: false,
        };
        save(&path, &s).expect("save");
        assert_eq!(load(&path).expect("load"), s);
        // The token is not in the settings file; both files are the user's only.
        let json = std::fs::read_to_string(&path).expect("settings");
        assert!(!json.contains("\"t\""), "{json}");
        #[cfg(unix)]
        for file in [path.clone(), token_path(&path)] {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).expect("file").permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", file.display());
        }
        // A token cleared is a file removed.
        save(
            &path,
            &Settings {
                token: String::new(),
                ..s
            },
        )
        .expect("save");
        assert!(!token_path(&path).exists());
    }

    #[test]
    fn a_broken_settings_file_is_an_error_not_a_reset() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = path_in(dir.path());
        std::fs::write(&path, b"{\"mode\": \"sideways\"}").expect("write");
        assert!(matches!(load(&path), Err(SettingsError::Format { .. })));
    }
}
