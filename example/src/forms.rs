//! The example application's forms (Camunda Forms JSON, as the Camunda Modeler writes
//! them: `example/forms/*.form`), registered with its process definitions: a start form
//! per process and a form per user task, by form key (`{process}-start`,
//! `{process}-{task}`).

use std::collections::BTreeMap;

use taskpool_core::model::Form;

/// (form key, the form's JSON).
const FORMS: &[(&str, &str)] = &[
    (
        "approve-request-start",
        include_str!("../forms/approve-request-start.form"),
    ),
    (
        "approve-request-approve",
        include_str!("../forms/approve-request-approve.form"),
    ),
    (
        "approve-request-amend",
        include_str!("../forms/approve-request-amend.form"),
    ),
    (
        "handle-incident-start",
        include_str!("../forms/handle-incident-start.form"),
    ),
    (
        "handle-incident-triage",
        include_str!("../forms/handle-incident-triage.form"),
    ),
    (
        "handle-incident-resolve",
        include_str!("../forms/handle-incident-resolve.form"),
    ),
];

/// The process models (BPMN 2.0 XML with their diagrams: `example/processes/*.bpmn`).
const DIAGRAMS: &[(&str, &str)] = &[
    (
        "approve-request",
        include_str!("../processes/approve-request.bpmn"),
    ),
    (
        "handle-incident",
        include_str!("../processes/handle-incident.bpmn"),
    ),
];

/// The diagram of process `key`.
pub fn diagram_of(key: &str) -> Option<String> {
    DIAGRAMS
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, xml)| xml.to_string())
}

/// The forms of process `key`, by form key.
pub fn of(key: &str) -> BTreeMap<String, Form> {
    FORMS
        .iter()
        .filter(|(form_key, _)| {
            form_key
                .strip_prefix(key)
                .is_some_and(|rest| rest.starts_with('-'))
        })
        .filter_map(|(form_key, json)| match serde_json::from_str::<Form>(json) {
            Ok(form) => Some((form_key.to_string(), form)),
            Err(e) => {
                tracing::error!(target: "taskpool::example", form = form_key, error = %e, "an example form does not parse");
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_parses_and_each_process_has_a_start_form_and_one_per_user_task() {
        let approve = of("approve-request");
        let incident = of("handle-incident");
        assert_eq!(
            approve.keys().collect::<Vec<_>>(),
            [
                "approve-request-amend",
                "approve-request-approve",
                "approve-request-start"
            ]
        );
        assert_eq!(
            incident.keys().collect::<Vec<_>>(),
            [
                "handle-incident-resolve",
                "handle-incident-start",
                "handle-incident-triage"
            ]
        );
        for form in approve.values().chain(incident.values()) {
            assert!(form["components"].as_array().is_some_and(|c| !c.is_empty()));
        }
        // Each process's model has a user task for each task the engine makes.
        for (key, tasks) in [
            ("approve-request", ["approve", "amend"]),
            ("handle-incident", ["triage", "resolve"]),
        ] {
            let xml = diagram_of(key).expect("a diagram");
            assert!(
                xml.contains(&format!("<bpmn:process id=\"{key}\"")),
                "{key}"
            );
            for task in tasks {
                assert!(
                    xml.contains(&format!("<bpmn:userTask id=\"{task}\"")),
                    "{key}: {task}"
                );
                assert!(
                    xml.contains(&format!("bpmnElement=\"{task}\"")),
                    "{key}: {task} is drawn"
                );
            }
        }
    }
}
