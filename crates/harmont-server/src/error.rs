//! One error type for every failure the server returns. Handlers and the
//! domain return [`ApiError`]; its response carries the code, and the
//! `http::envelope` middleware renders the documented envelope with the
//! request id and doc URL, so no handler builds error JSON itself.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use harmont_store::StoreError;
use harmont_wire::ErrorCode;
use std::borrow::Cow;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: Cow<'static, str>,
    /// For 401s: the RFC 6750 `error` attribute of `WWW-Authenticate`.
    pub bearer_error: Option<&'static str>,
    /// For 429s: seconds until a retry can succeed.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(code: ErrorCode) -> Self {
        Self { code, message: Cow::Borrowed(code.message()), bearer_error: None, retry_after: None }
    }

    pub fn with_message(mut self, message: impl Into<Cow<'static, str>>) -> Self {
        self.message = message.into();
        self
    }

    /// A 500 whose cause goes to the log (inside the request's span, so it
    /// carries the request id) and never to the client.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(cause = %cause, "internal error");
        Self::new(ErrorCode::Internal)
    }

    /// No usable bearer token was sent.
    pub fn unauthorized() -> Self {
        Self::new(ErrorCode::Unauthorized)
    }

    /// A bearer token was sent but is malformed, unknown, expired or revoked.
    pub fn invalid_token() -> Self {
        Self { bearer_error: Some("invalid_token"), ..Self::new(ErrorCode::Unauthorized) }
    }

    pub fn rate_limited(retry_after: u64) -> Self {
        Self { retry_after: Some(retry_after), ..Self::new(ErrorCode::RateLimited) }
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl From<StoreError> for ApiError {
    /// An unavailable store (down, unreachable, locked, too slow) is a 503
    /// to retry in a second; the store logs when it is lost and when it is
    /// back, so nothing is logged here per request. Anything else is a 500.
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(_) => {
                Self { retry_after: Some(1), ..Self::new(harmont_wire::ErrorCode::Unavailable) }
            }
            err => Self::internal(err),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = self.status().into_response();
        response.extensions_mut().insert(self);
        response
    }
}
