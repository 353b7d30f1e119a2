//! `GET /metrics` in the Prometheus text format, served on its own address
//! (`--metrics-listen`), never beside the API: what it tells (route traffic,
//! sign-in failures, pool use) is for the operator's scraper only.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;

use crate::metrics::{observe, Snapshot};
use crate::service::Service;

/// The metrics address's whole application: `GET /metrics`, and 404 for anything else.
pub fn router(service: Arc<Service>, handle: PrometheusHandle) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found: the metrics are at /metrics\n") })
        .with_state((service, handle))
}

async fn scrape(State((service, handle)): State<(Arc<Service>, PrometheusHandle)>) -> Response {
    observe(Snapshot {
        long_polls_held: service.cli_login().held_long_polls(),
        pool: service.pool_stats(),
        listener_up: service.listener_up(),
    });
    handle.run_upkeep();
    let mut response = handle.render().into_response();
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    response
}

/// Serves the metrics on `listener` until the service shuts down, draining
/// the recorder's histogram buffers every few seconds between scrapes.
pub async fn serve(listener: tokio::net::TcpListener, service: Arc<Service>, handle: PrometheusHandle) {
    let upkeep = handle.clone();
    let shutdown = service.shutdown().clone();
    let drain = tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
        loop {
            tick.tick().await;
            upkeep.run_upkeep();
        }
    });
    let app = router(service, handle);
    if let Err(err) = axum::serve(listener, app).with_graceful_shutdown(shutdown.cancelled_owned()).await {
        tracing::warn!(error = %err, "the metrics listener stopped");
    }
    drain.abort();
}
