//! `POST /api/v0/auth/introspect`: token introspection (RFC 7662) for
//! resource servers, authenticated with HTTP Basic as a registered client.

use axum::extract::State;
use axum::response::Response;
use axum::Json;
use harmont_wire::api::{IntrospectionRequest, IntrospectionResponse};
use harmont_wire::{ErrorBody, ErrorCode};
use std::sync::Arc;

use super::extract::{FormBody, ResourceServer};
use super::no_store;
use crate::error::ApiError;
use crate::service::Service;

/// Tells a resource server whether a token is live, and whose it is.
#[utoipa::path(
    post, path = "/api/v0/auth/introspect", operation_id = "introspectToken", tag = "auth",
    request_body(content = IntrospectionRequest, content_type = "application/x-www-form-urlencoded",
        description = "The token (`token_type_hint` is accepted and ignored)"),
    responses(
        (status = 200, description = "Whose the token is while it is live; exactly `{\"active\": false}` for anything else (unknown, expired, revoked, malformed)", body = IntrospectionResponse),
        (status = 400, description = "No `token` field, or more than one (`invalid_request`)", body = ErrorBody),
        (status = 401, description = "Missing, unknown or wrong client credentials (`invalid_client`); `WWW-Authenticate: Basic realm=\"harmont\"`", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Body is not application/x-www-form-urlencoded", body = ErrorBody),
        (status = 429, description = "Too many failed client authentications from this address (`rate_limited`)", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
        (status = 503, description = "The store does not answer (`service_unavailable`)", body = ErrorBody),
    ),
    security(("client_basic" = [])),
)]
pub async fn introspect(
    State(service): State<Arc<Service>>,
    ResourceServer(_client): ResourceServer,
    FormBody(fields): FormBody,
) -> Result<Response, ApiError> {
    // RFC 6749 (3.2): a parameter may not be sent twice; unknown ones are ignored.
    let mut tokens = fields.iter().filter(|(name, _)| name == "token").map(|(_, value)| value);
    let token = match (tokens.next(), tokens.next()) {
        (Some(token), None) => token,
        (None, _) => return Err(invalid("field \"token\" is required")),
        (Some(_), Some(_)) => return Err(invalid("field \"token\" is given more than once")),
    };
    let answer: IntrospectionResponse = service.introspection().introspect(service.sessions(), token).await?;
    Ok(no_store(Json(answer)))
}

fn invalid(message: &'static str) -> ApiError {
    ApiError::new(ErrorCode::InvalidRequest).with_message(message)
}
