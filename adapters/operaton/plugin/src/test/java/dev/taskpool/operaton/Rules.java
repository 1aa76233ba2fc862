package dev.taskpool.operaton;

import org.operaton.bpm.engine.delegate.DelegateTask;

/** The order process's business rule, called by the engine when an approval completes. */
public class Rules {

  /** carol may not take orders over 2,000 (she approves the small ones). */
  public void checkAssignee(DelegateTask task) {
    Object amount = task.getVariable("amount");
    if ("carol".equals(task.getAssignee()) && amount instanceof Number n && n.longValue() > 2000) {
      throw new IllegalArgumentException("carol may not take orders over 2000");
    }
  }

  /** An order over 1,000 cannot be approved by one person alone. */
  public void checkApproval(DelegateTask task) {
    Object amount = task.getVariable("amount");
    Object approved = task.getVariable("approved");
    if (amount instanceof Number n && n.longValue() > 1000 && Boolean.TRUE.equals(approved)) {
      throw new IllegalArgumentException("orders over 1000 need a second approver");
    }
  }
}
