//! The collector: turns the engine events of one transaction into task pool commands,
//! enriched from the instance's variables, and sorts them into the order they are sent:
//! process definitions, process instances, variables, data entries, tasks.

use taskpool_core::command::{
    Answer, CandidateGroups, CandidateUsers, ChangeProcessVariables, CompleteTask,
    DataEntryCommand, DeleteTask, InteractionAnswer, ProcessDefinitionCommand,
    ProcessInstanceCommand, ProcessInstanceTransition, StartAnswer, StartProcessInstance,
    TaskCommand, UpdateTaskAttributes, VariableChange,
};
use taskpool_core::model::Payload;
use taskpool_core::Command;

use crate::engine_event::EngineEvent;
use crate::enricher::EnricherConfig;

/// The commands of one engine transaction, by category.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct CollectedCommands {
    pub process_definitions: Vec<ProcessDefinitionCommand>,
    pub process_instances: Vec<ProcessInstanceCommand>,
    pub process_variables: Vec<ProcessInstanceCommand>,
    pub data_entries: Vec<DataEntryCommand>,
    pub tasks: Vec<TaskCommand>,
    /// Answers to users' requests (task actions, starts), after the task commands they
    /// answer for (never accumulated: each is its own fact).
    pub answers: Vec<Command>,
    /// Instance ends go last, after the tasks they delete.
    pub process_instance_ends: Vec<ProcessInstanceCommand>,
}

/// Converts engine events to commands. `variables` looks up an instance's variables
/// (as they are at the end of the transaction) for the enricher.
pub fn collect(
    events: &[EngineEvent],
    enricher: &EnricherConfig,
    variables: &mut dyn FnMut(&str) -> Payload,
) -> CollectedCommands {
    let mut out = CollectedCommands::default();
    for event in events {
        match event.clone() {
            EngineEvent::TaskCreated { task } => {
                let mut task = *task;
                let vars = variables(&task.source_reference.instance_id);
                enricher.enrich_task(&mut task, &vars);
                out.tasks.push(TaskCommand::CreateTask(task));
            }
            EngineEvent::TaskAssigned { task_id, assignee } => out.tasks.push(
                TaskCommand::AssignTask(taskpool_core::command::AssignTask {
                    id: task_id,
                    assignee,
                }),
            ),
            EngineEvent::CandidateUsersAdded { task_id, users } => {
                out.tasks
                    .push(TaskCommand::AddCandidateUsers(CandidateUsers {
                        id: task_id,
                        users,
                    }))
            }
            EngineEvent::CandidateUsersRemoved { task_id, users } => {
                out.tasks
                    .push(TaskCommand::DeleteCandidateUsers(CandidateUsers {
                        id: task_id,
                        users,
                    }))
            }
            EngineEvent::CandidateGroupsAdded { task_id, groups } => {
                out.tasks
                    .push(TaskCommand::AddCandidateGroups(CandidateGroups {
                        id: task_id,
                        groups,
                    }))
            }
            EngineEvent::CandidateGroupsRemoved { task_id, groups } => {
                out.tasks
                    .push(TaskCommand::DeleteCandidateGroups(CandidateGroups {
                        id: task_id,
                        groups,
                    }))
            }
            EngineEvent::TaskAttributesUpdated { update } => {
                out.tasks
                    .push(TaskCommand::UpdateTaskAttributes(UpdateTaskAttributes {
                        ..update
                    }))
            }
            EngineEvent::TaskCompleted { task_id } => {
                out.tasks.push(TaskCommand::CompleteTask(CompleteTask {
                    id: task_id,
                    assignee: None,
                }))
            }
            EngineEvent::TaskDeleted { task_id, reason } => {
                out.tasks.push(TaskCommand::DeleteTask(DeleteTask {
                    id: task_id,
                    delete_reason: reason,
                }))
            }
            EngineEvent::VariableCreated {
                instance_id,
                name,
                value,
            } => push_variable(
                &mut out,
                instance_id,
                VariableChange::Create { name, value },
            ),
            EngineEvent::VariableUpdated {
                instance_id,
                name,
                value,
            } => push_variable(
                &mut out,
                instance_id,
                VariableChange::Update { name, value },
            ),
            EngineEvent::VariableDeleted { instance_id, name } => {
                push_variable(&mut out, instance_id, VariableChange::Delete { name })
            }
            EngineEvent::ProcessStarted {
                instance_id,
                definition_id,
                definition_key,
                application_name,
                business_key,
                started_by,
            } => out
                .process_instances
                .push(ProcessInstanceCommand::StartProcessInstance(
                    StartProcessInstance {
                        instance_id,
                        definition_id,
                        definition_key,
                        application_name,
                        name: None,
                        business_key,
                        started_by,
                    },
                )),
            EngineEvent::ProcessEnded {
                instance_id,
                cancelled,
                reason,
            } => {
                let t = ProcessInstanceTransition {
                    instance_id,
                    reason,
                };
                out.process_instance_ends.push(if cancelled {
                    ProcessInstanceCommand::CancelProcessInstance(t)
                } else {
                    ProcessInstanceCommand::FinishProcessInstance(t)
                });
            }
            EngineEvent::ProcessDefinitionDeployed { definition } => {
                out.process_definitions
                    .push(ProcessDefinitionCommand::RegisterProcessDefinition(
                        definition,
                    ))
            }
            EngineEvent::RequestPerformed {
                task_id,
                request_id,
            } => out.answers.push(
                TaskCommand::AnswerInteraction(InteractionAnswer {
                    id: task_id,
                    request_id,
                    answer: Answer::Performed,
                    reason: None,
                })
                .into(),
            ),
            EngineEvent::RequestRejected {
                task_id,
                request_id,
                reason,
            } => out.answers.push(
                TaskCommand::AnswerInteraction(InteractionAnswer {
                    id: task_id,
                    request_id,
                    answer: Answer::Rejected,
                    reason: Some(reason),
                })
                .into(),
            ),
            EngineEvent::StartPerformed {
                definition_id,
                request_id,
                instance_id,
            } => out.answers.push(
                ProcessDefinitionCommand::AnswerStart(StartAnswer {
                    definition_id,
                    request_id,
                    answer: Answer::Performed,
                    instance_id: Some(instance_id),
                    reason: None,
                })
                .into(),
            ),
            EngineEvent::StartRejected {
                definition_id,
                request_id,
                reason,
            } => out.answers.push(
                ProcessDefinitionCommand::AnswerStart(StartAnswer {
                    definition_id,
                    request_id,
                    answer: Answer::Rejected,
                    instance_id: None,
                    reason: Some(reason),
                })
                .into(),
            ),
        }
    }
    out
}

/// Variable changes of one instance in one transaction travel as one command.
fn push_variable(out: &mut CollectedCommands, instance_id: String, change: VariableChange) {
    let existing = out.process_variables.iter_mut().find_map(|c| match c {
        ProcessInstanceCommand::ChangeProcessVariables(c) if c.instance_id == instance_id => {
            Some(c)
        }
        _ => None,
    });
    match existing {
        Some(c) => c.changes.push(change),
        None => out
            .process_variables
            .push(ProcessInstanceCommand::ChangeProcessVariables(
                ChangeProcessVariables {
                    instance_id,
                    changes: vec![change],
                },
            )),
    }
}
