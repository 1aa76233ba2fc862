//! How each event changes the view. Called by the projector inside the transaction that
//! also moves its checkpoint.

use rusqlite::{params, Connection, OptionalExtension};

use crate::aggregate::{Aggregate, TaskAggregate, TaskStatus};
use crate::command::Answer;
use crate::event::{
    DataEntryEvent, DomainEvent, ProcessDefinitionEvent, ProcessInstanceEvent, StoredEvent,
    TaskEvent,
};
use crate::model::{DataEntry, Task};
pub use crate::query::visibility::Principals;

pub(crate) fn apply(tx: &Connection, stored: &StoredEvent) -> rusqlite::Result<()> {
    match &stored.event {
        DomainEvent::Task(e) => {
            apply_request(tx, stored, e)?;
            super::timeline::record(tx, stored, e)?;
            apply_task(tx, stored, e)
        }
        DomainEvent::DataEntry(e) => apply_data_entry(tx, e),
        DomainEvent::ProcessDefinition(e) => {
            apply_start_request(tx, stored, e)?;
            apply_process_definition(tx, e)
        }
        DomainEvent::ProcessInstance(e) => apply_process_instance(tx, e),
    }
}

/// The task's document as the view stores it.
fn load_task_json(conn: &Connection, id: &str) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached("SELECT d.task FROM tasks t JOIN task_documents d ON d.task_rowid = t.rowid WHERE t.id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()
}

fn task_id(e: &TaskEvent) -> Option<&str> {
    Some(match e {
        TaskEvent::TaskCreated(t) => &t.id,
        TaskEvent::TaskAssigned(e) => &e.id,
        TaskEvent::TaskAttributesUpdated(e) => &e.id,
        TaskEvent::TaskCandidateUsersAdded(e) | TaskEvent::TaskCandidateUsersDeleted(e) => &e.id,
        TaskEvent::TaskCandidateGroupsAdded(e) | TaskEvent::TaskCandidateGroupsDeleted(e) => &e.id,
        TaskEvent::TaskCompleted(e) => &e.id,
        TaskEvent::TaskDeleted(e) => &e.id,
        _ => return None,
    })
}

/// A user's request (its id: the causation id of the request event) and the owning
/// application's answer, in the order they come (in a distributed pool a refusal by the owning
/// application's gateway may come without a request event).
fn apply_request(tx: &Connection, stored: &StoredEvent, event: &TaskEvent) -> rusqlite::Result<()> {
    if let (Some(request), Some(action)) = (event.interaction(), event.requested_action()) {
        tx.prepare_cached(
            "INSERT INTO requests (request_id, task_id, action, user_name, application_name, requested_at, requested_position, state)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'requested')
             ON CONFLICT (request_id) DO UPDATE SET action = excluded.action, user_name = excluded.user_name,
                 requested_at = excluded.requested_at, requested_position = excluded.requested_position",
        )?
        .execute(params![
            stored.metadata.causation_id.to_string(),
            request.id,
            action,
            request.user,
            request.application_name,
            stored.metadata.time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            stored.position,
        ])?;
    }
    if let TaskEvent::TaskInteractionAnswered(answer) = event {
        let (state, reason) = match answer.answer {
            Answer::Performed => ("performed", None),
            Answer::Rejected => ("rejected", answer.reason.as_deref()),
        };
        tx.prepare_cached(
            "INSERT INTO requests (request_id, task_id, user_name, application_name, state, reason, answered_position)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (request_id) DO UPDATE SET state = excluded.state, reason = excluded.reason,
                 answered_position = excluded.answered_position",
        )?
        .execute(params![
            answer.request_id.to_string(),
            answer.id,
            stored.metadata.user,
            stored.metadata.application.clone().unwrap_or_default(),
            state,
            reason,
            stored.position,
        ])?;
    }
    Ok(())
}

/// A user's start request and the owning application's answer (as for task actions).
fn apply_start_request(
    tx: &Connection,
    stored: &StoredEvent,
    event: &ProcessDefinitionEvent,
) -> rusqlite::Result<()> {
    match event {
        ProcessDefinitionEvent::ProcessStartRequested(r) => {
            tx.prepare_cached(
                "INSERT INTO requests (request_id, definition_id, action, user_name, application_name, requested_at, requested_position, state)
                 VALUES (?1, ?2, 'start', ?3, ?4, ?5, ?6, 'requested')
                 ON CONFLICT (request_id) DO UPDATE SET action = excluded.action, user_name = excluded.user_name,
                     requested_at = excluded.requested_at, requested_position = excluded.requested_position",
            )?
            .execute(params![
                stored.metadata.causation_id.to_string(),
                r.definition_id,
                r.user,
                r.application_name,
                stored.metadata.time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                stored.position,
            ])?;
        }
        ProcessDefinitionEvent::ProcessStartAnswered(a) => {
            let (state, reason) = match a.answer {
                Answer::Performed => ("performed", None),
                Answer::Rejected => ("rejected", a.reason.as_deref()),
            };
            tx.prepare_cached(
                "INSERT INTO requests (request_id, definition_id, instance_id, action, user_name, application_name, state, reason, answered_position)
                 VALUES (?1, ?2, ?3, 'start', ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (request_id) DO UPDATE SET state = excluded.state, reason = excluded.reason,
                     instance_id = excluded.instance_id, answered_position = excluded.answered_position",
            )?
            .execute(params![
                a.request_id.to_string(),
                a.definition_id,
                a.instance_id,
                stored.metadata.user,
                stored.metadata.application.clone().unwrap_or_default(),
                state,
                reason,
                stored.position,
            ])?;
        }
        ProcessDefinitionEvent::ProcessDefinitionRegistered(_) => {}
    }
    Ok(())
}

fn apply_task(tx: &Connection, stored: &StoredEvent, event: &TaskEvent) -> rusqlite::Result<()> {
    let position = stored.position;
    // Interaction requests do not change the task.
    let Some(id) = task_id(event) else {
        return Ok(());
    };
    let principals_json = |t: &Task| {
        serde_json::to_string(&Principals::of(t))
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
    };
    // The task before (as stored) and after the change; a create is always of a new
    // task (the aggregate refuses a second one).
    let (before, after): (Option<(String, String)>, Option<std::borrow::Cow<'_, Task>>) =
        match event {
            TaskEvent::TaskCreated(task) => (None, Some(std::borrow::Cow::Borrowed(task))),
            _ => {
                let Some(json) = load_task_json(tx, id)? else {
                    return Ok(());
                };
                let Ok(current) = serde_json::from_str::<Task>(&json) else {
                    return Ok(());
                };
                remove_task_rows(tx, &current)?;
                let principals = principals_json(&current)?;
                let mut state = TaskAggregate {
                    status: TaskStatus::Active,
                    task: Some(current),
                };
                state.evolve(event);
                let after = match (state.status, state.task) {
                    (TaskStatus::Active, Some(task)) => Some(std::borrow::Cow::Owned(task)),
                    _ => None,
                };
                (Some((json, principals)), after)
            }
        };
    let after_json = match &after {
        Some(task) => Some(insert_task_rows(tx, task, position)?),
        None => None,
    };
    let (task_before, before_principals) = before.unzip();
    if let (TaskEvent::TaskCompleted(done), Some(json)) = (event, &task_before) {
        record_completed(tx, stored, done, json)?;
    }
    let after_principals = after.as_deref().map(principals_json).transpose()?;
    tx.prepare_cached(
        "INSERT INTO task_changes (position, task_id, before, after, task_before, task_after) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        position,
        id,
        before_principals,
        after_principals,
        task_before,
        after_json
    ])?;
    Ok(())
}

/// Keeps a completed task for the history: as it was, by whom and when, and who could
/// see it.
fn record_completed(
    tx: &Connection,
    stored: &StoredEvent,
    done: &crate::event::TaskCompleted,
    task_json: &str,
) -> rusqlite::Result<()> {
    let Ok(mut task) = serde_json::from_str::<Task>(task_json) else {
        return Ok(());
    };
    if done.assignee.is_some() {
        task.assignee = done.assignee.clone();
    }
    let at = stored
        .metadata
        .time
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    tx.prepare_cached(
        "INSERT OR REPLACE INTO completed_tasks (task_id, completed_at, completed_by, task) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![task.id, at, task.assignee, to_json(&task)?])?;
    tx.prepare_cached("DELETE FROM completed_task_principals WHERE task_id = ?1")?
        .execute([&task.id])?;
    let principals = Principals::of(&task);
    let mut insert = tx.prepare_cached(
        "INSERT OR IGNORE INTO completed_task_principals (principal, kind, completed_at, task_id) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for u in &principals.users {
        insert.execute(params![u, "user", at, task.id])?;
    }
    for g in &principals.groups {
        insert.execute(params![g, "group", at, task.id])?;
    }
    Ok(())
}

/// Removes every view row of `task` (as it was stored).
fn remove_task_rows(tx: &Connection, task: &Task) -> rusqlite::Result<()> {
    let id = task.id.as_str();
    let rowid: Option<i64> = tx
        .prepare_cached("SELECT rowid FROM tasks WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    if let Some(rowid) = rowid {
        tx.prepare_cached("DELETE FROM task_documents WHERE task_rowid = ?1")?
            .execute([rowid])?;
    }
    // The authorization rows, by their key: who could see it, under which due date.
    let due = due_key(&task.due_date);
    let principals = Principals::of(task);
    let mut auth = tx.prepare_cached("DELETE FROM task_authorizations WHERE principal = ?1 AND kind = ?2 AND due = ?3 AND task_id = ?4")?;
    for u in &principals.users {
        auth.execute(params![u, "user", due, id])?;
    }
    for g in &principals.groups {
        auth.execute(params![g, "group", due, id])?;
    }
    for sql in [
        "DELETE FROM tasks WHERE id = ?1",
        "DELETE FROM task_correlations WHERE task_id = ?1",
    ] {
        tx.prepare_cached(sql)?.execute([id])?;
    }
    Ok(())
}

fn view_date(d: &Option<chrono::DateTime<chrono::Utc>>) -> Option<String> {
    d.map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

/// The due sort key: the date as stored, or '9999' (last) when there is none.
fn due_key(d: &Option<chrono::DateTime<chrono::Utc>>) -> String {
    view_date(d).unwrap_or_else(|| "9999".to_string())
}

/// Writes every view row of `task`; returns its document (the JSON stored).
fn insert_task_rows(tx: &Connection, task: &Task, position: i64) -> rusqlite::Result<String> {
    let json = serde_json::to_string(task)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    let date = view_date;
    tx.prepare_cached(
        "INSERT INTO tasks (id, application_name, process_name, definition_key, instance_id,
            task_definition_key, name, description, form_key, priority, assignee, create_time,
            due_date, follow_up_date, business_key, position, owner)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
    )?
    .execute(params![
        task.id,
        task.source_reference.application_name,
        task.source_reference.name,
        task.source_reference.definition_key,
        task.source_reference.instance_id,
        task.task_definition_key,
        task.name,
        task.description,
        task.form_key,
        task.priority,
        task.assignee,
        date(&Some(task.create_time)),
        date(&task.due_date),
        date(&task.follow_up_date),
        task.business_key,
        position,
        task.owner,
    ])?;
    let rowid = tx.last_insert_rowid();
    tx.prepare_cached("INSERT INTO task_documents (task_rowid, task) VALUES (?1, ?2)")?
        .execute(params![rowid, json])?;
    let mut auth = tx.prepare_cached(
        "INSERT OR IGNORE INTO task_authorizations (principal, kind, due, task_id, task_rowid, follow_up)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    let due = due_key(&task.due_date);
    let follow_up = date(&task.follow_up_date);
    let principals = Principals::of(task);
    for u in &principals.users {
        auth.execute(params![u, "user", due, task.id, rowid, follow_up])?;
    }
    for g in &principals.groups {
        auth.execute(params![g, "group", due, task.id, rowid, follow_up])?;
    }
    let mut corr = tx.prepare_cached("INSERT OR IGNORE INTO task_correlations (task_id, entry_type, entry_id) VALUES (?1, ?2, ?3)")?;
    for c in &task.correlations {
        corr.execute(params![task.id, c.entry_type, c.entry_id])?;
    }
    Ok(json)
}

/// The most payload index rows of one task: a payload with more values indexes the
/// first ones (in document order) only; the rest cannot be filtered on or searched.
pub const MAX_INDEX_ROWS: usize = 10_000;
/// The longest path indexed: values below a longer path are not indexed.
pub const MAX_INDEX_PATH: usize = 512;

/// One row of the payload index: a path (objects nest with dots, array elements share
/// their array's path) and a value, as text and, for numbers, as a number.
#[derive(Debug, Clone, PartialEq)]
pub struct PayloadRow {
    pub path: String,
    pub text: String,
    pub number: Option<f64>,
}

/// The payload index rows of a payload: one per (path, value), nulls skipped, bounded
/// by [`MAX_INDEX_ROWS`] and [`MAX_INDEX_PATH`] whatever the payload (an event stored
/// before the ingestion limits must not take a node's memory either). The projection,
/// in-memory filters and full-text search all index through here, so they agree.
pub fn payload_rows(payload: &serde_json::Map<String, serde_json::Value>) -> Vec<PayloadRow> {
    let mut index = PayloadIndex::default();
    index.map("", payload);
    index.rows
}

#[derive(Default)]
struct PayloadIndex {
    rows: Vec<PayloadRow>,
    seen: std::collections::HashSet<(String, String)>,
}

impl PayloadIndex {
    fn full(&self) -> bool {
        self.rows.len() >= MAX_INDEX_ROWS
    }

    fn map(&mut self, prefix: &str, map: &serde_json::Map<String, serde_json::Value>) {
        for (k, v) in map {
            if self.full() {
                return;
            }
            if prefix.len() + 1 + k.len() > MAX_INDEX_PATH {
                continue;
            }
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            self.value(&path, v);
        }
    }

    fn value(&mut self, path: &str, value: &serde_json::Value) {
        use serde_json::Value;
        let (text, number) = match value {
            Value::Object(map) => return self.map(path, map),
            Value::Array(items) => {
                for item in items {
                    if self.full() {
                        return;
                    }
                    self.value(path, item);
                }
                return;
            }
            Value::Null => return,
            Value::Bool(b) => (b.to_string(), None),
            Value::Number(n) => (n.to_string(), n.as_f64()),
            Value::String(s) => (s.clone(), None),
        };
        if !self.full() && self.seen.insert((path.to_string(), text.clone())) {
            self.rows.push(PayloadRow {
                path: path.to_string(),
                text,
                number,
            });
        }
    }
}

fn load_data_entry(
    tx: &Connection,
    entry_type: &str,
    entry_id: &str,
) -> rusqlite::Result<Option<DataEntry>> {
    let json: Option<String> = tx
        .query_row(
            "SELECT data_entry FROM data_entries WHERE entry_type = ?1 AND entry_id = ?2",
            [entry_type, entry_id],
            |r| r.get(0),
        )
        .optional()?;
    Ok(json.and_then(|j| serde_json::from_str(&j).ok()))
}

fn save_data_entry(tx: &Connection, entry: &DataEntry, deleted: bool) -> rusqlite::Result<()> {
    let json = serde_json::to_string(entry)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    let processing = serde_json::to_value(entry.state.processing_type)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default();
    tx.prepare_cached(
        "INSERT OR REPLACE INTO data_entries (entry_type, entry_id, name, type_name, application_name, processing_type, state, deleted, data_entry)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![entry.entry_type, entry.entry_id, entry.name, entry.type_name, entry.application_name, processing, entry.state.state, deleted, json])?;
    tx.prepare_cached(
        "DELETE FROM data_entry_authorizations WHERE entry_type = ?1 AND entry_id = ?2",
    )?
    .execute([&entry.entry_type, &entry.entry_id])?;
    tx.prepare_cached(
        "DELETE FROM data_entry_protocol_users WHERE entry_type = ?1 AND entry_id = ?2",
    )?
    .execute([&entry.entry_type, &entry.entry_id])?;
    if deleted {
        return Ok(());
    }
    let mut auth = tx.prepare_cached("INSERT OR IGNORE INTO data_entry_authorizations (principal, kind, entry_type, entry_id) VALUES (?1, ?2, ?3, ?4)")?;
    for u in &entry.authorized_users {
        auth.execute(params![u, "user", entry.entry_type, entry.entry_id])?;
    }
    for g in &entry.authorized_groups {
        auth.execute(params![g, "group", entry.entry_type, entry.entry_id])?;
    }
    let mut users = tx.prepare_cached("INSERT OR IGNORE INTO data_entry_protocol_users (username, entry_type, entry_id) VALUES (?1, ?2, ?3)")?;
    for line in &entry.protocol {
        if let Some(u) = &line.username {
            users.execute(params![u, entry.entry_type, entry.entry_id])?;
        }
    }
    Ok(())
}

fn apply_data_entry(tx: &Connection, event: &DataEntryEvent) -> rusqlite::Result<()> {
    match event {
        DataEntryEvent::DataEntryCreated(e) => save_data_entry(tx, &e.data_entry, false),
        DataEntryEvent::DataEntryUpdated(e) => {
            let d = &e.data_entry;
            let mut protocol = load_data_entry(tx, &d.entry_type, &d.entry_id)?
                .map(|old| old.protocol)
                .unwrap_or_default();
            protocol.extend(d.protocol.iter().cloned());
            save_data_entry(
                tx,
                &DataEntry {
                    protocol,
                    ..d.clone()
                },
                false,
            )
        }
        DataEntryEvent::DataEntryDeleted(e) => {
            match load_data_entry(tx, &e.entry_type, &e.entry_id)? {
                Some(mut d) => {
                    d.protocol.push(e.protocol_entry.clone());
                    save_data_entry(tx, &d, true)
                }
                None => Ok(()),
            }
        }
        DataEntryEvent::DataEntryAnonymized(e) => {
            match load_data_entry(tx, &e.entry_type, &e.entry_id)? {
                Some(mut d) => {
                    for line in d.protocol.iter_mut() {
                        if line.username.as_deref() == Some(e.user.as_str()) {
                            line.username = Some(e.replacement.clone());
                        }
                    }
                    d.apply_authorization_changes(&e.authorization_changes);
                    d.protocol.push(e.protocol_entry.clone());
                    save_data_entry(tx, &d, false)
                }
                None => Ok(()),
            }
        }
    }
}

fn to_json(v: &impl serde::Serialize) -> rusqlite::Result<String> {
    serde_json::to_string(v).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

fn apply_process_definition(
    tx: &Connection,
    event: &ProcessDefinitionEvent,
) -> rusqlite::Result<()> {
    let ProcessDefinitionEvent::ProcessDefinitionRegistered(d) = event else {
        return Ok(());
    };
    let json = to_json(&d.without_forms())?;
    tx.execute("DELETE FROM diagrams WHERE definition_id = ?1", [&d.id])?;
    if let Some(xml) = &d.diagram {
        tx.execute(
            "INSERT INTO diagrams (definition_id, xml) VALUES (?1, ?2)",
            params![d.id, xml],
        )?;
    }
    tx.execute("DELETE FROM forms WHERE definition_id = ?1", [&d.id])?;
    for (key, form) in &d.forms {
        tx.execute(
            "INSERT INTO forms (definition_id, form_key, form) VALUES (?1, ?2, ?3)",
            params![d.id, key, to_json(form)?],
        )?;
    }
    tx.execute(
        "INSERT OR REPLACE INTO process_definitions (id, key, version, application_name, startable_from_tasklist, definition) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![d.id, d.key, d.version, d.application_name, d.startable_from_tasklist, json],
    )?;
    tx.execute(
        "DELETE FROM process_definition_starters WHERE definition_id = ?1",
        [&d.id],
    )?;
    for u in &d.candidate_starter_users {
        tx.execute(
            "INSERT OR IGNORE INTO process_definition_starters VALUES (?1, 'user', ?2)",
            [u, &d.id],
        )?;
    }
    for g in &d.candidate_starter_groups {
        tx.execute(
            "INSERT OR IGNORE INTO process_definition_starters VALUES (?1, 'group', ?2)",
            [g, &d.id],
        )?;
    }
    Ok(())
}

fn apply_process_instance(tx: &Connection, event: &ProcessInstanceEvent) -> rusqlite::Result<()> {
    let set_state = |id: &str, state: &str| {
        tx.execute(
            "UPDATE process_instances SET state = ?2 WHERE id = ?1",
            [id, state],
        )
        .map(|_| ())
    };
    match event {
        ProcessInstanceEvent::ProcessInstanceStarted(s) => {
            tx.execute(
                "INSERT OR REPLACE INTO process_instances (id, definition_id, definition_key, application_name, business_key, started_by, state)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'running')",
                params![s.instance_id, s.definition_id, s.definition_key, s.application_name, s.business_key, s.started_by],
            )?;
        }
        ProcessInstanceEvent::ProcessInstanceFinished(t) => set_state(&t.instance_id, "finished")?,
        ProcessInstanceEvent::ProcessInstanceCancelled(t) => {
            set_state(&t.instance_id, "cancelled")?
        }
        ProcessInstanceEvent::ProcessInstanceSuspended(t) => {
            set_state(&t.instance_id, "suspended")?
        }
        ProcessInstanceEvent::ProcessInstanceResumed(t) => set_state(&t.instance_id, "running")?,
        ProcessInstanceEvent::ProcessVariablesChanged(c) => {
            for change in &c.changes {
                match change {
                    crate::command::VariableChange::Create { name, value }
                    | crate::command::VariableChange::Update { name, value } => {
                        tx.execute(
                            "INSERT OR REPLACE INTO process_variables (instance_id, name, value) VALUES (?1, ?2, ?3)",
                            params![c.instance_id, name, value.to_string()],
                        )?;
                    }
                    crate::command::VariableChange::Delete { name } => {
                        tx.execute(
                            "DELETE FROM process_variables WHERE instance_id = ?1 AND name = ?2",
                            [&c.instance_id, name],
                        )?;
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod payload_index_tests {
    use serde_json::json;

    use super::*;

    fn rows(v: serde_json::Value) -> Vec<PayloadRow> {
        payload_rows(v.as_object().expect("object"))
    }

    #[test]
    fn the_payload_index_is_bounded_whatever_was_stored() {
        // The amplification (a 200,000-character key over 5,000 items): its path is too
        // long to index, so nothing of it is copied.
        let key = "k".repeat(200_000);
        assert!(rows(json!({ key: (0..5_000).collect::<Vec<u32>>() })).is_empty());
        // Many values: the first MAX_INDEX_ROWS are indexed.
        assert_eq!(
            rows(json!({"n": (0..50_000).collect::<Vec<u32>>()})).len(),
            MAX_INDEX_ROWS
        );
        // One row per (path, value); arrays share their path; nulls skipped.
        assert_eq!(
            rows(json!({"a": [1, 1, 2, null], "b": {"c": "x"}}))
                .into_iter()
                .map(|r| (r.path, r.text))
                .collect::<Vec<_>>(),
            [
                ("a".to_string(), "1".to_string()),
                ("a".into(), "2".into()),
                ("b.c".into(), "x".into())
            ]
        );
    }
}
