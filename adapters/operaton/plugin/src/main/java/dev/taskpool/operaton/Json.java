package dev.taskpool.operaton;

import java.util.Collection;
import java.util.Date;
import java.util.Map;
import java.util.TreeSet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.operaton.bpm.engine.delegate.DelegateTask;
import org.operaton.bpm.engine.delegate.Expression;
import org.operaton.bpm.engine.impl.persistence.entity.ProcessDefinitionEntity;
import org.operaton.bpm.engine.impl.persistence.entity.TaskEntity;
import org.operaton.bpm.engine.impl.task.TaskDefinition;
import org.operaton.bpm.engine.task.IdentityLink;
import org.operaton.bpm.engine.task.IdentityLinkType;

/** The pool's engine events (its ingestion API's JSON), built from the engine's objects. */
final class Json {

  static final ObjectMapper MAPPER = new ObjectMapper();

  private Json() {}

  static ObjectNode event(String type) {
    ObjectNode e = MAPPER.createObjectNode();
    e.put("type", type);
    return e;
  }

  static String time(Date date) {
    return date == null ? null : date.toInstant().toString();
  }

  static void putTime(ObjectNode node, String field, Date date) {
    if (date == null) {
      node.putNull(field);
    } else {
      node.put(field, time(date));
    }
  }

  /** A variable's value as JSON; none for what JSON cannot carry (files, objects). */
  static JsonNode value(Object value) {
    if (value == null) {
      return MAPPER.nullNode();
    }
    if (value == TypedValues.UNSUPPORTED) {
      return null;
    }
    if (value instanceof Date d) {
      return MAPPER.getNodeFactory().textNode(time(d));
    }
    if (value instanceof String
        || value instanceof Number
        || value instanceof Boolean
        || value instanceof Map<?, ?>
        || value instanceof Collection<?>) {
      try {
        return MAPPER.valueToTree(value);
      } catch (IllegalArgumentException e) {
        return null;
      }
    }
    return null;
  }

  /** The variables JSON can carry, as the task's payload. */
  static ObjectNode payload(Map<String, Object> variables) {
    ObjectNode payload = MAPPER.createObjectNode();
    variables.forEach(
        (name, v) -> {
          JsonNode json = value(v);
          if (json != null) {
            payload.set(name, json);
          }
        });
    return payload;
  }

  static TreeSet<String> candidates(DelegateTask task, boolean users) {
    TreeSet<String> found = new TreeSet<>();
    for (IdentityLink link : task.getCandidates()) {
      if (!IdentityLinkType.CANDIDATE.equals(link.getType())) {
        continue;
      }
      String id = users ? link.getUserId() : link.getGroupId();
      if (id != null) {
        found.add(id);
      }
    }
    return found;
  }

  /** The whole task, as `taskCreated` carries it (`payload`: with its variables). */
  static ObjectNode task(DelegateTask task, String application, boolean payload) {
    ObjectNode t = MAPPER.createObjectNode();
    t.put("id", task.getId());
    ObjectNode source = t.putObject("sourceReference");
    source.put("kind", "process");
    source.put("instanceId", task.getProcessInstanceId());
    source.put("executionId", task.getExecutionId());
    source.put("definitionId", task.getProcessDefinitionId());
    String key = task.getProcessDefinitionId();
    String name = key;
    if (task instanceof TaskEntity entity && entity.getProcessDefinition() != null) {
      ProcessDefinitionEntity definition = entity.getProcessDefinition();
      key = definition.getKey();
      name = definition.getName() != null ? definition.getName() : definition.getKey();
    }
    source.put("definitionKey", key);
    source.put("name", name);
    source.put("applicationName", application);
    if (task.getTenantId() != null) {
      source.put("tenantId", task.getTenantId());
    }
    t.put("taskDefinitionKey", task.getTaskDefinitionKey());
    t.put("name", task.getName() != null ? task.getName() : task.getTaskDefinitionKey());
    if (task.getDescription() != null) {
      t.put("description", task.getDescription());
    }
    String formKey = formKey(task);
    if (formKey != null) {
      t.put("formKey", formKey);
    }
    t.put("priority", task.getPriority());
    if (task.getAssignee() != null) {
      t.put("assignee", task.getAssignee());
    }
    if (task.getOwner() != null) {
      t.put("owner", task.getOwner());
    }
    candidates(task, true).forEach(t.putArray("candidateUsers")::add);
    candidates(task, false).forEach(t.putArray("candidateGroups")::add);
    t.put("createTime", time(task.getCreateTime() != null ? task.getCreateTime() : new Date()));
    if (task.getDueDate() != null) {
      t.put("dueDate", time(task.getDueDate()));
    }
    if (task.getFollowUpDate() != null) {
      t.put("followUpDate", time(task.getFollowUpDate()));
    }
    String businessKey = task.getExecution() != null ? task.getExecution().getProcessBusinessKey() : null;
    if (businessKey != null) {
      t.put("businessKey", businessKey);
    }
    t.set("payload", payload ? payload(task.getVariables()) : MAPPER.createObjectNode());
    return t;
  }

  /** The task's form key, or the id of the Camunda form it references. */
  static String formKey(DelegateTask task) {
    if (!(task instanceof TaskEntity entity) || entity.getTaskDefinition() == null) {
      return null;
    }
    TaskDefinition definition = entity.getTaskDefinition();
    Expression key =
        definition.getFormKey() != null
            ? definition.getFormKey()
            : definition.getOperatonFormDefinitionKey();
    Object value = key == null ? null : key.getValue(task);
    return value == null ? null : value.toString();
  }

  /** The attributes an `update` may have changed, all of them (the pool keeps what changed). */
  static ObjectNode attributes(DelegateTask task) {
    ObjectNode u = MAPPER.createObjectNode();
    u.put("id", task.getId());
    u.put("name", task.getName() != null ? task.getName() : task.getTaskDefinitionKey());
    u.put("description", task.getDescription());
    u.put("priority", task.getPriority());
    putTime(u, "dueDate", task.getDueDate());
    putTime(u, "followUpDate", task.getFollowUpDate());
    u.put("owner", task.getOwner());
    return u;
  }
}
