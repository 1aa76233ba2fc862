//! Sort keys (`+due,-priority`) and keyset cursors.

use super::QueryError;

/// One sort key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortKey {
    pub field: SortField,
    pub descending: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortField {
    Due,
    FollowUp,
    Created,
    Priority,
    Name,
    BusinessKey,
    Assignee,
    Application,
    Process,
}

const FIELDS: &[(&str, SortField)] = &[
    ("due", SortField::Due),
    ("followUp", SortField::FollowUp),
    ("created", SortField::Created),
    ("priority", SortField::Priority),
    ("name", SortField::Name),
    ("businessKey", SortField::BusinessKey),
    ("assignee", SortField::Assignee),
    ("application", SortField::Application),
    ("process", SortField::Process),
];

impl SortField {
    /// The SQL expression sorted on (NULLs last when ascending).
    pub fn expression(&self) -> &'static str {
        match self {
            SortField::Due => "COALESCE(tasks.due_date, '9999')",
            SortField::FollowUp => "COALESCE(tasks.follow_up_date, '9999')",
            SortField::Created => "tasks.create_time",
            SortField::Priority => "tasks.priority",
            SortField::Name => "tasks.name",
            SortField::BusinessKey => "COALESCE(tasks.business_key, '')",
            SortField::Assignee => "COALESCE(tasks.assignee, '')",
            SortField::Application => "tasks.application_name",
            SortField::Process => "tasks.process_name",
        }
    }
}

/// Parses `+due,-priority` (no sign: ascending). Empty: by due date.
pub fn parse_sort(input: &str) -> Result<Vec<SortKey>, QueryError> {
    let mut keys = Vec::new();
    for part in input.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (descending, name) = match part.as_bytes()[0] {
            b'-' => (true, &part[1..]),
            b'+' => (false, &part[1..]),
            _ => (false, part),
        };
        let field = FIELDS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, f)| *f)
            .ok_or_else(|| QueryError::BadSort {
                message: format!(
                    "unknown sort key `{name}`, expected one of {}",
                    FIELDS
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })?;
        if keys.iter().any(|k: &SortKey| k.field == field) {
            return Err(QueryError::BadSort {
                message: format!("sort key `{name}` given twice"),
            });
        }
        keys.push(SortKey { field, descending });
    }
    if keys.is_empty() {
        keys.push(SortKey {
            field: SortField::Due,
            descending: false,
        });
    }
    Ok(keys)
}

/// Encodes a cursor (the sort values of the last row and its id) as hex of JSON.
pub fn encode_cursor(values: &[serde_json::Value]) -> String {
    serde_json::to_string(values)
        .unwrap_or_default()
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Decodes a cursor made by [`encode_cursor`] for `keys`.
pub fn decode_cursor(cursor: &str, keys: &[SortKey]) -> Result<Vec<serde_json::Value>, QueryError> {
    let bad = || QueryError::BadCursor;
    if cursor.len() % 2 != 0 || cursor.len() > 8192 {
        return Err(bad());
    }
    let bytes: Vec<u8> = (0..cursor.len())
        .step_by(2)
        .map(|i| {
            cursor
                .get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect::<Option<_>>()
        .ok_or_else(bad)?;
    let values: Vec<serde_json::Value> = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if values.len() != keys.len() + 1 || !values.iter().all(|v| v.is_string() || v.is_number()) {
        return Err(bad());
    }
    Ok(values)
}
