package dev.taskpool.operaton;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.operaton.bpm.engine.ProcessEngine;
import org.operaton.bpm.engine.ProcessEngineConfiguration;
import org.operaton.bpm.engine.impl.cfg.ProcessEngineConfigurationImpl;
import org.operaton.bpm.engine.impl.cfg.ProcessEnginePlugin;
import org.operaton.bpm.engine.task.Task;
import org.operaton.bpm.model.bpmn.Bpmn;
import org.operaton.bpm.model.bpmn.BpmnModelInstance;

/**
 * An Operaton engine (H2) with the plugin, and the real taskpool server: what the engine
 * does shows in the pool, what users do in the pool the engine performs (or refuses with
 * its reason), and a transaction that rolls back sends nothing.
 */
class PluginTest {

  static TaskpoolServer pool;
  static ProcessEngine engine;
  static TaskpoolPlugin plugin;
  static String alice;
  static String bob;

  @BeforeAll
  static void start() throws Exception {
    // Request bodies up to 256 KiB: a bigger engine transaction is refused (413).
    pool = new TaskpoolServer(Map.of("TASKPOOL_MAX_BODY_BYTES", "262144"));
    plugin = new TaskpoolPlugin();
    plugin.setPoolUrl(pool.base);
    plugin.setToken(pool.token("--application", "orders"));
    plugin.setApplicationName("orders");
    plugin.setSendIntervalMillis(50);
    ProcessEngineConfigurationImpl config =
        (ProcessEngineConfigurationImpl)
            ProcessEngineConfiguration.createStandaloneInMemProcessEngineConfiguration()
                .setJdbcUrl("jdbc:h2:mem:orders-" + System.nanoTime() + ";DB_CLOSE_DELAY=-1")
                .setHistory(ProcessEngineConfiguration.HISTORY_FULL)
                .setDatabaseSchemaUpdate(ProcessEngineConfiguration.DB_SCHEMA_UPDATE_TRUE);
    config.setBeans(Map.of("rules", new Rules()));
    java.util.List<ProcessEnginePlugin> plugins = new java.util.ArrayList<>();
    plugins.add(plugin);
    config.setProcessEnginePlugins(plugins);
    engine = config.buildProcessEngine();
    alice = pool.token("--user", "alice", "--groups", "approvers");
    bob = pool.token("--user", "bob", "--groups", "shipping");
    BpmnModelInstance order =
        Bpmn.createExecutableProcess("order")
            .name("Order")
            .operatonStartableInTasklist(true)
            .startEvent()
            .userTask("approve")
            .name("Approve order")
            .operatonCandidateGroups("approvers")
            .operatonTaskListenerExpression("complete", "${rules.checkApproval(task)}")
            .operatonTaskListenerExpression("assignment", "${rules.checkAssignee(task)}")
            .userTask("ship")
            .name("Ship order")
            .operatonCandidateUsers("bob")
            .endEvent()
            .done();
    order
        .<org.operaton.bpm.model.bpmn.instance.Process>getModelElementById("order")
        .setOperatonCandidateStarterGroups("approvers");
    engine.getRepositoryService().createDeployment().addModelInstance("order.bpmn", order).deploy();
  }

  @AfterAll
  static void stop() {
    if (plugin != null) {
      plugin.stop();
    }
    if (engine != null) {
      engine.close();
    }
    if (pool != null) {
      pool.close();
    }
  }

  /** Asks `check` until it holds (30 s at most). */
  static void eventually(String what, Callable<Boolean> check) throws Exception {
    Instant until = Instant.now().plus(Duration.ofSeconds(30));
    while (!check.call()) {
      if (Instant.now().isAfter(until)) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(50);
    }
  }

  static JsonNode poolTask(String token, String id) throws Exception {
    TaskpoolServer.Reply r = pool.get(token, "/api/v1/tasks/" + id);
    return r.status() == 200 ? r.body() : null;
  }

  static String start(String businessKey, long amount) {
    return engine
        .getRuntimeService()
        .startProcessInstanceByKey("order", businessKey, Map.of("amount", amount, "customer", "ACME"))
        .getId();
  }

  static Task openTask(String instance, String key) {
    return engine.getTaskService().createTaskQuery().processInstanceId(instance).taskDefinitionKey(key).singleResult();
  }

  @Test
  void a_task_the_engine_creates_shows_in_the_pool_with_its_candidates_and_variables() throws Exception {
    String instance = start("ORD-1", 250);
    Task approve = openTask(instance, "approve");
    eventually("the approval in alice's inbox", () -> poolTask(alice, approve.getId()) != null);
    JsonNode t = poolTask(alice, approve.getId());
    assertEquals("Approve order", t.path("name").asText());
    assertEquals("approvers", t.path("candidateGroups").path(0).asText());
    assertEquals("ORD-1", t.path("businessKey").asText());
    assertEquals(250, t.path("payload").path("amount").asLong());
    assertEquals("orders", t.path("sourceReference").path("applicationName").asText());
    assertEquals("order", t.path("sourceReference").path("definitionKey").asText());
    assertNull(poolTask(bob, approve.getId()), "bob is no approver");
    // The definition was registered on deployment, with its BPMN XML.
    JsonNode definitions = pool.get(alice, "/api/v1/process-definitions").body();
    boolean registered = false;
    for (JsonNode d : definitions) {
      registered |= "order".equals(d.path("key").asText());
    }
    assertTrue(registered, "the order definition is registered: " + definitions);
    eventually("nothing left to send", () -> pending().isEmpty());
  }

  @Test
  void claims_and_completions_in_the_pool_are_performed_by_the_engine() throws Exception {
    String instance = start("ORD-2", 400);
    Task approve = openTask(instance, "approve");
    eventually("the approval in the pool", () -> poolTask(alice, approve.getId()) != null);
    TaskpoolServer.Reply claimed =
        pool.post(alice, "/api/v1/tasks/" + approve.getId() + "/claim?wait=true", Map.of());
    assertEquals(200, claimed.status(), claimed.body().toString());
    assertEquals("performed", claimed.body().path("request").path("state").asText());
    assertEquals("alice", openTask(instance, "approve").getAssignee(), "the engine's assignee");
    assertEquals("alice", claimed.body().path("task").path("assignee").asText());

    TaskpoolServer.Reply completed =
        pool.post(
            alice,
            "/api/v1/tasks/" + approve.getId() + "/complete?wait=true",
            Map.of("payload", Map.of("approved", true)));
    assertEquals(200, completed.status(), completed.body().toString());
    assertNull(openTask(instance, "approve"), "completed in the engine");
    assertEquals(true, engine.getRuntimeService().getVariable(instance, "approved"));
    Task ship = openTask(instance, "ship");
    eventually("the shipping task in bob's inbox", () -> poolTask(bob, ship.getId()) != null);
    eventually("the approval gone from the pool", () -> poolTask(alice, approve.getId()) == null);
  }

  static java.util.List<Outbox.Entry> pending() throws java.sql.SQLException {
    return plugin.outbox().all().stream().filter(e -> "pending".equals(e.state())).toList();
  }

  @Test
  void a_claim_the_engine_refuses_comes_back_with_its_reason() throws Exception {
    String carol = pool.token("--user", "carol", "--groups", "approvers");
    String instance = start("ORD-BIG", 2500);
    Task approve = openTask(instance, "approve");
    eventually("the approval in carol's inbox", () -> poolTask(carol, approve.getId()) != null);
    TaskpoolServer.Reply refused =
        pool.post(carol, "/api/v1/tasks/" + approve.getId() + "/claim?wait=true", Map.of());
    assertEquals(409, refused.status(), refused.body().toString());
    assertTrue(
        refused.body().path("detail").asText().contains("carol may not take orders over 2000"),
        refused.body().toString());
    assertNull(openTask(instance, "approve").getAssignee(), "nobody holds it in the engine");
    assertTrue(poolTask(carol, approve.getId()).path("assignee").isMissingNode()
        || poolTask(carol, approve.getId()).path("assignee").isNull(), "nor in the pool");
  }

  @Test
  void a_transaction_the_pool_refuses_is_kept_counted_and_the_rest_flows() throws Exception {
    long before = plugin.counters().refused();
    // A transaction larger than the pool takes: 100 variables of 3,000 characters.
    Map<String, Object> variables = new java.util.HashMap<>(Map.of("amount", 1));
    for (int i = 0; i < 100; i++) {
      variables.put("page" + i, "x".repeat(3000));
    }
    String refusedInstance =
        engine.getRuntimeService().startProcessInstanceByKey("order", "ORD-HUGE", variables).getId();
    String after = start("ORD-AFTER-HUGE", 20);
    Task next = openTask(after, "approve");
    eventually("the later approval in the pool", () -> poolTask(alice, next.getId()) != null);
    eventually("the refusal counted", () -> plugin.counters().refused() == before + 1);
    Outbox.Entry kept =
        plugin.outbox().all().stream().filter(e -> "refused".equals(e.state())).findFirst().orElseThrow();
    assertTrue(kept.body().contains("ORD-HUGE"), "the refused transaction is kept");
    assertTrue(kept.error().startsWith("413"), kept.error());
    assertNull(poolTask(alice, openTask(refusedInstance, "approve").getId()), "not in the pool");
    ProcessEngineConfigurationImpl config =
        (ProcessEngineConfigurationImpl) engine.getProcessEngineConfiguration();
    config.getDbMetricsReporter().reportNow();
    assertTrue(
        engine.getManagementService().createMetricsQuery().name(TaskpoolPlugin.METRIC_REFUSED).sum() >= 1,
        "the engine's metric counts it");
  }

  @Test
  void a_completion_the_engine_refuses_comes_back_with_its_reason() throws Exception {
    String instance = start("ORD-3", 5000);
    Task approve = openTask(instance, "approve");
    eventually("the approval in the pool", () -> poolTask(alice, approve.getId()) != null);
    assertEquals(200, pool.post(alice, "/api/v1/tasks/" + approve.getId() + "/claim?wait=true", Map.of()).status());
    TaskpoolServer.Reply refused =
        pool.post(
            alice,
            "/api/v1/tasks/" + approve.getId() + "/complete?wait=true",
            Map.of("payload", Map.of("approved", true)));
    assertEquals(409, refused.status(), refused.body().toString());
    assertTrue(
        refused.body().path("detail").asText().contains("orders over 1000 need a second approver"),
        refused.body().toString());
    assertTrue(openTask(instance, "approve") != null, "still open in the engine");
    assertNull(engine.getRuntimeService().getVariable(instance, "approved"), "nothing of it kept");
  }

  /** The ids and assignees of the open tasks `user` may see, as the engine has them (a
   * group's tasks also when someone of it holds them, as the pool shows them). */
  static java.util.TreeMap<String, String> engineView(String user, String group) {
    java.util.TreeMap<String, String> seen = new java.util.TreeMap<>();
    engine.getTaskService().createTaskQuery().or().taskAssignee(user).taskCandidateUser(user)
        .taskCandidateGroup(group).includeAssignedTasks().endOr().list()
        .forEach(t -> seen.put(t.getId(), String.valueOf(t.getAssignee())));
    return seen;
  }

  /** The same as the pool shows it to `token`. */
  static java.util.TreeMap<String, String> poolView(String token) throws Exception {
    java.util.TreeMap<String, String> seen = new java.util.TreeMap<>();
    for (JsonNode t : pool.get(token, "/api/v1/tasks?limit=1000").body().path("tasks")) {
      seen.put(t.path("id").asText(), t.hasNonNull("assignee") ? t.get("assignee").asText() : "null");
    }
    return seen;
  }

  @Test
  void after_200_random_actions_the_pool_shows_every_user_exactly_the_engines_open_tasks()
      throws Exception {
    String carol = pool.token("--user", "carol", "--groups", "approvers");
    String[][] users = {{"alice", alice}, {"carol", carol}};
    for (int i = 0; i < 12; i++) {
      start("RND-" + i, 100 + i * 150);
    }
    eventually("the new approvals in the pool", () -> poolView(alice).equals(engineView("alice", "approvers")));
    java.util.Random random = new java.util.Random(42);
    java.util.Map<Integer, Integer> answers = new java.util.TreeMap<>();
    for (int i = 0; i < 200; i++) {
      String[] who = users[random.nextInt(users.length)];
      java.util.List<String> ids = new java.util.ArrayList<>(poolView(who[1]).keySet());
      if (ids.isEmpty()) {
        start("RND-more-" + i, 300);
        continue;
      }
      String id = ids.get(random.nextInt(ids.size()));
      String action = new String[] {"claim", "claim", "unclaim", "complete"}[random.nextInt(4)];
      Map<String, Object> body =
          "complete".equals(action) ? Map.of("payload", Map.of("approved", random.nextBoolean())) : Map.of();
      TaskpoolServer.Reply r = pool.post(who[1], "/api/v1/tasks/" + id + "/" + action + "?wait=true", body);
      answers.merge(r.status(), 1, Integer::sum);
      assertTrue(
          r.status() == 200 || r.status() == 409 || r.status() == 404 || r.status() == 403,
          action + " by " + who[0] + " answered " + r.status() + ": " + r.body());
    }
    // Refused ones included (someone else's claim, an engine rule): both kinds happened.
    assertTrue(answers.getOrDefault(200, 0) > 50, "performed: " + answers);
    assertTrue(answers.getOrDefault(409, 0) > 0, "refused: " + answers);
    for (String[] who : users) {
      try {
        eventually(
            who[0] + "'s inbox equal to the engine's open tasks",
            () -> poolView(who[1]).equals(engineView(who[0], "approvers")));
      } catch (AssertionError e) {
        assertEquals(engineView(who[0], "approvers"), poolView(who[1]), who[0] + "'s inbox");
      }
    }
    java.util.TreeMap<String, String> bobs = new java.util.TreeMap<>();
    engine.getTaskService().createTaskQuery().taskCandidateUser("bob").list()
        .forEach(t -> bobs.put(t.getId(), String.valueOf(t.getAssignee())));
    eventually("bob's shipping tasks", () -> poolView(bob).equals(bobs));
    assertTrue(pending().isEmpty(), "nothing left to send: " + pending());
  }

  @Test
  void a_transaction_that_rolls_back_sends_nothing() throws Exception {
    long before = pool.get(alice, "/api/v1/tasks").body().path("total").asLong();
    ProcessEngineConfigurationImpl config =
        (ProcessEngineConfigurationImpl) engine.getProcessEngineConfiguration();
    assertThrows(
        IllegalStateException.class,
        () ->
            config
                .getCommandExecutorTxRequired()
                .execute(
                    c -> {
                      engine.getRuntimeService().startProcessInstanceByKey("order", "ORD-ROLLBACK");
                      throw new IllegalStateException("the business failed after the task was created");
                    }));
    assertEquals(0, engine.getRuntimeService().createProcessInstanceQuery().processInstanceBusinessKey("ORD-ROLLBACK").count());
    assertTrue(
        plugin.outbox().all().stream().noneMatch(e -> e.body().contains("ORD-ROLLBACK")),
        "nothing in the outbox");
    // A committed transaction after it travels, so the rolled-back one would have too.
    String instance = start("ORD-AFTER", 10);
    Task after = openTask(instance, "approve");
    eventually("the later approval in the pool", () -> poolTask(alice, after.getId()) != null);
    JsonNode page = pool.get(alice, "/api/v1/tasks?limit=500").body();
    for (JsonNode t : page.path("tasks")) {
      assertTrue(!"ORD-ROLLBACK".equals(t.path("businessKey").asText()), "the rolled-back task reached the pool");
    }
    assertTrue(page.path("total").asLong() >= before + 1);
  }
}
