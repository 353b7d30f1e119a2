//! Liveness and readiness.

use axum::extract::State;
use axum::Json;
use harmont_wire::ErrorBody;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

use crate::error::ApiError;
use crate::service::Service;

/// Answers while the process runs; touches nothing else.
#[utoipa::path(get, path = "/api/v0/ping", operation_id = "ping", tag = "health",
    responses((status = 200, description = "Alive")))]
pub async fn ping() -> Json<Value> {
    Json(json!({"ok": true}))
}

/// Answers 200 only while the store answers, and 503 within
/// [`HEALTH_BOUND`] when it does not (so a load balancer's check never hangs).
/// The store logs when it is lost and when it is back; nothing is logged here
/// per check.
#[utoipa::path(get, path = "/healthz", operation_id = "health", tag = "health",
    responses(
        (status = 200, description = "The store answers"),
        (status = 503, description = "The store does not answer (`service_unavailable`)", body = ErrorBody),
    ))]
pub async fn healthz(State(service): State<Arc<Service>>) -> Result<Json<Value>, ApiError> {
    match tokio::time::timeout(HEALTH_BOUND, service.store_ready()).await {
        Ok(Ok(())) => Ok(Json(json!({"ok": true}))),
        Ok(Err(err)) => {
            tracing::debug!(error = %err, "health check failed");
            Err(ApiError::unavailable())
        }
        Err(_) => Err(ApiError::unavailable()),
    }
}

/// The longest `/healthz` takes.
pub const HEALTH_BOUND: Duration = Duration::from_millis(900);
