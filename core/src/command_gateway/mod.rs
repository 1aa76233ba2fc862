//! The command gateway: the in-process command bus.
//!
//! It handles a batch of commands as one unit of work in one SQLite transaction: load
//! each addressed aggregate (from its cache or by replaying its events), let it decide,
//! evolve it, append all events, commit. Each command gets an outcome.
//!
//! Batch semantics ([`BatchMode`]):
//! - `Atomic` (the default): all or nothing. If any command is rejected, nothing of the
//!   batch is stored; the rejected command carries its reason and every other command is
//!   rejected with `BATCH_REJECTED`.
//! - `PerCommand`: each command stands alone; the accepted ones are committed together in
//!   one transaction, the rejected ones change nothing.
//!
//! Either way what is committed is whole: a crash before commit leaves no trace.
//!
//! Concurrency: the transaction takes SQLite's write lock up front (`BEGIN IMMEDIATE`),
//! so writers in other threads and processes queue. Cached aggregate states are checked
//! against the store's head position and refreshed from the events they missed. Should an
//! append still hit an existing version (the unique key is the optimistic-concurrency
//! check), the unit of work is rolled back and retried with fresh state: never lost.

mod aggregate_state;
mod outcome;

use crate::position_signal::PositionSignal;
use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use uuid::Uuid;

pub use outcome::{BatchOutcome, CommandOutcome, OutcomeStatus};

use crate::aggregate::AggregateKind;
use crate::command::{
    parse_commands, Command, CommandParseError, InputLimits, Rejection, RejectionCode,
};
use crate::event::EventMetadata;
use crate::event_store::{self, EventStore, NewEvent, StoreError};
use aggregate_state::AggregateState;

/// All or nothing, or each command on its own (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum BatchMode {
    #[default]
    Atomic,
    PerCommand,
}

/// Who sends a unit of work, and when.
#[derive(Debug, Clone, Default)]
pub struct CommandContext {
    /// The acting end user (interaction commands).
    pub user: Option<String>,
    /// The sending process application.
    pub application: Option<String>,
    /// The time to record; now when `None`.
    pub time: Option<DateTime<Utc>>,
    /// A unit of work with a key that was handled before is not applied again: its
    /// stored outcome is returned.
    pub idempotency_key: Option<String>,
    /// What the keyed request was (a fingerprint of its content): the same key with
    /// another fingerprint is refused ([`GatewayError::IdempotencyKeyReused`]). `None`:
    /// the key alone decides (senders that derive keys from their own ids).
    pub request_fingerprint: Option<String>,
    /// When set, every command must concern an aggregate of `application` (existing, or
    /// created by the command): a process application may not touch another's tasks or
    /// data entries. Others are rejected with `foreignApplication`.
    pub restrict_to_application: bool,
    /// The id of the unit's first command when it was made elsewhere: a user's action
    /// routed from a tasklist node keeps its request id, so the answer finds its way
    /// back. New ids otherwise.
    pub command_id: Option<Uuid>,
}

/// Infrastructure faults of the gateway. Business rejections are outcomes, not errors.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("gave up after {0} version conflicts in a row")]
    ConflictRetriesExhausted(u32),
    #[error("the command gateway's lock was poisoned by a panic in another thread")]
    Poisoned,
    /// A command carries more than a limit allows: nothing of its unit is stored.
    #[error("command {index} ({aggregate_id}): {source}")]
    LimitExceeded {
        /// The command's index in its unit of work.
        index: usize,
        aggregate_id: String,
        #[source]
        source: crate::command::limits::LimitExceeded,
    },
    /// An event of the unit would be larger than the node can pass on (a broker's
    /// message size): nothing of the unit is stored.
    #[error("an event of `{aggregate_id}` would be {size} bytes, more than the limit of {limit}")]
    EventTooLarge {
        aggregate_id: String,
        size: usize,
        limit: usize,
    },
    /// The idempotency key was used before for a different request.
    #[error("the idempotency key {key} was used for a different request")]
    IdempotencyKeyReused { key: String },
}

impl From<rusqlite::Error> for GatewayError {
    fn from(e: rusqlite::Error) -> Self {
        GatewayError::Store(StoreError::Sqlite(e))
    }
}

/// Why JSON command input was not handled.
#[derive(Debug, thiserror::Error)]
pub enum HandleJsonError {
    #[error(transparent)]
    Parse(#[from] CommandParseError),
    #[error(transparent)]
    Gateway(#[from] GatewayError),
}

const MAX_CONFLICT_RETRIES: u32 = 16;

/// The gateway's settings.
#[derive(Debug, Clone, Copy)]
pub struct GatewayConfig {
    /// How many aggregate states to keep in memory between units of work.
    pub cache_capacity: usize,
    /// What an update of a deleted data entry does.
    pub data_entry_deletion: DeletionStrategy,
    /// What a command may carry.
    pub limits: crate::command::limits::ContentLimits,
    /// How long an idempotency key is remembered: a unit resent within it is applied
    /// once; after it, a resend is a new unit.
    pub idempotency_window: std::time::Duration,
    /// The largest event body the node can pass on (a node that publishes to a broker:
    /// its message size less the envelope); `None`: no such limit.
    pub max_event_bytes: Option<usize>,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            cache_capacity: 100_000,
            data_entry_deletion: DeletionStrategy::default(),
            limits: Default::default(),
            max_event_bytes: None,
            idempotency_window: IDEMPOTENCY_WINDOW,
        }
    }
}

/// What an update of a deleted data entry does (the reference's deletion strategies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeletionStrategy {
    /// The update brings the entry back (an application that deleted too early, or
    /// reuses an id, is not refused).
    #[default]
    Lax,
    /// The update is refused (`DATA_ENTRY_DELETED`): deleted is final.
    Strict,
}

/// The default idempotency window: seven days.
pub const IDEMPOTENCY_WINDOW: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

/// About one keyed unit in 256 also prunes expired keys (the key's hash decides, so no
/// clock and no counter are needed).
fn prunes_expired_keys(key: &str) -> bool {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    h.finish() % 256 == 0
}

type AggregateKey = (AggregateKind, String);

#[derive(Debug, Clone)]
struct Loaded {
    version: i64,
    state: AggregateState,
}

struct Inner {
    conn: Connection,
    /// Boxed: a state is hundreds of bytes, and growing the map moves only pointers.
    cache: HashMap<AggregateKey, Box<Loaded>>,
    /// The head position after our last commit: when the store's head still equals it,
    /// nobody else wrote and every cached state is current.
    known_head: i64,
}

/// The command gateway over one event store. `handle` may be called from many threads;
/// units of work are serialised.
pub struct CommandGateway {
    inner: Mutex<Inner>,
    config: GatewayConfig,
    signal: PositionSignal,
    /// WAL checkpoints of the event store in the background, not inside a command's
    /// commit.
    wal_checkpointer: crate::wal_checkpointer::WalCheckpointer,
}

impl CommandGateway {
    pub fn new(store: &EventStore) -> Result<Self, GatewayError> {
        Self::with_config(store, GatewayConfig::default())
    }

    pub fn with_config(store: &EventStore, config: GatewayConfig) -> Result<Self, GatewayError> {
        let conn = store.connect()?;
        conn.pragma_update(
            None,
            "wal_autocheckpoint",
            crate::wal_checkpointer::SAFETY_NET_PAGES,
        )?;
        let wal_checkpointer = crate::wal_checkpointer::WalCheckpointer::start(
            store.connect()?,
            "event-store-checkpointer",
        )
        .map_err(StoreError::from)?;
        let head = event_store::head_position(&conn)?;
        Ok(Self {
            inner: Mutex::new(Inner {
                conn,
                cache: HashMap::new(),
                known_head: -1,
            }),
            config,
            signal: PositionSignal::new(head),
            wal_checkpointer,
        })
    }

    /// Signalled with the new head position after every commit of this gateway.
    pub fn commit_signal(&self) -> PositionSignal {
        self.signal.clone()
    }

    /// Handles one command as a unit of work of its own.
    pub fn send(
        &self,
        command: Command,
        context: &CommandContext,
    ) -> Result<CommandOutcome, GatewayError> {
        let mut batch = self.handle(vec![command], BatchMode::Atomic, context)?;
        batch
            .outcomes
            .pop()
            .ok_or(GatewayError::ConflictRetriesExhausted(0))
    }

    /// Parses a JSON array of commands from outside and handles it as one unit of work.
    /// Input that does not parse is refused with an error naming the problem, and
    /// nothing is stored.
    pub fn handle_json(
        &self,
        input: &[u8],
        limits: &InputLimits,
        mode: BatchMode,
        context: &CommandContext,
    ) -> Result<BatchOutcome, HandleJsonError> {
        let commands = parse_commands(input, limits)?;
        Ok(self.handle(commands, mode, context)?)
    }

    /// Handles a batch of commands as one unit of work.
    pub fn handle(
        &self,
        commands: Vec<Command>,
        mode: BatchMode,
        context: &CommandContext,
    ) -> Result<BatchOutcome, GatewayError> {
        // Whoever sent it: nothing over a limit gets near a decision or the store.
        for (index, command) in commands.iter().enumerate() {
            self.config
                .limits
                .check(command)
                .map_err(|source| GatewayError::LimitExceeded {
                    index,
                    aggregate_id: command.aggregate_id(),
                    source,
                })?;
        }
        let correlation_id = Uuid::new_v4();
        let command_ids: Vec<Uuid> = commands
            .iter()
            .enumerate()
            .map(|(i, _)| match (i, context.command_id) {
                (0, Some(id)) => id,
                _ => Uuid::new_v4(),
            })
            .collect();
        let time = context.time.unwrap_or_else(Utc::now);
        let mut inner = self.inner.lock().map_err(|_| GatewayError::Poisoned)?;
        let mut attempt = 0;
        loop {
            match inner.try_unit_of_work(
                &commands,
                &command_ids,
                mode,
                context,
                time,
                correlation_id,
                &self.config,
            ) {
                Ok(outcome) => {
                    if let Some(p) = outcome.position {
                        self.wal_checkpointer.written();
                        self.signal.advance(p);
                    }
                    return Ok(outcome);
                }
                Err(GatewayError::Store(e)) if event_store::is_version_conflict(&e) => {
                    attempt += 1;
                    tracing::debug!(target: "taskpool::command_gateway", attempt, "version conflict, retrying with fresh state");
                    inner.cache.clear();
                    inner.known_head = -1;
                    if attempt >= MAX_CONFLICT_RETRIES {
                        return Err(GatewayError::ConflictRetriesExhausted(attempt));
                    }
                }
                Err(e) => {
                    inner.cache.clear();
                    inner.known_head = -1;
                    return Err(e);
                }
            }
        }
    }
}

/// Whether the aggregate (as it is, or as `events` would make it) belongs to `application`.
fn check_owner(
    state: &AggregateState,
    events: &[crate::event::DomainEvent],
    application: Option<&str>,
) -> Result<(), crate::command::Rejection> {
    let mut after = state.clone();
    for e in events {
        after.evolve(e);
    }
    let owner = state.owner().or(after.owner());
    match (owner, application) {
        (Some(owner), Some(app)) if owner == app && after.owner() == Some(app) => Ok(()),
        (None, _) if events.is_empty() => Ok(()),
        _ => Err(crate::command::Rejection::new(
            crate::command::RejectionCode::ForeignApplication,
            format!(
                "the aggregate belongs to {}, not to the sending application {}",
                owner.unwrap_or("no application"),
                application.unwrap_or("(none)")
            ),
        )),
    }
}

impl Inner {
    #[allow(clippy::too_many_arguments)]
    fn try_unit_of_work(
        &mut self,
        commands: &[Command],
        command_ids: &[Uuid],
        mode: BatchMode,
        context: &CommandContext,
        time: DateTime<Utc>,
        correlation_id: Uuid,
        config: &GatewayConfig,
    ) -> Result<BatchOutcome, GatewayError> {
        let Inner {
            conn,
            cache,
            known_head,
        } = self;
        let tx = crate::sqlite::WriteTransaction::begin(conn)?;
        if let Some(key) = &context.idempotency_key {
            if let Some((outcome, fingerprint)) = handled_outcome(&tx, key)? {
                if let (Some(before), Some(now)) = (&fingerprint, &context.request_fingerprint) {
                    if before != now {
                        return Err(GatewayError::IdempotencyKeyReused { key: key.clone() });
                    }
                }
                tracing::debug!(target: "taskpool::command_gateway", key, "unit of work already handled");
                return Ok(outcome);
            }
        }
        let head = event_store::head_position(&tx)?;
        let cache_is_current = head == *known_head;

        let mut working: HashMap<AggregateKey, Box<Loaded>> =
            HashMap::with_capacity(commands.len());
        let mut outcomes = Vec::with_capacity(commands.len());
        let mut new_events: Vec<NewEvent> = Vec::new();
        // For each command, the range of its events in `new_events`.
        let mut spans = Vec::with_capacity(commands.len());
        let mut rejected = false;

        for (command, command_id) in commands.iter().zip(command_ids) {
            let key = (command.aggregate_kind(), command.aggregate_id());
            if !working.contains_key(&key) {
                let loaded = load(&tx, cache, &key, cache_is_current)?;
                working.insert(key.clone(), loaded);
            }
            let Some(loaded) = working.get_mut(&key) else {
                continue;
            };
            let start = new_events.len();
            let refused_as_deleted = config.data_entry_deletion == DeletionStrategy::Strict
                && loaded.state.is_deleted_data_entry()
                && matches!(
                    command,
                    Command::DataEntry(crate::command::DataEntryCommand::CreateOrUpdateDataEntry(
                        _
                    ))
                );
            let decision = if refused_as_deleted {
                Err(crate::command::Rejection::new(
                    crate::command::RejectionCode::DataEntryDeleted,
                    format!(
                        "data entry `{}` is deleted, and deleted is final here",
                        command.aggregate_id()
                    ),
                ))
            } else {
                loaded.state.decide(command)
            };
            let decision = decision.and_then(|events| {
                if context.restrict_to_application {
                    check_owner(&loaded.state, &events, context.application.as_deref())?;
                }
                Ok(events)
            });
            let status = match decision {
                Ok(events) => {
                    let count = events.len();
                    for event in events {
                        loaded.state.evolve(&event);
                        loaded.version += 1;
                        let new = NewEvent::new(
                            key.0,
                            key.1.clone(),
                            loaded.version,
                            &event,
                            EventMetadata {
                                time,
                                correlation_id,
                                causation_id: *command_id,
                                user: context.user.clone(),
                                application: context.application.clone(),
                            },
                        )?;
                        // Refused at the door rather than stalling a publisher later.
                        if let Some(limit) = config.max_event_bytes {
                            if new.body.len() > limit {
                                tx.rollback()?;
                                return Err(GatewayError::EventTooLarge {
                                    aggregate_id: new.aggregate_id,
                                    size: new.body.len(),
                                    limit,
                                });
                            }
                        }
                        new_events.push(new);
                    }
                    OutcomeStatus::Accepted {
                        events: count,
                        position: None,
                        ignored: None,
                    }
                }
                // An engine resending what the pool already has done: acknowledged, no
                // effect, the rest of its transaction goes on.
                Err(rejection) if command.ignored_when(&rejection) => OutcomeStatus::Accepted {
                    events: 0,
                    position: None,
                    ignored: Some(rejection),
                },
                Err(rejection) => {
                    rejected = true;
                    OutcomeStatus::Rejected(rejection)
                }
            };
            spans.push(start..new_events.len());
            outcomes.push(CommandOutcome {
                command_id: *command_id,
                command_type: command.type_name().to_string(),
                aggregate_id: key.1,
                status,
            });
            if rejected && mode == BatchMode::Atomic {
                break;
            }
        }

        if rejected && mode == BatchMode::Atomic {
            tx.rollback()?;
            return Ok(atomic_rejection(
                commands,
                command_ids,
                outcomes,
                correlation_id,
            ));
        }

        // In per-command mode a rejected command appended nothing and left its
        // aggregate's working state untouched, so the events are exactly the accepted ones.
        let positions = event_store::append(&tx, &new_events)?;
        let mut last = None;
        for (outcome, span) in outcomes.iter_mut().zip(spans) {
            if let OutcomeStatus::Accepted { position, .. } = &mut outcome.status {
                if span.end > span.start {
                    *position = positions.get(span.end - 1).copied();
                    last = *position;
                }
            }
        }
        let batch = BatchOutcome {
            correlation_id,
            outcomes,
            position: last,
        };
        if let Some(key) = &context.idempotency_key {
            tx.execute(
                "INSERT INTO handled_units (idempotency_key, outcome, handled_at, fingerprint) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![key, serde_json::to_string(&batch).map_err(StoreError::from)?, time.to_rfc3339(), context.request_fingerprint],
            )?;
            // Keys are remembered for the idempotency window; older ones are let go
            // now and then (a resend after the window is a new request).
            if prunes_expired_keys(key) {
                let horizon = time
                    - chrono::Duration::from_std(config.idempotency_window)
                        .unwrap_or(chrono::Duration::days(7));
                tx.execute(
                    "DELETE FROM handled_units WHERE handled_at < ?1",
                    [horizon.to_rfc3339()],
                )?;
            }
        }
        tx.commit()?;
        *known_head = last.unwrap_or(head);
        if cache.len() + working.len() > config.cache_capacity {
            cache.clear();
        }
        cache.extend(working);
        Ok(batch)
    }
}

/// The aggregate's current state, taken out of the cache (it goes back on commit)
/// and refreshed by the events it missed when others wrote since our last commit, or
/// replayed from its events.
fn load(
    conn: &Connection,
    cache: &mut HashMap<AggregateKey, Box<Loaded>>,
    key: &AggregateKey,
    cache_is_current: bool,
) -> Result<Box<Loaded>, StoreError> {
    let mut loaded = match cache.remove(key) {
        Some(cached) if cache_is_current => return Ok(cached),
        Some(cached) => cached,
        None => Box::new(Loaded {
            version: 0,
            state: AggregateState::empty(key.0),
        }),
    };
    for (version, event) in event_store::load_aggregate_events(conn, key.0, &key.1, loaded.version)?
    {
        loaded.state.evolve(&event);
        loaded.version = version;
    }
    Ok(loaded)
}

/// The stored outcome of a keyed unit of work, with the fingerprint of its request.
fn handled_outcome(
    conn: &Connection,
    key: &str,
) -> Result<Option<(BatchOutcome, Option<String>)>, StoreError> {
    use rusqlite::OptionalExtension;
    let stored: Option<(String, Option<String>)> = conn
        .query_row(
            "SELECT outcome, fingerprint FROM handled_units WHERE idempotency_key = ?1",
            [key],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(match stored {
        Some((outcome, fingerprint)) => Some((serde_json::from_str(&outcome)?, fingerprint)),
        None => None,
    })
}

fn atomic_rejection(
    commands: &[Command],
    command_ids: &[Uuid],
    mut outcomes: Vec<CommandOutcome>,
    correlation_id: Uuid,
) -> BatchOutcome {
    let culprit = outcomes.len();
    for outcome in outcomes.iter_mut() {
        if outcome.is_accepted() {
            outcome.status = OutcomeStatus::Rejected(Rejection::new(
                RejectionCode::BatchRejected,
                format!("not applied: command {culprit} of the batch was rejected"),
            ));
        }
    }
    for (command, command_id) in commands.iter().zip(command_ids).skip(outcomes.len()) {
        outcomes.push(CommandOutcome {
            command_id: *command_id,
            command_type: command.type_name().to_string(),
            aggregate_id: command.aggregate_id(),
            status: OutcomeStatus::Rejected(Rejection::new(
                RejectionCode::BatchRejected,
                format!("not applied: command {culprit} of the batch was rejected"),
            )),
        });
    }
    BatchOutcome {
        correlation_id,
        outcomes,
        position: None,
    }
}

#[cfg(test)]
mod tests;
