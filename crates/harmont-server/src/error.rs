//! One error type for every failure the server returns. Handlers and the
//! domain return [`ApiError`]; its response carries the code, and the
//! `http::middleware::request_context` layer renders the documented envelope
//! with the request id and doc URL, so no handler builds error JSON itself.
//!
//! A 500 carries its cause: the middleware logs it once, with the request id,
//! and never sends it to the client; the admin commands print it. `ApiError`
//! is a [`std::error::Error`] whose `source` is that cause.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use harmont_store::StoreError;
use harmont_wire::ErrorCode;
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// What went wrong behind an error (a 500's, mostly), with its own chain of sources. Shared, so
/// that the error stays `Clone` (a response extension must be).
pub type Cause = Arc<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: Cow<'static, str>,
    /// For 401s: the RFC 6750 `error` attribute of `WWW-Authenticate`.
    pub bearer_error: Option<&'static str>,
    /// For 429s: seconds until a retry can succeed.
    pub retry_after: Option<u64>,
    /// What went wrong (every 500 has one): for the log and the operator, never the client.
    cause: Option<Cause>,
    /// Whether the middleware logs the cause; not for an unavailable store,
    /// which logs once when it is lost and once when it is back.
    log_cause: bool,
}

impl ApiError {
    pub fn new(code: ErrorCode) -> Self {
        Self {
            code,
            message: Cow::Borrowed(code.message()),
            bearer_error: None,
            retry_after: None,
            cause: None,
            log_cause: true,
        }
    }

    pub fn with_message(mut self, message: impl Into<Cow<'static, str>>) -> Self {
        self.message = message.into();
        self
    }

    /// A 500 that carries its cause (an error, or a sentence saying what
    /// went wrong). The cause goes to the log, once, where the middleware
    /// renders the response, and never to the client.
    pub fn internal(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::new(ErrorCode::Internal).with_cause(cause)
    }

    /// Attaches a cause, for the log and the operator (a 503's, say): logged
    /// once by the middleware, never sent to the client.
    pub fn with_cause(mut self, cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        self.cause = Some(Arc::from(cause.into()));
        self
    }

    /// The cause, if one was attached (every 500 has one).
    pub fn cause(&self) -> Option<&Cause> {
        self.cause.as_ref()
    }

    /// The cause and its sources, `: `-separated, as the log shows them.
    pub fn cause_chain(&self) -> Option<String> {
        let cause = self.cause.as_deref()?;
        let mut chain = cause.to_string();
        let mut source = cause.source();
        while let Some(err) = source {
            chain.push_str(": ");
            chain.push_str(&err.to_string());
            source = err.source();
        }
        Some(chain)
    }

    /// No usable bearer token was sent.
    pub fn unauthorized() -> Self {
        Self::new(ErrorCode::Unauthorized)
    }

    /// A bearer token was sent but is malformed, unknown, expired or revoked.
    pub fn invalid_token() -> Self {
        Self { bearer_error: Some("invalid_token"), ..Self::new(ErrorCode::Unauthorized) }
    }

    /// The store is down, unreachable or too slow: retry in a second.
    pub fn unavailable() -> Self {
        Self { retry_after: Some(1), ..Self::new(ErrorCode::Unavailable) }
    }

    /// [`ApiError::unavailable`] that keeps its cause for the operator (the
    /// admin commands print it) without logging it per request: the store
    /// logs once when it is lost and once when it is back.
    pub fn unavailable_because(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self { log_cause: false, ..Self::unavailable().with_cause(cause) }
    }

    /// The cause, for the log, unless it is logged elsewhere.
    pub fn cause_to_log(&self) -> Option<String> {
        if self.log_cause {
            self.cause_chain()
        } else {
            None
        }
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
            err @ StoreError::Unavailable(_) => Self::unavailable_because(err),
            StoreError::UserDisabled => Self::new(ErrorCode::UserDisabled),
            err => Self::internal(err),
        }
    }
}

/// The client's message; the cause, if any, is the source.
impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause.as_deref().map(|cause| cause as &(dyn std::error::Error + 'static))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = self.status().into_response();
        response.extensions_mut().insert(self);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[derive(Debug, thiserror::Error)]
    #[error("storage unavailable")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn a_500_carries_its_cause_and_its_sources() {
        let err = ApiError::internal(Outer(std::io::Error::other("attempt to write a readonly database")));
        assert_eq!(err.code, ErrorCode::Internal);
        assert_eq!(err.to_string(), "Internal error.", "the client's text");
        assert_eq!(err.source().unwrap().to_string(), "storage unavailable");
        assert_eq!(err.cause_chain().unwrap(), "storage unavailable: attempt to write a readonly database");
        // A clone shares it.
        assert_eq!(err.clone().cause_chain(), err.cause_chain());

        let said = ApiError::internal("three paste codes in a row collided");
        assert_eq!(said.cause_chain().unwrap(), "three paste codes in a row collided");
    }

    #[test]
    fn any_error_may_carry_a_cause() {
        let err = ApiError::new(ErrorCode::Unavailable).with_cause("connection refused");
        assert_eq!(err.to_string(), "The service is unavailable.");
        assert_eq!(err.cause_chain().unwrap(), "connection refused");
    }

    #[test]
    fn other_errors_have_no_cause() {
        let err = ApiError::new(ErrorCode::NotFound);
        assert!(err.source().is_none() && err.cause().is_none() && err.cause_chain().is_none());
        assert_eq!(err.to_string(), "There is nothing at this path.");
    }
}
