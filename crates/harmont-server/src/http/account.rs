//! HTTP handlers for the signed-in user: who am I, logout, and sessions.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use harmont_wire::api::{CurrentUserResponse, RevokedSessions, SessionList};
use harmont_wire::{ErrorBody, ErrorCode};
use std::sync::Arc;
use uuid::Uuid;

use super::extract::Bearer;
use crate::error::ApiError;
use crate::service::Service;

/// The user behind the bearer token.
#[utoipa::path(
    get, path = "/api/v0/user", operation_id = "getCurrentUser", tag = "user",
    responses(
        (status = 200, description = "The current user", body = CurrentUserResponse),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn current_user(Bearer(auth): Bearer) -> Json<CurrentUserResponse> {
    let user = auth.user;
    Json(CurrentUserResponse {
        uuid: user.id,
        email: user.email,
        name: user.name,
        personal_org_slug: user.personal_org_slug,
    })
}

/// Revokes the bearer token of this request.
#[utoipa::path(
    post, path = "/api/v0/auth/logout", operation_id = "logout", tag = "auth",
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn logout(State(service): State<Arc<Service>>, Bearer(auth): Bearer) -> Result<StatusCode, ApiError> {
    service.logout(&auth).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's live sessions, newest first. No secrets.
#[utoipa::path(
    get, path = "/api/v0/auth/sessions", operation_id = "listSessions", tag = "auth",
    responses(
        (status = 200, description = "The sessions", body = SessionList),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn list_sessions(
    State(service): State<Arc<Service>>,
    Bearer(auth): Bearer,
) -> Result<Json<SessionList>, ApiError> {
    Ok(Json(service.list_sessions(&auth).await?))
}

/// Revokes one of the caller's sessions.
#[utoipa::path(
    delete, path = "/api/v0/auth/sessions/{id}", operation_id = "revokeSession", tag = "auth",
    params(("id" = Uuid, Path, description = "The session's id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 404, description = "You have no live session with this id (`session_not_found`)", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn revoke_session(
    State(service): State<Arc<Service>>,
    Bearer(auth): Bearer,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::new(ErrorCode::SessionNotFound))?;
    service.revoke_session(&auth, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes every session of the caller except the one making this request.
#[utoipa::path(
    post, path = "/api/v0/auth/sessions/revoke-others", operation_id = "revokeOtherSessions", tag = "auth",
    responses(
        (status = 200, description = "How many were revoked", body = RevokedSessions),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn revoke_other_sessions(
    State(service): State<Arc<Service>>,
    Bearer(auth): Bearer,
) -> Result<Json<RevokedSessions>, ApiError> {
    Ok(Json(RevokedSessions { revoked: service.revoke_other_sessions(&auth).await? }))
}
