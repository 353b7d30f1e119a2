//! What every command works with: the resolved settings, the credential store,
//! and API clients that name this CLI in their `User-Agent`.

use harmont_client::{BearerToken, Client};

use crate::config::Settings;
use crate::credentials::CredentialStore;
use crate::error::CliError;

#[derive(Debug)]
pub struct Context {
    pub settings: Settings,
    pub store: CredentialStore,
}

/// Where the token in use came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// `HARMONT_API_TOKEN`.
    Env,
    /// The credentials file.
    File,
}

impl TokenSource {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenSource::Env => "env",
            TokenSource::File => "file",
        }
    }
}

impl Context {
    pub fn new(settings: Settings) -> Self {
        let store = CredentialStore::in_dir(&settings.config_dir);
        Self { settings, store }
    }

    pub fn api_url(&self) -> &str {
        &self.settings.api_url
    }

    /// A client without a token.
    pub fn client(&self) -> Client {
        Client::new(&self.settings.api_url).with_user_agent(user_agent())
    }

    /// The token in use: `HARMONT_API_TOKEN`, else the stored credential.
    pub fn token(&self) -> Result<Option<(BearerToken, TokenSource)>, CliError> {
        if let Some(token) = &self.settings.env_token {
            return Ok(Some((token.clone(), TokenSource::Env)));
        }
        Ok(self.store.get(self.api_url())?.map(|c| (c.token, TokenSource::File)))
    }

    /// The token in use, or "not logged in".
    pub fn require_token(&self) -> Result<(BearerToken, TokenSource), CliError> {
        self.token()?.ok_or_else(|| self.not_logged_in())
    }

    /// A client carrying the token in use.
    pub fn authed_client(&self) -> Result<(Client, TokenSource), CliError> {
        let (token, source) = self.require_token()?;
        Ok((self.client().with_token(token), source))
    }

    pub fn not_logged_in(&self) -> CliError {
        CliError::not_logged_in(format!("You are not logged in to {}. Run `harmont login`.", self.api_url()))
    }

    /// Turns a `401` into "log in again", naming where the refused token came from.
    pub fn refused(&self, source: TokenSource, err: harmont_client::ApiError) -> CliError {
        if !err.is_unauthorized() {
            return err.into();
        }
        // A token from the environment may never have been valid at all (a
        // typo, another server's), and `login` refuses while it is set: say
        // how to get rid of it rather than "log in again".
        let message = match source {
            TokenSource::Env => format!(
                "The token in HARMONT_API_TOKEN was not accepted by {}. Unset it to use your own login: \
                 `unset HARMONT_API_TOKEN` (then `harmont login` if you have none).",
                self.api_url()
            ),
            TokenSource::File => format!(
                "Your stored credential for {} is no longer accepted (revoked or expired). \
                 Run `harmont login` to get a new one.",
                self.api_url()
            ),
        };
        CliError::NotLoggedIn { message, source: Some(Box::new(err)) }
    }
}

/// `harmont/VERSION (OS; HOSTNAME)`: the server shows it in the session list.
pub fn user_agent() -> String {
    format!("harmont/{} ({}; {})", env!("CARGO_PKG_VERSION"), std::env::consts::OS, hostname())
}

/// This machine's name, reduced to characters that are safe in a header and a URL.
pub fn hostname() -> String {
    let name: String = gethostname::gethostname()
        .to_string_lossy()
        .trim()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '-' })
        .collect();
    if name.is_empty() {
        "unknown-host".to_owned()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agent_names_the_cli_its_version_os_and_host() {
        let ua = user_agent();
        assert!(ua.starts_with(&format!("harmont/{} (", env!("CARGO_PKG_VERSION"))), "{ua}");
        assert!(ua.ends_with(&format!("; {})", hostname())), "{ua}");
    }
}
