package dev.taskpool.operaton;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.operaton.bpm.engine.delegate.DelegateTask;
import org.operaton.bpm.engine.delegate.TaskListener;

/** A user task's life in the engine, as the pool's engine events. */
class TaskEvents implements TaskListener {

  private final Collector collector;

  TaskEvents(Collector collector) {
    this.collector = collector;
  }

  @Override
  public void notify(DelegateTask task) {
    if (!collector.wants(TaskpoolPlugin.EventKind.TASKS)) {
      return;
    }
    switch (task.getEventName()) {
      case EVENTNAME_CREATE -> {
        ObjectNode e = Json.event("taskCreated");
        e.set("task", Json.task(task, collector.application, collector.serializePayload));
        collector.addTaskCreated(task.getId(), e);
      }
      case EVENTNAME_ASSIGNMENT -> {
        if (collector.createdHere(task.getId())) {
          // The creation carries the assignee already.
          collector.refreshCreated(task.getId(), Json.task(task, collector.application, collector.serializePayload));
          return;
        }
        ObjectNode e = Json.event("taskAssigned");
        e.put("taskId", task.getId());
        e.put("assignee", task.getAssignee());
        collector.add(e);
      }
      case EVENTNAME_UPDATE -> {
        if (collector.createdHere(task.getId())) {
          collector.refreshCreated(task.getId(), Json.task(task, collector.application, collector.serializePayload));
          return;
        }
        ObjectNode e = Json.event("taskAttributesUpdated");
        e.set("update", Json.attributes(task));
        collector.add(e);
      }
      case EVENTNAME_COMPLETE -> {
        ObjectNode e = Json.event("taskCompleted");
        e.put("taskId", task.getId());
        collector.add(e);
      }
      case EVENTNAME_DELETE -> {
        ObjectNode e = Json.event("taskDeleted");
        e.put("taskId", task.getId());
        e.put("reason", task.getDeleteReason());
        collector.add(e);
      }
      default -> {}
    }
  }
}
