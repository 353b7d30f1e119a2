//! JSON endpoints of web sign-in: trade a login link for a session, and the
//! passkey ceremonies. The sign-in ones are unauthenticated on purpose, like
//! the CLI ones; the rest take `Authorization: Bearer`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use harmont_wire::web_sign_in::{
    CeremonyStart, LinkRedeemRequest, PasskeyInfo, PasskeyList, PasskeyRegistrationFinish, PasskeySignInFinish,
    SignInResponse,
};
use harmont_wire::{ErrorBody, ErrorCode};
use std::sync::Arc;
use uuid::Uuid;

use super::extract::{Bearer, Client, JsonBody, SessionBearer};
use super::token_response;
use crate::error::ApiError;
use crate::service::Service;
use crate::sessions::rfc3339;
use crate::web::passkeys::{PasskeySummary, Started};

impl From<PasskeySummary> for PasskeyInfo {
    fn from(p: PasskeySummary) -> Self {
        Self { id: p.id, name: p.name, created_at: rfc3339(p.created_at), last_used_at: p.last_used_at.map(rfc3339) }
    }
}

impl From<Started> for CeremonyStart {
    fn from(s: Started) -> Self {
        Self { ceremony: s.ceremony, options: s.options }
    }
}

/// Trades a one-time login link for a session token. Works once, within its
/// validity (24 hours for the operator's links, 15 minutes for emailed ones).
#[utoipa::path(
    post, path = "/api/v0/auth/links/redeem", operation_id = "redeemLoginLink", tag = "web",
    request_body(content = LinkRedeemRequest, description = "The link's secret"),
    responses(
        (status = 200, description = "Signed in", body = SignInResponse),
        (status = 400, description = "Bad body, or the link is invalid, expired or used (`link_invalid`)", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
    ),
)]
pub async fn redeem_link(
    State(service): State<Arc<Service>>,
    Client(client): Client,
    JsonBody(body): JsonBody<LinkRedeemRequest>,
) -> Result<Response, ApiError> {
    let token = service.web().redeem_login_link(&body.link, &client).await?;
    Ok(token_response(token))
}

/// Starts a passkey sign-in (discoverable credentials: no email needed).
#[utoipa::path(
    post, path = "/api/v0/auth/passkeys/sign-in/start", operation_id = "startPasskeySignIn", tag = "web",
    responses(
        (status = 200, description = "The options for navigator.credentials.get()", body = CeremonyStart),
        (status = 429, description = "Too many sign-ins started from this address (`rate_limited`)", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
    ),
)]
pub async fn sign_in_start(
    State(service): State<Arc<Service>>,
    Client(client): Client,
) -> Result<Json<CeremonyStart>, ApiError> {
    Ok(Json(service.web().start_passkey_sign_in(&client).await?.into()))
}

/// Verifies a passkey sign-in and returns a fresh session token.
#[utoipa::path(
    post, path = "/api/v0/auth/passkeys/sign-in/finish", operation_id = "finishPasskeySignIn", tag = "web",
    request_body(content = PasskeySignInFinish, description = "The ceremony and the browser's answer"),
    responses(
        (status = 200, description = "Signed in", body = SignInResponse),
        (status = 400, description = "Bad body, or the passkey did not verify (`passkey_invalid`)", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
    ),
)]
pub async fn sign_in_finish(
    State(service): State<Arc<Service>>,
    Client(client): Client,
    JsonBody(body): JsonBody<PasskeySignInFinish>,
) -> Result<Response, ApiError> {
    let token = service.web().finish_passkey_sign_in(&body.ceremony, body.credential, &client).await?;
    Ok(token_response(token))
}

/// Starts registering a passkey for the signed-in user. Needs a browser
/// session signed in (passkey or link) within the last 10 minutes.
#[utoipa::path(
    post, path = "/api/v0/auth/passkeys/register/start", operation_id = "startPasskeyRegistration", tag = "web",
    responses(
        (status = 200, description = "The options for navigator.credentials.create()", body = CeremonyStart),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "Not a browser session signed in within the last 10 minutes, such as a CLI session (`reauthentication_required`), or an API key (`api_key_forbidden`)", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn register_start(
    State(service): State<Arc<Service>>,
    SessionBearer(auth): SessionBearer,
) -> Result<Json<CeremonyStart>, ApiError> {
    service.sessions().limit_starts(&auth)?;
    Ok(Json(service.web().start_passkey_registration(&auth).await?.into()))
}

/// Verifies a new passkey and stores it for the signed-in user. Needs a
/// browser session signed in (passkey or link) within the last 10 minutes.
#[utoipa::path(
    post, path = "/api/v0/auth/passkeys/register/finish", operation_id = "finishPasskeyRegistration", tag = "web",
    request_body(content = PasskeyRegistrationFinish, description = "The ceremony and the browser's answer"),
    responses(
        (status = 201, description = "Registered", body = PasskeyInfo),
        (status = 400, description = "Bad body, or the passkey did not verify (`passkey_invalid`)", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "Not a browser session signed in within the last 10 minutes, such as a CLI session (`reauthentication_required`), or an API key (`api_key_forbidden`); the ceremony is left unused", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "The name is too long or holds control characters (`validation_failed`); the ceremony is left unused", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn register_finish(
    State(service): State<Arc<Service>>,
    SessionBearer(auth): SessionBearer,
    JsonBody(body): JsonBody<PasskeyRegistrationFinish>,
) -> Result<(StatusCode, Json<PasskeyInfo>), ApiError> {
    let passkey = service.web().finish_passkey_registration(&auth, &body.ceremony, body.credential, body.name).await?;
    Ok((StatusCode::CREATED, Json(passkey.into())))
}

/// The signed-in user's passkeys, oldest first. No key material.
#[utoipa::path(
    get, path = "/api/v0/auth/passkeys", operation_id = "listPasskeys", tag = "web",
    responses(
        (status = 200, description = "The passkeys", body = PasskeyList),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn list(State(service): State<Arc<Service>>, Bearer(auth): Bearer) -> Result<Json<PasskeyList>, ApiError> {
    let passkeys = service.web().list_passkeys(&auth).await?.into_iter().map(PasskeyInfo::from).collect();
    Ok(Json(PasskeyList { passkeys }))
}

/// Removes one of the signed-in user's passkeys, and ends the sessions that
/// were signed in with it. Needs a browser session signed in (passkey or
/// link) within the last 10 minutes.
#[utoipa::path(
    delete, path = "/api/v0/auth/passkeys/{id}", operation_id = "deletePasskey", tag = "web",
    params(("id" = Uuid, Path, description = "The passkey's id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "Not a browser session signed in within the last 10 minutes, such as a CLI session (`reauthentication_required`), or an API key (`api_key_forbidden`)", body = ErrorBody),
        (status = 404, description = "You have no passkey with this id (`passkey_not_found`)", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn delete(
    State(service): State<Arc<Service>>,
    SessionBearer(auth): SessionBearer,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::new(ErrorCode::PasskeyNotFound))?;
    service.web().delete_passkey(&auth, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
