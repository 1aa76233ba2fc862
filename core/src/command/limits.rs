//! Limits on what a command may carry, checked by the gateway before it decides anything,
//! whoever sends it (HTTP, engine transactions, a user's completion values, messages from
//! other nodes): ids and names, candidate lists, and payloads (depth, key and string
//! length, array length, and how many values the payload index would hold). A refused
//! command stores nothing.

use serde_json::{Map, Value};

use super::{
    Command, DataEntryCommand, ProcessDefinitionCommand, ProcessInstanceCommand, TaskCommand,
    VariableChange,
};
use crate::view::projection::MAX_INDEX_ROWS;

/// How many forms one process definition may carry.
pub const MAX_FORMS: usize = 100;

/// The limits (the defaults are generous for real engines, tight for abuse).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentLimits {
    /// Ids, user and group names, keys of definitions and forms.
    pub max_id_len: usize,
    /// Names, descriptions, business keys.
    pub max_text_len: usize,
    /// Candidate users, candidate groups, correlations, authorization changes.
    pub max_list_len: usize,
    /// How deep a payload nests.
    pub max_depth: usize,
    /// The longest key in a payload.
    pub max_key_len: usize,
    /// The longest array in a payload.
    pub max_array_len: usize,
    /// The longest string in a payload.
    pub max_string_len: usize,
    /// How many values one payload may hold (its index rows).
    pub max_values: usize,
}

impl Default for ContentLimits {
    fn default() -> Self {
        Self {
            max_id_len: 256,
            max_text_len: 10_000,
            max_list_len: 1_000,
            max_depth: 32,
            max_key_len: 256,
            max_array_len: 10_000,
            max_string_len: 1_000_000,
            max_values: MAX_INDEX_ROWS,
        }
    }
}

/// A command over a limit: which field, and which limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct LimitExceeded {
    /// The path within the command (`payload.items[3]`, `candidateUsers`).
    pub field: String,
    pub message: String,
}

fn over(field: impl Into<String>, what: &str, len: usize, limit: usize) -> LimitExceeded {
    LimitExceeded {
        field: field.into(),
        message: format!("{what} of {len} is more than the limit of {limit}"),
    }
}

impl ContentLimits {
    fn id(&self, field: &str, value: &str) -> Result<(), LimitExceeded> {
        match value.len() > self.max_id_len {
            true => Err(over(field, "a length", value.len(), self.max_id_len)),
            false => Ok(()),
        }
    }

    fn text(&self, field: &str, value: Option<&str>) -> Result<(), LimitExceeded> {
        match value.map(str::len).filter(|l| *l > self.max_text_len) {
            Some(len) => Err(over(field, "a length", len, self.max_text_len)),
            None => Ok(()),
        }
    }

    fn names<'a>(
        &self,
        field: &str,
        names: impl ExactSizeIterator<Item = &'a String>,
    ) -> Result<(), LimitExceeded> {
        if names.len() > self.max_list_len {
            return Err(over(field, "a list", names.len(), self.max_list_len));
        }
        for n in names {
            self.id(field, n)?;
        }
        Ok(())
    }

    fn list(&self, field: &str, len: usize) -> Result<(), LimitExceeded> {
        match len > self.max_list_len {
            true => Err(over(field, "a list", len, self.max_list_len)),
            false => Ok(()),
        }
    }

    /// A payload (or any JSON value a command carries).
    pub fn payload(&self, field: &str, payload: &Map<String, Value>) -> Result<(), LimitExceeded> {
        let mut values = 0;
        self.object(field, payload, 1, &mut values)
    }

    fn object(
        &self,
        path: &str,
        map: &Map<String, Value>,
        depth: usize,
        values: &mut usize,
    ) -> Result<(), LimitExceeded> {
        if depth > self.max_depth {
            return Err(over(path, "a depth", depth, self.max_depth));
        }
        for (k, v) in map {
            if k.len() > self.max_key_len {
                return Err(over(
                    format!("{path}.{}…", k.chars().take(16).collect::<String>()),
                    "a key length",
                    k.len(),
                    self.max_key_len,
                ));
            }
            self.value(&format!("{path}.{k}"), v, depth, values)?;
        }
        Ok(())
    }

    fn value(
        &self,
        path: &str,
        value: &Value,
        depth: usize,
        values: &mut usize,
    ) -> Result<(), LimitExceeded> {
        match value {
            Value::Object(map) => self.object(path, map, depth + 1, values),
            Value::Array(items) => {
                if items.len() > self.max_array_len {
                    return Err(over(path, "an array", items.len(), self.max_array_len));
                }
                if depth + 1 > self.max_depth {
                    return Err(over(path, "a depth", depth + 1, self.max_depth));
                }
                for (i, item) in items.iter().enumerate() {
                    self.value(&format!("{path}[{i}]"), item, depth + 1, values)?;
                }
                Ok(())
            }
            Value::Null => Ok(()),
            Value::String(s) if s.len() > self.max_string_len => {
                Err(over(path, "a string length", s.len(), self.max_string_len))
            }
            _ => {
                *values += 1;
                match *values > self.max_values {
                    true => Err(over(path, "a count of values", *values, self.max_values)),
                    false => Ok(()),
                }
            }
        }
    }

    /// Checks one command.
    pub fn check(&self, command: &Command) -> Result<(), LimitExceeded> {
        match command {
            Command::Task(c) => self.task_command(c),
            Command::DataEntry(c) => self.data_entry_command(c),
            Command::ProcessInstance(ProcessInstanceCommand::ChangeProcessVariables(c)) => {
                self.id("instanceId", &c.instance_id)?;
                self.list("changes", c.changes.len())?;
                for (i, change) in c.changes.iter().enumerate() {
                    self.id(&format!("changes[{i}].name"), change.name())?;
                    if let VariableChange::Create { value, .. }
                    | VariableChange::Update { value, .. } = change
                    {
                        let mut values = 0;
                        self.value(&format!("changes[{i}].value"), value, 1, &mut values)?;
                    }
                }
                Ok(())
            }
            Command::ProcessInstance(c) => self.id("instanceId", c.instance_id()),
            Command::ProcessDefinition(ProcessDefinitionCommand::RegisterProcessDefinition(d)) => {
                self.id("id", &d.id)?;
                self.id("key", &d.key)?;
                self.id("applicationName", &d.application_name)?;
                self.text("name", Some(&d.name))?;
                self.text("description", d.description.as_deref())?;
                self.id("startFormKey", d.start_form_key.as_deref().unwrap_or(""))?;
                self.names("candidateStarterUsers", d.candidate_starter_users.iter())?;
                self.names("candidateStarterGroups", d.candidate_starter_groups.iter())?;
                if d.forms.len() > MAX_FORMS {
                    return Err(over(
                        "forms",
                        "a definition's forms",
                        d.forms.len(),
                        MAX_FORMS,
                    ));
                }
                for (key, form) in &d.forms {
                    self.id(&format!("forms.{key}"), key)?;
                    self.payload(&format!("forms.{key}"), form)?;
                }
                if let Some(xml) = &d.diagram {
                    if xml.len() > self.max_string_len {
                        return Err(over("diagram", "a diagram", xml.len(), self.max_string_len));
                    }
                }
                Ok(())
            }
            Command::ProcessDefinition(ProcessDefinitionCommand::StartProcessInteraction(s)) => {
                self.id("definitionId", &s.definition_id)?;
                self.id("user", &s.user)?;
                self.text("businessKey", s.business_key.as_deref())?;
                self.payload("values", &s.values)
            }
            Command::ProcessDefinition(ProcessDefinitionCommand::AnswerStart(a)) => {
                self.id("definitionId", &a.definition_id)?;
                self.id("instanceId", a.instance_id.as_deref().unwrap_or(""))?;
                self.text("reason", a.reason.as_deref())
            }
        }
    }

    fn task_command(&self, c: &TaskCommand) -> Result<(), LimitExceeded> {
        self.id("id", c.task_id())?;
        match c {
            TaskCommand::CreateTask(t) => {
                self.text("name", Some(&t.name))?;
                self.text("description", t.description.as_deref())?;
                self.text("businessKey", t.business_key.as_deref())?;
                self.id("formKey", t.form_key.as_deref().unwrap_or(""))?;
                self.id("assignee", t.assignee.as_deref().unwrap_or(""))?;
                self.id("owner", t.owner.as_deref().unwrap_or(""))?;
                self.names("candidateUsers", t.candidate_users.iter())?;
                self.names("candidateGroups", t.candidate_groups.iter())?;
                self.list("correlations", t.correlations.len())?;
                self.payload("payload", &t.payload)
            }
            TaskCommand::UpdateTaskAttributes(u) => {
                self.text("name", u.name.as_deref())?;
                if let Some(p) = &u.payload {
                    self.payload("payload", p)?;
                }
                if let Some(c) = &u.correlations {
                    self.list("correlations", c.len())?;
                }
                Ok(())
            }
            TaskCommand::AssignTask(a) => self.id("assignee", a.assignee.as_deref().unwrap_or("")),
            TaskCommand::AddCandidateUsers(c) | TaskCommand::DeleteCandidateUsers(c) => {
                self.names("users", c.users.iter())
            }
            TaskCommand::AddCandidateGroups(c) | TaskCommand::DeleteCandidateGroups(c) => {
                self.names("groups", c.groups.iter())
            }
            TaskCommand::CompleteInteraction(c) => {
                self.id("user", &c.user)?;
                self.payload("payload", &c.payload)
            }
            TaskCommand::AnswerInteraction(a) => self.text("reason", a.reason.as_deref()),
            TaskCommand::AssignInteraction(a) => self.id("assignee", &a.assignee),
            _ => Ok(()),
        }
    }

    fn data_entry_command(&self, c: &DataEntryCommand) -> Result<(), LimitExceeded> {
        self.id("entryType", c.entry_type())?;
        self.id("entryId", c.entry_id())?;
        match c {
            DataEntryCommand::CreateOrUpdateDataEntry(d) => {
                self.text("name", Some(&d.name))?;
                self.text("description", d.description.as_deref())?;
                self.list("correlations", d.correlations.len())?;
                self.list("authorizationChanges", d.authorization_changes.len())?;
                self.payload("payload", &d.payload)
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::testing::fixtures;

    fn create(payload: Value) -> Command {
        let mut t = fixtures::task("t1", "app");
        t.payload = payload.as_object().cloned().unwrap_or_default();
        TaskCommand::CreateTask(t).into()
    }

    #[test]
    fn each_limit_names_its_field() {
        let limits = ContentLimits::default();
        let refused = |c: Command| limits.check(&c).err().map(|e| e.field);
        assert_eq!(refused(create(json!({"a": {"b": [1, 2, 3]}}))), None);
        let long_key = "k".repeat(300);
        assert_eq!(
            refused(create(json!({"items": [{ long_key.clone(): 1 }]}))),
            Some("payload.items[0].kkkkkkkkkkkkkkkk…".into())
        );
        let deep = (0..40).fold(json!(1), |v, _| json!({ "d": v }));
        assert!(
            refused(create(json!({ "x": deep }))).is_some_and(|f| f.starts_with("payload.x.d.d"))
        );
        assert_eq!(
            refused(create(json!({"many": vec![0; 10_001]}))),
            Some("payload.many".into())
        );
        let wide: Map<String, Value> = (0..10_001).map(|i| (format!("k{i}"), json!(i))).collect();
        assert!(refused(create(Value::Object(wide))).is_some());
        let mut t = fixtures::task(&"x".repeat(300), "app");
        assert_eq!(
            refused(TaskCommand::CreateTask(t.clone()).into()),
            Some("id".into())
        );
        t.id = "t1".into();
        t.candidate_users = (0..1_001).map(|i| format!("u{i}")).collect();
        assert_eq!(
            refused(TaskCommand::CreateTask(t).into()),
            Some("candidateUsers".into())
        );
    }

    /// The amplification that took a node down: a 200,000-character key over 5,000
    /// array items (about 0.2 MB of JSON).
    #[test]
    fn the_amplification_payload_is_refused() {
        let key = "k".repeat(200_000);
        let items: Vec<u32> = (0..5_000).collect();
        let err = ContentLimits::default()
            .check(&create(json!({ key: items })))
            .expect_err("refused");
        assert!(err.message.contains("key length of 200000"), "{err}");
    }
}
