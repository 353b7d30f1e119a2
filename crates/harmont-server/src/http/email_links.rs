//! `POST /api/v0/auth/links/email`: ask for a sign-in link by mail. The same
//! `202` for every address; see `web/email_links.rs` for why and the limits.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use harmont_wire::web_sign_in::{EmailLinkAccepted, EmailLinkRequest};
use harmont_wire::ErrorBody;
use std::sync::Arc;

use super::extract::{Client, JsonBody};
use crate::error::ApiError;
use crate::service::Service;

pub const ACCEPTED_MESSAGE: &str =
    "If this address belongs to an account, a sign-in link is on its way. It works once, within 15 minutes.";

/// Mails a one-time sign-in link (valid 15 minutes) to the address if it
/// belongs to a user. The answer is the same for every address. Only where
/// the server has SMTP configured.
#[utoipa::path(
    post, path = "/api/v0/auth/links/email", operation_id = "emailLoginLink", tag = "web",
    request_body(content = EmailLinkRequest, description = "Where to send the link"),
    responses(
        (status = 202, description = "Taken; a link is mailed if the address is a user's (at most 5 an hour)", body = EmailLinkAccepted),
        (status = 400, description = "Bad body", body = ErrorBody),
        (status = 404, description = "This server sends no mail (`not_found`)", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Not an email address (`validation_failed`)", body = ErrorBody),
        (status = 429, description = "More than 20 requests this hour from your address (`rate_limited`)", body = ErrorBody),
    ),
)]
pub async fn email_link(
    State(service): State<Arc<Service>>,
    Client(client): Client,
    JsonBody(body): JsonBody<EmailLinkRequest>,
) -> Result<(StatusCode, Json<EmailLinkAccepted>), ApiError> {
    service.web().request_email_link(&body.email, &client)?;
    Ok((StatusCode::ACCEPTED, Json(EmailLinkAccepted { message: ACCEPTED_MESSAGE.to_owned() })))
}
