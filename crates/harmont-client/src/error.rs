//! What can go wrong talking to the API: the server said no (an error
//! envelope), the server could not be reached, or it answered something this
//! client does not understand.

use std::fmt;
use std::time::Duration;

use harmont_wire::{ErrorBody, ErrorCode};

/// The error of every [`Client`](crate::Client) call.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The server answered with the documented error envelope.
    #[error("{}", ApiMessage(.body))]
    Api {
        /// The HTTP status.
        status: u16,
        /// The parsed envelope; match on `body.error.code`.
        body: ErrorBody,
        /// `Retry-After` in seconds, when the server sent one (with `429`).
        retry_after: Option<Duration>,
    },
    /// No HTTP answer at all: refused, unresolvable, timed out, TLS failure.
    #[error("could not reach the server at {url} ({})", root_cause(.source))]
    Transport {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// An answer that is neither the expected body nor the error envelope.
    #[error("unexpected response from {url} (HTTP {status}): {detail}")]
    Unexpected { url: String, status: u16, detail: String },
}

impl ApiError {
    /// The envelope's stable `code`, for API errors.
    pub fn code(&self) -> Option<&str> {
        match self {
            ApiError::Api { body, .. } => Some(&body.error.code),
            _ => None,
        }
    }

    /// Whether this is an API error with the given catalogue code.
    pub fn is(&self, code: ErrorCode) -> bool {
        self.code() == Some(code.as_str())
    }

    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Api { status, .. } | ApiError::Unexpected { status, .. } => Some(*status),
            ApiError::Transport { .. } => None,
        }
    }

    /// `401` with the error envelope: the token is missing, malformed,
    /// unknown, expired or revoked. A `401` page from something else (a
    /// proxy, another service at a wrong URL) says nothing about the token.
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, ApiError::Api { status: 401, .. })
    }

    /// The server could not be reached at all.
    pub fn is_transport(&self) -> bool {
        matches!(self, ApiError::Transport { .. })
    }

    /// How long the server asked us to wait (with `429 rate_limited`).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Worth trying again shortly: no answer at all (refused, reset, timed
    /// out: a server restarting, a network blip) or a gateway's `502`, `503`
    /// or `504`. Not a TLS or protocol mismatch, which a retry cannot fix.
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Transport { .. } => self.protocol_mismatch().is_none(),
            _ => matches!(self.status(), Some(502..=504)),
        }
    }

    /// A TLS/plain-HTTP mismatch: an `https://` URL for a server that speaks
    /// plain HTTP, or an `http://` URL for one that speaks TLS.
    pub fn protocol_mismatch(&self) -> Option<ProtocolMismatch> {
        let ApiError::Transport { url, source } = self else { return None };
        let chain = chain_text(source).to_ascii_lowercase();
        if url.starts_with("https://")
            && ["invalidcontenttype", "corrupt message", "wrong version number", "record overflow"]
                .iter()
                .any(|needle| chain.contains(needle))
        {
            return Some(ProtocolMismatch::TlsToPlain);
        }
        if url.starts_with("http://") && chain.contains("invalid http version") {
            return Some(ProtocolMismatch::PlainToTls);
        }
        None
    }

    /// What went wrong in a few words: `HTTP 503`, `connection refused`.
    pub fn reason(&self) -> String {
        match self {
            ApiError::Transport { source, .. } => {
                let cause = root_cause(source);
                let cause = match cause.find(" (os error") {
                    Some(cut) => &cause[..cut],
                    None => &cause,
                };
                let mut chars = cause.chars();
                match chars.next() {
                    Some(first) => first.to_lowercase().chain(chars).collect(),
                    None => "no answer".to_owned(),
                }
            }
            _ => format!("HTTP {}", self.status().unwrap_or_default()),
        }
    }

    /// The `request_id` of the envelope, to quote in a bug report.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            ApiError::Api { body, .. } => body.error.request_id.as_deref(),
            _ => None,
        }
    }
}

/// Which way round TLS and plain HTTP were mixed up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolMismatch {
    /// `https://` was asked for, and the server answered in plain HTTP.
    TlsToPlain,
    /// `http://` was asked for, and the server answered in TLS.
    PlainToTls,
}

/// Every message down the source chain, for recognising a failure.
fn chain_text(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut cause: &dyn std::error::Error = err;
    while let Some(next) = cause.source() {
        text.push_str(": ");
        text.push_str(&next.to_string());
        text.push_str(&format!(" {next:?}"));
        cause = next;
    }
    text
}

/// `message (code); see doc_url`.
struct ApiMessage<'a>(&'a ErrorBody);

impl fmt::Display for ApiMessage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = &self.0.error;
        write!(f, "{} ({})", e.message.trim_end_matches('.'), e.code)?;
        if let Some(url) = &e.doc_url {
            write!(f, "; see {url}")?;
        }
        Ok(())
    }
}

/// reqwest's own message is "error sending request for url (...)"; the useful
/// part ("Connection refused") is at the bottom of the source chain.
fn root_cause(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        return "timed out".to_owned();
    }
    let mut cause: &dyn std::error::Error = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_errors_show_message_code_and_doc_url() {
        let mut body = ErrorBody::new(ErrorCode::Unauthorized, "A valid bearer token is required.");
        body.error.doc_url = Some("http://x/docs/errors/unauthorized".into());
        let err = ApiError::Api { status: 401, body, retry_after: None };
        assert_eq!(
            err.to_string(),
            "A valid bearer token is required (unauthorized); see http://x/docs/errors/unauthorized"
        );
        assert!(err.is_unauthorized());
        assert!(err.is(ErrorCode::Unauthorized));
        assert!(!err.is_transport());
        assert!(!err.is_transient());
    }

    #[test]
    fn gateway_errors_are_transient_and_others_are_not() {
        let unexpected =
            |status| ApiError::Unexpected { url: "http://h/x".into(), status, detail: "a text/html body".into() };
        for status in [502, 503, 504] {
            assert!(unexpected(status).is_transient(), "{status}");
        }
        for status in [200, 400, 404, 500, 501] {
            assert!(!unexpected(status).is_transient(), "{status}");
        }
        let body = ErrorBody::new(ErrorCode::Unavailable, "The service is unavailable.");
        assert!(ApiError::Api { status: 503, body, retry_after: None }.is_transient());
    }
}
