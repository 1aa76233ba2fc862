//! Saved filters: a user's named list queries (a quick view, a filter, a search and a
//! sort), kept per user by the node (`filters.db` in its data directory, 0600), so they
//! follow the user into every browser and, in the desktop app, stay in the app's data.
//! They are preferences, not facts: not event-sourced, not in the view (a rebuild keeps
//! them).

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use taskpool_core::query::{parse_sort, Filter};

/// How many filters one user may keep.
pub const MAX_FILTERS: usize = 50;
/// The longest name, filter and search (in characters).
pub const MAX_NAME: usize = 100;
pub const MAX_FILTER: usize = 4_000;
pub const MAX_SEARCH: usize = 256;

/// The quick view a filter starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum QuickView {
    #[default]
    All,
    Mine,
    Claimable,
    Deferred,
}

impl QuickView {
    fn as_str(self) -> &'static str {
        match self {
            QuickView::All => "all",
            QuickView::Mine => "mine",
            QuickView::Claimable => "claimable",
            QuickView::Deferred => "deferred",
        }
    }

    fn parse(s: &str) -> QuickView {
        match s {
            "mine" => QuickView::Mine,
            "claimable" => QuickView::Claimable,
            "deferred" => QuickView::Deferred,
            _ => QuickView::All,
        }
    }
}

/// What a user saves (or changes) under a name.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FilterInput {
    pub name: String,
    #[serde(default)]
    pub view: QuickView,
    /// In the filter language.
    #[serde(default)]
    pub filter: String,
    /// Full-text search.
    #[serde(default)]
    pub search: String,
    /// Sort keys, `+due,-priority` (empty: the default, `+due`).
    #[serde(default)]
    pub sort: String,
}

/// A saved filter, with how many tasks it shows me now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SavedFilter {
    #[cfg_attr(feature = "typescript", ts(type = "string"))]
    pub id: uuid::Uuid,
    pub name: String,
    pub view: QuickView,
    pub filter: String,
    pub search: String,
    pub sort: String,
    /// My tasks it shows now.
    pub count: u64,
}

impl SavedFilter {
    /// The filter saved under `id` (its count not yet known).
    fn of(id: uuid::Uuid, input: FilterInput) -> Self {
        Self {
            id,
            name: input.name,
            view: input.view,
            filter: input.filter,
            search: input.search,
            sort: input.sort,
            count: 0,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FilterStoreError {
    #[error("saved filters: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the saved filters' lock was poisoned")]
    Poisoned,
    /// What was sent cannot be saved (says which field and why).
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("no such saved filter")]
    NotFound,
    #[error("a saved filter named `{0}` exists already")]
    NameTaken(String),
}

/// Checks what a user wants to save: a name, within the limits, a filter and sort the
/// node can run.
pub fn validate(input: &FilterInput) -> Result<FilterInput, FilterStoreError> {
    let invalid = |field: &str, message: String| FilterStoreError::Invalid {
        field: field.into(),
        message,
    };
    let name = input.name.trim().to_string();
    if name.is_empty() {
        return Err(invalid("name", "a saved filter needs a name".into()));
    }
    for (field, value, max) in [
        ("name", &name, MAX_NAME),
        ("filter", &input.filter, MAX_FILTER),
        ("search", &input.search, MAX_SEARCH),
    ] {
        let n = value.chars().count();
        if n > max {
            return Err(invalid(
                field,
                format!("{n} characters is more than the limit of {max}"),
            ));
        }
    }
    Filter::parse(&input.filter).map_err(|e| invalid("filter", e.to_string()))?;
    if !input.sort.trim().is_empty() {
        parse_sort(&input.sort).map_err(|e| invalid("sort", e.to_string()))?;
    }
    Ok(FilterInput {
        name,
        view: input.view,
        filter: input.filter.trim().to_string(),
        search: input.search.trim().to_string(),
        sort: input.sort.trim().to_string(),
    })
}

/// The saved filters of every user of a node.
pub struct FilterStore {
    conn: Mutex<Connection>,
}

const COLUMNS: &str = "id, name, view, filter, search, sort";

fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<SavedFilter> {
    let id: String = r.get(0)?;
    let view: String = r.get(2)?;
    Ok(SavedFilter {
        id: uuid::Uuid::parse_str(&id).unwrap_or_default(),
        name: r.get(1)?,
        view: QuickView::parse(&view),
        filter: r.get(3)?,
        search: r.get(4)?,
        sort: r.get(5)?,
        count: 0,
    })
}

impl FilterStore {
    pub fn open(path: &Path) -> Result<Self, FilterStoreError> {
        let conn = taskpool_core::sqlite::open_wal(path, "NORMAL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS saved_filters (
                 user_name TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL,
                 view TEXT NOT NULL, filter TEXT NOT NULL, search TEXT NOT NULL, sort TEXT NOT NULL,
                 created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
                 PRIMARY KEY (user_name, id)) WITHOUT ROWID;
             CREATE UNIQUE INDEX IF NOT EXISTS saved_filters_name ON saved_filters (user_name, name);",
        )?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> Result<std::sync::MutexGuard<'_, Connection>, FilterStoreError> {
        self.conn.lock().map_err(|_| FilterStoreError::Poisoned)
    }

    /// `user`'s filters, in the order they were saved (counts left at 0).
    pub fn list(&self, user: &str) -> Result<Vec<SavedFilter>, FilterStoreError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM saved_filters WHERE user_name = ?1 ORDER BY created_at, name"
        ))?;
        let rows = stmt.query_map([user], read)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Saves a new filter for `user` (checked with [`validate`]).
    pub fn create(&self, user: &str, input: &FilterInput) -> Result<SavedFilter, FilterStoreError> {
        let input = validate(input)?;
        let conn = self.conn()?;
        let n: i64 = conn.query_row(
            "SELECT count(*) FROM saved_filters WHERE user_name = ?1",
            [user],
            |r| r.get(0),
        )?;
        if n >= MAX_FILTERS as i64 {
            return Err(FilterStoreError::Invalid {
                field: "name".into(),
                message: format!("you keep {MAX_FILTERS} saved filters already (the limit)"),
            });
        }
        let id = uuid::Uuid::new_v4();
        let inserted = conn.execute(
            "INSERT INTO saved_filters (user_name, id, name, view, filter, search, sort)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
            rusqlite::params![
                user,
                id.to_string(),
                input.name,
                input.view.as_str(),
                input.filter,
                input.search,
                input.sort
            ],
        )?;
        if inserted == 0 {
            return Err(FilterStoreError::NameTaken(input.name));
        }
        Ok(SavedFilter::of(id, input))
    }

    /// Changes (renames, or saves anew under its name) one of `user`'s filters.
    pub fn update(
        &self,
        user: &str,
        id: uuid::Uuid,
        input: &FilterInput,
    ) -> Result<SavedFilter, FilterStoreError> {
        let input = validate(input)?;
        let conn = self.conn()?;
        let taken: Option<String> = conn
            .query_row(
                "SELECT id FROM saved_filters WHERE user_name = ?1 AND name = ?2 AND id <> ?3",
                rusqlite::params![user, input.name, id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        if taken.is_some() {
            return Err(FilterStoreError::NameTaken(input.name));
        }
        let changed = conn.execute(
            "UPDATE saved_filters SET name = ?3, view = ?4, filter = ?5, search = ?6, sort = ?7
             WHERE user_name = ?1 AND id = ?2",
            rusqlite::params![
                user,
                id.to_string(),
                input.name,
                input.view.as_str(),
                input.filter,
                input.search,
                input.sort
            ],
        )?;
        if changed == 0 {
            return Err(FilterStoreError::NotFound);
        }
        Ok(SavedFilter::of(id, input))
    }

    /// Deletes one of `user`'s filters.
    pub fn delete(&self, user: &str, id: uuid::Uuid) -> Result<(), FilterStoreError> {
        let deleted = self.conn()?.execute(
            "DELETE FROM saved_filters WHERE user_name = ?1 AND id = ?2",
            rusqlite::params![user, id.to_string()],
        )?;
        match deleted {
            0 => Err(FilterStoreError::NotFound),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, filter: &str) -> FilterInput {
        FilterInput {
            name: name.into(),
            view: QuickView::Claimable,
            filter: filter.into(),
            search: String::new(),
            sort: "-priority".into(),
        }
    }

    #[test]
    fn filters_are_kept_per_user_renamed_and_deleted() {
        let dir = tempfile::tempdir().expect("dir");
        let store = FilterStore::open(&dir.path().join("filters.db")).expect("store");
        let big = store
            .create("alice", &input(" Big orders ", "amount > 1000"))
            .expect("saved");
        assert_eq!(big.name, "Big orders");
        store
            .create("bob", &input("Big orders", "amount > 5000"))
            .expect("bob's own");
        assert!(matches!(
            store.create("alice", &input("Big orders", "amount > 1")),
            Err(FilterStoreError::NameTaken(_))
        ));
        let renamed = store
            .update("alice", big.id, &input("Large orders", "amount > 1000"))
            .expect("renamed");
        assert_eq!(renamed.name, "Large orders");
        // Reopened: still there.
        drop(store);
        let store = FilterStore::open(&dir.path().join("filters.db")).expect("store");
        let alice = store.list("alice").expect("list");
        assert_eq!(
            alice
                .iter()
                .map(|f| (f.name.as_str(), f.view, f.sort.as_str()))
                .collect::<Vec<_>>(),
            vec![("Large orders", QuickView::Claimable, "-priority")]
        );
        // bob cannot touch alice's.
        assert!(matches!(
            store.delete("bob", big.id),
            Err(FilterStoreError::NotFound)
        ));
        store.delete("alice", big.id).expect("deleted");
        assert!(store.list("alice").expect("list").is_empty());
        assert_eq!(store.list("bob").expect("list").len(), 1);
    }

    #[test]
    fn what_cannot_run_or_is_too_long_is_refused_naming_the_field() {
        let field = |r: Result<FilterInput, FilterStoreError>| match r {
            Err(FilterStoreError::Invalid { field, .. }) => field,
            other => panic!("expected a refusal, got {other:?}"),
        };
        assert_eq!(field(validate(&input("  ", ""))), "name");
        assert_eq!(field(validate(&input("x", "amount >"))), "filter");
        assert_eq!(field(validate(&input(&"n".repeat(101), ""))), "name");
        let mut bad_sort = input("x", "");
        bad_sort.sort = "+colour".into();
        assert_eq!(field(validate(&bad_sort)), "sort");
        assert!(validate(&input("ok", "task.priority >= 50 and customer ~ acme")).is_ok());
    }

    #[test]
    fn a_user_keeps_at_most_the_limit() {
        let dir = tempfile::tempdir().expect("dir");
        let store = FilterStore::open(&dir.path().join("filters.db")).expect("store");
        for i in 0..MAX_FILTERS {
            store
                .create("alice", &input(&format!("f{i}"), ""))
                .expect("saved");
        }
        assert!(matches!(
            store.create("alice", &input("one more", "")),
            Err(FilterStoreError::Invalid { .. })
        ));
    }
}
