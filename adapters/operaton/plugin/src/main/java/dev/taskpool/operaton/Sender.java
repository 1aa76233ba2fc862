package dev.taskpool.operaton;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Sends the outbox to the pool, oldest first, one engine transaction per request under
 * its idempotency key (the entry's id: a retry after a lost answer is recognised).
 * Accepted: removed. Refused for good (a 4xx other than 408 / 429): kept and marked,
 * logged, counted, and the entries after it go on. Anything else (the pool down, a 5xx,
 * a timeout): tried again with backoff, in order.
 */
public class Sender {

  private static final Logger LOG = Logger.getLogger(Sender.class.getName());
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);

  /** What the sender did so far. */
  public record Counters(long sent, long refused, long failures) {}

  private final Outbox outbox;
  private final PoolClient client;
  private final Duration interval;
  private final AtomicLong sent = new AtomicLong();
  private final AtomicLong refused = new AtomicLong();
  private final AtomicLong failures = new AtomicLong();
  private final Object wake = new Object();
  private volatile boolean running;
  private Thread thread;
  /** Run once the outbox was first sent empty (then done); null: none. */
  private volatile Resync resync;
  private volatile boolean resynced;

  Sender(Outbox outbox, PoolClient client, Duration interval, Resync resync) {
    this.outbox = outbox;
    this.client = client;
    this.interval = interval;
    this.resync = resync;
    this.resynced = resync == null;
  }

  private volatile java.util.function.BiConsumer<String, Long> metric = (name, n) -> {};

  /** Also counts into the engine's metrics (name, occurrences). */
  void onMetric(java.util.function.BiConsumer<String, Long> metric) {
    this.metric = metric;
  }

  /** Whether the start's re-sync went through. */
  boolean resynced() {
    return resynced;
  }

  void start() {
    running = true;
    thread = new Thread(this::loop, "taskpool-sender");
    thread.setDaemon(true);
    thread.start();
  }

  void stop() {
    running = false;
    wake();
    if (thread != null) {
      try {
        thread.join(5000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Something was committed: send now rather than at the next interval. */
  void wake() {
    synchronized (wake) {
      wake.notifyAll();
    }
  }

  Counters counters() {
    return new Counters(sent.get(), refused.get(), failures.get());
  }

  private void loop() {
    Duration backoff = interval;
    while (running) {
      boolean failed = false;
      try {
        List<Outbox.Entry> pending = outbox.pending(100);
        if (pending.isEmpty() && resync != null) {
          int tasks = resync.run();
          LOG.info("taskpool: re-synced " + tasks + " open tasks with the pool");
          resync = null;
          resynced = true;
        }
        for (Outbox.Entry entry : pending) {
          if (!running) {
            return;
          }
          PoolClient.Answer answer = client.send(entry.id(), entry.body());
          if (answer.accepted()) {
            outbox.remove(entry.id());
            sent.incrementAndGet();
            metric.accept(TaskpoolPlugin.METRIC_SENT, 1L);
          } else if (answer.refused()) {
            outbox.refuse(entry.id(), answer.status() + " " + answer.body());
            refused.incrementAndGet();
            metric.accept(TaskpoolPlugin.METRIC_REFUSED, 1L);
            LOG.warning(
                "taskpool: the pool refused engine transaction "
                    + entry.id()
                    + " ("
                    + answer.status()
                    + "); kept in "
                    + Outbox.TABLE
                    + ": "
                    + answer.body());
          } else {
            throw new java.io.IOException("the pool answered " + answer.status());
          }
        }
        backoff = interval;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (Exception e) {
        failed = true;
        failures.incrementAndGet();
        metric.accept(TaskpoolPlugin.METRIC_FAILURES, 1L);
        LOG.log(Level.WARNING, "taskpool: sending failed; trying again in " + backoff, e);
      }
      Duration wait = failed ? backoff : interval;
      if (failed) {
        backoff = backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : backoff.multipliedBy(2);
      }
      synchronized (wake) {
        try {
          wake.wait(Math.max(1, wait.toMillis()));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }
}
