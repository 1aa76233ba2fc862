//! Enricher, correlator and assigner: what the collector adds to task commands from the
//! process instance's variables.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use taskpool_core::model::{Correlation, Payload, Task};

/// Which variables go into a task's payload: none listed means all; `include` keeps only
/// those; `exclude` drops those.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VariableFilter {
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}

impl VariableFilter {
    pub fn admits(&self, name: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|i| i == name))
            && !self.exclude.iter().any(|e| e == name)
    }
}

/// Maps a variable to a data entry correlation: the variable's value is the entry id.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct CorrelationRule {
    pub variable: String,
    pub entry_type: String,
}

/// Takes assignee and candidates from named process variables.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct AssignerConfig {
    pub assignee: Option<String>,
    pub candidate_users: Option<String>,
    pub candidate_groups: Option<String>,
}

/// The enricher's configuration.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct EnricherConfig {
    pub enabled: bool,
    /// Filters by process definition key.
    pub process_filters: BTreeMap<String, VariableFilter>,
    /// Filters by task definition key (these win over the process's).
    pub task_filters: BTreeMap<String, VariableFilter>,
    pub correlations: Vec<CorrelationRule>,
    pub assigner: Option<AssignerConfig>,
}

impl EnricherConfig {
    fn filter_for(&self, process_key: &str, task_key: &str) -> Option<&VariableFilter> {
        self.task_filters
            .get(task_key)
            .or_else(|| self.process_filters.get(process_key))
    }

    /// The payload of a task from its instance's variables.
    pub fn payload(&self, process_key: &str, task_key: &str, variables: &Payload) -> Payload {
        let filter = self.filter_for(process_key, task_key);
        variables
            .iter()
            .filter(|(name, _)| filter.is_none_or(|f| f.admits(name)))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The correlations the configured variables point to.
    pub fn correlations(&self, variables: &Payload) -> BTreeSet<Correlation> {
        self.correlations
            .iter()
            .filter_map(|rule| {
                let id = match variables.get(&rule.variable)? {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Number(n) => n.to_string(),
                    _ => return None,
                };
                Some(Correlation::new(rule.entry_type.clone(), id))
            })
            .collect()
    }

    /// Enriches a task about to be created: payload, correlations and (when an assigner
    /// is configured) assignee and candidates.
    pub fn enrich_task(&self, task: &mut Task, variables: &Payload) {
        if !self.enabled {
            return;
        }
        let payload = self.payload(
            &task.source_reference.definition_key,
            &task.task_definition_key,
            variables,
        );
        task.payload.extend(payload);
        task.correlations.extend(self.correlations(variables));
        task.enriched = true;
        if let Some(a) = &self.assigner {
            if let Some(name) = &a.assignee {
                if let Some(serde_json::Value::String(user)) = variables.get(name) {
                    task.assignee = Some(user.clone());
                }
            }
            if let Some(name) = &a.candidate_users {
                task.candidate_users.extend(strings(variables.get(name)));
            }
            if let Some(name) = &a.candidate_groups {
                task.candidate_groups.extend(strings(variables.get(name)));
            }
        }
    }
}

/// A string, or an array of strings, or a comma-separated string, as a list.
fn strings(value: Option<&serde_json::Value>) -> Vec<String> {
    match value {
        Some(serde_json::Value::String(s)) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use taskpool_core::testing::fixtures;

    use super::*;

    fn vars() -> Payload {
        let v = json!({"amount": 10, "requestId": "R-7", "secret": "x", "approver": "carol", "groups": ["a", "b"]});
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn filters_none_means_all_include_and_exclude() {
        let mut c = EnricherConfig {
            enabled: true,
            ..Default::default()
        };
        assert_eq!(c.payload("approve-request", "approve", &vars()).len(), 5);
        c.process_filters.insert(
            "approve-request".into(),
            VariableFilter {
                include: vec![],
                exclude: vec!["secret".into()],
            },
        );
        assert!(!c
            .payload("approve-request", "approve", &vars())
            .contains_key("secret"));
        c.task_filters.insert(
            "approve".into(),
            VariableFilter {
                include: vec!["amount".into()],
                exclude: vec![],
            },
        );
        let p = c.payload("approve-request", "approve", &vars());
        assert_eq!(
            p.keys().collect::<Vec<_>>(),
            vec!["amount"],
            "the task filter wins"
        );
    }

    #[test]
    fn enrich_sets_payload_correlations_assignee_and_flag() {
        let c = EnricherConfig {
            enabled: true,
            correlations: vec![CorrelationRule {
                variable: "requestId".into(),
                entry_type: "request".into(),
            }],
            assigner: Some(AssignerConfig {
                assignee: Some("approver".into()),
                candidate_users: None,
                candidate_groups: Some("groups".into()),
            }),
            ..Default::default()
        };
        let mut task = fixtures::task("t1", "app");
        c.enrich_task(&mut task, &vars());
        assert!(task.enriched);
        assert_eq!(task.payload.get("amount"), Some(&json!(10)));
        assert!(task
            .correlations
            .contains(&Correlation::new("request", "R-7")));
        assert_eq!(task.assignee.as_deref(), Some("carol"));
        assert_eq!(task.candidate_groups.len(), 2);
    }
}
