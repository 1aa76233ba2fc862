//! The view schema (SQLite): the query model built from the events. Versioned by
//! `PRAGMA user_version`; a rebuild drops and recreates it.

pub const VIEW_SCHEMA_VERSION: i64 = 21;

/// Every table and index of the view. Dropping all of them and running this again is
/// a rebuild.
pub const CREATE: &str = "
CREATE TABLE IF NOT EXISTS projector_checkpoint (
    projector TEXT PRIMARY KEY,
    position  INTEGER NOT NULL
);

-- This view's identity, new whenever it is created or rebuilt: the search index
-- follows one generation and rebuilds itself from the tasks when it changes.
CREATE TABLE IF NOT EXISTS view_generation (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation TEXT NOT NULL
);
INSERT OR IGNORE INTO view_generation (id, generation) VALUES (1, lower(hex(randomblob(16))));

CREATE TABLE IF NOT EXISTS tasks (
    id                  TEXT PRIMARY KEY,
    application_name    TEXT NOT NULL,
    process_name        TEXT NOT NULL,
    definition_key      TEXT NOT NULL,
    instance_id         TEXT NOT NULL,
    task_definition_key TEXT NOT NULL,
    name                TEXT NOT NULL,
    description         TEXT,
    form_key            TEXT,
    priority            INTEGER NOT NULL,
    assignee            TEXT,
    owner               TEXT,
    create_time         TEXT NOT NULL,
    due_date            TEXT,
    follow_up_date      TEXT,
    business_key        TEXT,
    position            INTEGER NOT NULL -- the event position of its last change
);
-- The whole task as JSON (what queries return), apart from the narrow rows that
-- queries filter and sort on.
CREATE TABLE IF NOT EXISTS task_documents (
    task_rowid INTEGER PRIMARY KEY,  -- the rowid of the task's row in `tasks`
    task       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_due ON tasks (COALESCE(due_date, '9999'), id);

-- Who may see a task: its assignee and candidate users ('user'), candidate groups
-- ('group'). Ordered by due date within a principal, so the inbox's first page is a
-- merge of a user's few index ranges; the task's rowid finds its row in one lookup.
CREATE TABLE IF NOT EXISTS task_authorizations (
    principal  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    due        TEXT NOT NULL,   -- COALESCE(due_date, '9999'), as the due sort key
    task_id    TEXT NOT NULL,
    task_rowid INTEGER NOT NULL,
    follow_up  TEXT,
    PRIMARY KEY (principal, kind, due, task_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS task_correlations (
    task_id    TEXT NOT NULL,
    entry_type TEXT NOT NULL,
    entry_id   TEXT NOT NULL,
    PRIMARY KEY (task_id, entry_type, entry_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS task_correlations_entry ON task_correlations (entry_type, entry_id);

-- The payload index and the full-text index live in the search file (view/search.rs).

-- Every change of a task, for the live stream: who could see it before and after
-- (to route it), and the whole task before and after (to judge it at its position).
CREATE TABLE IF NOT EXISTS task_changes (
    position    INTEGER PRIMARY KEY,
    task_id     TEXT NOT NULL,
    before      TEXT,    -- JSON {users:[...], groups:[...]} or NULL when it did not exist
    after       TEXT,    -- likewise; NULL when it was completed or deleted
    task_before TEXT,    -- the task as JSON before the change; NULL when it did not exist
    task_after  TEXT     -- the task as JSON after it; NULL when completed or deleted
);

-- Completed tasks, for the history (the Completed page): the task as it was when completed, by
-- whom and when (the completion's event time), and who could see it then (its
-- principals, as for open tasks). Kept for the node's history retention.
CREATE TABLE IF NOT EXISTS completed_tasks (
    task_id      TEXT PRIMARY KEY,
    completed_at TEXT NOT NULL,
    completed_by TEXT,
    task         TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS completed_tasks_time ON completed_tasks (completed_at);
CREATE TABLE IF NOT EXISTS completed_task_principals (
    principal    TEXT NOT NULL,
    kind         TEXT NOT NULL,
    completed_at TEXT NOT NULL,
    task_id      TEXT NOT NULL,
    PRIMARY KEY (principal, kind, completed_at, task_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS completed_task_principals_task ON completed_task_principals (task_id);

-- Each task's timeline (the history of one task): what happened, when, by whom, in the
-- task's own order (its aggregate version), from its events on every node. Kept while
-- the task is open or in the history.
CREATE TABLE IF NOT EXISTS task_timeline (
    task_id   TEXT NOT NULL,
    version   INTEGER NOT NULL,
    at        TEXT NOT NULL,
    kind      TEXT NOT NULL,
    user_name TEXT,
    detail    TEXT,
    PRIMARY KEY (task_id, version)
) WITHOUT ROWID;

-- Users' requests to the owning applications (claim, complete, ..., start) and their
-- answers: the request id is the id of the user's command. A task's action names the
-- task; a start names the definition and, once started, the process instance.
CREATE TABLE IF NOT EXISTS requests (
    request_id         TEXT PRIMARY KEY,
    task_id            TEXT,
    definition_id      TEXT,
    instance_id        TEXT,
    action             TEXT,             -- claim, unclaim, complete, defer, undefer, start
    user_name          TEXT,
    application_name   TEXT NOT NULL,
    requested_at       TEXT,             -- RFC 3339; NULL when only the answer is known
    requested_position INTEGER,
    state              TEXT NOT NULL,    -- requested | performed | rejected
    reason             TEXT,
    answered_position  INTEGER
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS requests_user ON requests (user_name, requested_position);

-- How far the change table has been pruned (retention): a live stream resuming from
-- before it gets a fresh snapshot, told so, never a silent gap.
CREATE TABLE IF NOT EXISTS change_log_retention (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    pruned_below INTEGER NOT NULL   -- changes at positions below this are gone
);

-- Stored events this build could not read, parked so the view goes on without them
-- (reported on /health and /metrics; a rebuild by a build that reads them applies them).
CREATE TABLE IF NOT EXISTS parked_events (
    position INTEGER PRIMARY KEY,
    error    TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS data_entries (
    entry_type       TEXT NOT NULL,
    entry_id         TEXT NOT NULL,
    name             TEXT NOT NULL,
    type_name        TEXT NOT NULL,
    application_name TEXT NOT NULL,
    processing_type  TEXT NOT NULL,
    state            TEXT NOT NULL,
    deleted          INTEGER NOT NULL DEFAULT 0,
    data_entry       TEXT NOT NULL,  -- the whole entry as JSON, protocol included
    PRIMARY KEY (entry_type, entry_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS data_entries_state ON data_entries (state);
CREATE INDEX IF NOT EXISTS data_entries_processing_type ON data_entries (processing_type);
CREATE INDEX IF NOT EXISTS data_entries_name ON data_entries (name);
CREATE INDEX IF NOT EXISTS data_entries_type_name ON data_entries (type_name);
CREATE INDEX IF NOT EXISTS data_entries_application ON data_entries (application_name);

CREATE TABLE IF NOT EXISTS data_entry_authorizations (
    principal  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    entry_type TEXT NOT NULL,
    entry_id   TEXT NOT NULL,
    PRIMARY KEY (principal, kind, entry_type, entry_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS data_entry_protocol_users (
    username   TEXT NOT NULL,
    entry_type TEXT NOT NULL,
    entry_id   TEXT NOT NULL,
    PRIMARY KEY (username, entry_type, entry_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS process_definitions (
    id                      TEXT PRIMARY KEY,
    key                     TEXT NOT NULL,
    version                 INTEGER NOT NULL,
    application_name        TEXT NOT NULL,
    startable_from_tasklist INTEGER NOT NULL,
    definition              TEXT NOT NULL
);
-- The forms of each definition by form key (Camunda Forms / form-js JSON).
CREATE TABLE IF NOT EXISTS forms (
    definition_id TEXT NOT NULL,
    form_key      TEXT NOT NULL,
    form          TEXT NOT NULL,
    PRIMARY KEY (definition_id, form_key)
) WITHOUT ROWID;
-- The diagram of each definition (BPMN 2.0 XML), when its application registered one.
CREATE TABLE IF NOT EXISTS diagrams (
    definition_id TEXT PRIMARY KEY,
    xml           TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS process_definition_starters (
    principal     TEXT NOT NULL,
    kind          TEXT NOT NULL,
    definition_id TEXT NOT NULL,
    PRIMARY KEY (principal, kind, definition_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS process_instances (
    id               TEXT PRIMARY KEY,
    definition_id    TEXT NOT NULL,
    definition_key   TEXT NOT NULL,
    application_name TEXT NOT NULL,
    business_key     TEXT,
    started_by       TEXT,
    state            TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS process_instances_state ON process_instances (state);

CREATE TABLE IF NOT EXISTS process_variables (
    instance_id TEXT NOT NULL,
    name        TEXT NOT NULL,
    value       TEXT NOT NULL,
    PRIMARY KEY (instance_id, name)
) WITHOUT ROWID;

-- A view fed with delivered events (a tasklist node reading a message log): the last
-- applied version of each aggregate and the origin that owns it (a duplicate or
-- redelivered event changes nothing; another origin's event is refused), the refusals
-- not yet told to their origin (see `deliveries.rs`), the next offset to read per source (moved in the same transaction as the
-- rows; the transport names its sources), and the deliveries that could not be
-- applied (parked, never blocking later ones). A rebuild drops the offsets with the
-- rows, so a rebuilt view reads its sources again from the start.
CREATE TABLE IF NOT EXISTS applied_versions (
    aggregate_kind TEXT NOT NULL,
    aggregate_id   TEXT NOT NULL,
    version        INTEGER NOT NULL,
    origin         TEXT NOT NULL,
    PRIMARY KEY (aggregate_kind, aggregate_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS refused_deliveries (
    event_id          BLOB NOT NULL PRIMARY KEY,
    origin            TEXT NOT NULL,
    aggregate_kind    TEXT NOT NULL,
    aggregate_id      TEXT NOT NULL,
    aggregate_version INTEGER NOT NULL,
    event_type        TEXT NOT NULL,
    owner             TEXT NOT NULL,
    refused_at        TEXT NOT NULL,
    sent              INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS refused_deliveries_unsent ON refused_deliveries (refused_at) WHERE sent = 0;
CREATE TABLE IF NOT EXISTS delivery_offsets (
    source      TEXT NOT NULL PRIMARY KEY,
    next_offset INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS parked_deliveries (
    source    TEXT NOT NULL,
    offset    INTEGER NOT NULL,
    key       TEXT,
    payload   BLOB,
    error     TEXT NOT NULL,
    parked_at TEXT NOT NULL,
    PRIMARY KEY (source, offset)
) WITHOUT ROWID;
";

/// Every table of the view, for a rebuild.
pub const TABLES: &[&str] = &[
    "projector_checkpoint",
    "view_generation",
    "tasks",
    "task_documents",
    "task_authorizations",
    "task_correlations",
    "task_changes",
    "requests",
    "completed_tasks",
    "completed_task_principals",
    "task_timeline",
    "parked_events",
    "change_log_retention",
    "data_entries",
    "data_entry_authorizations",
    "data_entry_protocol_users",
    "process_definitions",
    "forms",
    "diagrams",
    "process_definition_starters",
    "process_instances",
    "process_variables",
    "applied_versions",
    "refused_deliveries",
    "delivery_offsets",
    "parked_deliveries",
];

/// Tables of earlier schema versions, dropped when an older view is rebuilt.
pub const RETIRED_TABLES: &[&str] = &[
    "consumer_offsets",
    "parked_messages",
    // In the search file since version 20.
    "task_payload",
    "tasks_fts",
];
