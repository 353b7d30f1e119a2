//! HTTP handlers for the signed-in user: who am I, logout, and sessions.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use harmont_wire::api::{
    ApiTokenCreateRequest, ApiTokenCreateResponse, ApiTokenListResponse, CurrentUserResponse, RevokedSessions,
    SessionList, UserUpdateRequest,
};
use harmont_wire::{ErrorBody, ErrorCode};
use std::sync::Arc;
use uuid::Uuid;

use super::extract::{Bearer, JsonBody, SessionBearer};
use super::no_store;
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
    Json(user_response(auth.user))
}

fn user_response(user: harmont_store::User) -> CurrentUserResponse {
    CurrentUserResponse { uuid: user.id, email: user.email, name: user.name, personal_org_slug: user.personal_org_slug }
}

/// Sets the current user's display name.
#[utoipa::path(
    patch, path = "/api/v0/user", operation_id = "updateCurrentUser", tag = "user",
    request_body(content = UserUpdateRequest, description = "Profile update"),
    responses(
        (status = 200, description = "The updated user", body = CurrentUserResponse),
        (status = 400, description = "Bad body", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "The bearer is an API key (`api_key_forbidden`)", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
        (status = 422, description = "The name is empty after trimming, over 200 characters, or holds control characters (`validation_failed`)", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn update_current_user(
    State(service): State<Arc<Service>>,
    SessionBearer(auth): SessionBearer,
    JsonBody(body): JsonBody<UserUpdateRequest>,
) -> Result<Json<CurrentUserResponse>, ApiError> {
    Ok(Json(user_response(service.users().update_user_name(&auth, &body.name).await?)))
}

/// Deletes the current user's account: sessions, API keys, passkeys, pending
/// logins and links go with it, and every token is refused at once. Needs a
/// browser session signed in within the last 10 minutes.
#[utoipa::path(
    delete, path = "/api/v0/user", operation_id = "deleteCurrentUser", tag = "user",
    responses(
        (status = 204, description = "Account deleted"),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "The bearer is an API key (`api_key_forbidden`), or not a browser session signed in within the last 10 minutes (`reauthentication_required`)", body = ErrorBody),
        (status = 409, description = "Account has billing history (never answered by this server)", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn delete_current_user(
    State(service): State<Arc<Service>>,
    SessionBearer(auth): SessionBearer,
) -> Result<StatusCode, ApiError> {
    service.users().delete_user(&auth).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's live personal API keys, newest first. Never a secret.
#[utoipa::path(
    get, path = "/api/v0/user/api-tokens", operation_id = "listApiTokens", tag = "user",
    responses(
        (status = 200, description = "The user's API keys", body = ApiTokenListResponse),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn list_api_tokens(
    State(service): State<Arc<Service>>,
    Bearer(auth): Bearer,
) -> Result<Json<ApiTokenListResponse>, ApiError> {
    Ok(Json(ApiTokenListResponse { api_tokens: service.api_keys().list_api_keys(&auth).await? }))
}

/// Creates a personal API key (`hmk_…`). Returns the raw secret in the
/// response body. It is shown only once and cannot be retrieved later.
#[utoipa::path(
    post, path = "/api/v0/user/api-tokens", operation_id = "createApiToken", tag = "user",
    request_body(content = ApiTokenCreateRequest, description = "Create request"),
    responses(
        (status = 201, description = "The created key and its one-time secret", body = ApiTokenCreateResponse),
        (status = 400, description = "Bad body", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "The bearer is an API key (`api_key_forbidden`): keys cannot mint keys", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
        (status = 422, description = "The description is empty, over 200 characters or holds control characters, or `expires_at` is not a future RFC 3339 date-time (`validation_failed`)", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn create_api_token(
    State(service): State<Arc<Service>>,
    SessionBearer(auth): SessionBearer,
    JsonBody(body): JsonBody<ApiTokenCreateRequest>,
) -> Result<axum::response::Response, ApiError> {
    let created = service.api_keys().create_api_key(&auth, body).await?;
    let mut response = no_store(Json::<ApiTokenCreateResponse>(created));
    *response.status_mut() = StatusCode::CREATED;
    Ok(response)
}

/// Revokes one of the caller's API keys, on every replica at once.
#[utoipa::path(
    delete, path = "/api/v0/user/api-tokens/{id}", operation_id = "revokeApiToken", tag = "user",
    params(("id" = String, Path, description = "The API key id.")),
    responses(
        (status = 204, description = "Key revoked"),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 404, description = "You have no live API key with this id (`api_token_not_found`)", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn revoke_api_token(
    State(service): State<Arc<Service>>,
    Bearer(auth): Bearer,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::new(ErrorCode::ApiTokenNotFound))?;
    service.api_keys().revoke_api_key(&auth, id).await?;
    Ok(StatusCode::NO_CONTENT)
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
    service.sessions().logout(&auth).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's live sessions, newest first. No secrets.
#[utoipa::path(
    get, path = "/api/v0/auth/sessions", operation_id = "listSessions", tag = "auth",
    responses(
        (status = 200, description = "The sessions", body = SessionList),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "The bearer is an API key (`api_key_forbidden`)", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn list_sessions(
    State(service): State<Arc<Service>>,
    SessionBearer(auth): SessionBearer,
) -> Result<Json<SessionList>, ApiError> {
    Ok(Json(service.sessions().list_sessions(&auth).await?))
}

/// Revokes one of the caller's sessions.
#[utoipa::path(
    delete, path = "/api/v0/auth/sessions/{id}", operation_id = "revokeSession", tag = "auth",
    params(("id" = Uuid, Path, description = "The session's id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "The bearer is an API key (`api_key_forbidden`)", body = ErrorBody),
        (status = 404, description = "You have no live session with this id (`session_not_found`)", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn revoke_session(
    State(service): State<Arc<Service>>,
    SessionBearer(auth): SessionBearer,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::new(ErrorCode::SessionNotFound))?;
    service.sessions().revoke_session(&auth, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes every session of the caller except the one making this request.
#[utoipa::path(
    post, path = "/api/v0/auth/sessions/revoke-others", operation_id = "revokeOtherSessions", tag = "auth",
    responses(
        (status = 200, description = "How many were revoked", body = RevokedSessions),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "The bearer is an API key (`api_key_forbidden`)", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn revoke_other_sessions(
    State(service): State<Arc<Service>>,
    SessionBearer(auth): SessionBearer,
) -> Result<Json<RevokedSessions>, ApiError> {
    Ok(Json(RevokedSessions { revoked: service.sessions().revoke_other_sessions(&auth).await? }))
}
