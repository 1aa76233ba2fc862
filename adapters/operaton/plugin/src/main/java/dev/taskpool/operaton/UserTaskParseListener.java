package dev.taskpool.operaton;

import org.operaton.bpm.engine.delegate.TaskListener;
import org.operaton.bpm.engine.impl.bpmn.behavior.UserTaskActivityBehavior;
import org.operaton.bpm.engine.impl.bpmn.parser.BpmnParseListener;
import org.operaton.bpm.engine.impl.pvm.process.ActivityImpl;
import org.operaton.bpm.engine.impl.pvm.process.ScopeImpl;
import org.operaton.bpm.engine.impl.task.TaskDefinition;
import org.operaton.bpm.engine.impl.util.xml.Element;

/** Puts the plugin's task listener on every user task (as a built-in listener). */
class UserTaskParseListener implements BpmnParseListener {

  private static final String[] EVENTS = {
    TaskListener.EVENTNAME_CREATE,
    TaskListener.EVENTNAME_ASSIGNMENT,
    TaskListener.EVENTNAME_UPDATE,
    TaskListener.EVENTNAME_COMPLETE,
    TaskListener.EVENTNAME_DELETE
  };

  private final TaskEvents listener;

  UserTaskParseListener(Collector collector) {
    this.listener = new TaskEvents(collector);
  }

  @Override
  public void parseUserTask(Element userTaskElement, ScopeImpl scope, ActivityImpl activity) {
    if (!(activity.getActivityBehavior() instanceof UserTaskActivityBehavior behavior)) {
      return;
    }
    TaskDefinition definition = behavior.getTaskDefinition();
    for (String event : EVENTS) {
      definition.addBuiltInTaskListener(event, listener);
    }
  }
}
