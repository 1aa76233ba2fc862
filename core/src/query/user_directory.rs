//! Where the groups of a user come from.

use std::collections::BTreeMap;

use serde::Deserialize;

/// Looks up the groups of a user.
pub trait UserDirectory: Send + Sync {
    fn groups_of(&self, user: &str) -> Vec<String>;
    /// Every known user, for pickers.
    fn users(&self) -> Vec<String>;
}

/// A static directory from a TOML file:
///
/// ```toml
/// [users.alice]
/// groups = ["approvers", "support"]
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticUserDirectory {
    #[serde(default)]
    users: BTreeMap<String, UserEntry>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserEntry {
    #[serde(default)]
    groups: Vec<String>,
}

impl StaticUserDirectory {
    pub fn from_toml(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a [&'a str])>) -> Self {
        Self {
            users: pairs
                .into_iter()
                .map(|(u, g)| {
                    (
                        u.to_string(),
                        UserEntry {
                            groups: g.iter().map(|s| s.to_string()).collect(),
                        },
                    )
                })
                .collect(),
        }
    }
}

impl UserDirectory for StaticUserDirectory {
    fn groups_of(&self, user: &str) -> Vec<String> {
        self.users
            .get(user)
            .map(|u| u.groups.clone())
            .unwrap_or_default()
    }
    fn users(&self) -> Vec<String> {
        self.users.keys().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_toml() {
        let d =
            StaticUserDirectory::from_toml("[users.alice]\ngroups = [\"a\", \"b\"]\n[users.bob]\n")
                .expect("toml");
        assert_eq!(d.groups_of("alice"), vec!["a", "b"]);
        assert!(d.groups_of("bob").is_empty());
        assert!(d.groups_of("mallory").is_empty());
        assert!(StaticUserDirectory::from_toml("[users.x]\nrole = 1\n").is_err());
    }
}
