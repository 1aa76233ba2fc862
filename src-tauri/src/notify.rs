//! Desktop notifications for tasks that arrive for the signed-in user: assigned to them,
//! or claimable by them (a candidate user or in a candidate group, nobody assigned).

use taskpool_core::live::LiveItem;

use crate::backend::Session;

/// The notification (title, body) for a live item, if it is news for `session`.
pub fn notification_for(item: &LiveItem, session: &Session) -> Option<(String, String)> {
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
    Some((title.to_string(), body))
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
        let (title, body) =
            notification_for(&entered(task(Some("alice"), &[], &[])), &alice()).expect("news");
        assert_eq!(title, "New task assigned to you");
        assert_eq!(body, "Approve: laptop (REQ-1) · Approve a request");
    }

    #[test]
    fn a_task_i_can_claim_is_news_by_group_or_by_name() {
        let by_group = notification_for(&entered(task(None, &[], &["approvers"])), &alice());
        assert_eq!(
            by_group.map(|n| n.0).as_deref(),
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
