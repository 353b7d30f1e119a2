//! Liveness and readiness.

use axum::extract::State;
use axum::Json;
use harmont_wire::{ErrorBody, ErrorCode};
use serde_json::{json, Value};
use std::sync::Arc;

use crate::error::ApiError;
use crate::service::Service;

/// Answers while the process runs; touches nothing else.
#[utoipa::path(get, path = "/api/v0/ping", operation_id = "ping", tag = "health",
    responses((status = 200, description = "Alive")))]
pub async fn ping() -> Json<Value> {
    Json(json!({"ok": true}))
}

/// Answers 200 only while the store answers.
#[utoipa::path(get, path = "/healthz", operation_id = "health", tag = "health",
    responses(
        (status = 200, description = "The store answers"),
        (status = 503, description = "The store does not answer (`service_unavailable`)", body = ErrorBody),
    ))]
pub async fn healthz(State(service): State<Arc<Service>>) -> Result<Json<Value>, ApiError> {
    match service.store.ping().await {
        Ok(()) => Ok(Json(json!({"ok": true}))),
        Err(err) => {
            tracing::warn!(error = %err, "health check failed");
            Err(ApiError::new(ErrorCode::Unavailable))
        }
    }
}
