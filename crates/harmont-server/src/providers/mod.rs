//! Clients of the single sign-on providers, and who may sign up through
//! them. A leaf: these speak to the providers and check what they say; the
//! rules of signing in (which user, which link) are in `sso/`.
//! - `oidc.rs`: any OpenID Connect provider (discovery, code exchange, ID
//!   token verification against its JWKS, userinfo);
//! - `github.rs`: GitHub's OAuth web flow and REST API.

pub mod github;
pub mod oidc;

use std::fmt;
use std::time::Duration;

/// How long one call to a provider may take.
pub const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

/// The HTTP client every provider call goes through: a timeout, no cookies,
/// redirects not followed (a provider endpoint answers itself).
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(PROVIDER_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("harmont-auth/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("a TLS backend is compiled in")
}

/// The client secret harmont-auth holds at a sign-in provider (OpenID
/// Connect, GitHub). `Debug` never shows it.
#[derive(Clone)]
pub struct ProviderSecret(String);

impl ProviderSecret {
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ProviderSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProviderSecret(redacted)")
    }
}

/// What a provider says of the person who signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderIdentity {
    /// `oidc` or `github`.
    pub provider: &'static str,
    /// The OpenID issuer, or the GitHub URL.
    pub issuer: String,
    /// Its stable id for the person: `sub`, or GitHub's numeric user id.
    pub subject: String,
    /// Lower-cased.
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
}

/// Why a provider's answer was not accepted. The text is for the log: it
/// never holds a code, token or secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The provider could not be reached or answered something unusable.
    #[error("the provider's {endpoint} endpoint failed: {reason}")]
    Unusable { endpoint: &'static str, reason: String },
    /// The ID token did not verify.
    #[error("the ID token was refused: {0}")]
    BadIdToken(String),
}

/// `HARMONT_SIGNUP`: who may get an account by signing in with a provider.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SignupPolicy {
    /// Nobody: accounts are made by the operator (the default).
    #[default]
    Invite,
    /// Anyone whose provider verified their email.
    Open,
    /// Verified emails of these domains (lower-case).
    Domains(Vec<String>),
}

impl SignupPolicy {
    /// `invite`, `open` or `domain:example.com[,example.org]`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        match text {
            "invite" => return Ok(Self::Invite),
            "open" => return Ok(Self::Open),
            _ => {}
        }
        let Some(list) = text.strip_prefix("domain:") else {
            return Err(format!("`{text}`: expected invite, open or domain:example.com[,example.org]"));
        };
        let domains: Vec<String> = list.split(',').map(|d| d.trim().trim_start_matches('@').to_lowercase()).collect();
        for domain in &domains {
            let plain = domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && domain.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
            if !plain {
                return Err(format!("`{domain}` is not a domain (such as example.com)"));
            }
        }
        Ok(Self::Domains(domains))
    }

    /// Whether someone with this verified email may get an account.
    pub fn admits(&self, email: &str) -> bool {
        match self {
            Self::Invite => false,
            Self::Open => true,
            Self::Domains(domains) => {
                email.rsplit_once('@').is_some_and(|(_, domain)| domains.iter().any(|d| d == &domain.to_lowercase()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signup_policies_parse_and_admit() {
        assert_eq!(SignupPolicy::parse("invite").unwrap(), SignupPolicy::Invite);
        assert!(SignupPolicy::parse("open").unwrap().admits("anyone@anywhere.example"));
        let domains = SignupPolicy::parse("domain:Example.com, @example.org").unwrap();
        assert_eq!(domains, SignupPolicy::Domains(vec!["example.com".into(), "example.org".into()]));
        assert!(domains.admits("ada@example.com") && domains.admits("ada@EXAMPLE.org"));
        assert!(!domains.admits("ada@sub.example.com") && !domains.admits("ada@example.com.evil"));
        assert!(!SignupPolicy::Invite.admits("ada@example.com"));
        for bad in ["", "closed", "domain:", "domain:example", "domain:a.com,,b.com", "domain:exa mple.com"] {
            assert!(SignupPolicy::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn client_secrets_stay_hidden() {
        assert_eq!(format!("{:?}", ProviderSecret::new("s3cret")), "ProviderSecret(redacted)");
    }
}
