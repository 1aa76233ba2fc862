//! Who may see a task, in one place: a user sees a task when they are its assignee, its
//! owner or one of its candidate users, or belong to one of its candidate groups
//! ([`Principals`]); `Viewer::Admin` sees every task. The projection writes a task's
//! principals as authorization rows ([`Principals::of`]); queries probe those rows in
//! SQL ([`visibility`]); live items of queries without filter or text are judged in
//! memory with [`Principals::admit`] on the same principals. A property test checks
//! that both ways agree.

use std::collections::BTreeSet;

use rusqlite::types::Value;
use serde::{Deserialize, Serialize};

use super::sql::Sql;
use super::Viewer;
use crate::model::Task;

/// Who may see a task: its assignee and candidate users, and its candidate groups.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principals {
    pub users: BTreeSet<String>,
    pub groups: BTreeSet<String>,
    /// The task's follow-up date: while in the future, it is deferred.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow_up: Option<chrono::DateTime<chrono::Utc>>,
}

impl Principals {
    pub fn of(task: &Task) -> Self {
        let mut users = task.candidate_users.clone();
        users.extend(task.assignee.iter().chain(&task.owner).cloned());
        Self {
            users,
            groups: task.candidate_groups.clone(),
            follow_up: task.follow_up_date,
        }
    }

    /// True when `user` (a member of `groups`) may see the task.
    pub fn admit(&self, user: &str, groups: &[String]) -> bool {
        self.users.contains(user) || groups.iter().any(|g| self.groups.contains(g))
    }
}

/// The same rule as a condition on `tasks`, over the authorization rows the projection
/// wrote from each task's [`Principals`].
pub(crate) fn visibility(viewer: &Viewer, sql: &mut Sql) {
    if let Viewer::User { user, groups } = viewer {
        let mut params = vec![Value::Text(user.clone())];
        let mut fragment = "tasks.rowid IN (SELECT task_rowid FROM task_authorizations WHERE kind = 'user' AND principal = ?".to_string();
        if !groups.is_empty() {
            fragment.push_str(" UNION SELECT task_rowid FROM task_authorizations WHERE kind = 'group' AND principal IN (");
            fragment.push_str(&vec!["?"; groups.len()].join(", "));
            fragment.push(')');
            params.extend(groups.iter().map(|g| Value::Text(g.clone())));
        }
        fragment.push(')');
        sql.and(&fragment, params);
    }
}
