package dev.taskpool.operaton;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.operaton.bpm.engine.impl.cfg.TransactionState;
import org.operaton.bpm.engine.impl.context.Context;
import org.operaton.bpm.engine.impl.interceptor.CommandContext;

/**
 * Collects the engine events of each engine transaction and writes them to the outbox as
 * one entry while the transaction commits (after the engine flushed its own changes, on
 * its connection, before the commit): both commit or neither does.
 */
class Collector {

  /** Work done in the committing transaction, on its connection. */
  interface OnCommitting {
    void run(Connection connection) throws SQLException;
  }

  private static final class Batch {
    /** In order; a task created here is written as it stands when the transaction commits. */
    final List<Supplier<ObjectNode>> events = new ArrayList<>();
    final Map<String, ObjectNode[]> created = new HashMap<>();
    final List<OnCommitting> alsoCommitting = new ArrayList<>();
  }

  private final Map<CommandContext, Batch> batches =
      Collections.synchronizedMap(new IdentityHashMap<>());
  private final Outbox outbox;
  final String application;
  final Set<TaskpoolPlugin.EventKind> kinds;
  /** Tasks go with their variables as payload. */
  final boolean serializePayload;
  private volatile Runnable committed = () -> {};

  Collector(
      Outbox outbox, String application, Set<TaskpoolPlugin.EventKind> kinds, boolean serializePayload) {
    this.outbox = outbox;
    this.application = application;
    this.kinds = kinds;
    this.serializePayload = serializePayload;
  }

  void onCommitted(Runnable committed) {
    this.committed = committed;
  }

  boolean wants(TaskpoolPlugin.EventKind kind) {
    return kinds.contains(kind);
  }

  /** Adds an event to the current engine transaction (outside one: dropped). */
  void add(ObjectNode event) {
    Batch batch = batch();
    if (batch != null) {
      batch.events.add(() -> event);
    }
  }

  /** A task created in this transaction (its later changes here refresh this event). */
  void addTaskCreated(String taskId, ObjectNode event) {
    Batch batch = batch();
    if (batch != null) {
      ObjectNode[] slot = {event};
      batch.created.put(taskId, slot);
      batch.events.add(() -> slot[0]);
    }
  }

  /** Whether the task was created in the current transaction. */
  boolean createdHere(String taskId) {
    Batch batch = batch();
    return batch != null && batch.created.containsKey(taskId);
  }

  /** The task created here as it stands now. */
  void refreshCreated(String taskId, ObjectNode task) {
    Batch batch = batch();
    if (batch != null && batch.created.containsKey(taskId)) {
      ObjectNode e = Json.event("taskCreated");
      e.set("task", task);
      batch.created.get(taskId)[0] = e;
    }
  }

  /** Work to do on the committing transaction's connection (the interaction position). */
  void alsoOnCommit(OnCommitting work) {
    Batch batch = batch();
    if (batch != null) {
      batch.alsoCommitting.add(work);
    }
  }

  private Batch batch() {
    CommandContext context = Context.getCommandContext();
    if (context == null) {
      return null;
    }
    Batch existing = batches.get(context);
    if (existing != null) {
      return existing;
    }
    Batch batch = new Batch();
    batches.put(context, batch);
    context
        .getTransactionContext()
        .addTransactionListener(TransactionState.COMMITTING, c -> write(c, batch));
    context
        .getTransactionContext()
        .addTransactionListener(TransactionState.COMMITTED, c -> {
          batches.remove(c);
          if (!batch.events.isEmpty()) {
            committed.run();
          }
        });
    context
        .getTransactionContext()
        .addTransactionListener(TransactionState.ROLLED_BACK, batches::remove);
    return batch;
  }

  private void write(CommandContext context, Batch batch) {
    Connection connection = context.getDbSqlSession().getSqlSession().getConnection();
    try {
      if (!batch.events.isEmpty()) {
        ObjectNode body = Json.MAPPER.createObjectNode();
        ArrayNode events = body.putArray("events");
        batch.events.forEach(e -> events.add(e.get()));
        Outbox.add(connection, Json.MAPPER.writeValueAsString(body));
      }
      for (OnCommitting work : batch.alsoCommitting) {
        work.run(connection);
      }
    } catch (SQLException | com.fasterxml.jackson.core.JsonProcessingException e) {
      // Thrown here, the engine rolls its transaction back: nothing without its events.
      throw new IllegalStateException("taskpool: the outbox entry could not be written", e);
    }
  }

  Outbox outbox() {
    return outbox;
  }
}
