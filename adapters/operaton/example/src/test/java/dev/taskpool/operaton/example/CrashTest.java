package dev.taskpool.operaton.example;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import dev.taskpool.operaton.TaskpoolServer;
import org.junit.jupiter.api.Test;

/**
 * The example application in JVMs of its own, killed (SIGKILL) after its engine committed
 * and before or while it sends: restarted, it sends every engine transaction once (the
 * pool refuses none as a duplicate) and the pool ends with exactly the engine's tasks.
 */
class CrashTest {

  /** A running application and the lines it printed. */
  record App(Process process, BlockingQueue<String> lines) {
    String await(String prefix) throws InterruptedException {
      Instant until = Instant.now().plus(Duration.ofSeconds(60));
      while (Instant.now().isBefore(until)) {
        String line = lines.poll(200, TimeUnit.MILLISECONDS);
        if (line != null && line.startsWith(prefix)) {
          return line;
        }
        if (line == null && !process.isAlive()) {
          throw new AssertionError("the application exited (" + process.exitValue() + ") before `" + prefix + "`");
        }
      }
      throw new AssertionError("the application never said `" + prefix + "`");
    }

    void kill() throws InterruptedException {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
    }
  }

  /** Every application this test started: none outlives it, whatever fails. */
  static final List<App> launched = new java.util.concurrent.CopyOnWriteArrayList<>();

  @org.junit.jupiter.api.AfterAll
  static void killAll() throws InterruptedException {
    for (App app : launched) {
      app.kill();
    }
  }

  static App launch(Path data, String pool, Path tokenFile, int start) throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process p =
        new ProcessBuilder(
                java, "-Xmx256m", "-cp", System.getProperty("java.class.path"),
                ItRequestApplication.class.getName(),
                "--pool", pool, "--token-file", tokenFile.toString(), "--application", "it",
                "--data-dir", data.toString(), "--start", Integer.toString(start),
                "--send-interval-ms", "20")
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start();
    BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    Thread reader =
        new Thread(
            () -> {
              try (BufferedReader r =
                  new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                  lines.add(line);
                }
              } catch (java.io.IOException ignored) {
                // The process was killed.
              }
            });
    reader.setDaemon(true);
    reader.start();
    App app = new App(p, lines);
    launched.add(app);
    return app;
  }

  static long triageTasks(TaskpoolServer pool, String support) throws Exception {
    JsonNode page = pool.get(support, "/api/v1/tasks?limit=1&filter=task.taskDefinitionKey%20%3D%20triage").body();
    return page.path("total").asLong();
  }

  @Test
  void killed_before_and_while_sending_it_sends_every_transaction_once() throws Exception {
    try (TaskpoolServer pool = new TaskpoolServer()) {
      Path data = Files.createTempDirectory("taskpool-operaton-example");
      Path token = data.resolve("token");
      Files.writeString(token, pool.token("--application", "it"));
      String support = pool.token("--user", "dana", "--groups", "support");

      // 1. The pool is out of reach: 30 processes start, their events wait in the
      // outbox; the JVM is killed.
      App first = launch(data, "http://127.0.0.1:9", token, 30);
      first.await("started 30");
      first.kill();
      assertEquals(0, triageTasks(pool, support), "nothing reached the pool yet");

      // 2. Restarted five times with the pool in reach and 60 more processes to start
      // each time: killed while it sends (a kill between the pool's answer and the
      // outbox delete sends that entry again: its idempotency key makes it once).
      long before = 0;
      for (int round = 0; round < 5; round++) {
        App app = launch(data, pool.base, token, 60);
        app.await("ready");
        long from = triageTasks(pool, support);
        Instant until = Instant.now().plus(Duration.ofSeconds(60));
        while (triageTasks(pool, support) < from + 15 && Instant.now().isBefore(until)) {
          Thread.sleep(5);
        }
        Thread.sleep(round * 7L);
        app.kill();
        before = triageTasks(pool, support);
        assertTrue(before > from, "round " + round + ": killed while sending (" + from + " -> " + before + ")");
      }

      // 3. Restarted again: everything goes out once, and the re-sync agrees.
      App third = launch(data, pool.base, token, 0);
      String settled = third.await("outbox pending=0 refused=0 resynced=true");
      assertTrue(settled.contains("refused=0"), settled);
      long expected = Long.parseLong(settled.substring(settled.indexOf("open=") + 5).trim());
      assertTrue(expected >= before, "the engine holds what reached the pool: " + settled);
      Instant end = Instant.now().plus(Duration.ofSeconds(60));
      while (triageTasks(pool, support) != expected && Instant.now().isBefore(end)) {
        Thread.sleep(100);
      }
      assertEquals(expected, triageTasks(pool, support), "the pool holds the engine's open triage tasks");
      // The process was registered once, with its diagram and forms.
      JsonNode definitions = pool.get(support, "/api/v1/process-definitions").body();
      assertEquals(1, definitions.size(), definitions.toString());
      assertEquals("it-request", definitions.path(0).path("key").asText());
      String id = definitions.path(0).path("id").asText();
      TaskpoolServer.Reply startForm = pool.get(support, "/api/v1/process-definitions/" + id + "/start-form");
      assertEquals(200, startForm.status(), startForm.body().toString());
      third.kill();
      List<String> left = List.copyOf(third.lines());
      assertTrue(left.stream().noneMatch(l -> l.contains("refused=1")), left.toString());
    }
  }
}
