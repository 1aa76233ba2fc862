package dev.taskpool.operaton;

import java.io.IOException;
import java.util.List;
import java.util.UUID;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.operaton.bpm.engine.ProcessEngine;
import org.operaton.bpm.engine.delegate.DelegateTask;
import org.operaton.bpm.engine.impl.cfg.ProcessEngineConfigurationImpl;
import org.operaton.bpm.engine.task.Task;

/**
 * Tells the pool every open task of the engine as it stands (pages of 500): the pool
 * creates what it lacks, updates what differs and, once the last page arrived, deletes
 * the application's tasks the engine no longer has. Run at start, after the outbox was
 * sent, so that nothing older than this picture reaches the pool after it.
 */
class Resync {

  static final int PAGE = 500;

  private final ProcessEngine engine;
  private final PoolClient client;
  private final String application;
  private final boolean serializePayload;

  Resync(ProcessEngine engine, PoolClient client, String application, boolean serializePayload) {
    this.engine = engine;
    this.client = client;
    this.application = application;
    this.serializePayload = serializePayload;
  }

  /** Sends every page; returns how many tasks. Throws when a page cannot be sent. */
  int run() throws IOException, InterruptedException {
    String id = UUID.randomUUID().toString();
    int sent = 0;
    for (int page = 0; ; page++) {
      int first = page * PAGE;
      ArrayNode tasks = page(first);
      boolean last = tasks.size() < PAGE;
      ObjectNode body = Json.MAPPER.createObjectNode();
      body.put("page", page);
      body.put("last", last);
      body.set("tasks", tasks);
      PoolClient.Answer answer = client.resyncPage(id, Json.MAPPER.writeValueAsString(body));
      if (!answer.accepted()) {
        throw new IOException("the pool answered page " + page + " with " + answer.status() + ": " + answer.body());
      }
      sent += tasks.size();
      if (last) {
        return sent;
      }
    }
  }

  /** One page of open tasks, read in one engine command (the entities carry all). */
  private ArrayNode page(int first) {
    ProcessEngineConfigurationImpl config =
        (ProcessEngineConfigurationImpl) engine.getProcessEngineConfiguration();
    return config
        .getCommandExecutorTxRequired()
        .execute(
            c -> {
              List<Task> open =
                  engine.getTaskService().createTaskQuery().orderByTaskId().asc().listPage(first, PAGE);
              ArrayNode tasks = Json.MAPPER.createArrayNode();
              for (Task t : open) {
                if (t instanceof DelegateTask task && task.getProcessInstanceId() != null) {
                  tasks.add(Json.task(task, application, serializePayload));
                }
              }
              return tasks;
            });
  }
}
