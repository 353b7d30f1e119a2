//! Where the CLI points and where it keeps things: the API base (flag, then
//! `HARMONT_API_URL`, then the config file, then the server of the last
//! login, then the default), the web app base, the `HARMONT_API_TOKEN`
//! override, and the config folder.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use harmont_client::BearerToken;
use serde::Deserialize;

use crate::cli::GlobalArgs;
use crate::credentials::CredentialStore;
use crate::error::CliError;

pub const DEFAULT_API_URL: &str = "http://127.0.0.1:8080";
pub const CONFIG_FILE: &str = "config.toml";

/// Everything resolved, before any command runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Normalised: no trailing slash. Also the key of the stored credential.
    pub api_url: String,
    /// Where `api_url` came from.
    pub api_url_source: ApiUrlSource,
    /// Where the approval page lives.
    pub app_url: String,
    /// `HARMONT_API_TOKEN`, which takes precedence over any stored credential.
    pub env_token: Option<BearerToken>,
    /// `$XDG_CONFIG_HOME/harmont`, default `~/.config/harmont`.
    pub config_dir: PathBuf,
}

/// Where the API base came from, for `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiUrlSource {
    /// `--api-url` or `HARMONT_API_URL`.
    Given,
    /// `api_url` in config.toml.
    ConfigFile,
    /// The server of the last successful login.
    LastLogin,
    /// Nothing said otherwise.
    Default,
}

impl ApiUrlSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiUrlSource::Given => "flag_or_env",
            ApiUrlSource::ConfigFile => "config_file",
            ApiUrlSource::LastLogin => "last_login",
            ApiUrlSource::Default => "default",
        }
    }
}

/// `config.toml`: the same settings as the flags, for people who always use one server.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    api_url: Option<String>,
    app_url: Option<String>,
}

impl Settings {
    pub fn resolve(args: &GlobalArgs) -> Result<Self, CliError> {
        let config_dir = config_dir()?;
        let file = read_config_file(&config_dir.join(CONFIG_FILE))?;
        let (api_url, api_url_source) = if let Some(url) = non_empty(args.api_url.clone()) {
            (url, ApiUrlSource::Given)
        } else if let Some(url) = non_empty(file.api_url) {
            (url, ApiUrlSource::ConfigFile)
        } else if let Some(url) = CredentialStore::in_dir(&config_dir).default_server() {
            (url, ApiUrlSource::LastLogin)
        } else {
            (DEFAULT_API_URL.to_owned(), ApiUrlSource::Default)
        };
        let api_url = normalise_url(&api_url, "API")?;
        let app_url = match non_empty(args.app_url.clone()).or(file.app_url) {
            Some(url) => normalise_url(&url, "app")?,
            None => api_url.clone(),
        };
        let env_token = non_empty(std::env::var("HARMONT_API_TOKEN").ok()).map(|t| BearerToken::new(t.trim()));
        Ok(Self { api_url, api_url_source, app_url, env_token, config_dir })
    }
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

/// `$XDG_CONFIG_HOME/harmont` when that is an absolute path (as the XDG spec
/// asks), else `$HOME/.config/harmont`.
fn config_dir() -> Result<PathBuf, CliError> {
    if let Some(xdg) = std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from) {
        if xdg.is_absolute() {
            return Ok(xdg.join("harmont"));
        }
    }
    match std::env::var_os("HOME").map(PathBuf::from) {
        Some(home) if home.is_absolute() => Ok(home.join(".config").join("harmont")),
        _ => Err(CliError::Failed(
            "cannot find the config folder: neither XDG_CONFIG_HOME nor HOME is set to an absolute path".into(),
        )),
    }
}

fn read_config_file(path: &Path) -> Result<ConfigFile, CliError> {
    match fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text)
            .map_err(|e| CliError::Failed(format!("{} is not a valid config file: {e}", path.display()))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(ConfigFile::default()),
        Err(e) => Err(CliError::Failed(format!("could not read {}: {e}", path.display()))),
    }
}

/// An http(s) URL without a trailing slash, so that `http://h/` and `http://h`
/// are one server in the credentials file.
pub fn normalise_url(raw: &str, what: &str) -> Result<String, CliError> {
    let raw = raw.trim();
    let url = url::Url::parse(raw).map_err(|e| CliError::Usage(format!("the {what} URL {raw:?} is not valid: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(CliError::Usage(format!("the {what} URL {raw:?} must be an http:// or https:// URL")));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(CliError::Usage(format!("the {what} URL {raw:?} must not have a query or fragment")));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_normalised() {
        assert_eq!(normalise_url("http://127.0.0.1:8080/", "API").unwrap(), "http://127.0.0.1:8080");
        assert_eq!(normalise_url(" https://Auth.Example.com ", "API").unwrap(), "https://auth.example.com");
        assert_eq!(normalise_url("https://h/base/", "API").unwrap(), "https://h/base");
    }

    #[test]
    fn bad_urls_are_usage_errors() {
        for bad in ["localhost:8080", "ftp://h", "http://h/?x=1", "not a url"] {
            assert!(matches!(normalise_url(bad, "API"), Err(CliError::Usage(_))), "{bad}");
        }
    }
}
