//! The example process application: a small engine with two real processes, running
//! on the collector exactly as an engine adapter would.
//!
//! - "approve-request": approve (group `approvers`; never by the requester: the engine
//!   refuses their claim or completion, the four-eyes rule) → done when approved, else
//!   amend (assigned to the requester) → approve again. Each request is also a data entry
//!   (`request`), correlated to its tasks, sent in the same unit of work.
//! - "handle-incident": triage (group `support`) → resolve (assigned to the user the
//!   triage named, or the triager) → done.
//!
//! The engine keeps its state in the application's own SQLite database. It acts on the
//! interaction events addressed to its application name (claim, unclaim, complete,
//! defer, undefer) by reading them from the event store after a checkpoint that it
//! moves in the same engine transaction: each request is acted on exactly once.

pub mod directory;
pub mod forms;
pub mod on_node;

use std::sync::Arc;

use chrono::{Duration as ChronoDuration, Utc};
use rand::Rng;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Value};
use taskpool_core::command::{CreateOrUpdateDataEntry, DataEntryCommand, UpdateTaskAttributes};
use taskpool_core::event::{
    ProcessDefinitionEvent, ProcessStartRequested, TaskEvent, TaskInteractionRequested,
};
use taskpool_core::event_store::EventReader;
use taskpool_core::listener::Listener;
use taskpool_core::model::{
    AuthorizationChange, Correlation, DataEntryState, Modification, Payload, ProcessDefinition,
    ProcessingType, SourceReference, SourceReferenceKind, Task,
};
use taskpool_core::patch::Patch;
use taskpool_core::{DomainEvent, StoredEvent};
use uuid::Uuid;

use taskpool_collector::engine_transaction::{
    Collector, CollectorError, EngineTransaction, VariableSource,
};
use taskpool_collector::EngineEvent;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS engine_instances (
    id TEXT PRIMARY KEY, definition_key TEXT NOT NULL, business_key TEXT,
    running INTEGER NOT NULL, variables TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS engine_tasks (
    id TEXT PRIMARY KEY, instance_id TEXT NOT NULL, task_key TEXT NOT NULL,
    assignee TEXT, follow_up TEXT, active INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS engine_interaction_checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1), position INTEGER NOT NULL);
";

/// Reads an instance's variables from the engine tables.
pub struct EngineVariables;

/// The example application's enricher: variables into the payload, and each request's
/// `requestId` as a correlation to its `request` data entry.
pub fn enricher() -> taskpool_collector::enricher::EnricherConfig {
    taskpool_collector::enricher::EnricherConfig {
        enabled: true,
        correlations: vec![taskpool_collector::enricher::CorrelationRule {
            variable: "requestId".into(),
            entry_type: "request".into(),
        }],
        ..Default::default()
    }
}

impl VariableSource for EngineVariables {
    fn variables(&self, conn: &Connection, instance_id: &str) -> Payload {
        conn.query_row(
            "SELECT variables FROM engine_instances WHERE id = ?1",
            [instance_id],
            |r| r.get::<_, String>(0),
        )
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default()
    }
}

/// The example process application.
pub struct ExampleApplication {
    name: String,
    conn: Connection,
    collector: Arc<Collector>,
    /// Interaction requests acted on since it was opened.
    acted: usize,
}

/// The engine listens to the task pool's events for the interaction requests addressed
/// to its application, and acts on each in one engine transaction with its checkpoint.
impl Listener for ExampleApplication {
    type Error = CollectorError;

    fn id(&self) -> &str {
        &self.name
    }

    fn checkpoint(&mut self) -> Result<i64, CollectorError> {
        Ok(self
            .conn
            .query_row(
                "SELECT position FROM engine_interaction_checkpoint WHERE id = 1",
                [],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0))
    }

    fn handle(&mut self, events: &[StoredEvent]) -> Result<(), CollectorError> {
        let Some(last) = events.last().map(|e| e.position) else {
            return Ok(());
        };
        let app = self.name.clone();
        let collector = Arc::clone(&self.collector);
        let mut tx = collector.begin(&mut self.conn)?;
        let mut acted = 0;
        for stored in events {
            match &stored.event {
                DomainEvent::Task(event) => {
                    let Some(request) = event.interaction().filter(|r| r.application_name == app)
                    else {
                        continue;
                    };
                    act(&mut tx, &app, event, request, stored.metadata.causation_id)?;
                }
                DomainEvent::ProcessDefinition(ProcessDefinitionEvent::ProcessStartRequested(
                    r,
                )) if r.application_name == app => {
                    start_requested(&mut tx, &app, r, stored.metadata.causation_id)?;
                }
                _ => continue,
            }
            acted += 1;
        }
        tx.conn().execute(
            "INSERT INTO engine_interaction_checkpoint (id, position) VALUES (1, ?1)
             ON CONFLICT (id) DO UPDATE SET position = excluded.position",
            [last],
        )?;
        tx.commit()?;
        self.acted += acted;
        Ok(())
    }
}

impl ExampleApplication {
    /// Opens the application's database (creating the engine tables).
    pub fn open(
        name: impl Into<String>,
        conn: Connection,
        collector: Arc<Collector>,
    ) -> Result<Self, CollectorError> {
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        conn.execute_batch(SCHEMA)?;
        // Databases from before tasks were kept whole (for re-syncing) get the column;
        // their tasks have none, and a re-sync then waits for a fresh start.
        let has_task: bool = conn.query_row(
            "SELECT COUNT(*) FROM pragma_table_info('engine_tasks') WHERE name = 'task'",
            [],
            |r| r.get::<_, i64>(0).map(|n| n > 0),
        )?;
        if !has_task {
            conn.execute_batch("ALTER TABLE engine_tasks ADD COLUMN task TEXT")?;
        }
        Ok(Self {
            name: name.into(),
            conn,
            collector,
            acted: 0,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    fn definitions(&self) -> Vec<ProcessDefinition> {
        let def = |key: &str, name: &str, description: &str, groups: &[&str]| ProcessDefinition {
            id: format!("{key}:1:{}", self.name),
            key: key.into(),
            version: 1,
            application_name: self.name.clone(),
            name: name.into(),
            description: Some(description.into()),
            start_form_key: Some(format!("{key}-start")),
            candidate_starter_users: Default::default(),
            candidate_starter_groups: groups.iter().map(|g| g.to_string()).collect(),
            startable_from_tasklist: true,
            forms: forms::of(key),
            diagram: forms::diagram_of(key),
        };
        vec![
            def(
                "approve-request",
                "Approve a request",
                "A request is approved, or amended until it is.",
                &["approvers", "support", "managers"],
            ),
            def(
                "handle-incident",
                "Handle an incident",
                "Support triages an incident and someone resolves it.",
                &["support", "managers"],
            ),
        ]
    }

    /// Deploys the process definitions (idempotent in the task pool).
    pub fn deploy(&mut self) -> Result<(), CollectorError> {
        let definitions = self.definitions();
        let collector = Arc::clone(&self.collector);
        let mut tx = collector.begin(&mut self.conn)?;
        for definition in definitions {
            tx.record(EngineEvent::ProcessDefinitionDeployed { definition })?;
        }
        tx.commit()?;
        Ok(())
    }

    /// How many instances the engine has.
    pub fn instance_count(&self) -> Result<i64, CollectorError> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM engine_instances", [], |r| r.get(0))?)
    }

    /// The fixed starting set: every user (alice, bob, carol) has tasks, assigned or
    /// claimable through a group.
    pub fn create_starting_set(&mut self) -> Result<(), CollectorError> {
        let requests = [
            ("carol", "New laptop for the design team", 2400),
            ("bob", "Conference trip to Berlin", 1150),
            ("alice", "Standing desks for the office", 3900),
            ("bob", "Annual licence: diagram tool", 480),
        ];
        for (requester, subject, amount) in requests {
            self.start_approve_request(requester, subject, amount)?;
        }
        let incidents = [
            ("alice", "VPN drops every 10 minutes", 2),
            ("carol", "Printer on floor 3 out of toner", 4),
            ("bob", "Payroll export fails with error 500", 1),
        ];
        for (reporter, title, severity) in incidents {
            self.start_handle_incident(reporter, title, severity)?;
        }
        // One incident already triaged to carol, one request claimed by alice.
        let (_, triage) =
            self.start_handle_incident("alice", "Mail server certificate expires Friday", 2)?;
        let mut result = Payload::new();
        result.insert("assignTo".into(), json!("carol"));
        self.complete(&triage, "bob", &result)?;
        let (_, approve) = self.start_approve_request("carol", "Team offsite catering", 760)?;
        self.assign(&approve, Some("alice"))?;
        Ok(())
    }

    /// Starts "approve a request"; returns (instance id, approve task id).
    pub fn start_approve_request(
        &mut self,
        requester: &str,
        subject: &str,
        amount: i64,
    ) -> Result<(String, String), CollectorError> {
        let app = self.name.clone();
        let collector = Arc::clone(&self.collector);
        let mut tx = collector.begin(&mut self.conn)?;
        let started = start_approve_request_in(&mut tx, &app, requester, subject, amount)?;
        tx.commit()?;
        Ok(started)
    }

    /// Starts "handle an incident"; returns (instance id, triage task id).
    pub fn start_handle_incident(
        &mut self,
        reporter: &str,
        title: &str,
        severity: i64,
    ) -> Result<(String, String), CollectorError> {
        let app = self.name.clone();
        let collector = Arc::clone(&self.collector);
        let mut tx = collector.begin(&mut self.conn)?;
        let started = start_handle_incident_in(&mut tx, &app, reporter, title, severity)?;
        tx.commit()?;
        Ok(started)
    }

    /// Engine: sets a task's assignee.
    pub fn assign(
        &mut self,
        task_id: &str,
        assignee: Option<&str>,
    ) -> Result<bool, CollectorError> {
        let collector = Arc::clone(&self.collector);
        let mut tx = collector.begin(&mut self.conn)?;
        let changed = assign_in(&mut tx, task_id, assignee)?;
        tx.commit()?;
        Ok(changed)
    }

    /// Engine: completes a task by `user` with result values, and moves its process on.
    pub fn complete(
        &mut self,
        task_id: &str,
        user: &str,
        result: &Payload,
    ) -> Result<bool, CollectorError> {
        let collector = Arc::clone(&self.collector);
        let app = self.name.clone();
        let mut tx = collector.begin(&mut self.conn)?;
        let done = complete_in(&mut tx, &app, task_id, user, result)?;
        tx.commit()?;
        Ok(done)
    }

    /// Acts on the interaction events addressed to this application that the event store
    /// holds after the checkpoint; returns how many were acted on.
    pub fn process_interactions(
        &mut self,
        reader: &mut EventReader,
    ) -> Result<usize, CollectorError> {
        let before = self.acted;
        Listener::catch_up(self, reader)?;
        Ok(self.acted - before)
    }

    /// The active tasks of the engine: (task id, task key, assignee).
    pub fn active_tasks(&self) -> Result<Vec<(String, String, Option<String>)>, CollectorError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, task_key, assignee FROM engine_tasks WHERE active = 1 ORDER BY rowid",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every open task as the engine has it, enriched as its engine transactions are
    /// (for a re-sync); `None` when some open task was created before the engine kept
    /// tasks whole (a re-sync without it would delete it from the pool).
    pub fn open_tasks(&self) -> Result<Option<Vec<Task>>, CollectorError> {
        let mut stmt = self
            .conn
            .prepare("SELECT task FROM engine_tasks WHERE active = 1 ORDER BY rowid")?;
        let rows: Vec<Option<String>> = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut created = Vec::with_capacity(rows.len());
        for json in rows {
            let Some(task) = json.and_then(|j| serde_json::from_str::<Task>(&j).ok()) else {
                return Ok(None);
            };
            created.push(EngineEvent::TaskCreated {
                task: Box::new(task),
            });
        }
        let conn = &self.conn;
        let mut variables = |instance: &str| EngineVariables.variables(conn, instance);
        let commands = self
            .collector
            .commands_for(&created, Vec::new(), &mut variables);
        Ok(Some(
            commands
                .into_iter()
                .filter_map(|c| match c {
                    taskpool_core::Command::Task(
                        taskpool_core::command::TaskCommand::CreateTask(t),
                    ) => Some(t),
                    _ => None,
                })
                .collect(),
        ))
    }

    /// One step of the load generator: start a random process.
    pub fn start_random(&mut self, rng: &mut impl Rng) -> Result<(), CollectorError> {
        let (user, _) = directory::USERS[rng.gen_range(0..directory::USERS.len())];
        if rng.gen_bool(0.5) {
            let subjects = [
                "Monitor upgrade",
                "Team training budget",
                "Travel to customer site",
                "Software licence renewal",
                "Office supplies",
            ];
            let subject = subjects[rng.gen_range(0..subjects.len())];
            self.start_approve_request(user, subject, rng.gen_range(50..5000))?;
        } else {
            let titles = [
                "Laptop does not boot",
                "Cannot access shared drive",
                "Phone line dead",
                "Website slow",
                "Password reset needed",
            ];
            let title = titles[rng.gen_range(0..titles.len())];
            self.start_handle_incident(user, title, rng.gen_range(1..5))?;
        }
        Ok(())
    }
}

/// Starts "approve a request" in an engine transaction; returns (instance id, approve
/// task id).
fn start_approve_request_in(
    tx: &mut EngineTransaction<'_>,
    app: &str,
    requester: &str,
    subject: &str,
    amount: i64,
) -> Result<(String, String), CollectorError> {
    let instance_id = Uuid::new_v4().to_string();
    let request_id = format!("REQ-{}", &instance_id[..8].to_uppercase());
    let variables = json!({"requestId": request_id, "requester": requester, "subject": subject, "amount": amount});
    let source = source_reference(app, &instance_id, "approve-request", "Approve a request");
    start_instance(
        tx,
        app,
        &instance_id,
        "approve-request",
        &request_id,
        requester,
        &variables,
    )?;
    tx.send_data_entry(request_entry(
        app,
        &request_id,
        subject,
        requester,
        amount,
        DataEntryState::new(ProcessingType::InProgress, "submitted"),
        "Request submitted",
    ))?;
    let task_id = create_task(
        tx,
        source,
        "approve",
        &format!("Approve: {subject}"),
        &request_id,
        None,
        &["approvers"],
        priority_for_amount(amount),
        3,
    )?;
    Ok((instance_id, task_id))
}

/// Starts "handle an incident" in an engine transaction; returns (instance id, triage
/// task id).
fn start_handle_incident_in(
    tx: &mut EngineTransaction<'_>,
    app: &str,
    reporter: &str,
    title: &str,
    severity: i64,
) -> Result<(String, String), CollectorError> {
    let instance_id = Uuid::new_v4().to_string();
    let key = format!("INC-{}", &instance_id[..6].to_uppercase());
    let variables =
        json!({"incidentId": key, "reporter": reporter, "title": title, "severity": severity});
    let source = source_reference(app, &instance_id, "handle-incident", "Handle an incident");
    start_instance(
        tx,
        app,
        &instance_id,
        "handle-incident",
        &key,
        reporter,
        &variables,
    )?;
    let priority = (100 - severity * 20).clamp(0, 100) as i32;
    let task_id = create_task(
        tx,
        source,
        "triage",
        &format!("Triage: {title}"),
        &key,
        None,
        &["support"],
        priority,
        1,
    )?;
    Ok((instance_id, task_id))
}

/// A text value of a start form: present, not blank, at most 200 characters.
fn start_text(values: &Payload, key: &str, label: &str) -> Result<String, String> {
    match values.get(key).and_then(Value::as_str).map(str::trim) {
        Some(t) if !t.is_empty() && t.chars().count() <= 200 => Ok(t.to_string()),
        Some(t) if !t.is_empty() => Err(format!("{label} is longer than 200 characters")),
        _ => Err(format!("{label} is required")),
    }
}

/// A whole number of a start form (a number, or a text holding one, as a form's choice
/// sends it) within `range`.
fn start_number(
    values: &Payload,
    key: &str,
    label: &str,
    range: std::ops::RangeInclusive<i64>,
) -> Result<i64, String> {
    let n = match values.get(key) {
        Some(Value::Number(n)) => n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64),
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        _ => return Err(format!("{label} is required")),
    };
    match n {
        Some(n) if range.contains(&n) => Ok(n),
        _ => Err(format!(
            "{label} must be a whole number from {} to {}",
            range.start(),
            range.end()
        )),
    }
}

/// What a start request asks for, checked: its values, or why it is refused.
enum Start {
    Approval { subject: String, amount: i64 },
    Incident { title: String, severity: i64 },
}

fn start_of(r: &ProcessStartRequested) -> Result<Start, String> {
    match r.definition_id.split(':').next().unwrap_or_default() {
        "approve-request" => Ok(Start::Approval {
            subject: start_text(&r.values, "subject", "the subject")?,
            amount: start_number(&r.values, "amount", "the amount", 1..=10_000_000)?,
        }),
        "handle-incident" => Ok(Start::Incident {
            title: start_text(&r.values, "title", "what is wrong")?,
            severity: start_number(&r.values, "severity", "the severity", 1..=4)?,
        }),
        other => Err(format!("the example application has no process `{other}`")),
    }
}

/// Starts the process a user asked for, with their start form's values, and answers the
/// request in the same engine transaction: started (naming the instance) or refused with
/// why (a value missing or out of range, a process it does not know).
fn start_requested(
    tx: &mut EngineTransaction<'_>,
    app: &str,
    r: &ProcessStartRequested,
    request_id: Uuid,
) -> Result<(), CollectorError> {
    let started = match start_of(r) {
        Ok(Start::Approval { subject, amount }) => Ok(start_approve_request_in(
            tx, app, &r.user, &subject, amount,
        )?),
        Ok(Start::Incident { title, severity }) => Ok(start_handle_incident_in(
            tx, app, &r.user, &title, severity,
        )?),
        Err(reason) => Err(reason),
    };
    tx.record(match started {
        Ok((instance_id, _)) => EngineEvent::StartPerformed {
            definition_id: r.definition_id.clone(),
            request_id,
            instance_id,
        },
        Err(reason) => EngineEvent::StartRejected {
            definition_id: r.definition_id.clone(),
            request_id,
            reason,
        },
    })
}

/// Where a task of this application's process instance comes from.
fn source_reference(app: &str, instance_id: &str, key: &str, name: &str) -> SourceReference {
    SourceReference {
        kind: SourceReferenceKind::Process,
        instance_id: instance_id.into(),
        execution_id: format!("{instance_id}-ex"),
        definition_id: format!("{key}:1:{app}"),
        definition_key: key.into(),
        name: name.into(),
        application_name: app.into(),
        tenant_id: None,
    }
}

fn priority_for_amount(amount: i64) -> i32 {
    match amount {
        a if a >= 3000 => 90,
        a if a >= 1000 => 70,
        _ => 50,
    }
}

fn request_entry(
    app: &str,
    request_id: &str,
    subject: &str,
    requester: &str,
    amount: i64,
    state: DataEntryState,
    message: &str,
) -> DataEntryCommand {
    let mut payload = Payload::new();
    payload.insert("subject".into(), json!(subject));
    payload.insert("amount".into(), json!(amount));
    payload.insert("requester".into(), json!(requester));
    DataEntryCommand::CreateOrUpdateDataEntry(CreateOrUpdateDataEntry {
        entry_type: "request".into(),
        entry_id: request_id.into(),
        name: subject.into(),
        description: Some(format!("Request {request_id} by {requester}")),
        type_name: "Request".into(),
        application_name: app.into(),
        form_key: Some("request-view".into()),
        state,
        payload,
        correlations: Default::default(),
        modification: Modification {
            time: Utc::now(),
            username: Some(requester.into()),
            log_message: Some(message.into()),
            log_notes: None,
        },
        authorization_changes: vec![
            AuthorizationChange::AddUser(requester.into()),
            AuthorizationChange::AddGroup("approvers".into()),
        ],
    })
}

fn start_instance(
    tx: &mut EngineTransaction<'_>,
    app: &str,
    instance_id: &str,
    key: &str,
    business_key: &str,
    starter: &str,
    variables: &Value,
) -> Result<(), CollectorError> {
    tx.conn().execute(
        "INSERT INTO engine_instances (id, definition_key, business_key, running, variables) VALUES (?1, ?2, ?3, 1, ?4)",
        params![instance_id, key, business_key, variables.to_string()],
    )?;
    tx.record(EngineEvent::ProcessStarted {
        instance_id: instance_id.into(),
        definition_id: format!("{key}:1:{app}"),
        definition_key: key.into(),
        application_name: app.into(),
        business_key: Some(business_key.into()),
        started_by: Some(starter.into()),
    })?;
    if let Value::Object(vars) = variables {
        for (name, value) in vars {
            tx.record(EngineEvent::VariableCreated {
                instance_id: instance_id.into(),
                name: name.clone(),
                value: value.clone(),
            })?;
        }
    }
    Ok(())
}

/// Adds candidate users to a task the engine holds (its whole copy too, for re-syncs).
fn add_candidate_users(
    tx: &mut EngineTransaction<'_>,
    id: &str,
    users: &[&str],
) -> Result<(), CollectorError> {
    let whole: String = tx.conn().query_row(
        "SELECT task FROM engine_tasks WHERE id = ?1",
        params![id],
        |r| r.get(0),
    )?;
    let mut task: Task = serde_json::from_str(&whole).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })?;
    task.candidate_users
        .extend(users.iter().map(|u| u.to_string()));
    tx.conn().execute(
        "UPDATE engine_tasks SET task = ?2 WHERE id = ?1",
        params![
            id,
            serde_json::to_string(&task)
                .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?
        ],
    )?;
    tx.record(EngineEvent::CandidateUsersAdded {
        task_id: id.into(),
        users: users.iter().map(|u| u.to_string()).collect(),
    })
}

#[allow(clippy::too_many_arguments)]
fn create_task(
    tx: &mut EngineTransaction<'_>,
    source: SourceReference,
    key: &str,
    name: &str,
    business_key: &str,
    assignee: Option<&str>,
    groups: &[&str],
    priority: i32,
    due_in_days: i64,
) -> Result<String, CollectorError> {
    let id = Uuid::new_v4().to_string();
    tx.conn().execute(
        "INSERT INTO engine_tasks (id, instance_id, task_key, assignee, active) VALUES (?1, ?2, ?3, ?4, 1)",
        params![id, source.instance_id, key, assignee],
    )?;
    let now = Utc::now();
    let task = Task {
        id: id.clone(),
        task_definition_key: key.into(),
        name: name.into(),
        description: Some(format!("{} ({})", source.name, business_key)),
        form_key: Some(format!("{}-{key}", source.definition_key)),
        priority,
        assignee: None,
        owner: None,
        candidate_users: Default::default(),
        candidate_groups: Default::default(),
        create_time: now,
        due_date: Some(now + ChronoDuration::days(due_in_days)),
        follow_up_date: None,
        business_key: Some(business_key.into()),
        payload: Payload::new(),
        correlations: if business_key.starts_with("REQ-") {
            [Correlation::new("request", business_key)].into()
        } else {
            Default::default()
        },
        enriched: false,
        source_reference: source,
    };
    // The engine keeps the task whole (what a re-sync sends), as it stands.
    let mut whole = task.clone();
    whole.assignee = assignee.map(String::from);
    whole.candidate_groups = groups.iter().map(|g| g.to_string()).collect();
    tx.conn().execute(
        "UPDATE engine_tasks SET task = ?2 WHERE id = ?1",
        params![
            id,
            serde_json::to_string(&whole)
                .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?
        ],
    )?;
    // As an engine reports it: created, then assignment and candidates separately;
    // the projecting accumulator folds them into the create.
    tx.record(EngineEvent::TaskCreated {
        task: Box::new(task),
    })?;
    if let Some(a) = assignee {
        tx.record(EngineEvent::TaskAssigned {
            task_id: id.clone(),
            assignee: Some(a.into()),
        })?;
    }
    if !groups.is_empty() {
        tx.record(EngineEvent::CandidateGroupsAdded {
            task_id: id.clone(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
        })?;
    }
    Ok(id)
}

fn assign_in(
    tx: &mut EngineTransaction<'_>,
    task_id: &str,
    assignee: Option<&str>,
) -> Result<bool, CollectorError> {
    let n = tx.conn().execute(
        "UPDATE engine_tasks SET assignee = ?2, task = json_set(task, '$.assignee', ?2) WHERE id = ?1 AND active = 1",
        params![task_id, assignee],
    )?;
    if n == 1 {
        tx.record(EngineEvent::TaskAssigned {
            task_id: task_id.into(),
            assignee: assignee.map(String::from),
        })?;
    }
    Ok(n == 1)
}

fn set_follow_up(
    tx: &mut EngineTransaction<'_>,
    task_id: &str,
    until: Option<chrono::DateTime<Utc>>,
) -> Result<(), CollectorError> {
    let n = tx.conn().execute(
        "UPDATE engine_tasks SET follow_up = ?2, task = json_set(task, '$.followUpDate', ?3) WHERE id = ?1 AND active = 1",
        params![
            task_id,
            until.map(|u| u.to_rfc3339()),
            until.map(|u| u.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true))
        ],
    )?;
    if n == 1 {
        tx.record(EngineEvent::TaskAttributesUpdated {
            update: UpdateTaskAttributes {
                id: task_id.into(),
                follow_up_date: until.map(Patch::Set).unwrap_or(Patch::Clear),
                ..Default::default()
            },
        })?;
    }
    Ok(())
}

/// Who requested what an approval task decides (`None` for other tasks): they may not
/// decide it themselves.
fn requested_by(
    tx: &EngineTransaction<'_>,
    task_id: &str,
) -> Result<Option<String>, CollectorError> {
    let row: Option<(String, String)> = tx
        .conn()
        .query_row(
            "SELECT t.task_key, i.variables FROM engine_tasks t JOIN engine_instances i ON i.id = t.instance_id WHERE t.id = ?1",
            [task_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(row.and_then(|(key, variables)| {
        (key == "approve")
            .then(|| serde_json::from_str::<Value>(&variables).ok())
            .flatten()
            .and_then(|v| v["requester"].as_str().map(String::from))
    }))
}

/// Acts on one user's request and answers it in the same engine transaction: performed
/// (with the engine events it caused) or rejected with the engine's reason.
fn act(
    tx: &mut EngineTransaction<'_>,
    app: &str,
    event: &TaskEvent,
    r: &TaskInteractionRequested,
    request_id: Uuid,
) -> Result<(), CollectorError> {
    // The task as the engine has it: `None` when it is no longer open.
    let assignee: Option<Option<String>> = tx
        .conn()
        .query_row(
            "SELECT assignee FROM engine_tasks WHERE id = ?1 AND active = 1",
            [&r.id],
            |row| row.get(0),
        )
        .optional()?;
    let refusal = match (event, assignee) {
        (_, None) => Some("the task is no longer open".to_string()),
        (TaskEvent::TaskClaimRequested(_) | TaskEvent::TaskCompleteRequested(_), Some(_))
            if requested_by(tx, &r.id)?.as_deref() == Some(r.user.as_str()) =>
        {
            Some(format!(
                "{} requested this: another approver must decide (four-eyes rule)",
                r.user
            ))
        }
        (TaskEvent::TaskClaimRequested(_), Some(None)) => {
            assign_in(tx, &r.id, Some(&r.user))?;
            None
        }
        (TaskEvent::TaskClaimRequested(_), Some(Some(a))) if a == r.user => None,
        (TaskEvent::TaskClaimRequested(_), Some(Some(a))) => {
            Some(format!("the task is already claimed by {a}"))
        }
        (TaskEvent::TaskUnclaimRequested(_), Some(None)) => None,
        (TaskEvent::TaskUnclaimRequested(_), Some(Some(a))) if a == r.user => {
            assign_in(tx, &r.id, None)?;
            None
        }
        (TaskEvent::TaskCompleteRequested(_), Some(Some(a)))
        | (TaskEvent::TaskUnclaimRequested(_), Some(Some(a)))
            if a != r.user =>
        {
            Some(format!("the task is claimed by {a}, not by {}", r.user))
        }
        (TaskEvent::TaskCompleteRequested(_), Some(_)) => {
            complete_in(
                tx,
                app,
                &r.id,
                &r.user,
                &r.payload.clone().unwrap_or_default(),
            )?;
            None
        }
        (TaskEvent::TaskDeferRequested(_), Some(_)) => {
            set_follow_up(tx, &r.id, r.follow_up_date)?;
            None
        }
        (TaskEvent::TaskUndeferRequested(_), Some(_)) => {
            set_follow_up(tx, &r.id, None)?;
            None
        }
        (TaskEvent::TaskAssignRequested(_), Some(holder)) => {
            reassign(tx, &r.id, &r.user, holder.as_deref(), r.assignee.as_deref())?
        }
        _ => return Ok(()),
    };
    tx.record(match refusal {
        None => EngineEvent::RequestPerformed {
            task_id: r.id.clone(),
            request_id,
        },
        Some(reason) => EngineEvent::RequestRejected {
            task_id: r.id.clone(),
            request_id,
            reason,
        },
    })
}

/// A user gives their task to another: refused unless they hold it, the other is one of
/// the application's users, and (for an approval) not its requester; else assigned.
fn reassign(
    tx: &mut EngineTransaction<'_>,
    task_id: &str,
    user: &str,
    holder: Option<&str>,
    to: Option<&str>,
) -> Result<Option<String>, CollectorError> {
    let refusal = match (holder, to) {
        (Some(h), _) if h != user => Some(format!("the task is claimed by {h}, not by {user}")),
        (None, _) => Some(format!("the task is not claimed by {user}")),
        (_, None) => Some("no one to give the task to".to_string()),
        (_, Some(to)) if !directory::USERS.iter().any(|(u, _)| *u == to) => {
            Some(format!("{to} is not a user of the example application"))
        }
        (_, Some(to)) if requested_by(tx, task_id)?.as_deref() == Some(to) => Some(format!(
            "{to} requested this: another approver must decide (four-eyes rule)"
        )),
        (_, Some(to)) => {
            assign_in(tx, task_id, Some(to))?;
            None
        }
    };
    Ok(refusal)
}

fn complete_in(
    tx: &mut EngineTransaction<'_>,
    app: &str,
    task_id: &str,
    user: &str,
    result: &Payload,
) -> Result<bool, CollectorError> {
    let row: Option<(String, String)> = tx
        .conn()
        .query_row(
            "SELECT instance_id, task_key FROM engine_tasks WHERE id = ?1 AND active = 1",
            [task_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((instance_id, task_key)) = row else {
        return Ok(false);
    };
    tx.conn().execute(
        "UPDATE engine_tasks SET active = 0, assignee = ?2 WHERE id = ?1",
        params![task_id, user],
    )?;
    // The engine assigns the completing user, then completes: the accumulator turns
    // this into one complete with that assignee.
    tx.record(EngineEvent::TaskAssigned {
        task_id: task_id.into(),
        assignee: Some(user.into()),
    })?;
    tx.record(EngineEvent::TaskCompleted {
        task_id: task_id.into(),
    })?;
    let (key, business_key, vars): (String, String, String) = tx.conn().query_row(
        "SELECT definition_key, business_key, variables FROM engine_instances WHERE id = ?1",
        [&instance_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let mut vars: Payload = serde_json::from_str(&vars).unwrap_or_default();
    for (name, value) in result {
        let event = if vars.contains_key(name) {
            EngineEvent::VariableUpdated {
                instance_id: instance_id.clone(),
                name: name.clone(),
                value: value.clone(),
            }
        } else {
            EngineEvent::VariableCreated {
                instance_id: instance_id.clone(),
                name: name.clone(),
                value: value.clone(),
            }
        };
        if vars.get(name) != Some(value) {
            vars.insert(name.clone(), value.clone());
            tx.record(event)?;
        }
    }
    tx.conn().execute(
        "UPDATE engine_instances SET variables = ?2 WHERE id = ?1",
        params![instance_id, Value::Object(vars.clone()).to_string()],
    )?;
    let text = |k: &str| {
        vars.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let amount = vars.get("amount").and_then(Value::as_i64).unwrap_or(0);
    let source = |name: &str| source_reference(app, &instance_id, &key, name);
    match (key.as_str(), task_key.as_str()) {
        ("approve-request", "approve") => {
            // The approve form's `decision` (approve / reject), or `approved` (true /
            // false) from clients that send values of their own.
            let approved = match (result.get("decision"), result.get("approved")) {
                (Some(d), _) => d.as_str() != Some("reject"),
                (None, Some(a)) => a.as_bool() != Some(false),
                (None, None) => true,
            };
            if approved {
                tx.send_data_entry(request_entry(
                    app,
                    &business_key,
                    &text("subject"),
                    &text("requester"),
                    amount,
                    DataEntryState::new(ProcessingType::Completed, "approved"),
                    &format!("Approved by {user}"),
                ))?;
                end_instance(tx, &instance_id)?;
            } else {
                tx.send_data_entry(request_entry(
                    app,
                    &business_key,
                    &text("subject"),
                    &text("requester"),
                    amount,
                    DataEntryState::new(ProcessingType::InProgress, "rejected"),
                    &format!("Rejected by {user}"),
                ))?;
                let requester = text("requester");
                let amend = create_task(
                    tx,
                    source("Approve a request"),
                    "amend",
                    &format!("Amend: {}", text("subject")),
                    &business_key,
                    Some(&requester),
                    &[],
                    60,
                    2,
                )?;
                // Given back, it stays the requester's to claim again (else nobody could
                // see it, and the process would be stuck).
                add_candidate_users(tx, &amend, &[&requester])?;
            }
        }
        ("approve-request", "amend") => {
            create_task(
                tx,
                source("Approve a request"),
                "approve",
                &format!("Approve: {}", text("subject")),
                &business_key,
                None,
                &["approvers"],
                priority_for_amount(amount),
                3,
            )?;
        }
        ("handle-incident", "triage") => {
            let resolver = result
                .get("assignTo")
                .and_then(Value::as_str)
                .unwrap_or(user)
                .to_string();
            create_task(
                tx,
                source("Handle an incident"),
                "resolve",
                &format!("Resolve: {}", text("title")),
                &business_key,
                Some(&resolver),
                &["support"],
                70,
                2,
            )?;
        }
        _ => end_instance(tx, &instance_id)?,
    }
    Ok(true)
}

fn end_instance(tx: &mut EngineTransaction<'_>, instance_id: &str) -> Result<(), CollectorError> {
    tx.conn().execute(
        "UPDATE engine_instances SET running = 0 WHERE id = ?1",
        [instance_id],
    )?;
    tx.record(EngineEvent::ProcessEnded {
        instance_id: instance_id.into(),
        cancelled: false,
        reason: None,
    })
}
