//! Prometheus metrics at `/metrics`: requests and their latencies by route, commands
//! accepted / rejected by code (counted where they are handled), projector lag and live
//! subscribers (read when scraped).

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use taskpool_node::node::TaskpoolNode;

/// The process-wide recorder (installed once; every server in the process shares it).
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&[
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ])
            .map(|b| b.build_recorder())
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics may be empty");
        }
        handle
    })
}

/// Middleware: counts each request and observes its latency, by matched route.
pub async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    // Labels stay few whatever clients send: junk methods count as one "other".
    let method = match req.method().as_str() {
        m @ ("GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS") => m,
        _ => "other",
    }
    .to_string();
    let started = Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("taskpool_http_requests_total", "route" => route.clone(), "method" => method.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("taskpool_http_request_duration_seconds", "route" => route, "method" => method)
        .record(started.elapsed().as_secs_f64());
    response
}

/// The metrics text, with the node's gauges read now.
/// The Kafka publisher's gauges (a process-application node).
#[cfg(feature = "kafka")]
pub fn record_publisher(s: &taskpool_kafka::PublisherStatus) {
    metrics::gauge!("taskpool_publisher_checkpoint").set(s.checkpoint as f64);
    metrics::gauge!("taskpool_publisher_lag_events").set(s.lag as f64);
    metrics::gauge!("taskpool_publisher_errors").set(s.errors as f64);
    metrics::gauge!("taskpool_publisher_failing").set(if s.failing { 1.0 } else { 0.0 });
    metrics::gauge!("taskpool_publisher_parked_events").set(s.parked as f64);
}

pub fn render(node: &TaskpoolNode) -> String {
    let head = node.head_position();
    let view = node.view_position();
    metrics::gauge!("taskpool_event_store_position").set(head as f64);
    metrics::gauge!("taskpool_view_position").set(view as f64);
    metrics::gauge!("taskpool_projector_lag_events").set((head - view).max(0) as f64);
    let search = node.search_position();
    metrics::gauge!("taskpool_search_position").set(search as f64);
    metrics::gauge!("taskpool_search_lag_events").set((view - search).max(0) as f64);
    metrics::gauge!("taskpool_live_subscribers").set(node.live_subscribers() as f64);
    metrics::gauge!("taskpool_parked_events")
        .set(node.parked_events().map(|p| p.len()).unwrap_or(0) as f64);
    handle().render()
}
