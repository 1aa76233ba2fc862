//! Starting and stopping the HTTP server: middleware (request ids, tracing, metrics,
//! body limits, panics as 500 problems), the web UI at `/`, and graceful shutdown (stop
//! accepting, let in-flight requests finish, end the streams, stop the node).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderName, Request, StatusCode};
use axum::response::{Html, IntoResponse};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::trace::TraceLayer;

use crate::api::{self, AppState};
use crate::auth::Authenticator;
use crate::config::{Role, ServerConfig};
use crate::problem::Problem;
use taskpool_node::node::{NodeOptions, TaskpoolNode};

/// A server that is running.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub node: Arc<TaskpoolNode>,
    shutdown: CancellationToken,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// Stops gracefully and waits until everything is closed.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.task.await??;
        let node = self.node.clone();
        tokio::task::spawn_blocking(move || node.shutdown()).await?;
        Ok(())
    }

    /// Waits until the server ends (after a signal handled by the caller, say).
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task.await??;
        let node = self.node.clone();
        tokio::task::spawn_blocking(move || node.shutdown()).await?;
        Ok(())
    }

    /// The token that stops the server.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }
}

/// Starts the node and the HTTP server; returns once it listens.
pub async fn serve(config: ServerConfig) -> anyhow::Result<RunningServer> {
    crate::metrics::handle();
    #[cfg_attr(not(feature = "kafka"), allow(unused_mut))]
    let mut options = NodeOptions::new(config.data_dir.clone());
    options.request_expiry = Duration::from_secs(config.request_expiry_secs);
    options.data_entry_deletion = config.data_entry_deletion;
    options.change_retention = Some(config.change_retention);
    options.history_retention = Some(chrono::Duration::days(config.history_days.max(1)));
    #[cfg(feature = "kafka")]
    crate::distribution::prepare(&config, &mut options).await?;
    #[cfg(not(feature = "kafka"))]
    if config.role != Role::Single {
        anyhow::bail!(
            "the {:?} role needs Kafka, and this server was built without its `kafka` feature",
            config.role
        );
    }
    let node = tokio::task::spawn_blocking(move || TaskpoolNode::start(options)).await??;
    // The example application is the engine of a single or process-application node
    // with `--example`; without it the node waits for engines outside it (an Operaton
    // engine with the plugin): an example engine under the same name would re-sync their
    // tasks away at each start.
    if config.example && matches!(config.role, Role::Single | Role::ProcessApplication) {
        node.adopt_thread(taskpool_example::on_node::start(
            node.clone(),
            &config.application,
            config.example_rate,
        )?);
    }
    #[cfg(feature = "kafka")]
    let publisher = crate::distribution::start(&config, &node).await?;
    let mut auth = Authenticator::new(&config.data_dir, &config.auth)?;
    if config.example && config.auth.users_file.is_none() {
        auth = auth.with_users(taskpool_example::on_node::users());
    }
    // The development login signs anyone in: only beside the example application.
    let dev_login = config.example;
    if let Some(user) = &config.auth.dev_user {
        // Every request without a token acts as this user: never beyond this machine.
        anyhow::ensure!(
            config.listen.ip().is_loopback(),
            "dev-user answers every request without a token as `{user}`: it is only allowed on a loopback address, not {}",
            config.listen
        );
        tracing::warn!(user = %user, "DEVELOPMENT MODE: every request without a token acts as this user (loopback only)");
    }
    let shutdown = CancellationToken::new();
    let outcomes = bridge_outcomes(&node);
    let view_position = watch_position(&node, "view-position", |n| n.view_signal());
    let store_position = watch_position(&node, "store-position", |n| n.gateway().commit_signal());
    let state = AppState {
        node: node.clone(),
        auth,
        shutdown: shutdown.clone(),
        outcomes,
        keep_alive: Duration::from_secs(config.keep_alive_secs.max(1)),
        operator_groups: std::sync::Arc::new(config.auth.operator_groups.clone()),
        max_stream_age: Duration::from_secs(config.max_stream_secs.max(1)),
        stream_limits: crate::stream_limits::StreamLimits::new(
            config.max_streams_per_user,
            config.max_streams,
        ),
        dev_login,
        view_position,
        store_position,
        #[cfg(feature = "kafka")]
        publisher,
        ingestion: config.role != Role::Tasklist,
    };
    let app = router(state, &config);
    let listener = TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, data_dir = %config.data_dir.display(), example = config.example, role = ?config.role, "taskpool server listening");
    let token = shutdown.clone();
    let task = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { token.cancelled().await })
        .await
    });
    Ok(RunningServer {
        addr,
        node,
        shutdown,
        task,
    })
}

/// The whole application: API, UI and middleware.
pub fn router(state: AppState, config: &ServerConfig) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let ui: Router = match &config.ui_dir {
        Some(dir) if dir.join("index.html").exists() => Router::new().fallback_service(
            ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html"))),
        ),
        _ => Router::new().fallback(|| async {
            Html("<!doctype html><title>Taskpool</title><h1>Taskpool server</h1><p>The web inbox is not built here: run <code>./run</code> (it builds <code>ui/</code>) or start with <code>--ui-dir</code>. The API is at <a href=\"/api/v1/openapi.json\">/api/v1/openapi.json</a>.</p>").into_response()
        }),
    };
    let max_body = config.max_body_bytes;
    let policy = crate::origin::OriginPolicy::new(
        config.listen,
        &config.allowed_hosts,
        &config.allowed_origins,
    );
    api::routes(state, config.max_body_bytes)
        .merge(ui)
        .layer(axum::middleware::from_fn(move |req, next| refuse_oversized(max_body, req, next)))
        .layer(axum::middleware::from_fn(move |req, next| crate::origin::guard(policy.clone(), req, next)))
        .layer(axum::middleware::from_fn(crate::metrics::track))
        .layer(CatchPanicLayer::custom(|_| {
            Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the request failed unexpectedly").into_response()
        }))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                let id = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", method = %req.method(), uri = %req.uri().path(), request_id = %id)
            }),
        )
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

/// A body announced larger than the limit is answered 413 before any handler runs. The
/// body is read and dropped first (up to eight times the limit, for ten seconds):
/// answering while the client is still sending makes the kernel reset the connection,
/// and the client would lose the answer. Beyond that the connection is simply closed.
async fn refuse_oversized(
    max: usize,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use futures_util::StreamExt;
    let announced = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    match announced {
        Some(len) if len > max => {
            if len <= max.saturating_mul(8) {
                let mut body = req.into_body().into_data_stream();
                let drain = async { while let Some(Ok(_)) = body.next().await {} };
                let _ = tokio::time::timeout(Duration::from_secs(10), drain).await;
            }
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                format!("the request body is {len} bytes, larger than the limit of {max} bytes"),
            )
            .into_response()
        }
        _ => next.run(req).await,
    }
}

/// One thread follows a position signal (condition variable) and publishes it on a watch
/// channel, so any number of async waiters share it.
fn watch_position(
    node: &Arc<TaskpoolNode>,
    name: &str,
    signal: impl Fn(&TaskpoolNode) -> taskpool_core::position_signal::PositionSignal,
) -> watch::Receiver<i64> {
    let signal = signal(node);
    let (tx, rx) = watch::channel(signal.head());
    let stop = node.stop_flag();
    let spawned = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let mut waiter = signal.waiter();
            let mut seen = signal.head();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // Sleeps until the position moves or the node stops (it wakes the signal).
                let head = waiter.wait_beyond(seen, None);
                if head > seen {
                    seen = head;
                    if tx.send(head).is_err() {
                        break;
                    }
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "could not start a position watcher");
    }
    rx
}

/// One thread moves outcomes from the log's feed to a broadcast channel the streams
/// subscribe to.
fn bridge_outcomes(
    node: &Arc<TaskpoolNode>,
) -> broadcast::Sender<taskpool_collector::outcome_log::OutcomeRecord> {
    let (tx, _) = broadcast::channel(4096);
    let log = node.outcome_log().clone();
    let sender = tx.clone();
    let stop = node.stop_flag();
    let spawned = std::thread::Builder::new()
        .name("outcome-bridge".into())
        .spawn(move || {
            use std::sync::atomic::Ordering;
            // The newest outcome forwarded: from the newest one logged now.
            let newest = taskpool_collector::outcome_log::OutcomeQuery {
                limit: 1,
                ..Default::default()
            };
            let mut last: Option<i64> = log
                .list(&newest)
                .ok()
                .and_then(|r| r.first().map(|r| r.id))
                .or(Some(0));
            loop {
                // Subscribed before catching up: nothing falls between the two.
                let rx = log.subscribe(4096);
                // A burst larger than the feed's buffer drops this subscriber: what it
                // missed is read from the log, and the streams go on.
                if let Some(after) = last {
                    let q = taskpool_collector::outcome_log::OutcomeQuery {
                        after_id: Some(after),
                        limit: 100_000,
                        ..Default::default()
                    };
                    for record in log.list(&q).unwrap_or_default() {
                        last = Some(record.id);
                        let _ = sender.send(record);
                    }
                }
                // Sleeps until an outcome arrives; the node's stop ends the feed.
                while let Ok(record) = rx.recv() {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    if last.is_some_and(|l| record.id <= l) {
                        continue;
                    }
                    last = Some(record.id);
                    let _ = sender.send(record);
                }
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                tracing::debug!("the outcome bridge fell behind a burst; catching up from the log");
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "could not start the outcome bridge");
    }
    tx
}
