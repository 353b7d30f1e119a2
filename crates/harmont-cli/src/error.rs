//! How a command fails, and the exit code each failure leaves with. The codes
//! are part of the CLI's interface (see `harmont --help` and the README).

use harmont_client::ApiError;
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
    /// No credential, or the server refused it.
    #[error("{0}")]
    NotLoggedIn(String),
    /// The server answered with an error, or could not be reached.
    #[error("{0}")]
    Api(Box<ApiError>),
    /// An API error, with a sentence of context in front of it.
    #[error("{context}: {source}")]
    ApiContext { context: String, source: Box<ApiError> },
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
            CliError::NotLoggedIn(_) => exit::NOT_LOGGED_IN,
            CliError::Api(source) | CliError::ApiContext { source, .. } => api_exit_code(source),
            CliError::Credentials(_) | CliError::Failed(_) => exit::FAILURE,
            CliError::Interrupted(_) => exit::INTERRUPTED,
        }
    }

    fn api_error(&self) -> Option<&ApiError> {
        match self {
            CliError::Api(source) | CliError::ApiContext { source, .. } => Some(source),
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
            CliError::NotLoggedIn(_) => "not_logged_in",
            CliError::Api(e) | CliError::ApiContext { source: e, .. } if e.is_transport() => "unreachable",
            CliError::Api(_) | CliError::ApiContext { .. } => "unexpected_response",
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
            }
        })
    }
}

fn api_exit_code(err: &ApiError) -> i32 {
    if err.is_transport() {
        exit::UNREACHABLE
    } else if err.is_unauthorized() {
        exit::NOT_LOGGED_IN
    } else {
        exit::FAILURE
    }
}
