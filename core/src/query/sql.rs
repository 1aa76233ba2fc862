//! Compiles a filter (and the inbox options around it) to parameterised SQL over the
//! view. Values only ever travel as parameters.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rusqlite::types::Value;

use super::filter::{Clause, Field, Filter, Op};
use super::{QueryError, Viewer};

/// A WHERE fragment and its parameters.
#[derive(Debug, Default)]
pub struct Sql {
    pub text: String,
    pub params: Vec<Value>,
}

impl Sql {
    pub fn and(&mut self, fragment: &str, params: impl IntoIterator<Item = Value>) {
        if !self.text.is_empty() {
            self.text.push_str(" AND ");
        }
        self.text.push('(');
        self.text.push_str(fragment);
        self.text.push(')');
        self.params.extend(params);
    }

    pub fn where_clause(&self) -> String {
        if self.text.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.text)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Kind {
    Text,
    Number,
    Date,
}

/// The task fields a filter may name: (name in the filter, column, kind).
pub(super) const TASK_FIELDS: &[(&str, &str, Kind)] = &[
    ("id", "tasks.id", Kind::Text),
    ("name", "tasks.name", Kind::Text),
    ("description", "tasks.description", Kind::Text),
    ("formKey", "tasks.form_key", Kind::Text),
    ("priority", "tasks.priority", Kind::Number),
    ("assignee", "tasks.assignee", Kind::Text),
    ("owner", "tasks.owner", Kind::Text),
    ("businessKey", "tasks.business_key", Kind::Text),
    ("taskDefinitionKey", "tasks.task_definition_key", Kind::Text),
    ("applicationName", "tasks.application_name", Kind::Text),
    ("processName", "tasks.process_name", Kind::Text),
    ("definitionKey", "tasks.definition_key", Kind::Text),
    ("instanceId", "tasks.instance_id", Kind::Text),
    ("createTime", "tasks.create_time", Kind::Date),
    ("created", "tasks.create_time", Kind::Date),
    ("dueDate", "tasks.due_date", Kind::Date),
    ("due", "tasks.due_date", Kind::Date),
    ("followUpDate", "tasks.follow_up_date", Kind::Date),
    ("followUp", "tasks.follow_up_date", Kind::Date),
];

/// A task field a filter may name (candidate users and groups apart).
pub(super) fn task_field(
    name: &str,
) -> Result<&'static (&'static str, &'static str, Kind), QueryError> {
    TASK_FIELDS
        .iter()
        .find(|(n, _, _)| *n == name)
        .ok_or_else(|| QueryError::UnknownField {
            field: format!("task.{name}"),
            expected: TASK_FIELDS
                .iter()
                .map(|(n, _, _)| *n)
                .chain(["candidateUser", "candidateGroup"])
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// A data entry field a filter may name.
pub(super) fn data_field(name: &str) -> Result<&'static (&'static str, &'static str), QueryError> {
    DATA_FIELDS
        .iter()
        .find(|(n, _)| *n == name)
        .ok_or_else(|| QueryError::UnknownField {
            field: format!("data.{name}"),
            expected: DATA_FIELDS
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// The data entry fields a filter may name, through a task's correlations.
pub(super) const DATA_FIELDS: &[(&str, &str)] = &[
    ("entryType", "d.entry_type"),
    ("entryId", "d.entry_id"),
    ("name", "d.name"),
    ("type", "d.type_name"),
    ("applicationName", "d.application_name"),
    ("state", "d.state"),
    ("processingType", "d.processing_type"),
];

/// Formats a date the way the view stores it, from `2026-03-01` or RFC 3339.
pub fn normalize_date(field: &str, raw: &str) -> Result<String, QueryError> {
    let parsed = DateTime::parse_from_rfc3339(raw)
        .map(|d| d.with_timezone(&Utc))
        .or_else(|_| {
            NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
        })
        .map_err(|_| QueryError::BadValue {
            field: field.into(),
            message: format!("`{raw}` is not an ISO date (2026-03-01 or 2026-03-01T10:00:00Z)"),
        })?;
    Ok(parsed.to_rfc3339_opts(SecondsFormat::Millis, true))
}

pub(super) fn typed(field: &str, kind: Kind, raw: &str) -> Result<Value, QueryError> {
    match kind {
        Kind::Text => Ok(Value::Text(raw.to_string())),
        Kind::Number => raw
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map(Value::Real)
            .ok_or_else(|| QueryError::BadValue {
                field: field.into(),
                message: format!("`{raw}` is not a number"),
            }),
        Kind::Date => normalize_date(field, raw).map(Value::Text),
    }
}

fn like_pattern(raw: &str) -> Value {
    let escaped = raw
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    Value::Text(format!("%{escaped}%"))
}

pub(super) fn number(raw: &str) -> Option<f64> {
    raw.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// Adds every clause of `filter` to `sql`.
/// `data.*` clauses see only the data entries `viewer` may read.
pub fn compile_filter(filter: &Filter, viewer: &Viewer, sql: &mut Sql) -> Result<(), QueryError> {
    for clause in &filter.clauses {
        compile_clause(clause, viewer, sql)?;
    }
    Ok(())
}

/// `condition` on one value column, with its parameters, for the field's kind.
fn condition(
    column: &str,
    kind: Kind,
    field: &str,
    clause: &Clause,
) -> Result<(String, Vec<Value>), QueryError> {
    Ok(match clause {
        Clause::Compare {
            op: Op::Contains,
            value,
            ..
        } => (
            format!("{column} LIKE ? ESCAPE '\\'"),
            vec![like_pattern(value)],
        ),
        Clause::Compare { op, value, .. } => (
            format!("{column} {} ?", op.sql()),
            vec![typed(field, kind, value)?],
        ),
        Clause::In { values, .. } => {
            let marks = vec!["?"; values.len()].join(", ");
            (
                format!("{column} IN ({marks})"),
                values
                    .iter()
                    .map(|v| typed(field, kind, v))
                    .collect::<Result<_, _>>()?,
            )
        }
        Clause::Between { low, high, .. } => (
            format!("{column} BETWEEN ? AND ?"),
            vec![typed(field, kind, low)?, typed(field, kind, high)?],
        ),
    })
}

pub(super) fn field_of(clause: &Clause) -> &Field {
    match clause {
        Clause::Compare { field, .. }
        | Clause::In { field, .. }
        | Clause::Between { field, .. } => field,
    }
}

fn is_negative(clause: &Clause) -> bool {
    matches!(clause, Clause::Compare { op: Op::Ne, .. })
}

/// Builds a clause from its positive form. `!=` becomes the negation of `=`, so tasks
/// without the value match `!=` too; `form(sql, negated)` wraps the positive SQL.
fn negatable(
    clause: &Clause,
    positive: impl Fn(&Clause) -> Result<(String, Vec<Value>), QueryError>,
    form: impl Fn(&str, bool) -> String,
) -> Result<(String, Vec<Value>), QueryError> {
    if let Clause::Compare {
        field,
        op: Op::Ne,
        value,
    } = clause
    {
        let equal = Clause::Compare {
            field: field.clone(),
            op: Op::Eq,
            value: value.clone(),
        };
        let (sql, params) = positive(&equal)?;
        Ok((form(&sql, true), params))
    } else {
        let (sql, params) = positive(clause)?;
        Ok((form(&sql, false), params))
    }
}

/// `column [NOT] IN (subquery)`.
fn membership(column: &'static str) -> impl Fn(&str, bool) -> String {
    move |sub, negated| format!("{column} {}IN ({sub})", if negated { "NOT " } else { "" })
}

fn compile_clause(clause: &Clause, viewer: &Viewer, sql: &mut Sql) -> Result<(), QueryError> {
    let field = field_of(clause);
    let name = field.to_string();
    let (text, params) = match field {
        Field::Task(f) if f == "candidateUser" || f == "candidateGroup" => {
            let kind = if f == "candidateUser" {
                "user"
            } else {
                "group"
            };
            negatable(
                clause,
                |c| {
                    let (cond, params) = condition("a.principal", Kind::Text, &name, c)?;
                    Ok((format!("SELECT a.task_rowid FROM task_authorizations a WHERE a.kind = '{kind}' AND {cond}"), params))
                },
                membership("tasks.rowid"),
            )?
        }
        Field::Task(f) => {
            let (_, column, kind) = task_field(f)?;
            let (cond, params) = condition(column, *kind, &name, clause)?;
            if is_negative(clause) {
                (format!("{column} IS NULL OR {cond}"), params)
            } else {
                (cond, params)
            }
        }
        Field::Data(f) => {
            let (_, column) = data_field(f)?;
            negatable(
                clause,
                |c| {
                    let (cond, mut params) = condition(column, Kind::Text, &name, c)?;
                    // Only entries the viewer may read: a filter must not reveal others.
                    let (readable, readable_params) = super::data_entries::entry_visibility(viewer);
                    params.extend(readable_params);
                    Ok((
                    format!("SELECT c.task_id FROM task_correlations c JOIN data_entries d ON d.entry_type = c.entry_type AND d.entry_id = c.entry_id WHERE d.deleted = 0 AND {cond} AND {readable}"),
                    params,
                ))
                },
                membership("tasks.id"),
            )?
        }
        Field::Payload(path) => {
            // Numbers compare as numbers; everything else as text. Probed per task
            // (EXISTS on the task-clustered payload table): the visibility condition
            // already narrows the tasks to the few a user may see.
            let positive = |c: &Clause| -> Result<(String, Vec<Value>), QueryError> {
                let numeric = match c {
                    Clause::Compare {
                        op: Op::Contains, ..
                    } => false,
                    Clause::Compare { value, .. } => number(value).is_some(),
                    Clause::In { values, .. } => values.iter().all(|v| number(v).is_some()),
                    Clause::Between { low, high, .. } => {
                        number(low).is_some() && number(high).is_some()
                    }
                };
                let (column, kind) = if numeric {
                    ("p.value_num", Kind::Number)
                } else {
                    ("p.value_text", Kind::Text)
                };
                let (cond, mut params) = condition(column, kind, &name, c)?;
                params.insert(0, Value::Text(path.clone()));
                Ok((format!("EXISTS (SELECT 1 FROM search.task_payload p WHERE p.task_id = tasks.id AND p.path = ? AND {cond})"), params))
            };
            negatable(clause, positive, |cond, negated| {
                if negated {
                    format!("NOT {cond}")
                } else {
                    cond.to_string()
                }
            })?
        }
    };
    sql.and(&text, params);
    Ok(())
}
