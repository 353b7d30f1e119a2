//! How a command fails, and the exit code each failure leaves with. The codes
//! are part of the CLI's interface (see `harmont --help` and the README).

use harmont_client::{ApiError, ProtocolMismatch};
use harmont_wire::ErrorCode;
use serde_json::{json, Value};

use crate::credentials::CredentialsError;

/// The documented exit codes.
pub mod exit {
    pub const OK: i32 = 0;
    pub const FAILURE: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const NOT_LOGGED_IN: i32 = 3;
    pub const UNREACHABLE: i32 = 4;
    pub const INTERRUPTED: i32 = 130;
}

/// Shown after `harmont --help`.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0    success
  1    failure: the server refused, answered something unexpected, or a file could not be used
  2    usage error (bad arguments, or login/logout while HARMONT_API_TOKEN is set)
  3    not logged in, or the server no longer accepts the credential: run `harmont login`
  4    the server could not be reached
  130  interrupted (Ctrl-C)";

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command cannot run as asked.
    #[error("{0}")]
    Usage(String),
    /// No credential, or the server refused it (then with its answer).
    #[error("{message}")]
    NotLoggedIn { message: String, source: Option<Box<ApiError>> },
    /// The server answered with an error, or could not be reached.
    #[error("{}", api_message(.0))]
    Api(Box<ApiError>),
    /// An API error, with a sentence of context in front of it.
    #[error("{context}: {}", api_message(.source))]
    ApiContext { context: String, source: Box<ApiError> },
    /// An API error told in our own words, with only the server's code and
    /// `doc_url` (its message would use the API's vocabulary, like "nonce").
    #[error("{message} ({}){}", .source.code().unwrap_or("error"), doc_suffix(.source))]
    ApiExplained { message: String, source: Box<ApiError> },
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    #[error("{0}")]
    Failed(String),
    /// Ctrl-C; the message says what was (not) done.
    #[error("{0}")]
    Interrupted(&'static str),
}

impl From<ApiError> for CliError {
    fn from(err: ApiError) -> Self {
        CliError::Api(Box::new(err))
    }
}

impl CliError {
    pub fn api(context: impl Into<String>, source: ApiError) -> Self {
        CliError::ApiContext { context: context.into(), source: Box::new(source) }
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Usage(_) => exit::USAGE,
            CliError::NotLoggedIn { .. } => exit::NOT_LOGGED_IN,
            CliError::Api(source) | CliError::ApiContext { source, .. } | CliError::ApiExplained { source, .. } => {
                api_exit_code(source)
            }
            CliError::Credentials(_) | CliError::Failed(_) => exit::FAILURE,
            CliError::Interrupted(_) => exit::INTERRUPTED,
        }
    }

    pub fn not_logged_in(message: impl Into<String>) -> Self {
        CliError::NotLoggedIn { message: message.into(), source: None }
    }

    fn api_error(&self) -> Option<&ApiError> {
        match self {
            CliError::Api(source) | CliError::ApiContext { source, .. } | CliError::ApiExplained { source, .. } => {
                Some(source)
            }
            CliError::NotLoggedIn { source: Some(source), .. } => Some(source),
            _ => None,
        }
    }

    /// A stable, machine-readable name for `--json`: the server's code for
    /// API errors, else one of the CLI's own.
    pub fn code(&self) -> String {
        if let Some(code) = self.api_error().and_then(ApiError::code) {
            return code.to_owned();
        }
        match self {
            CliError::Usage(_) => "usage",
            CliError::NotLoggedIn { .. } => "not_logged_in",
            CliError::Api(e) | CliError::ApiContext { source: e, .. } if e.protocol_mismatch().is_some() => {
                "tls_mismatch"
            }
            CliError::Api(e) | CliError::ApiContext { source: e, .. } if e.is_transport() => "unreachable",
            CliError::Api(e) | CliError::ApiContext { source: e, .. } if e.status().is_some() => "not_harmont",
            CliError::Api(_) | CliError::ApiContext { .. } | CliError::ApiExplained { .. } => "unexpected_response",
            CliError::Credentials(_) => "credentials",
            CliError::Failed(_) => "failed",
            CliError::Interrupted(_) => "interrupted",
        }
        .to_owned()
    }

    /// `{"error": {...}}` for `--json`.
    pub fn to_json(&self) -> Value {
        let detail = self.api_error().and_then(|e| match e {
            ApiError::Api { body, .. } => Some(&body.error),
            _ => None,
        });
        json!({
            "error": {
                "code": self.code(),
                "message": self.to_string(),
                "exit_code": self.exit_code(),
                "status": self.api_error().and_then(ApiError::status),
                "doc_url": detail.and_then(|d| d.doc_url.clone()),
                "request_id": detail.and_then(|d| d.request_id.clone()),
                "retry_after": self.api_error().and_then(ApiError::retry_after).map(|d| d.as_secs()),
            }
        })
    }
}

/// An API error in words for a person: the server's own message, code and
/// `doc_url`; for an answer that is not ours, what to check instead of what
/// the body said; for `rate_limited`, when to try again.
pub fn api_message(err: &ApiError) -> String {
    match err {
        ApiError::Unexpected { url, status, detail } => format!(
            "{} answered HTTP {status} with {detail}: this does not look like a harmont-auth server; \
             check --api-url / HARMONT_API_URL",
            origin(url)
        ),
        ApiError::Transport { url, .. } => match err.protocol_mismatch() {
            Some(ProtocolMismatch::TlsToPlain) => format!(
                "{url} does not speak HTTPS: the server there answered in plain HTTP. \
                 Use {} in --api-url / HARMONT_API_URL",
                url.replacen("https://", "http://", 1)
            ),
            Some(ProtocolMismatch::PlainToTls) => format!(
                "{url} answered in TLS, not plain HTTP: the server there expects HTTPS. \
                 Use {} in --api-url / HARMONT_API_URL",
                url.replacen("http://", "https://", 1)
            ),
            None => err.to_string(),
        },
        ApiError::Api { body, .. } if err.is(ErrorCode::RateLimited) => {
            let when = match err.retry_after() {
                Some(wait) => format!("in {} s", wait.as_secs().max(1)),
                None => "in a minute".to_owned(),
            };
            let doc = body.error.doc_url.as_deref().map(|url| format!("; see {url}")).unwrap_or_default();
            format!("{} (rate_limited): try again {when}{doc}", body.error.message.trim_end_matches('.'))
        }
        ApiError::Api { .. } => err.to_string(),
    }
}

/// `; see <doc_url>` when the envelope has one.
fn doc_suffix(err: &ApiError) -> String {
    match err {
        ApiError::Api { body, .. } => {
            body.error.doc_url.as_deref().map(|url| format!("; see {url}")).unwrap_or_default()
        }
        _ => String::new(),
    }
}

/// `scheme://host:port` of a URL, or the URL itself.
fn origin(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) => parsed.origin().ascii_serialization(),
        Err(_) => url.to_owned(),
    }
}

fn api_exit_code(err: &ApiError) -> i32 {
    // A TLS/plain-HTTP mix-up reached something: the URL is wrong, not the network.
    if err.is_transport() && err.protocol_mismatch().is_none() {
        exit::UNREACHABLE
    } else if err.is_unauthorized() {
        exit::NOT_LOGGED_IN
    } else {
        exit::FAILURE
    }
}

/// clap's rendered error as one sentence for `--json`: the part before the
/// usage line, without the `error:` prefix, whitespace collapsed.
pub fn usage_message(rendered: &str) -> String {
    let head = rendered.split("\n\nUsage:").next().unwrap_or(rendered);
    let head = head.split("\n\nFor more information").next().unwrap_or(head);
    let head = head.trim().strip_prefix("error:").unwrap_or(head);
    head.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_messages_fit_on_a_line() {
        let rendered = "error: the following required arguments were not provided:\n  <ID|--all-others>\n\n\
                        Usage: harmont sessions revoke <ID|--all-others>\n\nFor more information, try '--help'.\n";
        assert_eq!(usage_message(rendered), "the following required arguments were not provided: <ID|--all-others>");
    }
}
