package dev.taskpool.operaton.example;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import dev.taskpool.operaton.TaskpoolPlugin;
import org.operaton.bpm.engine.ProcessEngine;
import org.operaton.bpm.engine.ProcessEngineConfiguration;
import org.operaton.bpm.engine.impl.cfg.ProcessEngineConfigurationImpl;
import org.operaton.bpm.engine.impl.cfg.ProcessEnginePlugin;

/**
 * A process application on Operaton with the taskpool plugin: an embedded engine on a
 * file H2 database in `--data-dir`, the "IT request" process (lanes Support and
 * Management, candidate groups, forms) deployed once, connected to a taskpool server.
 *
 * <pre>
 * java -cp … dev.taskpool.operaton.example.ItRequestApplication
 *     --pool http://127.0.0.1:8080 --token-file FILE --application it
 *     --data-dir DIR [--start N] [--send-interval-ms N]
 * </pre>
 *
 * Prints {@code ready} once the engine runs, {@code started N} after `--start N`
 * instances, and {@code outbox pending=… refused=… resynced=… open=…} (open tasks)
 * whenever that changes;
 * runs until stopped.
 */
public final class ItRequestApplication {

  private ItRequestApplication() {}

  public static void main(String[] args) throws Exception {
    Map<String, String> options = options(args);
    Path data = Path.of(options.getOrDefault("data-dir", "data/operaton"));
    Files.createDirectories(data);
    String token = options.get("token");
    if (token == null && options.containsKey("token-file")) {
      token = Files.readString(Path.of(options.get("token-file")), StandardCharsets.UTF_8).trim();
    }
    if (token == null) {
      token = System.getenv("TASKPOOL_TOKEN");
    }
    TaskpoolPlugin taskpool = new TaskpoolPlugin();
    taskpool.setPoolUrl(options.getOrDefault("pool", "http://127.0.0.1:8080"));
    taskpool.setToken(token);
    taskpool.setApplicationName(options.getOrDefault("application", "it"));
    taskpool.setSendIntervalMillis(Long.parseLong(options.getOrDefault("send-interval-ms", "200")));
    ProcessEngine engine = engine(data, taskpool);
    deploy(engine);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  taskpool.stop();
                  engine.close();
                }));
    System.out.println("ready");
    int start = Integer.parseInt(options.getOrDefault("start", "0"));
    for (int i = 0; i < start; i++) {
      engine
          .getRuntimeService()
          .startProcessInstanceByKey(
              "it-request",
              "REQ-" + i,
              Map.of("title", "Request " + i, "urgency", i % 3 == 0 ? "high" : "normal"));
    }
    if (start > 0) {
      System.out.println("started " + start);
    }
    System.out.flush();
    // What the outbox holds, whenever it changes (for operators, and the crash test).
    String said = "";
    while (true) {
      var entries = taskpool.outbox().all();
      long refused = entries.stream().filter(e -> "refused".equals(e.state())).count();
      String now =
          "outbox pending=" + (entries.size() - refused) + " refused=" + refused
              + " resynced=" + taskpool.resynced()
              + " open=" + engine.getTaskService().createTaskQuery().count();
      if (!now.equals(said)) {
        System.out.println(now);
        System.out.flush();
        said = now;
      }
      Thread.sleep(200);
    }
  }

  /** An engine on `data/engine` (H2 file) with `plugin`, history level full. */
  public static ProcessEngine engine(Path data, TaskpoolPlugin plugin) {
    ProcessEngineConfigurationImpl config =
        (ProcessEngineConfigurationImpl)
            ProcessEngineConfiguration.createStandaloneProcessEngineConfiguration()
                // WRITE_DELAY=0: a commit is on disk before the engine goes on (H2 writes
                // half a second later by default: a killed process lost committed
                // transactions whose events the pool already had, as the crash test showed).
                .setJdbcUrl("jdbc:h2:file:" + data.resolve("engine").toAbsolutePath() + ";WRITE_DELAY=0")
                .setJdbcUsername("sa")
                .setJdbcPassword("")
                .setHistory(ProcessEngineConfiguration.HISTORY_FULL)
                .setDatabaseSchemaUpdate(ProcessEngineConfiguration.DB_SCHEMA_UPDATE_TRUE)
                .setJobExecutorActivate(false);
    List<ProcessEnginePlugin> plugins = new ArrayList<>();
    plugins.add(plugin);
    config.setProcessEnginePlugins(plugins);
    return config.buildProcessEngine();
  }

  /** Deploys the process and its forms (once: an unchanged deployment is filtered). */
  public static void deploy(ProcessEngine engine) throws IOException {
    var deployment =
        engine.getRepositoryService().createDeployment().name("it-request").enableDuplicateFiltering(true);
    for (String resource :
        List.of("it-request.bpmn", "it-request-start.form", "it-request-triage.form", "it-request-approve.form")) {
      try (var in = ItRequestApplication.class.getClassLoader().getResourceAsStream(resource)) {
        if (in == null) {
          throw new IOException("missing resource " + resource);
        }
        deployment.addInputStream(resource, new java.io.ByteArrayInputStream(in.readAllBytes()));
      }
    }
    deployment.deploy();
  }

  private static Map<String, String> options(String[] args) {
    Map<String, String> options = new java.util.HashMap<>();
    for (int i = 0; i < args.length; i++) {
      if (!args[i].startsWith("--") || i + 1 >= args.length) {
        throw new IllegalArgumentException("usage: --name value …; got " + args[i]);
      }
      options.put(args[i].substring(2), args[++i]);
    }
    return options;
  }
}
