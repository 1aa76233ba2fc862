package dev.taskpool.operaton;

import java.util.Date;
import java.util.Optional;

import org.operaton.bpm.engine.impl.history.event.HistoricVariableUpdateEventEntity;

/** A variable's value from its history event, for the types JSON carries. */
final class TypedValues {

  /** Marks a value JSON cannot carry (a file, a serialized object). */
  static final Object UNSUPPORTED = new Object();

  private TypedValues() {}

  static Object of(HistoricVariableUpdateEventEntity v) {
    String type = Optional.ofNullable(v.getSerializerName()).orElse("null");
    return switch (type) {
      case "null" -> null;
      case "string" -> v.getTextValue();
      case "long", "integer", "short" -> v.getLongValue();
      case "double" -> v.getDoubleValue();
      case "boolean" -> v.getLongValue() == null ? null : v.getLongValue() == 1L;
      case "date" -> v.getLongValue() == null ? null : new Date(v.getLongValue());
      default -> UNSUPPORTED;
    };
  }
}
