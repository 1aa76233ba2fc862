package dev.taskpool.operaton;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.logging.Logger;

import org.operaton.bpm.engine.ProcessEngine;
import org.operaton.bpm.engine.impl.bpmn.parser.BpmnParseListener;
import org.operaton.bpm.engine.impl.cfg.AbstractProcessEnginePlugin;
import org.operaton.bpm.engine.impl.cfg.IdGenerator;
import org.operaton.bpm.engine.impl.cfg.ProcessEngineConfigurationImpl;
import org.operaton.bpm.engine.impl.db.DbIdGenerator;
import org.operaton.bpm.engine.impl.history.handler.HistoryEventHandler;
import org.operaton.bpm.engine.impl.persistence.StrongUuidGenerator;
import org.operaton.bpm.engine.impl.persistence.deploy.Deployer;

/**
 * Connects an Operaton engine to a task pool. Inside the engine it collects the task
 * events (create, assignment, candidates, attribute updates, complete, delete) and history
 * events (process start and end, variables) of each engine transaction and, before that
 * transaction commits, writes them to an outbox table in the engine's own database (a
 * rollback sends nothing). A sender posts each outbox entry to the pool's ingestion API
 * with its idempotency key and removes it once the pool accepted it; an entry the pool
 * refuses is kept, marked, logged and counted, never retried forever. Deployed process
 * definitions are registered with their BPMN XML and forms. The plugin also follows its
 * application's interaction stream and performs each user request on the engine. An
 * engine on the default id generator gets UUIDs, so that no two engines of one pool send
 * the same task id.
 *
 * <p>Configure it like any engine plugin (setters, or {@code <property>} in XML):
 * {@code poolUrl}, {@code token} (an application token), {@code applicationName},
 * optionally {@code enabled}, {@code eventKinds}, {@code sendIntervalMillis},
 * {@code followInteractions}, {@code resyncAtStart}, {@code serializePayload}. Refused
 * entries, sent entries and send failures are counted as engine metrics
 * ({@link #METRIC_REFUSED} and the others) and in {@link #counters()}.
 */
public class TaskpoolPlugin extends AbstractProcessEnginePlugin {

  private static final Logger LOG = Logger.getLogger(TaskpoolPlugin.class.getName());

  /** What can be sent; {@code eventKinds} picks among them. */
  public enum EventKind {
    TASKS,
    PROCESSES,
    VARIABLES,
    DEFINITIONS
  }

  private boolean enabled = true;
  private String poolUrl = "http://127.0.0.1:8080";
  private String token;
  private String applicationName;
  private Set<EventKind> eventKinds = EnumSet.allOf(EventKind.class);
  private long sendIntervalMillis = 200;
  private boolean followInteractions = true;
  private boolean resyncAtStart = true;
  private boolean serializePayload = true;

  private Collector collector;
  private Outbox outbox;
  private Sender sender;
  private Interactions interactions;

  @Override
  public void preInit(ProcessEngineConfigurationImpl configuration) {
    if (!enabled) {
      LOG.info("taskpool: disabled");
      return;
    }
    if (applicationName == null || applicationName.isBlank()) {
      throw new IllegalStateException("taskpool: applicationName must be set");
    }
    uniqueIds(configuration);
    outbox = new Outbox(applicationName);
    collector = new Collector(outbox, applicationName, eventKinds, serializePayload);
    List<BpmnParseListener> parse = configuration.getCustomPostBPMNParseListeners();
    if (parse == null) {
      parse = new ArrayList<>();
      configuration.setCustomPostBPMNParseListeners(parse);
    }
    parse.add(new UserTaskParseListener(collector));
    List<HistoryEventHandler> history = configuration.getCustomHistoryEventHandlers();
    if (history == null) {
      history = new ArrayList<>();
      configuration.setCustomHistoryEventHandlers(history);
    }
    history.add(new HistoryListener(collector));
    List<Deployer> deployers = configuration.getCustomPostDeployers();
    if (deployers == null) {
      deployers = new ArrayList<>();
      configuration.setCustomPostDeployers(deployers);
    }
    deployers.add(new DefinitionRegistrar(collector));
  }

  /**
   * Task and instance ids must be unique across the engines of one pool: the first
   * application to send an id owns it, and another's is refused. The engine's default
   * {@link DbIdGenerator} counts from 1 in every database, so two engines' first tasks
   * would share an id: unless the engine has an id generator of its own, the plugin
   * gives it {@link StrongUuidGenerator} (what Operaton recommends for clusters anyway).
   */
  private void uniqueIds(ProcessEngineConfigurationImpl configuration) {
    IdGenerator ids = configuration.getIdGenerator();
    if (ids == null || ids instanceof DbIdGenerator) {
      configuration.setIdGenerator(new StrongUuidGenerator());
      LOG.info("taskpool: ids from StrongUuidGenerator (unique across the pool's engines)");
    }
  }

  @Override
  public void postProcessEngineBuild(ProcessEngine engine) {
    if (!enabled) {
      return;
    }
    ProcessEngineConfigurationImpl configuration =
        (ProcessEngineConfigurationImpl) engine.getProcessEngineConfiguration();
    outbox.open(configuration.getDataSource());
    PoolClient client = new PoolClient(URI.create(poolUrl), token);
    Resync resync =
        resyncAtStart && eventKinds.contains(EventKind.TASKS)
            ? new Resync(engine, client, applicationName, serializePayload)
            : null;
    sender = new Sender(outbox, client, Duration.ofMillis(sendIntervalMillis), resync);
    if (configuration.isMetricsEnabled() && configuration.getMetricsRegistry() != null) {
      var metrics = configuration.getMetricsRegistry();
      sender.onMetric(metrics::markOccurrence);
    }
    collector.onCommitted(sender::wake);
    sender.start();
    if (followInteractions) {
      interactions = new Interactions(engine, client, applicationName, collector, outbox);
      interactions.start();
    }
  }

  /** The engine metrics the sender marks (`ManagementService.createMetricsQuery()`). */
  public static final String METRIC_SENT = "taskpool-sent";
  public static final String METRIC_REFUSED = "taskpool-refused";
  public static final String METRIC_FAILURES = "taskpool-send-failures";

  @Override
  public void postInit(ProcessEngineConfigurationImpl configuration) {
    if (enabled && configuration.isMetricsEnabled() && configuration.getMetricsRegistry() != null) {
      for (String meter : new String[] {METRIC_SENT, METRIC_REFUSED, METRIC_FAILURES}) {
        configuration.getMetricsRegistry().createDbMeter(meter);
      }
    }
  }

  /** Stops sending and following (the engine's own shutdown does not know the plugin). */
  public void stop() {
    if (interactions != null) {
      interactions.stop();
    }
    if (sender != null) {
      sender.stop();
    }
  }

  /** What was sent, refused and is waiting (for tests, health checks and metrics). */
  public Sender.Counters counters() {
    return sender == null ? new Sender.Counters(0, 0, 0) : sender.counters();
  }

  /** The outbox (for inspection: refused entries stay there). */
  public Outbox outbox() {
    return outbox;
  }

  public void setEnabled(boolean enabled) {
    this.enabled = enabled;
  }

  public void setPoolUrl(String poolUrl) {
    this.poolUrl = poolUrl;
  }

  public void setToken(String token) {
    this.token = token;
  }

  public void setApplicationName(String applicationName) {
    this.applicationName = applicationName;
  }

  /** A comma-separated choice of {@code tasks, processes, variables, definitions}. */
  public void setEventKinds(String kinds) {
    EnumSet<EventKind> chosen = EnumSet.noneOf(EventKind.class);
    for (String k : kinds.split(",")) {
      if (!k.isBlank()) {
        chosen.add(EventKind.valueOf(k.trim().toUpperCase(Locale.ROOT)));
      }
    }
    this.eventKinds = chosen;
  }

  public void setSendIntervalMillis(long sendIntervalMillis) {
    this.sendIntervalMillis = sendIntervalMillis;
  }

  /** Send the tasks' variables as their payload (else tasks go with an empty one). */
  public void setSerializePayload(boolean serializePayload) {
    this.serializePayload = serializePayload;
  }

  /** Re-sync the open tasks with the pool at start (after the outbox was sent). */
  public void setResyncAtStart(boolean resyncAtStart) {
    this.resyncAtStart = resyncAtStart;
  }

  /** Whether the start's re-sync has gone through (true when there is none). */
  public boolean resynced() {
    return sender != null && sender.resynced();
  }

  public void setFollowInteractions(boolean followInteractions) {
    this.followInteractions = followInteractions;
  }
}
