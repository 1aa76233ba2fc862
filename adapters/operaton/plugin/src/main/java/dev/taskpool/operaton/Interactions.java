package dev.taskpool.operaton;

import java.time.Instant;
import java.util.Date;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.operaton.bpm.engine.ProcessEngine;
import org.operaton.bpm.engine.TaskService;
import org.operaton.bpm.engine.impl.cfg.ProcessEngineConfigurationImpl;
import org.operaton.bpm.engine.impl.interceptor.CommandExecutor;
import org.operaton.bpm.engine.runtime.ProcessInstance;
import org.operaton.bpm.engine.task.Task;

/**
 * Follows the application's interaction stream (resuming after the position stored in
 * the engine's database) and performs each user request on the engine. The request, its
 * answer (`requestPerformed` / `startPerformed` after the engine events it caused) and
 * the new position commit in one engine transaction; a request the engine refuses is
 * answered `requestRejected` / `startRejected` with the engine's reason, position moved
 * in that transaction. A request is thus acted on once, whatever fails when.
 */
class Interactions {

  private static final Logger LOG = Logger.getLogger(Interactions.class.getName());
  private static final TypeReference<Map<String, Object>> VALUES = new TypeReference<>() {};

  private final ProcessEngine engine;
  private final PoolClient client;
  private final String application;
  private final Collector collector;
  private final Outbox outbox;
  private final CommandExecutor commands;
  private volatile boolean running;
  private Thread thread;

  Interactions(
      ProcessEngine engine, PoolClient client, String application, Collector collector, Outbox outbox) {
    this.engine = engine;
    this.client = client;
    this.application = application;
    this.collector = collector;
    this.outbox = outbox;
    this.commands =
        ((ProcessEngineConfigurationImpl) engine.getProcessEngineConfiguration())
            .getCommandExecutorTxRequired();
  }

  void start() {
    running = true;
    thread = new Thread(this::loop, "taskpool-interactions");
    thread.setDaemon(true);
    thread.start();
  }

  void stop() {
    running = false;
    if (thread != null) {
      thread.interrupt();
    }
  }

  private void loop() {
    long backoff = 200;
    while (running) {
      try {
        client.follow(application, outbox.position(), this::handle);
        backoff = 200;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (Exception e) {
        if (!running) {
          return;
        }
        LOG.log(Level.FINE, "taskpool: the interaction stream broke; resuming", e);
      }
      try {
        Thread.sleep(backoff);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
      backoff = Math.min(backoff * 2, 10_000);
    }
  }

  private void handle(PoolClient.ServerEvent e) {
    if (!"interaction".equals(e.event())) {
      return;
    }
    JsonNode request;
    try {
      request = Json.MAPPER.readTree(e.data());
    } catch (java.io.IOException bad) {
      LOG.warning("taskpool: an unreadable interaction at " + e.id() + " skipped: " + bad);
      commands.execute(c -> {
        collector.alsoOnCommit(conn -> outbox.movePosition(conn, e.id()));
        return null;
      });
      return;
    }
    try {
      commands.execute(
          c -> {
            perform(request);
            collector.alsoOnCommit(conn -> outbox.movePosition(conn, e.id()));
            return null;
          });
    } catch (RuntimeException refused) {
      String reason = refused.getMessage() != null ? refused.getMessage() : refused.toString();
      commands.execute(
          c -> {
            collector.add(rejection(request, reason));
            collector.alsoOnCommit(conn -> outbox.movePosition(conn, e.id()));
            return null;
          });
    }
  }

  /** Does what the user asked, then records the answer (after the events it caused). */
  private void perform(JsonNode r) {
    TaskService tasks = engine.getTaskService();
    String type = r.path("type").asText();
    String id = r.path("id").asText(null);
    String user = r.path("user").asText(null);
    switch (type) {
      case "TaskClaimRequested" -> tasks.claim(id, user);
      case "TaskUnclaimRequested" -> tasks.setAssignee(id, null);
      case "TaskAssignRequested" -> tasks.setAssignee(id, r.path("assignee").asText(null));
      case "TaskCompleteRequested" -> {
        Map<String, Object> values =
            r.hasNonNull("payload") ? Json.MAPPER.convertValue(r.get("payload"), VALUES) : Map.of();
        tasks.complete(id, values);
      }
      case "TaskDeferRequested", "TaskUndeferRequested" -> {
        Task task = tasks.createTaskQuery().taskId(id).singleResult();
        if (task == null) {
          throw new IllegalStateException("the task " + id + " is no longer open");
        }
        String until = r.path("followUpDate").asText(null);
        task.setFollowUpDate(
            "TaskDeferRequested".equals(type) && until != null ? Date.from(Instant.parse(until)) : null);
        tasks.saveTask(task);
      }
      case "ProcessStartRequested" -> {
        start(r, user);
        return;
      }
      default -> {
        return;
      }
    }
    ObjectNode performed = Json.event("requestPerformed");
    performed.put("taskId", id);
    performed.put("requestId", r.path("requestId").asText());
    collector.add(performed);
  }

  private void start(JsonNode r, String user) {
    Map<String, Object> values =
        r.hasNonNull("values") ? Json.MAPPER.convertValue(r.get("values"), VALUES) : Map.of();
    String definition = r.path("definitionId").asText();
    engine.getIdentityService().setAuthenticatedUserId(user);
    ProcessInstance instance;
    try {
      instance =
          engine
              .getRuntimeService()
              .startProcessInstanceById(definition, r.path("businessKey").asText(null), values);
    } finally {
      engine.getIdentityService().clearAuthentication();
    }
    ObjectNode performed = Json.event("startPerformed");
    performed.put("definitionId", definition);
    performed.put("requestId", r.path("requestId").asText());
    performed.put("instanceId", instance.getId());
    collector.add(performed);
  }

  private static ObjectNode rejection(JsonNode r, String reason) {
    boolean start = "ProcessStartRequested".equals(r.path("type").asText());
    ObjectNode e = Json.event(start ? "startRejected" : "requestRejected");
    if (start) {
      e.put("definitionId", r.path("definitionId").asText());
    } else {
      e.put("taskId", r.path("id").asText());
    }
    e.put("requestId", r.path("requestId").asText());
    e.put("reason", reason);
    return e;
  }
}
