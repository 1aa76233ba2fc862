//! Each task's timeline, projected from its events (so every node has it, one fed by a
//! message log too): created, assigned, deferred, a user's request and the answer,
//! completed; when, by whom, in the task's own order.

use rusqlite::{params, Connection};

use crate::command::{Answer, UpdateTaskAttributes};
use crate::event::{StoredEvent, TaskEvent};
use crate::patch::Patch;

fn day(d: &chrono::DateTime<chrono::Utc>) -> String {
    d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// What an attribute update changed, in words (`None`: nothing worth telling).
fn updated(u: &UpdateTaskAttributes) -> (&'static str, Option<String>) {
    match &u.follow_up_date {
        Patch::Set(d) => return ("deferred", Some(format!("until {}", day(d)))),
        Patch::Clear => return ("undeferred", None),
        Patch::Unchanged => {}
    }
    let mut fields = Vec::new();
    if u.name.is_some() {
        fields.push("name");
    }
    if !u.description.is_unchanged() {
        fields.push("description");
    }
    if u.priority.is_some() {
        fields.push("priority");
    }
    if !u.due_date.is_unchanged() {
        fields.push("due date");
    }
    if !u.business_key.is_unchanged() {
        fields.push("business key");
    }
    if !u.form_key.is_unchanged() {
        fields.push("form");
    }
    if !u.owner.is_unchanged() {
        fields.push("owner");
    }
    if u.payload.is_some() {
        fields.push("values");
    }
    if u.correlations.is_some() {
        fields.push("business data");
    }
    ("updated", (!fields.is_empty()).then(|| fields.join(", ")))
}

/// The timeline entry of one task event: (task, kind, user, detail).
fn entry(
    stored: &StoredEvent,
    e: &TaskEvent,
) -> Option<(String, &'static str, Option<String>, Option<String>)> {
    let by = stored.metadata.user.clone();
    Some(match e {
        TaskEvent::TaskCreated(t) => (
            t.id.clone(),
            "created",
            None,
            t.assignee.clone().map(|a| format!("for {a}")),
        ),
        TaskEvent::TaskAssigned(a) => match &a.assignee {
            Some(who) => (a.id.clone(), "assigned", by, Some(who.clone())),
            None => (a.id.clone(), "unassigned", by, None),
        },
        TaskEvent::TaskAttributesUpdated(u) => {
            let (kind, detail) = updated(u);
            if kind == "updated" && detail.is_none() {
                return None;
            }
            (u.id.clone(), kind, by, detail)
        }
        TaskEvent::TaskCandidateUsersAdded(c) | TaskEvent::TaskCandidateUsersDeleted(c) => (
            c.id.clone(),
            "candidatesChanged",
            by,
            Some(c.users.iter().cloned().collect::<Vec<_>>().join(", ")),
        ),
        TaskEvent::TaskCandidateGroupsAdded(c) | TaskEvent::TaskCandidateGroupsDeleted(c) => (
            c.id.clone(),
            "candidatesChanged",
            by,
            Some(c.groups.iter().cloned().collect::<Vec<_>>().join(", ")),
        ),
        TaskEvent::TaskCompleted(c) => (c.id.clone(), "completed", c.assignee.clone().or(by), None),
        TaskEvent::TaskDeleted(d) => (d.id.clone(), "deleted", by, d.delete_reason.clone()),
        TaskEvent::TaskInteractionAnswered(a) => match a.answer {
            Answer::Performed => (a.id.clone(), "performed", None, None),
            Answer::Rejected => (a.id.clone(), "rejected", None, a.reason.clone()),
        },
        other => {
            let r = other.interaction()?;
            let action = other.requested_action()?;
            (
                r.id.clone(),
                "requested",
                Some(r.user.clone()),
                Some(action.to_string()),
            )
        }
    })
}

/// Records the timeline entry of a task event (if it makes one).
pub(crate) fn record(tx: &Connection, stored: &StoredEvent, e: &TaskEvent) -> rusqlite::Result<()> {
    let Some((task, kind, user, detail)) = entry(stored, e) else {
        return Ok(());
    };
    tx.prepare_cached(
        "INSERT OR REPLACE INTO task_timeline (task_id, version, at, kind, user_name, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        task,
        stored.aggregate_version,
        stored.metadata.time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        kind,
        user,
        detail
    ])?;
    Ok(())
}
