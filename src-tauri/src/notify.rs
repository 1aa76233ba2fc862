//! Desktop notifications for tasks that arrive for the signed-in user: assigned to them,
//! or claimable by them (a candidate user or in a candidate group, nobody assigned).
//! Clicking one opens its task in the window (on Linux, through the desktop's
//! notification service: its `default` action).

use std::sync::atomic::{AtomicUsize, Ordering};

use taskpool_core::live::LiveItem;
use tauri::{Emitter, Manager};

use crate::backend::Session;

/// A notification about one task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub title: String,
    pub body: String,
    pub task_id: String,
}

/// The event the window gets when a notification is clicked: open this task.
pub const OPEN_TASK: &str = "open-task";

/// The notification for a live item, if it is news for `session`.
pub fn notification_for(item: &LiveItem, session: &Session) -> Option<Notice> {
    let LiveItem::Entered { task, .. } = item else {
        return None;
    };
    let title = match task.assignee.as_deref() {
        Some(a) if a == session.user => "New task assigned to you",
        Some(_) => return None,
        None => {
            let candidate = task.candidate_users.iter().any(|u| *u == session.user)
                || task
                    .candidate_groups
                    .iter()
                    .any(|g| session.groups.iter().any(|mine| mine == g));
            if !candidate {
                return None;
            }
            "New task you can claim"
        }
    };
    let mut body = task.name.clone();
    if let Some(key) = &task.business_key {
        body.push_str(&format!(" ({key})"));
    }
    body.push_str(&format!(" · {}", task.source_reference.name));
    Some(Notice {
        title: title.to_string(),
        body,
        task_id: task.id.clone(),
    })
}

/// Notifications whose click is still awaited, each holding a thread until the desktop
/// closes it; beyond this many, notifications are shown without waiting for a click (a
/// notification service that keeps them forever cannot pile up threads).
const MAX_WAITING: usize = 16;
static WAITING: AtomicUsize = AtomicUsize::new(0);

/// Shows `notice` and, when it is clicked, brings the window forward with its task open.
/// Blocks until the notification is closed: call it off the async runtime.
#[cfg(all(unix, not(target_os = "macos")))]
pub fn show(app: &tauri::AppHandle, notice: &Notice) {
    let shown = notify_rust::Notification::new()
        .appname("Taskpool")
        .summary(&notice.title)
        .body(&notice.body)
        .action("default", "Open")
        .hint(notify_rust::Hint::Custom(
            "x-taskpool-task-id".into(),
            notice.task_id.clone(),
        ))
        .show();
    let handle = match shown {
        Ok(handle) => handle,
        Err(e) => {
            tracing::warn!(error = %e, "could not show a notification");
            return;
        }
    };
    if WAITING.fetch_add(1, Ordering::SeqCst) >= MAX_WAITING {
        WAITING.fetch_sub(1, Ordering::SeqCst);
        return;
    }
    handle.wait_for_action(|action| {
        if action == "default" {
            open_task(app, &notice.task_id);
        }
    });
    WAITING.fetch_sub(1, Ordering::SeqCst);
}

/// Elsewhere the notification plugin shows it (it tells no clicks there).
#[cfg(not(all(unix, not(target_os = "macos"))))]
pub fn show(app: &tauri::AppHandle, notice: &Notice) {
    use tauri_plugin_notification::NotificationExt;
    let _ = (&WAITING, MAX_WAITING);
    if let Err(e) = app
        .notification()
        .builder()
        .title(&notice.title)
        .body(&notice.body)
        .show()
    {
        tracing::warn!(error = %e, "could not show a notification");
    }
}

/// Brings the window forward and tells it to open `task_id`.
pub fn open_task(app: &tauri::AppHandle, task_id: &str) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
    if let Err(e) = app.emit_to("main", OPEN_TASK, task_id) {
        tracing::warn!(error = %e, "could not ask the window to open a task");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use taskpool_core::model::Task;

    fn task(assignee: Option<&str>, users: &[&str], groups: &[&str]) -> Task {
        serde_json::from_value(json!({
            "id": "t1",
            "sourceReference": {"kind": "process", "instanceId": "i", "executionId": "e",
                "definitionId": "d:1", "definitionKey": "d", "name": "Approve a request",
                "applicationName": "example"},
            "taskDefinitionKey": "approve",
            "name": "Approve: laptop",
            "priority": 50,
            "createTime": "2026-11-24T00:00:00Z",
            "assignee": assignee,
            "candidateUsers": users,
            "candidateGroups": groups,
            "businessKey": "REQ-1",
            "payload": {},
            "enriched": false
        }))
        .expect("a task")
    }

    fn alice() -> Session {
        Session {
            user: "alice".into(),
            groups: vec!["approvers".into()],
            token: None,
        }
    }

    fn entered(t: Task) -> LiveItem {
        LiveItem::Entered {
            position: 1,
            task: Box::new(t),
        }
    }

    #[test]
    fn a_task_assigned_to_me_is_news() {
        let notice =
            notification_for(&entered(task(Some("alice"), &[], &[])), &alice()).expect("news");
        assert_eq!(notice.title, "New task assigned to you");
        assert_eq!(notice.body, "Approve: laptop (REQ-1) · Approve a request");
        assert_eq!(notice.task_id, "t1");
    }

    #[test]
    fn a_task_i_can_claim_is_news_by_group_or_by_name() {
        let by_group = notification_for(&entered(task(None, &[], &["approvers"])), &alice());
        assert_eq!(
            by_group.map(|n| n.title).as_deref(),
            Some("New task you can claim")
        );
        assert!(notification_for(&entered(task(None, &["alice"], &[])), &alice()).is_some());
    }

    #[test]
    fn others_tasks_changes_and_departures_are_not_news() {
        assert!(notification_for(
            &entered(task(Some("bob"), &["alice"], &["approvers"])),
            &alice()
        )
        .is_none());
        assert!(
            notification_for(&entered(task(None, &["bob"], &["managers"])), &alice()).is_none()
        );
        let changed = LiveItem::Changed {
            position: 2,
            task: Box::new(task(Some("alice"), &[], &[])),
        };
        assert!(notification_for(&changed, &alice()).is_none());
        let left = LiveItem::Left {
            position: 3,
            task_id: "t1".into(),
        };
        assert!(notification_for(&left, &alice()).is_none());
    }
}
