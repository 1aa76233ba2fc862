package dev.taskpool.operaton;

import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.operaton.bpm.engine.impl.history.event.HistoricIdentityLinkLogEventEntity;
import org.operaton.bpm.engine.impl.history.event.HistoricProcessInstanceEventEntity;
import org.operaton.bpm.engine.impl.history.event.HistoricVariableUpdateEventEntity;
import org.operaton.bpm.engine.impl.history.event.HistoryEvent;
import org.operaton.bpm.engine.impl.history.event.HistoryEventTypes;
import org.operaton.bpm.engine.impl.history.handler.HistoryEventHandler;
import org.operaton.bpm.engine.task.IdentityLinkType;

/**
 * Process starts and ends, variables, and candidate changes of existing tasks, from the
 * engine's history events (history level {@code audit} or higher; candidate changes need
 * {@code full}).
 */
class HistoryListener implements HistoryEventHandler {

  private final Collector collector;

  HistoryListener(Collector collector) {
    this.collector = collector;
  }

  @Override
  public void handleEvents(List<HistoryEvent> events) {
    events.forEach(this::handleEvent);
  }

  @Override
  public void handleEvent(HistoryEvent event) {
    if (event instanceof HistoricProcessInstanceEventEntity p) {
      process(p);
    } else if (event instanceof HistoricVariableUpdateEventEntity v) {
      variable(v);
    } else if (event instanceof HistoricIdentityLinkLogEventEntity l) {
      candidates(l);
    }
  }

  private void process(HistoricProcessInstanceEventEntity p) {
    if (!collector.wants(TaskpoolPlugin.EventKind.PROCESSES)) {
      return;
    }
    if (p.isEventOfType(HistoryEventTypes.PROCESS_INSTANCE_START)) {
      ObjectNode e = Json.event("processStarted");
      e.put("instanceId", p.getProcessInstanceId());
      e.put("definitionId", p.getProcessDefinitionId());
      e.put("definitionKey", p.getProcessDefinitionKey());
      e.put("applicationName", collector.application);
      e.put("businessKey", p.getBusinessKey());
      e.put("startedBy", p.getStartUserId());
      collector.add(e);
    } else if (p.isEventOfType(HistoryEventTypes.PROCESS_INSTANCE_END)) {
      ObjectNode e = Json.event("processEnded");
      e.put("instanceId", p.getProcessInstanceId());
      boolean cancelled = p.getDeleteReason() != null;
      e.put("cancelled", cancelled);
      e.put("reason", p.getDeleteReason());
      collector.add(e);
    }
  }

  private void variable(HistoricVariableUpdateEventEntity v) {
    if (!collector.wants(TaskpoolPlugin.EventKind.VARIABLES) || v.getProcessInstanceId() == null) {
      return;
    }
    // Only the process's own variables (a task's local ones stay with the task).
    if (v.getTaskId() != null) {
      return;
    }
    if (v.isEventOfType(HistoryEventTypes.VARIABLE_INSTANCE_DELETE)) {
      ObjectNode e = Json.event("variableDeleted");
      e.put("instanceId", v.getProcessInstanceId());
      e.put("name", v.getVariableName());
      collector.add(e);
      return;
    }
    String type;
    if (v.isEventOfType(HistoryEventTypes.VARIABLE_INSTANCE_CREATE)) {
      type = "variableCreated";
    } else if (v.isEventOfType(HistoryEventTypes.VARIABLE_INSTANCE_UPDATE)) {
      type = "variableUpdated";
    } else {
      return;
    }
    JsonNode value = Json.value(TypedValues.of(v));
    if (value == null) {
      return;
    }
    ObjectNode e = Json.event(type);
    e.put("instanceId", v.getProcessInstanceId());
    e.put("name", v.getVariableName());
    e.set("value", value);
    collector.add(e);
  }

  private void candidates(HistoricIdentityLinkLogEventEntity l) {
    if (!collector.wants(TaskpoolPlugin.EventKind.TASKS)
        || l.getTaskId() == null
        || !IdentityLinkType.CANDIDATE.equals(l.getType())
        // A task created in this transaction carries its candidates in its creation.
        || collector.createdHere(l.getTaskId())) {
      return;
    }
    boolean added = "add".equalsIgnoreCase(l.getOperationType());
    boolean user = l.getUserId() != null;
    String type =
        (user ? "candidateUsers" : "candidateGroups") + (added ? "Added" : "Removed");
    ObjectNode e = Json.event(type);
    e.put("taskId", l.getTaskId());
    e.putArray(user ? "users" : "groups").add(user ? l.getUserId() : l.getGroupId());
    collector.add(e);
  }
}
