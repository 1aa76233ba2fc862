//! A task query judged in memory, for live items: each change is judged on the task as
//! it was right after that change, not on the view as it is when the item is read. The
//! same rules as the SQL of `tasks.rs` and `sql.rs`, clause by clause (a property test
//! checks that both agree on random tasks and random filters):
//! - visibility by the task's [`Principals`](crate::view::Principals), deferral, the
//!   quick-view options;
//! - `task.*` clauses on the task's fields (a missing value matches only `!=`), text
//!   compared byte-wise as SQLite does, `~` case-insensitive for ASCII as SQLite's LIKE;
//! - `task.candidateUser` / `candidateGroup` on the principals (the assignee counts as a
//!   candidate user, as in the authorization rows);
//! - payload paths on the flattened payload, numbers as numbers when the value is one;
//! - `data.*` on the task's correlated data entries, which the caller supplies;
//! - free text with the one tokenizer of [`super::text`].

use chrono::SecondsFormat;

use super::filter::{Clause, Field, Op};
use super::sql::{self, Kind};
use super::text::Search;
use super::*;
use crate::view::projection::payload_rows;
use crate::view::Principals;

/// The fields of a correlated data entry that `data.*` clauses compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrelatedEntry {
    pub entry_type: String,
    pub entry_id: String,
    pub name: String,
    pub type_name: String,
    pub application_name: String,
    pub state: String,
    pub processing_type: String,
}

impl CorrelatedEntry {
    fn field(&self, name: &str) -> &str {
        match name {
            "entryType" => &self.entry_type,
            "entryId" => &self.entry_id,
            "name" => &self.name,
            "type" => &self.type_name,
            "applicationName" => &self.application_name,
            "state" => &self.state,
            _ => &self.processing_type,
        }
    }
}

/// A value a clause compares with, typed as the SQL parameter would be.
#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Text(String),
    Number(f64),
}

/// What a compiled clause compares.
#[derive(Debug, Clone)]
enum Target {
    Task(&'static str),
    Principal { group: bool },
    Data(&'static str),
    Payload { path: String },
}

/// The test of one clause on one value, in its positive form.
#[derive(Debug, Clone)]
enum Test {
    Compare(Op, Operand),
    Contains(String),
    In(Vec<Operand>),
    Between(Operand, Operand),
}

#[derive(Debug, Clone)]
struct Compiled {
    target: Target,
    test: Test,
    /// `!=`: true when no value equals (a missing task field included).
    negated: bool,
    /// For payload paths: compare `value_num` (else `value_text`).
    numeric: bool,
}

/// A task query compiled for judging tasks in memory.
#[derive(Debug, Clone)]
pub struct MemoryQuery {
    viewer: Viewer,
    assigned_to_me: bool,
    claimable_only: bool,
    involvements_only: bool,
    deferred: Deferred,
    clauses: Vec<Compiled>,
    search: Option<Search>,
}

fn operand(field: &str, kind: Kind, raw: &str) -> Result<Operand, QueryError> {
    Ok(match sql::typed(field, kind, raw)? {
        Value::Real(n) => Operand::Number(n),
        Value::Text(t) => Operand::Text(t),
        _ => Operand::Text(raw.to_string()),
    })
}

fn compile(clause: &Clause) -> Result<Compiled, QueryError> {
    let field = sql::field_of(clause);
    let name = field.to_string();
    let (target, kind) = match field {
        Field::Task(f) if f == "candidateUser" => (Target::Principal { group: false }, Kind::Text),
        Field::Task(f) if f == "candidateGroup" => (Target::Principal { group: true }, Kind::Text),
        Field::Task(f) => {
            let (n, _, kind) = sql::task_field(f)?;
            (Target::Task(n), *kind)
        }
        Field::Data(f) => (Target::Data(sql::data_field(f)?.0), Kind::Text),
        Field::Payload(path) => (Target::Payload { path: path.clone() }, Kind::Text),
    };
    // Payload values compare as numbers when the clause's values all are (not `~`).
    let numeric = matches!(target, Target::Payload { .. })
        && match clause {
            Clause::Compare {
                op: Op::Contains, ..
            } => false,
            Clause::Compare { value, .. } => sql::number(value).is_some(),
            Clause::In { values, .. } => values.iter().all(|v| sql::number(v).is_some()),
            Clause::Between { low, high, .. } => {
                sql::number(low).is_some() && sql::number(high).is_some()
            }
        };
    let kind = if numeric { Kind::Number } else { kind };
    let (test, negated) = match clause {
        Clause::Compare {
            op: Op::Contains,
            value,
            ..
        } => (Test::Contains(value.to_ascii_lowercase()), false),
        Clause::Compare {
            op: Op::Ne, value, ..
        } => (Test::Compare(Op::Eq, operand(&name, kind, value)?), true),
        Clause::Compare { op, value, .. } => {
            (Test::Compare(*op, operand(&name, kind, value)?), false)
        }
        Clause::In { values, .. } => (
            Test::In(
                values
                    .iter()
                    .map(|v| operand(&name, kind, v))
                    .collect::<Result<_, _>>()?,
            ),
            false,
        ),
        Clause::Between { low, high, .. } => (
            Test::Between(operand(&name, kind, low)?, operand(&name, kind, high)?),
            false,
        ),
    };
    Ok(Compiled {
        target,
        test,
        negated,
        numeric,
    })
}

/// SQLite's comparison of a value with an operand: numbers as numbers, text byte-wise;
/// text compared with a number is never equal (SQLite orders numbers before text).
fn compare(value: &Operand, op: Op, operand: &Operand) -> bool {
    use std::cmp::Ordering;
    let ordering = match (value, operand) {
        (Operand::Number(a), Operand::Number(b)) => a.partial_cmp(b),
        (Operand::Text(a), Operand::Text(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
        (Operand::Number(_), Operand::Text(_)) => Some(Ordering::Less),
        (Operand::Text(_), Operand::Number(_)) => Some(Ordering::Greater),
    };
    let Some(ordering) = ordering else {
        return false;
    };
    match op {
        Op::Eq => ordering == Ordering::Equal,
        Op::Ne => ordering != Ordering::Equal,
        Op::Lt => ordering == Ordering::Less,
        Op::Le => ordering != Ordering::Greater,
        Op::Gt => ordering == Ordering::Greater,
        Op::Ge => ordering != Ordering::Less,
        Op::Contains => false,
    }
}

impl Test {
    /// Whether one value passes (the text form is what LIKE sees).
    fn holds(&self, value: &Operand) -> bool {
        match self {
            Test::Compare(op, operand) => compare(value, *op, operand),
            Test::Contains(needle) => {
                let text = match value {
                    Operand::Text(t) => t.to_ascii_lowercase(),
                    Operand::Number(n) => n.to_string(),
                };
                text.contains(needle.as_str())
            }
            Test::In(operands) => operands.iter().any(|o| compare(value, Op::Eq, o)),
            Test::Between(low, high) => compare(value, Op::Ge, low) && compare(value, Op::Le, high),
        }
    }
}

fn date(d: &chrono::DateTime<chrono::Utc>) -> Operand {
    Operand::Text(d.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// A task field's value as its view column holds it (`None`: NULL).
fn task_value(task: &Task, field: &str) -> Option<Operand> {
    let text = |s: &str| Some(Operand::Text(s.to_string()));
    let optional = |s: &Option<String>| s.as_deref().map(|s| Operand::Text(s.to_string()));
    match field {
        "id" => text(&task.id),
        "name" => text(&task.name),
        "description" => optional(&task.description),
        "formKey" => optional(&task.form_key),
        "priority" => Some(Operand::Number(f64::from(task.priority))),
        "assignee" => optional(&task.assignee),
        "owner" => optional(&task.owner),
        "businessKey" => optional(&task.business_key),
        "taskDefinitionKey" => text(&task.task_definition_key),
        "applicationName" => text(&task.source_reference.application_name),
        "processName" => text(&task.source_reference.name),
        "definitionKey" => text(&task.source_reference.definition_key),
        "instanceId" => text(&task.source_reference.instance_id),
        "createTime" | "created" => Some(date(&task.create_time)),
        "dueDate" | "due" => task.due_date.as_ref().map(date),
        _ => task.follow_up_date.as_ref().map(date),
    }
}

impl MemoryQuery {
    /// Compiles `q` (its filter refused exactly as the SQL compiler refuses it).
    pub fn compile(q: &TaskQuery) -> Result<Self, QueryError> {
        Ok(Self {
            viewer: q.viewer.clone(),
            assigned_to_me: q.assigned_to_me,
            claimable_only: q.claimable_only,
            involvements_only: q.involvements_only,
            deferred: q.deferred,
            clauses: q
                .filter
                .clauses
                .iter()
                .map(compile)
                .collect::<Result<_, _>>()?,
            search: q.text.as_deref().and_then(Search::parse),
        })
    }

    /// Who the query is for.
    pub fn viewer(&self) -> &Viewer {
        &self.viewer
    }

    /// Whether some clause compares correlated data entries (then [`Self::matches`]
    /// asks for them).
    pub fn needs_data_entries(&self) -> bool {
        self.clauses
            .iter()
            .any(|c| matches!(c.target, Target::Data(_)))
    }

    /// Whether `task` is in the query's result at `now`. `entries` gives the task's
    /// correlated data entries (asked at most once, only for `data.*` clauses).
    pub fn matches<E>(
        &self,
        task: &Task,
        now: DateTime<Utc>,
        entries: impl FnOnce(&Task) -> Result<Vec<CorrelatedEntry>, E>,
    ) -> Result<bool, E> {
        let principals = Principals::of(task);
        let visible = match &self.viewer {
            Viewer::User { user, groups } => principals.admit(user, groups),
            Viewer::Admin => true,
        };
        let mine = match (&self.viewer, self.assigned_to_me) {
            (Viewer::User { user, .. }, true) => task.assignee.as_deref() == Some(user.as_str()),
            _ => true,
        };
        let involved = match (&self.viewer, self.involvements_only) {
            (Viewer::User { user, .. }, true) => principals.users.contains(user),
            _ => true,
        };
        if !visible
            || !mine
            || !involved
            || (self.claimable_only && task.assignee.is_some())
            || !self.deferred.admits(task.follow_up_date, now)
        {
            return Ok(false);
        }
        if self.search.as_ref().is_some_and(|s| !s.matches(task)) {
            return Ok(false);
        }
        let mut payload = None;
        let mut correlated = None;
        let mut entries = Some(entries);
        for clause in &self.clauses {
            let holds = match &clause.target {
                Target::Task(field) => match task_value(task, field) {
                    // A missing value: NULL in SQL, so only `!=` holds.
                    None => clause.negated,
                    Some(v) => clause.test.holds(&v) != clause.negated,
                },
                Target::Principal { group } => {
                    let set = if *group {
                        &principals.groups
                    } else {
                        &principals.users
                    };
                    set.iter()
                        .any(|p| clause.test.holds(&Operand::Text(p.clone())))
                        != clause.negated
                }
                Target::Data(field) => {
                    if correlated.is_none() {
                        let found = match entries.take() {
                            Some(f) => f(task)?,
                            None => Vec::new(),
                        };
                        correlated = Some(found);
                    }
                    correlated.iter().flatten().any(|e| {
                        clause
                            .test
                            .holds(&Operand::Text(e.field(field).to_string()))
                    }) != clause.negated
                }
                Target::Payload { path } => {
                    let rows = payload.get_or_insert_with(|| payload_rows(&task.payload));
                    rows.iter().filter(|r| r.path == *path).any(|r| {
                        let value = if clause.numeric {
                            match r.number {
                                Some(n) => Operand::Number(n),
                                None => return false,
                            }
                        } else {
                            Operand::Text(r.text.clone())
                        };
                        clause.test.holds(&value)
                    }) != clause.negated
                }
            };
            if !holds {
                return Ok(false);
            }
        }
        Ok(true)
    }
}
