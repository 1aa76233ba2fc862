package dev.taskpool.operaton;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.operaton.bpm.engine.ProcessEngine;
import org.operaton.bpm.engine.ProcessEngineConfiguration;
import org.operaton.bpm.engine.impl.cfg.ProcessEngineConfigurationImpl;
import org.operaton.bpm.engine.impl.cfg.ProcessEnginePlugin;
import org.operaton.bpm.engine.task.Task;
import org.operaton.bpm.model.bpmn.Bpmn;

/**
 * Two engines, each with its own database and the default configuration, on one pool:
 * their ids never collide (each engine's database would count its ids from 1), so every
 * task of both shows in the pool and nothing is refused.
 */
class TwoEnginesTest {

  record Engine(ProcessEngine engine, TaskpoolPlugin plugin) {}

  static Engine engine(TaskpoolServer pool, String application) throws Exception {
    TaskpoolPlugin plugin = new TaskpoolPlugin();
    plugin.setPoolUrl(pool.base);
    plugin.setToken(pool.token("--application", application));
    plugin.setApplicationName(application);
    plugin.setSendIntervalMillis(50);
    ProcessEngineConfigurationImpl config =
        (ProcessEngineConfigurationImpl)
            ProcessEngineConfiguration.createStandaloneInMemProcessEngineConfiguration()
                .setProcessEngineName(application)
                .setJdbcUrl("jdbc:h2:mem:" + application + "-" + System.nanoTime() + ";DB_CLOSE_DELAY=-1")
                .setDatabaseSchemaUpdate(ProcessEngineConfiguration.DB_SCHEMA_UPDATE_TRUE);
    List<ProcessEnginePlugin> plugins = new ArrayList<>();
    plugins.add(plugin);
    config.setProcessEnginePlugins(plugins);
    ProcessEngine engine = config.buildProcessEngine();
    engine
        .getRepositoryService()
        .createDeployment()
        .addModelInstance(
            "review.bpmn",
            Bpmn.createExecutableProcess("review")
                .startEvent()
                .userTask("check")
                .name("Check")
                .operatonCandidateGroups("reviewers")
                .endEvent()
                .done())
        .deploy();
    return new Engine(engine, plugin);
  }

  @Test
  void two_engines_on_their_own_databases_send_tasks_with_ids_of_their_own() throws Exception {
    try (TaskpoolServer pool = new TaskpoolServer()) {
      List<Engine> engines = List.of(engine(pool, "claims"), engine(pool, "returns"));
      try {
        List<String> ids = new ArrayList<>();
        for (Engine e : engines) {
          for (int i = 0; i < 3; i++) {
            String instance =
                e.engine().getRuntimeService().startProcessInstanceByKey("review", Map.of("n", i)).getId();
            Task task =
                e.engine().getTaskService().createTaskQuery().processInstanceId(instance).singleResult();
            ids.add(task.getId());
          }
        }
        assertEquals(ids.size(), ids.stream().distinct().count(), "ids of their own: " + ids);
        String reviewer = pool.token("--user", "rita", "--groups", "reviewers");
        Instant until = Instant.now().plus(Duration.ofSeconds(30));
        for (String id : ids) {
          while (pool.get(reviewer, "/api/v1/tasks/" + id).status() != 200) {
            if (Instant.now().isAfter(until)) {
              throw new AssertionError("task " + id + " never showed in the pool");
            }
            Thread.sleep(50);
          }
        }
        for (Engine e : engines) {
          assertEquals(0, e.plugin().counters().refused(), "nothing refused");
        }
        assertNotEquals(ids.get(0), ids.get(3));
      } finally {
        for (Engine e : engines) {
          e.plugin().stop();
          e.engine().close();
        }
      }
    }
  }
}
