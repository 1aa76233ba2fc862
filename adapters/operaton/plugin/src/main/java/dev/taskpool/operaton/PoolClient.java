package dev.taskpool.operaton;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.function.Consumer;

/** The pool's ingestion API: engine transactions in, the application's interactions out. */
class PoolClient {

  /** The pool's answer to one engine transaction. */
  record Answer(int status, String body) {
    boolean accepted() {
      return status >= 200 && status < 300;
    }

    /** Refused for good: sending it again cannot help (not a timeout, not overload). */
    boolean refused() {
      return status >= 400 && status < 500 && status != 408 && status != 429;
    }
  }

  /** One server-sent event. */
  record ServerEvent(long id, String event, String data) {}

  private final URI base;
  private final String token;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  PoolClient(URI base, String token) {
    this.base = base;
    this.token = token;
  }

  /** Sends one engine transaction under its idempotency key. */
  Answer send(String idempotencyKey, String body) throws IOException, InterruptedException {
    HttpRequest request =
        authorized(HttpRequest.newBuilder(base.resolve("/api/v1/engine-events")))
            .timeout(Duration.ofSeconds(30))
            .header("Content-Type", "application/json")
            .header("Idempotency-Key", idempotencyKey)
            .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8))
            .build();
    HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
    return new Answer(response.statusCode(), response.body());
  }

  /** Sends one page of a re-sync of the application's open tasks. */
  Answer resyncPage(String resyncId, String body) throws IOException, InterruptedException {
    HttpRequest request =
        authorized(HttpRequest.newBuilder(base.resolve("/api/v1/resyncs/" + resyncId + "/pages")))
            .timeout(Duration.ofSeconds(60))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8))
            .build();
    HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
    return new Answer(response.statusCode(), response.body());
  }

  /**
   * Follows the application's interaction stream after `after`, handing each event to
   * `each`, until the stream ends or fails (then returns or throws; the caller resumes).
   */
  void follow(String application, long after, Consumer<ServerEvent> each)
      throws IOException, InterruptedException {
    HttpRequest request =
        authorized(
                HttpRequest.newBuilder(
                    base.resolve("/api/v1/applications/" + application + "/interactions")))
            .header("Accept", "text/event-stream")
            .header("Last-Event-ID", Long.toString(after))
            .GET()
            .build();
    HttpResponse<java.io.InputStream> response =
        http.send(request, HttpResponse.BodyHandlers.ofInputStream());
    if (response.statusCode() != 200) {
      response.body().close();
      throw new IOException("the interaction stream answered " + response.statusCode());
    }
    try (BufferedReader lines =
        new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
      long id = after;
      String event = "message";
      StringBuilder data = new StringBuilder();
      String line;
      while ((line = lines.readLine()) != null) {
        if (line.isEmpty()) {
          if (data.length() > 0) {
            each.accept(new ServerEvent(id, event, data.toString()));
          }
          event = "message";
          data.setLength(0);
        } else if (line.startsWith("id:")) {
          id = Long.parseLong(line.substring(3).trim());
        } else if (line.startsWith("event:")) {
          event = line.substring(6).trim();
        } else if (line.startsWith("data:")) {
          if (data.length() > 0) {
            data.append('\n');
          }
          data.append(line.substring(5).stripLeading());
        }
      }
    }
  }

  private HttpRequest.Builder authorized(HttpRequest.Builder builder) {
    return token == null ? builder : builder.header("Authorization", "Bearer " + token);
  }
}
