//! The signed-in user's linked sign-in identities (single sign-on): list,
//! and unlink unless it is the last way to sign in.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use harmont_wire::web_sign_in::{IdentityInfo, IdentityList};
use harmont_wire::{ErrorBody, ErrorCode};
use std::sync::Arc;
use uuid::Uuid;

use super::extract::{Bearer, SessionBearer};
use crate::error::ApiError;
use crate::service::Service;
use crate::sessions::rfc3339;
use crate::sso::IdentitySummary;

impl From<IdentitySummary> for IdentityInfo {
    fn from(i: IdentitySummary) -> Self {
        Self {
            id: i.id,
            provider: i.provider,
            provider_name: i.provider_name,
            email: i.email,
            created_at: rfc3339(i.created_at),
            last_used_at: i.last_used_at.map(rfc3339),
        }
    }
}

/// The signed-in user's linked sign-in identities, oldest first.
#[utoipa::path(
    get, path = "/api/v0/auth/identities", operation_id = "listIdentities", tag = "web",
    responses(
        (status = 200, description = "The identities", body = IdentityList),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn list(State(service): State<Arc<Service>>, Bearer(auth): Bearer) -> Result<Json<IdentityList>, ApiError> {
    let identities = service.sso().list_identities(&auth).await?.into_iter().map(IdentityInfo::from).collect();
    Ok(Json(IdentityList { identities }))
}

/// Unlinks one of the signed-in user's identities. Needs a browser session
/// signed in within the last 10 minutes; refused for the last way to sign in.
#[utoipa::path(
    delete, path = "/api/v0/auth/identities/{id}", operation_id = "unlinkIdentity", tag = "web",
    params(("id" = Uuid, Path, description = "The identity's id")),
    responses(
        (status = 204, description = "Unlinked"),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "Not a browser session signed in within the last 10 minutes (`reauthentication_required`), or an API key (`api_key_forbidden`)", body = ErrorBody),
        (status = 404, description = "You have no identity with this id (`identity_not_found`)", body = ErrorBody),
        (status = 409, description = "It is your last way to sign in (`last_sign_in_method`)", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn unlink(
    State(service): State<Arc<Service>>,
    SessionBearer(auth): SessionBearer,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::new(ErrorCode::IdentityNotFound))?;
    service.sso().unlink_identity(&auth, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
