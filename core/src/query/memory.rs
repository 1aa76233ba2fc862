//! A query without filter or text judged in memory, for live items: the visibility
//! rule of `visibility.rs` on the task's principals, then deferral and the quick-view
//! options (a property test checks that this agrees with the SQL).

use super::*;

/// For a query without filter and text: whether `task` is in its result, decided
/// without the database. `None` when the query needs the database.
pub fn matches_without_view(q: &TaskQuery, task: &Task) -> Option<bool> {
    if !judged_without_view(q) {
        return None;
    }
    let principals = crate::view::Principals::of(task);
    let visible = match &q.viewer {
        Viewer::User { user, groups } => principals.admit(user, groups),
        Viewer::Admin => true,
    };
    let deferral_fits = q.deferred.admits(task.follow_up_date, q.now);
    let mine = match (&q.viewer, q.assigned_to_me) {
        (Viewer::User { user, .. }, true) => task.assignee.as_deref() == Some(user.as_str()),
        _ => true,
    };
    let claimable = !q.claimable_only || task.assignee.is_none();
    Some(visible && deferral_fits && mine && claimable)
}

/// Whether [`matches_without_view`] can judge tasks for `q` (no filter, no text).
pub fn judged_without_view(q: &TaskQuery) -> bool {
    q.filter.clauses.is_empty() && q.text.as_deref().and_then(sql::fts_query).is_none()
}
