//! The example application's users and groups.

/// (user, groups) of the example application.
pub const USERS: &[(&str, &[&str])] = &[
    ("alice", &["approvers", "support"]),
    ("bob", &["support"]),
    ("carol", &["approvers", "managers"]),
];

/// The groups of a user of the example application.
pub fn groups_of(user: &str) -> &'static [&'static str] {
    USERS
        .iter()
        .find(|(u, _)| *u == user)
        .map(|(_, g)| *g)
        .unwrap_or(&[])
}
