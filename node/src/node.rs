//! The task pool node: everything the server runs, without HTTP. One event store and
//! command gateway; a projector thread keeping the view; the change feed handing changes
//! to live subscriptions; the command-outcome log; and whatever threads its host adopts
//! (the example process application, a Kafka publisher). The server's HTTP layer and
//! the desktop's embedded mode are adapters over it. All methods block (SQLite); async
//! callers use `spawn_blocking`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use taskpool_collector::engine_event::EngineEvent;
use taskpool_collector::engine_transaction::NoVariables;
use taskpool_collector::enricher::EnricherConfig;
use taskpool_collector::outcome_log::{OutcomeLog, OutcomeLogError, OutcomeQuery, OutcomeRecord};
use taskpool_collector::properties::SenderProperties;
use taskpool_collector::sender::GatewaySender;
use taskpool_collector::Collector;
use taskpool_core::command::{
    AssignInteraction, CompleteInteraction, DataEntryCommand, DeferInteraction, DeleteTask,
    ProcessDefinitionCommand, StartInteraction, TaskCommand, UserInteraction,
};

use crate::action_keys::{ActionKeys, KeyUse};
use crate::filters::{FilterInput, FilterStore, FilterStoreError, QuickView, SavedFilter};
use crate::handoffs::{Handoff, Handoffs};
use crate::resync::{ResyncError, ResyncLog, ResyncOutcome, ResyncPage, MAX_PAGES, MAX_PAGE_TASKS};
use taskpool_core::command_gateway::{DeletionStrategy, GatewayConfig, GatewayError};
use taskpool_core::event::{ProcessDefinitionEvent, TaskEvent};
use taskpool_core::event_store::{EventReader, StoreError};
use taskpool_core::live::{ChangeFeed, Snapshot, Subscription};
use taskpool_core::model::{DataEntry, Payload, ProcessDefinition, Task};
use taskpool_core::position_signal::PositionSignal;
use taskpool_core::projector::{Follow, Projector, ProjectorError};
use taskpool_core::query::{self, QueryError, TaskPage, TaskQuery, Viewer};
use taskpool_core::query::{ActionRequest, FormDocument, RequestState};
use taskpool_core::view::search::SearchProjector;
use taskpool_core::view::{View, ViewMemory};
use taskpool_core::{
    BatchMode, BatchOutcome, Command, CommandContext, CommandGateway, CommandOutcome, DomainEvent,
    EventStore,
};

/// Why the node could not answer.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Projector(#[from] ProjectorError),
    #[error(transparent)]
    OutcomeLog(#[from] OutcomeLogError),
    #[error("view: {0}")]
    View(#[from] rusqlite::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The task does not exist or the caller may not see it (never told apart).
    #[error("no such task")]
    TaskNotFound,
    /// The pool refused the user's action before asking the application (the task is
    /// someone else's, already completed…): the outcome says why.
    #[error("refused: {0:?}")]
    Refused(Box<CommandOutcome>),
    /// No request with this id that the caller made.
    #[error("no such request")]
    RequestNotFound,
    /// No process definition with this id that the caller may start.
    #[error("no such process definition")]
    DefinitionNotFound,
    /// The task or definition has no form registered (says which).
    #[error("{0}")]
    FormNotFound(String),
    /// The task's application registered no diagram with its process definition.
    #[error("no diagram was registered with process definition `{0}`")]
    DiagramNotFound(String),
    /// The view did not catch up in time.
    #[error("the view is behind")]
    ViewBehind,
    /// Input the node refuses, naming the field.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error(transparent)]
    Resync(#[from] ResyncError),
    #[error(transparent)]
    Filters(#[from] FilterStoreError),
    #[error("the node is shutting down")]
    ShuttingDown,
    #[error(transparent)]
    ActionKeys(#[from] crate::action_keys::ActionKeyError),
    #[error(transparent)]
    Handoffs(#[from] crate::handoffs::HandoffError),
    /// The idempotency key names another request of this user.
    #[error("the idempotency key was used for another request")]
    KeyReused,
}

/// An action of a user on a task, with what it carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(
    tag = "kind",
    rename_all = "lowercase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum TaskAction {
    Claim,
    Unclaim,
    Complete {
        /// The result values.
        #[serde(default)]
        #[cfg_attr(feature = "typescript", ts(type = "Record<string, unknown>"))]
        payload: Payload,
    },
    Defer {
        /// Hidden from the default inbox until then.
        follow_up_date: DateTime<Utc>,
    },
    Undefer,
    /// Gives my task to another user (the application decides whether it may).
    Assign {
        assignee: String,
    },
}

impl TaskAction {
    /// The action's name (`claim`, …): the last segment of its HTTP path.
    pub fn name(&self) -> &'static str {
        match self {
            TaskAction::Claim => "claim",
            TaskAction::Unclaim => "unclaim",
            TaskAction::Complete { .. } => "complete",
            TaskAction::Defer { .. } => "defer",
            TaskAction::Undefer => "undefer",
            TaskAction::Assign { .. } => "assign",
        }
    }
}

impl TaskAction {
    fn command(self, task_id: &str, user: &str) -> TaskCommand {
        let interaction = UserInteraction {
            id: task_id.to_string(),
            user: user.to_string(),
        };
        match self {
            TaskAction::Claim => TaskCommand::ClaimInteraction(interaction),
            TaskAction::Unclaim => TaskCommand::UnclaimInteraction(interaction),
            TaskAction::Undefer => TaskCommand::UndeferInteraction(interaction),
            TaskAction::Complete { payload } => {
                TaskCommand::CompleteInteraction(CompleteInteraction {
                    id: task_id.to_string(),
                    user: user.to_string(),
                    payload,
                })
            }
            TaskAction::Defer { follow_up_date } => {
                TaskCommand::DeferInteraction(DeferInteraction {
                    id: task_id.to_string(),
                    user: user.to_string(),
                    follow_up_date,
                })
            }
            TaskAction::Assign { assignee } => TaskCommand::AssignInteraction(AssignInteraction {
                id: task_id.to_string(),
                user: user.to_string(),
                assignee,
            }),
        }
    }
}

/// One engine transaction reported by a remote process application.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EngineTransactionRequest {
    /// The engine events of the transaction, in order (`{"type": "taskCreated", ...}`).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub events: Vec<EngineEvent>,
    /// Data entry commands sent with the transaction.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub data_entries: Vec<DataEntryCommand>,
    /// The variables of the instances involved, as they are at the end of the
    /// transaction, for the enricher (variable events of the transaction are applied on
    /// top).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = std::collections::HashMap<String, std::collections::HashMap<String, serde_json::Value>>))]
    pub variables: BTreeMap<String, Payload>,
}

/// A process application's `Idempotency-Key` with what the keyed request was: resent
/// with the same key, a request is applied once (answered with the first outcome); the
/// same key with another request (another fingerprint) is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotency {
    pub key: String,
    /// A fingerprint of the request's content (the HTTP adapter hashes the decoded
    /// body); `None`: the key alone decides.
    pub fingerprint: Option<String>,
}

/// An interaction request on its way to the owning process application. As a
/// message it is the event with its `requestId`, which the application echoes in its
/// answer (`requestPerformed` / `requestRejected` for a task's, `startPerformed` /
/// `startRejected` for a start).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InteractionDelivery {
    /// The event store position (the stream's resume point).
    #[serde(skip)]
    pub position: i64,
    pub request_id: uuid::Uuid,
    /// The event (`TaskClaimRequested`, `TaskCompleteRequested`, ...,
    /// `ProcessStartRequested`).
    #[serde(flatten)]
    pub event: InteractionEvent,
}

/// A user's request as its application reads it: an action on a task, or a start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum InteractionEvent {
    Task(Box<TaskEvent>),
    Start(Box<ProcessDefinitionEvent>),
}

/// How the node is set up.
#[derive(Clone)]
pub struct NodeOptions {
    pub data_dir: PathBuf,
    /// How many outcomes the outcome log keeps.
    pub outcome_retention: usize,
    /// The sender properties applied to ingested engine transactions (accumulator,
    /// enabled categories).
    pub sender: SenderProperties,
    /// The projector follows the local event store (single node, process
    /// application). A tasklist node fed over Kafka sets this to false: its view is
    /// written by the consumer.
    pub follow_store: bool,
    /// Where user actions go when the tasks' aggregates live elsewhere (a tasklist
    /// node): None handles them with the local gateway.
    pub router: Option<Arc<dyn InteractionRoute>>,
    /// How long a user's request waits for the owning application's answer before it
    /// counts as expired.
    pub request_expiry: Duration,
    /// What an update of a deleted data entry does.
    pub data_entry_deletion: DeletionStrategy,
    /// The largest event body this node can pass on (set where a publisher sends
    /// events to a broker with a message size).
    pub max_event_bytes: Option<usize>,
    /// How many event positions of changes the live change log keeps (a stream resuming
    /// from before gets a fresh snapshot, marked `reset`); `None`: all.
    pub change_retention: Option<i64>,
    /// How long completed tasks (and their timelines) stay in the history; `None`: for
    /// good.
    pub history_retention: Option<chrono::Duration>,
    /// How much memory the view's connections may hold (a server's by default; the
    /// desktop app's are small).
    pub view_memory: ViewMemory,
}

/// The default [`NodeOptions::history_retention`], in days.
pub const HISTORY_DAYS: i64 = 30;

/// The default [`NodeOptions::change_retention`].
pub const CHANGE_RETENTION: i64 = 100_000;

/// The default [`NodeOptions::request_expiry`].
pub const REQUEST_EXPIRY: Duration = Duration::from_secs(30);

/// How long a text search or payload filter waits for the search index to cover what
/// the view held when it was asked (see [`TaskpoolNode::tasks`]).
pub use taskpool_core::view::search::SEARCH_WAIT;

/// Sends a user's interaction to the process application that owns the task (over
/// Kafka, say) instead of handling it here.
pub trait InteractionRoute: Send + Sync {
    /// Sends `command` of `user` to `application` as request `request_id`; Ok once the
    /// transport confirmed the hand-off. An error does not mean it was not sent (a
    /// broker may hold it without having acknowledged it): the outcome is unknown. The
    /// owning application handles a request id once, however often it comes.
    fn route(
        &self,
        application: &str,
        user: &str,
        command: Command,
        request_id: uuid::Uuid,
    ) -> Result<(), String>;
}

impl NodeOptions {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            outcome_retention: 100_000,
            sender: SenderProperties::default(),
            follow_store: true,
            router: None,
            request_expiry: REQUEST_EXPIRY,
            data_entry_deletion: DeletionStrategy::default(),
            max_event_bytes: None,
            change_retention: Some(CHANGE_RETENTION),
            history_retention: Some(chrono::Duration::days(HISTORY_DAYS)),
            view_memory: ViewMemory::SERVER,
        }
    }
}

/// The running task pool.
pub struct TaskpoolNode {
    store: EventStore,
    gateway: Arc<CommandGateway>,
    view: View,
    view_signal: PositionSignal,
    /// The view position the search index covers (see `taskpool_core::view::search`).
    search_signal: PositionSignal,
    /// Users' idempotency keys (`action-keys.db`).
    action_keys: ActionKeys,
    feed: ChangeFeed,
    outcomes: Arc<OutcomeLog>,
    resyncs: ResyncLog,
    filters: FilterStore,
    pool: Mutex<Vec<Connection>>,
    collectors: Mutex<HashMap<String, Arc<Collector>>>,
    sender: SenderProperties,
    router: Option<Arc<dyn InteractionRoute>>,
    /// The router's hand-offs not yet confirmed (`handoffs.db`), sent again by a thread.
    handoffs: Option<Arc<Handoffs>>,
    request_expiry: Duration,
    stop: Arc<AtomicBool>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    ready_position: i64,
}

/// View connections kept for queries (as many as blocking threads do query work).
const POOL_SIZE: usize = 32;

impl TaskpoolNode {
    /// Opens the data directory (creating it), catches the view up in the background
    /// and starts the change feed.
    pub fn start(options: NodeOptions) -> Result<Arc<Self>, NodeError> {
        std::fs::create_dir_all(&options.data_dir)?;
        // The task pool's data is its owner's only.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&options.data_dir, std::fs::Permissions::from_mode(0o700))?;
        }
        let dir = &options.data_dir;
        let store = EventStore::open(dir.join("events.db"))?;
        let gateway = Arc::new(CommandGateway::with_config(
            &store,
            GatewayConfig {
                data_entry_deletion: options.data_entry_deletion,
                max_event_bytes: options.max_event_bytes,
                ..Default::default()
            },
        )?);
        let ready_position = store.reader()?.head_position()?;
        let outcomes = Arc::new(OutcomeLog::open(
            &dir.join("outcomes.db"),
            options.outcome_retention,
        )?);
        let resyncs = ResyncLog::open(&dir.join("resyncs.db"))?;
        let filters = FilterStore::open(&dir.join("filters.db"))?;
        let action_keys = ActionKeys::open(&dir.join("action-keys.db"))?;
        let view = View::open_with(dir.join("view.db"), options.view_memory)?;
        let projector = Projector::new(&view)?;
        let view_signal = projector.signal();
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        if options.follow_store {
            threads.push(spawn_projector(
                projector
                    .with_change_retention(options.change_retention)
                    .with_history_retention(options.history_retention),
                (options.change_retention, options.history_retention),
                view.clone(),
                view_signal.clone(),
                store.clone(),
                gateway.commit_signal(),
                stop.clone(),
            )?);
        } else {
            drop(projector);
        }
        let (feed, feed_thread) = ChangeFeed::start(&view, view_signal.clone())?;
        threads.push(feed_thread);
        let search_signal = PositionSignal::new(0);
        threads.push(spawn_search_projector(
            view.clone(),
            view_signal.clone(),
            search_signal.clone(),
            stop.clone(),
        )?);
        let handoffs = match &options.router {
            Some(router) => {
                let handoffs = Arc::new(Handoffs::open(&dir.join("handoffs.db"))?);
                let (h, r, s) = (handoffs.clone(), router.clone(), stop.clone());
                threads.push(
                    std::thread::Builder::new()
                        .name("handoffs".into())
                        .spawn(move || crate::handoffs::run_resender(h, r, s))?,
                );
                Some(handoffs)
            }
            None => None,
        };
        Ok(Arc::new(Self {
            store,
            gateway,
            view,
            view_signal,
            search_signal,
            action_keys,
            feed,
            outcomes,
            resyncs,
            filters,
            pool: Mutex::new(Vec::new()),
            collectors: Mutex::default(),
            sender: options.sender,
            router: options.router,
            handoffs,
            request_expiry: options.request_expiry,
            stop,
            threads: Mutex::new(threads),
            ready_position,
        }))
    }

    pub fn data_dir(&self) -> &Path {
        self.store.path().parent().unwrap_or(Path::new("."))
    }

    pub fn store(&self) -> &EventStore {
        &self.store
    }

    pub fn gateway(&self) -> &Arc<CommandGateway> {
        &self.gateway
    }

    pub fn outcome_log(&self) -> &Arc<OutcomeLog> {
        &self.outcomes
    }

    /// Whether [`TaskpoolNode::shutdown`] was called.
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// The stop flag shared with the node's threads (the example application uses it).
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        self.stop.clone()
    }

    /// The last position in the event store.
    pub fn head_position(&self) -> i64 {
        self.gateway.commit_signal().head()
    }

    /// The view's position signal.
    pub fn view_signal(&self) -> PositionSignal {
        self.view_signal.clone()
    }

    /// The last position the view has applied.
    pub fn view_position(&self) -> i64 {
        self.view_signal.head()
    }

    /// The view (a Kafka consumer writes into it on a tasklist node).
    pub fn view(&self) -> &View {
        &self.view
    }

    /// Runs `thread` as one of the node's: it is joined on shutdown.
    pub fn adopt_thread(&self, thread: JoinHandle<()>) {
        if let Ok(mut t) = self.threads.lock() {
            t.push(thread);
        }
    }

    /// The store's head when the node started: the view is ready once it got there.
    pub fn ready_position(&self) -> i64 {
        self.ready_position
    }

    /// How many live subscriptions are registered.
    pub fn live_subscribers(&self) -> usize {
        self.feed.subscribers()
    }

    fn with_view<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, NodeError>,
    ) -> Result<T, NodeError> {
        let conn = match self.pool.lock().ok().and_then(|mut p| p.pop()) {
            Some(c) => c,
            None => self.view.connect_small()?,
        };
        let result = f(&conn);
        if let Ok(mut pool) = self.pool.lock() {
            if pool.len() < POOL_SIZE {
                pool.push(conn);
            }
        }
        result
    }

    // ---- queries ----

    /// The viewer's tasks. A text search or a payload filter is answered from the
    /// search index, which trails the view by its projection's delay: such a query
    /// first waits (up to [`SEARCH_WAIT`]) until the index covers what the view held
    /// when it was asked, so a task a user just changed is found as it is now.
    pub fn tasks(&self, q: &TaskQuery) -> Result<TaskPage, NodeError> {
        if q.uses_search_index() {
            self.wait_for_search(self.view_signal.head(), SEARCH_WAIT);
        }
        self.with_view(|c| Ok(query::tasks(c, q)?))
    }

    /// Waits until the search index covers view position `position`; false when the
    /// timeout passed first (the query then answers from the index as it is).
    pub fn wait_for_search(&self, position: i64, timeout: Duration) -> bool {
        taskpool_core::live::wait_for_position(&self.search_signal, position, timeout)
    }

    /// The view position the search index covers.
    pub fn search_position(&self) -> i64 {
        self.search_signal.head()
    }

    /// The task `viewer` may see. A miss is believed only on a view that has caught up
    /// with the store: a task created a moment ago opens (and can be acted on) at once.
    pub fn task(&self, viewer: &Viewer, id: &str) -> Result<Task, NodeError> {
        self.caught_up_on_miss(|| self.with_view(|c| Ok(query::task_by_id(c, viewer, id)?)))?
            .ok_or(NodeError::TaskNotFound)
    }

    /// Runs `read`; when it finds nothing and the view is behind the store, waits (at
    /// most [`crate::params::CATCH_UP_WAIT`]) for the view to catch up and reads again.
    fn caught_up_on_miss<T>(
        &self,
        read: impl Fn() -> Result<Option<T>, NodeError>,
    ) -> Result<Option<T>, NodeError> {
        if let Some(found) = read()? {
            return Ok(Some(found));
        }
        let head = self.head_position();
        if self.view_signal.head() >= head {
            return Ok(None);
        }
        self.wait_for_view(head, crate::params::CATCH_UP_WAIT);
        read()
    }

    /// The form of a task the viewer may see.
    pub fn task_form(&self, viewer: &Viewer, id: &str) -> Result<FormDocument, NodeError> {
        self.with_view(|c| {
            let task = query::task_by_id(c, viewer, id)?.ok_or(NodeError::TaskNotFound)?;
            query::task_form(c, viewer, id)?.ok_or_else(|| {
                NodeError::FormNotFound(match task.form_key {
                    Some(key) => format!(
                        "application `{}` registered no form `{key}` with definition `{}`",
                        task.source_reference.application_name, task.source_reference.definition_id
                    ),
                    None => "the task has no form key".into(),
                })
            })
        })
    }

    /// The diagram of a task's process, with where the task stands.
    pub fn task_diagram(&self, viewer: &Viewer, id: &str) -> Result<query::Diagram, NodeError> {
        self.with_view(|c| {
            let task = query::task_by_id(c, viewer, id)?.ok_or(NodeError::TaskNotFound)?;
            query::task_diagram(c, viewer, id)?.ok_or(NodeError::DiagramNotFound(
                task.source_reference.definition_id,
            ))
        })
    }

    /// The start form of a definition the viewer may start.
    pub fn start_form(&self, viewer: &Viewer, id: &str) -> Result<FormDocument, NodeError> {
        self.with_view(|c| {
            let definition = query::startable_process_definition(c, viewer, id)?
                .ok_or(NodeError::DefinitionNotFound)?;
            query::start_form(c, viewer, id)?.ok_or_else(|| {
                NodeError::FormNotFound(match definition.start_form_key {
                    Some(key) => {
                        format!("no start form `{key}` was registered with definition `{id}`")
                    }
                    None => format!("definition `{id}` has no start form"),
                })
            })
        })
    }

    pub fn task_data_entries(
        &self,
        viewer: &Viewer,
        id: &str,
    ) -> Result<Vec<DataEntry>, NodeError> {
        self.with_view(|c| {
            query::task_with_data_entries(c, viewer, id)?
                .map(|(_, entries)| entries)
                .ok_or(NodeError::TaskNotFound)
        })
    }

    pub fn counts_by_application(&self, viewer: &Viewer) -> Result<Vec<(String, u64)>, NodeError> {
        self.with_view(|c| Ok(query::task_counts_by_application(c, viewer)?))
    }

    pub fn attribute_names(&self, viewer: &Viewer, limit: usize) -> Result<Vec<String>, NodeError> {
        self.with_view(|c| Ok(query::payload_attribute_names(c, viewer, limit)?))
    }

    pub fn attribute_values(
        &self,
        viewer: &Viewer,
        name: &str,
        limit: usize,
    ) -> Result<Vec<String>, NodeError> {
        self.with_view(|c| Ok(query::payload_attribute_values(c, viewer, name, limit)?))
    }

    pub fn data_entries(
        &self,
        viewer: &Viewer,
        involved_only: bool,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<DataEntry>, NodeError> {
        self.with_view(|c| {
            Ok(query::data_entries_for_user(
                c,
                viewer,
                involved_only,
                offset,
                limit,
            )?)
        })
    }

    pub fn data_entry(
        &self,
        viewer: &Viewer,
        entry_type: &str,
        entry_id: &str,
    ) -> Result<Option<DataEntry>, NodeError> {
        self.with_view(|c| Ok(query::data_entry(c, viewer, entry_type, entry_id)?))
    }

    pub fn process_definitions(
        &self,
        viewer: &Viewer,
    ) -> Result<Vec<ProcessDefinition>, NodeError> {
        self.with_view(|c| Ok(query::startable_process_definitions(c, viewer)?))
    }

    /// Every outcome (operators, the admin).
    pub fn outcomes(&self, q: &OutcomeQuery) -> Result<Vec<OutcomeRecord>, NodeError> {
        Ok(self.outcomes.list(q)?)
    }

    /// The outcomes `viewer` may read: those of their own actions and those concerning
    /// tasks they may see now (an outcome names a task and, when refused, who holds it:
    /// no more than the task itself tells). `?taskId=` of a task they cannot see finds
    /// nothing.
    pub fn outcomes_for(
        &self,
        viewer: &Viewer,
        q: &OutcomeQuery,
    ) -> Result<Vec<OutcomeRecord>, NodeError> {
        let records = self.outcomes.list(q)?;
        self.readable_outcomes(viewer, records)
    }

    /// Keeps the outcomes `viewer` may read (see [`TaskpoolNode::outcomes_for`]).
    pub fn readable_outcomes(
        &self,
        viewer: &Viewer,
        records: Vec<OutcomeRecord>,
    ) -> Result<Vec<OutcomeRecord>, NodeError> {
        let Viewer::User { user, .. } = viewer else {
            return Ok(records);
        };
        // An outcome comes before the view shows its effect: judge it on a view that
        // has caught up with the store (a new task would otherwise look invisible).
        self.wait_for_view(self.head_position(), crate::params::CATCH_UP_WAIT);
        let ids: Vec<String> = records
            .iter()
            .filter(|r| r.user.as_deref() != Some(user.as_str()))
            .map(|r| r.aggregate_id.clone())
            .collect();
        let visible = self.with_view(|c| Ok(query::visible_ids(c, viewer, &ids)?))?;
        Ok(records
            .into_iter()
            .filter(|r| {
                r.user.as_deref() == Some(user.as_str()) || visible.contains(&r.aggregate_id)
            })
            .collect())
    }

    // ---- history ----

    /// My completed tasks (within the history retention), newest first.
    pub fn completed_tasks(
        &self,
        viewer: &Viewer,
        offset: usize,
        limit: usize,
    ) -> Result<query::CompletedPage, NodeError> {
        self.with_view(|c| Ok(query::completed_tasks(c, viewer, offset, limit)?))
    }

    /// The timeline of a task I may see (open, or completed and in the history).
    pub fn task_timeline(
        &self,
        viewer: &Viewer,
        id: &str,
    ) -> Result<Vec<query::TimelineEntry>, NodeError> {
        self.with_view(|c| query::task_timeline(c, viewer, id)?.ok_or(NodeError::TaskNotFound))
    }

    // ---- saved filters ----

    /// My saved filters, each with how many tasks it shows me now.
    pub fn saved_filters(&self, viewer: &Viewer) -> Result<Vec<SavedFilter>, NodeError> {
        let Viewer::User { user, .. } = viewer else {
            return Ok(Vec::new());
        };
        let mut list = self.filters.list(user)?;
        for f in &mut list {
            f.count = self.count_of(viewer, f)?;
        }
        Ok(list)
    }

    /// Saves a filter for me (422 naming the field when it cannot run; 409 when I have
    /// one by that name).
    pub fn save_filter(
        &self,
        viewer: &Viewer,
        input: &FilterInput,
    ) -> Result<SavedFilter, NodeError> {
        let Viewer::User { user, .. } = viewer else {
            return Err(NodeError::Filters(FilterStoreError::NotFound));
        };
        let mut saved = self.filters.create(user, input)?;
        saved.count = self.count_of(viewer, &saved)?;
        Ok(saved)
    }

    /// Renames or changes one of my saved filters.
    pub fn update_filter(
        &self,
        viewer: &Viewer,
        id: &str,
        input: &FilterInput,
    ) -> Result<SavedFilter, NodeError> {
        let Viewer::User { user, .. } = viewer else {
            return Err(NodeError::Filters(FilterStoreError::NotFound));
        };
        let mut saved = self.filters.update(user, filter_id(id)?, input)?;
        saved.count = self.count_of(viewer, &saved)?;
        Ok(saved)
    }

    /// Deletes one of my saved filters.
    pub fn delete_filter(&self, viewer: &Viewer, id: &str) -> Result<(), NodeError> {
        let Viewer::User { user, .. } = viewer else {
            return Err(NodeError::Filters(FilterStoreError::NotFound));
        };
        Ok(self.filters.delete(user, filter_id(id)?)?)
    }

    /// How many of my tasks a saved filter shows now.
    fn count_of(&self, viewer: &Viewer, f: &SavedFilter) -> Result<u64, NodeError> {
        let mut q = TaskQuery::for_viewer(viewer.clone());
        q.filter = query::Filter::parse(&f.filter).map_err(QueryError::from)?;
        q.text = Some(f.search.clone()).filter(|t| !t.trim().is_empty());
        q.assigned_to_me = f.view == QuickView::Mine;
        q.claimable_only = f.view == QuickView::Claimable;
        if f.view == QuickView::Deferred {
            q.deferred = query::Deferred::Only;
        }
        q.paging = query::Paging::Offset {
            offset: 0,
            limit: 1,
        };
        Ok(self.tasks(&q)?.total)
    }

    // ---- commands ----

    /// A user acts on a task they can see: the action becomes a request to the owning
    /// application (see [`TaskpoolNode::request_now`] for where it stands). Refused
    /// here already (someone else's task, completed…): [`NodeError::Refused`]. An
    /// action that asks for nothing (claiming one's own task) is performed at once.
    pub fn act(
        &self,
        viewer: &Viewer,
        task_id: &str,
        action: TaskAction,
        key: Option<&str>,
    ) -> Result<ActionRequest, NodeError> {
        let Viewer::User { user, .. } = viewer else {
            return Err(NodeError::TaskNotFound);
        };
        // A task the caller cannot see answers "not found", whatever the action.
        let task = self.task(viewer, task_id)?;
        // Result values become process variables: each needs a name.
        if let TaskAction::Complete { payload } = &action {
            if payload.keys().any(|k| k.trim().is_empty()) {
                return Err(NodeError::Invalid {
                    field: "payload".into(),
                    message: "every result value needs a name (an empty key was sent)".into(),
                });
            }
        }
        let application = task.source_reference.application_name;
        let name = action.name();
        let command = action.command(task_id, user);
        let requested = ActionRequest {
            request_id: uuid::Uuid::nil(),
            task_id: Some(task_id.to_string()),
            definition_id: None,
            instance_id: None,
            action: Some(name.to_string()),
            user: Some(user.clone()),
            application_name: application,
            requested_at: Some(Utc::now()),
            state: RequestState::Requested,
            reason: None,
            answered_position: None,
        };
        self.send_request(viewer, user, command.into(), requested, key)
    }

    /// A user asks the owning application to start a process of a definition they may
    /// start, with the start form's values: a request like an action on a task (see
    /// [`TaskpoolNode::request_now`]); performed, it names the instance started.
    pub fn start_process(
        &self,
        viewer: &Viewer,
        definition_id: &str,
        values: Payload,
        business_key: Option<String>,
        key: Option<&str>,
    ) -> Result<ActionRequest, NodeError> {
        let Viewer::User { user, .. } = viewer else {
            return Err(NodeError::DefinitionNotFound);
        };
        let definition = self
            .caught_up_on_miss(|| {
                self.with_view(|c| {
                    Ok(query::startable_process_definition(
                        c,
                        viewer,
                        definition_id,
                    )?)
                })
            })?
            .ok_or(NodeError::DefinitionNotFound)?;
        // The values become process variables: each needs a name.
        if values.keys().any(|k| k.trim().is_empty()) {
            return Err(NodeError::Invalid {
                field: "values".into(),
                message: "every value needs a name (an empty key was sent)".into(),
            });
        }
        let command = ProcessDefinitionCommand::StartProcessInteraction(StartInteraction {
            definition_id: definition.id.clone(),
            user: user.clone(),
            values,
            business_key,
        });
        let requested = ActionRequest {
            request_id: uuid::Uuid::nil(),
            task_id: None,
            definition_id: Some(definition.id),
            instance_id: None,
            action: Some("start".into()),
            user: Some(user.clone()),
            application_name: definition.application_name,
            requested_at: Some(Utc::now()),
            state: RequestState::Requested,
            reason: None,
            answered_position: None,
        };
        self.send_request(viewer, user, command.into(), requested, key)
    }

    /// Whether users' requests travel to their applications (over Kafka) rather than
    /// being handled by an application in this node.
    pub fn routes_requests(&self) -> bool {
        self.router.is_some()
    }

    /// The first task of a process instance the viewer may see (what a started process
    /// puts in front of them), if any.
    pub fn first_task_of_instance(
        &self,
        viewer: &Viewer,
        instance_id: &str,
    ) -> Result<Option<Task>, NodeError> {
        let mut q = TaskQuery::for_viewer(viewer.clone());
        let quoted = instance_id.replace('\\', "\\\\").replace('"', "\\\"");
        q.filter =
            query::Filter::parse(&format!("task.instanceId = \"{quoted}\"")).map_err(|e| {
                NodeError::Invalid {
                    field: "instanceId".into(),
                    message: e.to_string(),
                }
            })?;
        q.deferred = query::Deferred::Include;
        q.sort = vec![query::SortKey {
            field: query::SortField::Created,
            descending: false,
        }];
        q.paging = query::Paging::Offset {
            offset: 0,
            limit: 1,
        };
        Ok(self.tasks(&q)?.tasks.into_iter().next())
    }

    /// Sends a user's request to its application: routed (over Kafka) or handled here.
    /// Refused here already: [`NodeError::Refused`]; asking for nothing (claiming one's
    /// own task): performed at once.
    /// Sends a user's request (an action, a start) as request `key` names (see
    /// [`crate::action_keys`]) or a new one. A retry with the key sends the same request
    /// id again (handled once wherever it arrives) and answers where it stands now.
    fn send_request(
        &self,
        viewer: &Viewer,
        user: &str,
        command: Command,
        requested: ActionRequest,
        key: Option<&str>,
    ) -> Result<ActionRequest, NodeError> {
        let (request_id, retry) = match key {
            Some(key) => {
                crate::action_keys::check_key(key).map_err(|message| NodeError::Invalid {
                    field: "Idempotency-Key".into(),
                    message,
                })?;
                let asked = serde_json::to_string(&command).map_err(std::io::Error::other)?;
                match self.action_keys.claim(user, key, &asked)? {
                    KeyUse::First(id) => (id, false),
                    KeyUse::Retry(id) => (id, true),
                    KeyUse::Reused => return Err(NodeError::KeyReused),
                }
            }
            None => (uuid::Uuid::new_v4(), false),
        };
        let sent = self.send_as(user, command, &requested, request_id, key.is_some())?;
        if retry {
            return self.request_now(viewer, &sent);
        }
        Ok(sent)
    }

    fn send_as(
        &self,
        user: &str,
        command: Command,
        requested: &ActionRequest,
        request_id: uuid::Uuid,
        keyed: bool,
    ) -> Result<ActionRequest, NodeError> {
        if let (Some(router), Some(handoffs)) = (&self.router, &self.handoffs) {
            // Kept until confirmed: not confirmed in time, it is sent again (the
            // application handles its id once) until it is, or the request expired.
            let handoff = Handoff {
                request_id,
                application: requested.application_name.clone(),
                user: user.to_string(),
                command,
                expires_at: requested.requested_at.unwrap_or_else(Utc::now)
                    + chrono::Duration::from_std(self.request_expiry).unwrap_or_default(),
            };
            handoffs.hold(&handoff)?;
            match router.route(&handoff.application, user, handoff.command, request_id) {
                Ok(()) => handoffs.confirmed(request_id)?,
                Err(e) => {
                    // Not confirmed is not "not sent": the broker may hold it. The
                    // request stands with its id; its answer (or its expiry) tells.
                    tracing::warn!(request = %request_id, error = %e, "the hand-off of a user's request was not confirmed; it is sent again until it is or the request expires");
                    handoffs.unconfirmed(request_id)?;
                }
            }
            return Ok(ActionRequest {
                request_id,
                ..requested.clone()
            });
        }
        let ctx = CommandContext {
            user: Some(user.to_string()),
            command_id: Some(request_id),
            // A keyed request is handled once, its outcome kept for a retry.
            idempotency_key: keyed.then(|| format!("user-request/{request_id}")),
            ..Default::default()
        };
        let outcome = self
            .gateway
            .handle(vec![command], BatchMode::Atomic, &ctx)
            .map_err(|e| match e {
                // The request's own fields (completion or start values).
                GatewayError::LimitExceeded { source, .. } => NodeError::Invalid {
                    field: source.field,
                    message: source.message,
                },
                other => other.into(),
            })?;
        self.record_for("tasklist", Some(user), &outcome);
        let Some(first) = outcome.outcomes.into_iter().next() else {
            return Err(NodeError::Io(std::io::Error::other(
                "the gateway returned no outcome",
            )));
        };
        if first.rejection().is_some() {
            return Err(NodeError::Refused(Box::new(first)));
        }
        let state = match first.position() {
            Some(_) => RequestState::Requested,
            None => RequestState::Performed,
        };
        Ok(ActionRequest {
            request_id: first.command_id,
            state,
            ..requested.clone()
        })
    }

    /// What a view fed with delivered events (a tasklist node) parked and refused.
    pub fn delivery_counts(
        &self,
    ) -> Result<taskpool_core::view::deliveries::DeliveryCounts, NodeError> {
        self.with_view(|c| Ok(taskpool_core::view::deliveries::counts(c)?))
    }

    /// Stored events the view could not read and went on without: (position, why).
    pub fn parked_events(&self) -> Result<Vec<(i64, String)>, NodeError> {
        self.with_view(|c| Ok(taskpool_core::view::parked_events(c)?))
    }

    /// How long requests wait for an answer.
    pub fn request_expiry(&self) -> Duration {
        self.request_expiry
    }

    /// Where a request made by [`TaskpoolNode::act`] stands now: its answer as the view
    /// has it (performed: the view shows the effect; rejected, with the reason), or
    /// expired when the application has not answered in time. A routed request the
    /// view has not heard of yet is still requested.
    pub fn request_now(
        &self,
        viewer: &Viewer,
        requested: &ActionRequest,
    ) -> Result<ActionRequest, NodeError> {
        if requested.state.is_final() {
            return Ok(requested.clone());
        }
        let found = self.with_view(|c| Ok(query::request(c, viewer, requested.request_id)?))?;
        let current = match found {
            // Over Kafka only the answer may have come back (a refusal by the owning
            // application's gateway): what the node asked fills in the rest.
            Some(r) => ActionRequest {
                action: r.action.clone().or_else(|| requested.action.clone()),
                user: r.user.clone().or_else(|| requested.user.clone()),
                application_name: if r.application_name.is_empty() {
                    requested.application_name.clone()
                } else {
                    r.application_name.clone()
                },
                requested_at: requested.requested_at.or(r.requested_at),
                ..r
            },
            None => requested.clone(),
        };
        Ok(current.at(Utc::now(), self.request_expiry))
    }

    /// Waits (blocking) until a request is performed, rejected or expired.
    pub fn wait_for_answer(
        &self,
        viewer: &Viewer,
        requested: &ActionRequest,
    ) -> Result<ActionRequest, NodeError> {
        let mut waiter = self.view_signal.waiter();
        loop {
            let seen = self.view_signal.head();
            let now = self.request_now(viewer, requested)?;
            if now.state.is_final() || self.stopping() {
                return Ok(now);
            }
            // Until the view moves, or the request would expire.
            let due = now
                .requested_at
                .map(|t| t + chrono::Duration::from_std(self.request_expiry).unwrap_or_default())
                .and_then(|d| (d - Utc::now()).to_std().ok())
                .unwrap_or_default();
            waiter.wait_beyond(seen, Some(due + Duration::from_millis(10)));
        }
    }

    /// A request the caller made, as it stands now.
    pub fn request(&self, viewer: &Viewer, id: uuid::Uuid) -> Result<ActionRequest, NodeError> {
        let found = self.with_view(|c| Ok(query::request(c, viewer, id)?))?;
        found
            .map(|r| r.at(Utc::now(), self.request_expiry))
            .ok_or(NodeError::RequestNotFound)
    }

    /// The caller's latest requests, newest first.
    pub fn requests(&self, viewer: &Viewer, limit: usize) -> Result<Vec<ActionRequest>, NodeError> {
        let now = Utc::now();
        let expiry = self.request_expiry;
        self.with_view(|c| {
            Ok(query::requests(c, viewer, limit)?
                .into_iter()
                .map(|r| r.at(now, expiry))
                .collect())
        })
    }

    /// A process application sends a unit of work (its own aggregates only).
    pub fn handle_commands(
        &self,
        application: &str,
        commands: Vec<Command>,
        mode: BatchMode,
        idempotency: Option<&Idempotency>,
    ) -> Result<BatchOutcome, NodeError> {
        let ctx = CommandContext {
            user: None,
            application: Some(application.to_string()),
            time: None,
            idempotency_key: idempotency.map(|i| format!("{application}/{}", i.key)),
            request_fingerprint: idempotency.and_then(|i| i.fingerprint.clone()),
            restrict_to_application: true,
            command_id: None,
        };
        let outcome = self.gateway.handle(commands, mode, &ctx)?;
        self.record(application, &outcome);
        Ok(outcome)
    }

    /// A process application re-syncs its open tasks: one page of them (see
    /// [`crate::resync`]). Once every page has arrived, the application's tasks the
    /// engine no longer has are deleted.
    pub fn resync(
        &self,
        application: &str,
        resync_id: &str,
        page: ResyncPage,
    ) -> Result<ResyncOutcome, NodeError> {
        let invalid = |field: String, message: &str| NodeError::Invalid {
            field,
            message: message.to_string(),
        };
        if resync_id.trim().is_empty() || resync_id.len() > 200 {
            return Err(invalid("resyncId".into(), "1 to 200 characters"));
        }
        if page.page > MAX_PAGES {
            return Err(invalid("page".into(), "at most 100,000 pages"));
        }
        if page.tasks.len() > MAX_PAGE_TASKS {
            return Err(invalid("tasks".into(), "at most 1,000 tasks a page"));
        }
        if let Some(i) = page
            .tasks
            .iter()
            .position(|t| t.source_reference.application_name != application)
        {
            return Err(invalid(
                format!("tasks[{i}].sourceReference.applicationName"),
                "a re-sync carries the sending application's own tasks",
            ));
        }
        self.resyncs
            .begin(application, resync_id, self.head_position())?;
        // Through the application's collector, as its engine transactions go (the same
        // enrichment): a task the pool has as sent causes no event.
        let created: Vec<EngineEvent> = page
            .tasks
            .iter()
            .map(|t| EngineEvent::TaskCreated {
                task: Box::new(t.clone()),
            })
            .collect();
        let commands = self
            .collector(application)?
            .commands_for(&created, Vec::new(), &mut |_| Payload::new());
        let keyed = |what: String| Idempotency {
            key: format!("resync/{resync_id}/{what}"),
            fingerprint: None,
        };
        let outcome = self.handle_commands(
            application,
            commands,
            BatchMode::PerCommand,
            Some(&keyed(format!("page/{}", page.page))),
        )?;
        let refused = outcome
            .outcomes
            .iter()
            .enumerate()
            .filter_map(|(i, o)| {
                o.rejection()
                    .map(|r| format!("tasks[{i}]: {} {}", r.code.as_str(), r.message))
            })
            .collect();
        self.resyncs.record_page(application, resync_id, &page)?;
        let mut position = outcome.position;
        let mut deleted = Vec::new();
        let state = self
            .resyncs
            .state(application, resync_id)?
            .ok_or_else(|| invalid("resyncId".into(), "unknown re-sync"))?;
        let all_pages = state.page_count == Some(state.pages);
        if all_pages && !state.complete {
            // Judge what is missing on a view that has everything sent so far.
            let head = self.head_position();
            if !self.wait_for_view(head, crate::params::READ_WAIT) {
                return Err(NodeError::ViewBehind);
            }
            let named = self.resyncs.named(application, resync_id)?;
            let candidates = self.with_view(|c| {
                Ok(query::application_task_ids(
                    c,
                    application,
                    state.started_position,
                )?)
            })?;
            let missing: Vec<String> = candidates
                .into_iter()
                .filter(|id| !named.contains(id))
                .collect();
            if !missing.is_empty() {
                let deletions = missing
                    .iter()
                    .map(|id| {
                        TaskCommand::DeleteTask(DeleteTask {
                            id: id.clone(),
                            delete_reason: Some(format!(
                                "re-sync {resync_id}: the engine no longer has it"
                            )),
                        })
                        .into()
                    })
                    .collect();
                let out = self.handle_commands(
                    application,
                    deletions,
                    BatchMode::PerCommand,
                    Some(&keyed("deletions".into())),
                )?;
                position = out.position.or(position);
                deleted = missing;
            }
            self.resyncs.complete(application, resync_id)?;
        }
        Ok(ResyncOutcome {
            resync_id: resync_id.to_string(),
            page: page.page,
            events: outcome.events_appended(),
            refused,
            pages_received: state.pages,
            complete: all_pages,
            deleted,
            position,
        })
    }

    /// A process application reports one engine transaction: it runs through the
    /// collector (enricher, accumulator, ordering) into one unit of work.
    pub fn ingest_engine_transaction(
        &self,
        application: &str,
        request: EngineTransactionRequest,
        idempotency: Option<&Idempotency>,
    ) -> Result<BatchOutcome, NodeError> {
        let collector = self.collector(application)?;
        let mut variables = request.variables;
        for event in &request.events {
            match event {
                EngineEvent::VariableCreated {
                    instance_id,
                    name,
                    value,
                }
                | EngineEvent::VariableUpdated {
                    instance_id,
                    name,
                    value,
                } => {
                    variables
                        .entry(instance_id.clone())
                        .or_default()
                        .insert(name.clone(), value.clone());
                }
                EngineEvent::VariableDeleted { instance_id, name } => {
                    if let Some(vars) = variables.get_mut(instance_id) {
                        vars.remove(name);
                    }
                }
                _ => {}
            }
        }
        let mut lookup = |instance: &str| variables.get(instance).cloned().unwrap_or_default();
        let commands = collector.commands_for(&request.events, request.data_entries, &mut lookup);
        self.handle_commands(application, commands, BatchMode::Atomic, idempotency)
            .map_err(|e| match e {
                // The commands are the collector's: name the task or entry instead.
                NodeError::Gateway(GatewayError::LimitExceeded {
                    aggregate_id,
                    source,
                    ..
                }) => NodeError::Invalid {
                    field: "events".into(),
                    message: format!("`{aggregate_id}`: {source}"),
                },
                other => other,
            })
    }

    fn collector(&self, application: &str) -> Result<Arc<Collector>, NodeError> {
        let mut collectors = self
            .collectors
            .lock()
            .map_err(|_| NodeError::ShuttingDown)?;
        if let Some(c) = collectors.get(application) {
            return Ok(c.clone());
        }
        let sender = Arc::new(GatewaySender::new(
            self.gateway.clone(),
            application,
            self.sender.clone(),
        ));
        let collector = Arc::new(Collector::new(
            self.sender.clone(),
            EnricherConfig {
                enabled: true,
                ..Default::default()
            },
            sender,
            Arc::new(NoVariables),
        ));
        collectors.insert(application.to_string(), collector.clone());
        Ok(collector)
    }

    fn record(&self, application: &str, outcome: &BatchOutcome) {
        self.record_for(application, None, outcome)
    }

    fn record_for(&self, application: &str, user: Option<&str>, outcome: &BatchOutcome) {
        for o in &outcome.outcomes {
            let (result, code) = match o.rejection() {
                None => ("accepted", "SENDER-002".to_string()),
                Some(r) => ("rejected", r.code.as_str().to_string()),
            };
            metrics::counter!("taskpool_commands_total", "result" => result, "code" => code)
                .increment(1);
        }
        if let Err(e) = self
            .outcomes
            .record_for(application, user, &outcome.outcomes)
        {
            tracing::warn!(error = %e, "could not record command outcomes");
        }
    }

    /// Waits until the view has applied `position` (read-your-writes).
    pub fn wait_for_view(&self, position: i64, timeout: Duration) -> bool {
        taskpool_core::live::wait_for_position(&self.view_signal, position, timeout)
    }

    // ---- streams ----

    /// Subscribes to a query's live changes (see [`Subscription`]).
    pub fn subscribe(
        &self,
        q: TaskQuery,
        from: Option<i64>,
    ) -> Result<(Subscription, Option<Snapshot>), NodeError> {
        if self.stopping() {
            return Err(NodeError::ShuttingDown);
        }
        Ok(Subscription::open_on_feed(&self.view, &self.feed, q, from)?)
    }

    /// A reader of the event store (for an interaction stream).
    pub fn event_reader(&self) -> Result<EventReader, NodeError> {
        Ok(self.store.reader()?)
    }

    /// The interaction requests for `application` after `after` (at most `limit` events
    /// read), and the position read up to.
    pub fn interactions_after(
        reader: &mut EventReader,
        application: &str,
        after: i64,
        limit: usize,
    ) -> Result<(Vec<InteractionDelivery>, i64), NodeError> {
        let events = reader.read_after(after, limit)?;
        let last = events.last().map(|e| e.position).unwrap_or(after);
        let deliveries = events
            .into_iter()
            .filter_map(|stored| {
                let event = match stored.event {
                    DomainEvent::Task(event)
                        if event
                            .interaction()
                            .is_some_and(|r| r.application_name == application) =>
                    {
                        InteractionEvent::Task(Box::new(event))
                    }
                    DomainEvent::ProcessDefinition(
                        e @ ProcessDefinitionEvent::ProcessStartRequested(_),
                    ) if matches!(&e, ProcessDefinitionEvent::ProcessStartRequested(r) if r.application_name == application) => {
                        InteractionEvent::Start(Box::new(e))
                    }
                    _ => return None,
                };
                Some(InteractionDelivery {
                    position: stored.position,
                    request_id: stored.metadata.causation_id,
                    event,
                })
            })
            .collect();
        Ok((deliveries, last))
    }

    /// Waits until the event store moves beyond `position` (or `timeout`).
    pub fn wait_for_events(&self, position: i64, timeout: Duration) -> i64 {
        self.gateway.commit_signal().wait_beyond(position, timeout)
    }

    /// Stops the projector and the change feed (live subscriptions end) and waits for
    /// the threads. Commands already handled are durable: each was one SQLite commit.
    pub fn shutdown(&self) {
        self.stop.store(true, Ordering::Relaxed);
        self.feed.stop();
        self.gateway.commit_signal().wake_all();
        self.view_signal.wake_all();
        self.outcomes.close_feeds();
        if let Some(h) = &self.handoffs {
            h.wake();
        }
        let threads = self
            .threads
            .lock()
            .map(|mut t| std::mem::take(&mut *t))
            .unwrap_or_default();
        for t in threads {
            let _ = t.join();
        }
    }
}

impl Drop for TaskpoolNode {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The projector thread: catches up, follows the store, and restarts after a failure
/// (with a pause) instead of leaving the view behind for good.
fn spawn_projector(
    projector: Projector,
    (change_retention, history_retention): (Option<i64>, Option<chrono::Duration>),
    view: View,
    signal: PositionSignal,
    store: EventStore,
    commits: PositionSignal,
    stop: Arc<AtomicBool>,
) -> Result<JoinHandle<()>, NodeError> {
    Ok(std::thread::Builder::new()
        .name("projector".into())
        .spawn(move || {
            let mut projector = Some(projector);
            while !stop.load(Ordering::Relaxed) {
                let p = match projector.take() {
                    Some(p) => p,
                    None => match Projector::new(&view) {
                        Ok(p) => p
                            .with_signal(signal.clone())
                            .with_change_retention(change_retention)
                            .with_history_retention(history_retention),
                        Err(e) => {
                            tracing::error!(error = %e, "projector could not start; retrying");
                            std::thread::sleep(Duration::from_secs(1));
                            continue;
                        }
                    },
                };
                match p.run(&store, Follow::Signal(commits.clone()), stop.clone()) {
                    Ok(()) => break,
                    Err(e) => {
                        tracing::error!(error = %e, "projector failed; restarting from its checkpoint");
                        std::thread::sleep(Duration::from_secs(1));
                    }
                }
            }
        })?)
}

/// The search projection's thread: follows the view (see
/// `taskpool_core::view::search`), signalling how far it covers it on `signal`.
fn spawn_search_projector(
    view: View,
    view_signal: PositionSignal,
    signal: PositionSignal,
    stop: Arc<AtomicBool>,
) -> Result<JoinHandle<()>, NodeError> {
    Ok(std::thread::Builder::new()
        .name("search-projector".into())
        .spawn(move || {
            let mut waiter = view_signal.waiter();
            while !stop.load(Ordering::Relaxed) {
                match SearchProjector::new(&view) {
                    Ok(p) => {
                        p.with_signal(signal.clone())
                            .run(view_signal.clone(), stop.clone());
                        break;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "search projection could not start; retrying");
                        waiter.pause(Duration::from_secs(1));
                    }
                }
            }
        })?)
}

/// A saved filter's id: what is no UUID names no saved filter.
fn filter_id(id: &str) -> Result<uuid::Uuid, NodeError> {
    uuid::Uuid::parse_str(id).map_err(|_| NodeError::Filters(FilterStoreError::NotFound))
}
