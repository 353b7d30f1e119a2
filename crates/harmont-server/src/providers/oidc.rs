//! An OpenID Connect provider, found by discovery when `serve` starts
//! (`{issuer}/.well-known/openid-configuration`, whose `issuer` must be the
//! configured one exactly). Authorization code flow with PKCE (S256),
//! `state` and `nonce`; the code is exchanged with `client_secret_basic`;
//! the ID token is verified against the provider's JWKS (fetched again when
//! a token names a key we do not have: keys rotate), its `iss`, `aud`
//! (and `azp`), `exp` and `nonce`. `email` and `email_verified` come from
//! the ID token or, when it does not carry them, from userinfo (whose `sub`
//! must match).

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;
use std::sync::RwLock;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

use super::{http_client, ProviderError, ProviderIdentity, ProviderSecret};

/// The JWKS is fetched again for an unknown key at most this often, so a
/// stream of forged tokens cannot make us hammer the provider.
const JWKS_REFETCH_EVERY: Duration = Duration::from_secs(10);
/// Clock skew allowed on `exp`, `iat` and `nbf`.
const LEEWAY_SECONDS: u64 = 60;
/// The signature algorithms accepted: asymmetric only (never `none`, never
/// an HMAC keyed with the client secret).
const ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// `HARMONT_OIDC_*`.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: ProviderSecret,
    /// The button's label.
    pub name: String,
}

#[derive(Debug, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    userinfo_endpoint: Option<String>,
    #[serde(default)]
    code_challenge_methods_supported: Option<Vec<String>>,
}

/// A discovered provider.
#[derive(Debug)]
pub struct OidcProvider {
    config: OidcConfig,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    userinfo_endpoint: Option<String>,
    keys: RwLock<JwkSet>,
    /// When the JWKS was last fetched; held while fetching, so one fetch runs at a time.
    fetched: Mutex<Instant>,
    http: reqwest::Client,
}

/// Why `serve` cannot use the configured provider.
#[derive(Debug, thiserror::Error)]
#[error("OpenID Connect provider {issuer}: {reason}")]
pub struct DiscoveryError {
    issuer: String,
    reason: String,
}

impl OidcProvider {
    /// Discovery and the first JWKS fetch.
    pub async fn discover(config: OidcConfig) -> Result<Self, DiscoveryError> {
        let fail = |reason: String| DiscoveryError { issuer: config.issuer.clone(), reason };
        require_https(&config.issuer).map_err(|e| fail(format!("HARMONT_OIDC_ISSUER {e}")))?;
        let http = http_client();
        let url = format!("{}/.well-known/openid-configuration", config.issuer.trim_end_matches('/'));
        let discovery: Discovery = get_json(&http, &url)
            .await
            .map_err(|e| fail(format!("no discovery document at {url} ({e}); is HARMONT_OIDC_ISSUER right?")))?;
        if discovery.issuer != config.issuer {
            return Err(fail(format!(
                "its discovery document names the issuer `{}`: set HARMONT_OIDC_ISSUER to exactly that",
                discovery.issuer
            )));
        }
        if let Some(methods) = &discovery.code_challenge_methods_supported {
            if !methods.iter().any(|m| m == "S256") {
                return Err(fail("it does not support PKCE with S256".to_owned()));
            }
        }
        for endpoint in [&discovery.authorization_endpoint, &discovery.token_endpoint, &discovery.jwks_uri]
            .into_iter()
            .chain(discovery.userinfo_endpoint.as_ref())
        {
            require_https(endpoint).map_err(|e| fail(format!("endpoint {e}")))?;
        }
        let keys: JwkSet = get_json(&http, &discovery.jwks_uri)
            .await
            .map_err(|e| fail(format!("cannot read its signing keys at {} ({e})", discovery.jwks_uri)))?;
        Ok(Self {
            config,
            authorization_endpoint: discovery.authorization_endpoint,
            token_endpoint: discovery.token_endpoint,
            jwks_uri: discovery.jwks_uri,
            userinfo_endpoint: discovery.userinfo_endpoint,
            keys: RwLock::new(keys),
            fetched: Mutex::new(Instant::now()),
            http,
        })
    }

    pub fn issuer(&self) -> &str {
        &self.config.issuer
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// Where to send the browser: the authorization request.
    pub fn authorization_url(&self, redirect_uri: &str, state: &str, nonce: &str, code_challenge: &str) -> String {
        let mut url = match url::Url::parse(&self.authorization_endpoint) {
            Ok(url) => url,
            Err(_) => return self.authorization_endpoint.clone(),
        };
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.config.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", "openid email profile")
            .append_pair("state", state)
            .append_pair("nonce", nonce)
            .append_pair("code_challenge", code_challenge)
            .append_pair("code_challenge_method", "S256");
        url.into()
    }

    /// Exchanges the code, verifies the ID token, and reads who it is.
    pub async fn identify(
        &self,
        code: &str,
        code_verifier: &str,
        redirect_uri: &str,
        nonce: &str,
    ) -> Result<ProviderIdentity, ProviderError> {
        let tokens = self.exchange(code, code_verifier, redirect_uri).await?;
        let claims = self.verify_id_token(&tokens.id_token, nonce).await?;
        let (mut email, mut verified) = (claims.email.clone(), claims.email_verified);
        if email.is_none() {
            if let (Some(endpoint), Some(access_token)) = (&self.userinfo_endpoint, &tokens.access_token) {
                let info = self.userinfo(endpoint, access_token).await?;
                if info.sub != claims.sub {
                    return Err(ProviderError::BadIdToken("userinfo names another subject".to_owned()));
                }
                (email, verified) = (info.email, info.email_verified);
            }
        }
        Ok(ProviderIdentity {
            provider: "oidc",
            issuer: self.config.issuer.clone(),
            subject: claims.sub,
            email: email.map(|e| e.trim().to_lowercase()),
            email_verified: verified.is_some_and(|v| v.is_true()),
            name: claims.name,
        })
    }

    async fn exchange(&self, code: &str, verifier: &str, redirect_uri: &str) -> Result<TokenResponse, ProviderError> {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ];
        // RFC 6749 §2.3.1: both halves form-encoded before Basic.
        let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let response = self
            .http
            .post(&self.token_endpoint)
            .basic_auth(encode(&self.config.client_id), Some(encode(self.config.client_secret.expose())))
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|e| unusable("token", e.without_url()))?;
        let status = response.status();
        let body: Value = response.json().await.map_err(|e| unusable("token", e.without_url()))?;
        if !status.is_success() {
            // The provider's error code only: its description may echo what we sent.
            let code = body.get("error").and_then(Value::as_str).unwrap_or("none");
            return Err(ProviderError::Unusable { endpoint: "token", reason: format!("{status}, error {code:?}") });
        }
        serde_json::from_value(body).map_err(|e| ProviderError::Unusable { endpoint: "token", reason: e.to_string() })
    }

    async fn verify_id_token(&self, id_token: &str, nonce: &str) -> Result<IdTokenClaims, ProviderError> {
        let bad = |why: String| ProviderError::BadIdToken(why);
        let header = jsonwebtoken::decode_header(id_token).map_err(|e| bad(format!("unreadable header: {e}")))?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(bad(format!("algorithm {:?} is not accepted", header.alg)));
        }
        let key = match self.key_for(header.kid.as_deref()) {
            Some(key) => key,
            None => {
                self.refetch_keys().await?;
                self.key_for(header.kid.as_deref())
                    .ok_or_else(|| bad("signed with a key the provider does not publish".into()))?
            }
        };
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.client_id]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECONDS;
        let claims =
            jsonwebtoken::decode::<IdTokenClaims>(id_token, &key, &validation).map_err(|e| bad(format!("{e}")))?.claims;
        if claims.nonce.as_deref() != Some(nonce) {
            return Err(bad("the nonce is not this sign-in's".into()));
        }
        if claims.azp.as_deref().is_some_and(|azp| azp != self.config.client_id) {
            return Err(bad("issued to another client (azp)".into()));
        }
        Ok(claims)
    }

    /// The key the token names (or the only one, when it names none).
    fn key_for(&self, kid: Option<&str>) -> Option<DecodingKey> {
        let keys = self.keys.read().unwrap_or_else(|p| p.into_inner());
        let jwk = match kid {
            Some(kid) => keys.find(kid)?,
            None if keys.keys.len() == 1 => &keys.keys[0],
            None => return None,
        };
        DecodingKey::from_jwk(jwk).ok()
    }

    async fn refetch_keys(&self) -> Result<(), ProviderError> {
        let mut fetched = self.fetched.lock().await;
        if fetched.elapsed() < JWKS_REFETCH_EVERY {
            return Ok(());
        }
        *fetched = Instant::now();
        let keys: JwkSet = get_json(&self.http, &self.jwks_uri).await.map_err(|e| unusable("jwks", e))?;
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = keys;
        tracing::info!(issuer = %self.config.issuer, "fetched the provider's signing keys again (a key was unknown)");
        Ok(())
    }

    async fn userinfo(&self, endpoint: &str, access_token: &str) -> Result<UserInfo, ProviderError> {
        let response = self
            .http
            .get(endpoint)
            .bearer_auth(access_token)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| unusable("userinfo", e.without_url()))?;
        if !response.status().is_success() {
            return Err(ProviderError::Unusable { endpoint: "userinfo", reason: response.status().to_string() });
        }
        response.json().await.map_err(|e| unusable("userinfo", e.without_url()))
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    id_token: String,
    access_token: Option<String>,
}

#[derive(Debug, Deserialize)]
struct IdTokenClaims {
    sub: String,
    nonce: Option<String>,
    azp: Option<String>,
    email: Option<String>,
    email_verified: Option<Verified>,
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct UserInfo {
    sub: String,
    email: Option<String>,
    email_verified: Option<Verified>,
}

/// `email_verified` as a boolean, or as the string some providers send.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Verified {
    Bool(bool),
    Text(String),
}

impl Verified {
    fn is_true(&self) -> bool {
        match self {
            Verified::Bool(b) => *b,
            Verified::Text(t) => t == "true",
        }
    }
}

fn unusable(endpoint: &'static str, err: impl std::fmt::Display) -> ProviderError {
    ProviderError::Unusable { endpoint, reason: err.to_string() }
}

async fn get_json<T: serde::de::DeserializeOwned>(http: &reqwest::Client, url: &str) -> Result<T, String> {
    let response = http
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?;
    if !response.status().is_success() {
        return Err(response.status().to_string());
    }
    response.json().await.map_err(|e| e.without_url().to_string())
}

/// Provider URLs are HTTPS, except on this machine (tests, a local IdP).
pub fn require_https(url: &str) -> Result<(), String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("`{url}` is not a URL ({e})"))?;
    let local = match parsed.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if local => Ok(()),
        _ => Err(format!("`{url}` must be https:// (http:// only on this machine)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_urls_must_be_https_unless_local() {
        assert!(require_https("https://accounts.example.com").is_ok());
        assert!(require_https("http://127.0.0.1:9000").is_ok());
        assert!(require_https("http://localhost:9000/x").is_ok());
        assert!(require_https("http://accounts.example.com").is_err());
        assert!(require_https("accounts.example.com").is_err());
    }
}
