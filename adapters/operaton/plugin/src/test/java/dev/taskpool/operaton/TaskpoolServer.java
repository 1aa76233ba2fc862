package dev.taskpool.operaton;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The real taskpool server (the binary `./run test` builds; `TASKPOOL_SERVER_BIN`), on a
 * free port with data in a temporary folder, and its user API as a test uses it.
 */
public final class TaskpoolServer implements AutoCloseable {

  static final ObjectMapper JSON = new ObjectMapper();

  public final String base;
  public final Path dir;
  private final String binary;
  private final Process process;
  private final HttpClient http = HttpClient.newHttpClient();

  public TaskpoolServer() throws IOException {
    this(java.util.Map.of());
  }

  /** With more environment for the server (`TASKPOOL_MAX_BODY_BYTES`, say). */
  public TaskpoolServer(java.util.Map<String, String> env) throws IOException {
    binary = System.getProperty("taskpool.server", System.getenv("TASKPOOL_SERVER_BIN"));
    if (binary == null || binary.isBlank() || binary.startsWith("${") || !Files.isExecutable(Path.of(binary))) {
      throw new IllegalStateException(
          "set TASKPOOL_SERVER_BIN to the taskpool-server binary (./run test does): " + binary);
    }
    dir = Files.createTempDirectory("taskpool-operaton");
    ProcessBuilder builder =
        new ProcessBuilder(
                binary, "--listen", "127.0.0.1:0", "--print-address", "--data-dir", dir.toString())
            .redirectError(ProcessBuilder.Redirect.DISCARD);
    builder.environment().putAll(env);
    process = builder.start();
    BufferedReader out =
        new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    String line = out.readLine();
    if (line == null || !line.startsWith("listening on ")) {
      process.destroyForcibly();
      throw new IOException("the server did not say where it listens: " + line);
    }
    base = line.substring("listening on ".length()).trim();
  }

  /** A token signed with the server's secret (`--user U --groups g` or `--application A`). */
  public String token(String... who) throws IOException, InterruptedException {
    String[] command = new String[4 + who.length];
    command[0] = binary;
    command[1] = "token";
    command[2] = "--data-dir";
    command[3] = dir.toString();
    System.arraycopy(who, 0, command, 4, who.length);
    Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    String token = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    if (p.waitFor() != 0 || token.isEmpty()) {
      throw new IOException("no token for " + String.join(" ", who));
    }
    return token;
  }

  public record Reply(int status, JsonNode body) {}

  public Reply get(String token, String path) throws IOException, InterruptedException {
    return send(token, HttpRequest.newBuilder(URI.create(base + path)).GET());
  }

  public Reply post(String token, String path, Object body) throws IOException, InterruptedException {
    return send(
        token,
        HttpRequest.newBuilder(URI.create(base + path))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body))));
  }

  private Reply send(String token, HttpRequest.Builder b) throws IOException, InterruptedException {
    HttpResponse<String> r =
        http.send(
            b.header("Authorization", "Bearer " + token).timeout(Duration.ofSeconds(30)).build(),
            HttpResponse.BodyHandlers.ofString());
    JsonNode body = r.body().isEmpty() ? JSON.nullNode() : JSON.readTree(r.body());
    return new Reply(r.statusCode(), body);
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
