//! Users' idempotency keys (`Idempotency-Key` on an action or a start): a client that
//! did not get an answer sends the same request again with the same key, and gets the
//! first attempt's request, never a second effect.
//!
//! A key names one request of one user: its request id is derived from the two (so every
//! node, and every retry, sends the same id, which the owning application's gateway
//! handles once), and what the request asked is kept with it, so the same key on another
//! request is refused instead of being answered with the first one's outcome. Keys are
//! remembered for [`KEY_WINDOW`].

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};
use uuid::Uuid;

/// How long a key is remembered.
pub const KEY_WINDOW: chrono::Duration = chrono::Duration::days(7);

/// The longest key taken.
pub const MAX_KEY_LENGTH: usize = 128;

/// Where a key stands when a request comes with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyUse {
    /// The first request with this key: send it with this request id.
    First(Uuid),
    /// The same request again: its id (sending it again changes nothing).
    Retry(Uuid),
    /// Another request with a key this user used before.
    Reused,
}

#[derive(Debug, thiserror::Error)]
pub enum ActionKeyError {
    #[error("action keys: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the action key store's lock was poisoned")]
    Poisoned,
}

/// The keys users sent, in their own SQLite file (`action-keys.db`).
pub struct ActionKeys {
    conn: Mutex<Connection>,
}

/// The request id a key names for a user: the same on every node and every retry.
pub fn request_id(user: &str, key: &str) -> Uuid {
    const NAMESPACE: Uuid = Uuid::from_u128(0x6b0f_5a0e_4c1d_4f5e_9a57_7a51_c0de_0001);
    Uuid::new_v5(&NAMESPACE, format!("{user}\u{0}{key}").as_bytes())
}

/// Whether `key` is one a client may send: 1 to [`MAX_KEY_LENGTH`] visible ASCII
/// characters.
pub fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() || key.len() > MAX_KEY_LENGTH {
        return Err(format!(
            "an idempotency key has 1 to {MAX_KEY_LENGTH} characters"
        ));
    }
    if !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("an idempotency key is visible ASCII characters, no spaces".into());
    }
    Ok(())
}

impl ActionKeys {
    pub fn open(path: &Path) -> Result<Self, ActionKeyError> {
        let conn = taskpool_core::sqlite::open_wal(path, "NORMAL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS action_keys (
                user_name  TEXT NOT NULL,
                key        TEXT NOT NULL,
                request    TEXT NOT NULL,   -- what was asked (the command as JSON)
                request_id TEXT NOT NULL,
                used_at    TEXT NOT NULL,
                PRIMARY KEY (user_name, key)
            ) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS action_keys_used ON action_keys (used_at);",
        )?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    /// Records `user`'s `key` for `request` (unless it is known), and says how to go on.
    pub fn claim(&self, user: &str, key: &str, request: &str) -> Result<KeyUse, ActionKeyError> {
        let conn = self.conn.lock().map_err(|_| ActionKeyError::Poisoned)?;
        let now = chrono::Utc::now();
        let id = request_id(user, key);
        let known: Option<String> = conn
            .prepare_cached("SELECT request FROM action_keys WHERE user_name = ?1 AND key = ?2")?
            .query_row(params![user, key], |r| r.get(0))
            .optional()?;
        match known {
            Some(before) if before == request => Ok(KeyUse::Retry(id)),
            Some(_) => Ok(KeyUse::Reused),
            None => {
                conn.prepare_cached(
                    "INSERT INTO action_keys (user_name, key, request, request_id, used_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![user, key, request, id.to_string(), now.to_rfc3339()])?;
                // Now and then, keys past the window are let go.
                if id.as_bytes()[0] == 0 {
                    conn.execute(
                        "DELETE FROM action_keys WHERE used_at < ?1",
                        [(now - KEY_WINDOW).to_rfc3339()],
                    )?;
                }
                Ok(KeyUse::First(id))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_names_one_request_of_one_user() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let keys = ActionKeys::open(&dir.path().join("action-keys.db"))?;
        let first = keys.claim("alice", "k-1", "claim t1")?;
        let KeyUse::First(id) = first else {
            panic!("a new key is a first use: {first:?}")
        };
        assert_eq!(keys.claim("alice", "k-1", "claim t1")?, KeyUse::Retry(id));
        assert_eq!(keys.claim("alice", "k-1", "complete t1")?, KeyUse::Reused);
        // Another user's key of the same name is theirs.
        let bob = keys.claim("bob", "k-1", "claim t1")?;
        assert!(
            matches!(bob, KeyUse::First(other) if other != id),
            "{bob:?}"
        );
        Ok(())
    }

    #[test]
    fn keys_are_visible_ascii_of_bounded_length() {
        assert!(check_key("a0-_.~").is_ok());
        assert!(check_key("").is_err());
        assert!(check_key("with space").is_err());
        assert!(check_key("ü").is_err());
        assert!(check_key(&"k".repeat(MAX_KEY_LENGTH + 1)).is_err());
    }
}
