//! A [`tower::Layer`] that lets an axum (or any tower) service trust
//! harmont-auth's tokens.
//!
//! For each request it reads `Authorization: Bearer`, asks the harmont-auth
//! server about the token with RFC 7662 introspection (`POST
//! /api/v0/auth/introspect`, authenticated as a resource-server client from
//! `harmont-auth client add NAME`), and either passes the request on with the
//! verified [`Identity`] in its extensions, or answers itself: `401` in the
//! harmont error envelope (with `WWW-Authenticate: Bearer realm="harmont"`)
//! for a missing or dead token, `503` when harmont-auth cannot say.
//!
//! Positive answers are kept for a short time (default 2 s, never past the
//! token's `exp`), so a busy token costs one introspection per window; a
//! revocation is seen once the window is up. [`HarmontAuthLayer::cache_ttl`]
//! with `Duration::ZERO` asks on every request.
//!
//! ```no_run
//! use axum::{routing::get, Extension, Router};
//! use harmont_auth_layer::{HarmontAuthLayer, Identity};
//!
//! async fn whoami(Extension(who): Extension<Identity>) -> String {
//!     format!("{} ({})", who.email, who.user_id)
//! }
//!
//! # fn build() -> Result<(), harmont_auth_layer::ConfigError> {
//! let layer = HarmontAuthLayer::new("https://auth.example.com", "<client id>", "hmc_…")?;
//! let app: Router = Router::new().route("/whoami", get(whoami)).layer(layer);
//! # Ok(()) }
//! ```

use harmont_wire::api::IntrospectionResponse;
use harmont_wire::token::ClientSecret;
use harmont_wire::{ErrorBody, ErrorCode};
use http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, Request, Response, StatusCode};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use uuid::Uuid;

pub use harmont_wire::api::TokenKind;

/// How long a positive answer is kept by default.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(2);

/// How long one introspection may take before the request is answered 503.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Past this many remembered tokens the cache starts over, bounding its memory.
const MAX_ENTRIES: usize = 10_000;

/// Who made the request, as harmont-auth verified it: in the request's
/// extensions (`Extension<Identity>` in axum).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The user's uuid.
    pub user_id: Uuid,
    pub email: String,
    /// A session token or a personal API key.
    pub token_kind: TokenKind,
}

/// Why a layer could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("the client id must be the uuid `harmont-auth client add` printed")]
    ClientId,
    #[error("the client secret must be the hmc_… secret `harmont-auth client add` printed")]
    ClientSecret,
    #[error("the harmont-auth URL must be http:// or https://")]
    Url,
}

/// The layer. Cheap to clone: every service it makes shares one cache and
/// one HTTP client.
#[derive(Debug, Clone)]
pub struct HarmontAuthLayer {
    verifier: Arc<Verifier>,
}

impl HarmontAuthLayer {
    /// A layer asking the harmont-auth server at `base_url` (such as
    /// `https://auth.example.com`) as the resource-server client
    /// `client_id` with `client_secret`.
    pub fn new(base_url: &str, client_id: &str, client_secret: &str) -> Result<Self, ConfigError> {
        let base = base_url.trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ConfigError::Url);
        }
        let client_id = Uuid::try_parse(client_id).map_err(|_| ConfigError::ClientId)?;
        let client_secret = ClientSecret::parse(client_secret).map_err(|_| ConfigError::ClientSecret)?;
        let http = reqwest::Client::builder().timeout(DEFAULT_TIMEOUT).build().unwrap_or_default();
        Ok(Self {
            verifier: Arc::new(Verifier {
                http,
                introspect_url: format!("{base}/api/v0/auth/introspect"),
                doc_url: format!("{base}/docs/errors"),
                client_id,
                client_secret,
                cache_ttl: DEFAULT_CACHE_TTL,
                cache: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// How long a positive answer is kept (never past the token's `exp`);
    /// `Duration::ZERO` asks harmont-auth on every request.
    pub fn cache_ttl(self, ttl: Duration) -> Self {
        self.map(|v| Verifier { cache_ttl: ttl, ..v })
    }

    /// The HTTP client to ask with (timeouts, proxies, TLS roots).
    pub fn http_client(self, http: reqwest::Client) -> Self {
        self.map(|v| Verifier { http, ..v })
    }

    fn map(self, change: impl FnOnce(Verifier) -> Verifier) -> Self {
        let verifier = Arc::try_unwrap(self.verifier).unwrap_or_else(|shared| shared.duplicate());
        Self { verifier: Arc::new(change(verifier)) }
    }
}

impl<S> tower::Layer<S> for HarmontAuthLayer {
    type Service = HarmontAuth<S>;

    fn layer(&self, inner: S) -> HarmontAuth<S> {
        HarmontAuth { inner, verifier: self.verifier.clone() }
    }
}

/// The service the layer wraps around another.
#[derive(Debug, Clone)]
pub struct HarmontAuth<S> {
    inner: S,
    verifier: Arc<Verifier>,
}

impl<S, ReqBody, ResBody> tower::Service<Request<ReqBody>> for HarmontAuth<S>
where
    S: tower::Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: From<String> + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<ResBody>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        // The clone that was polled ready serves this request.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let verifier = self.verifier.clone();
        Box::pin(async move {
            let header = request.headers().get(AUTHORIZATION).map(|v| v.to_str().unwrap_or(""));
            match verifier.verify(header).await {
                Ok(identity) => {
                    request.extensions_mut().insert(identity);
                    inner.call(request).await
                }
                Err(refusal) => Ok(verifier.refuse(refusal)),
            }
        })
    }
}

/// Why a request is not let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// No bearer token.
    Missing,
    /// A token that is not live (or not a bearer).
    Invalid,
    /// harmont-auth did not say (down, slow, or refused our client credentials).
    Unavailable,
}

struct Verifier {
    http: reqwest::Client,
    introspect_url: String,
    doc_url: String,
    client_id: Uuid,
    client_secret: ClientSecret,
    cache_ttl: Duration,
    /// Keyed by the token's SHA-256: the raw token is not kept.
    cache: Mutex<HashMap<[u8; 32], (Identity, Instant)>>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("introspect_url", &self.introspect_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("cache_ttl", &self.cache_ttl)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    fn duplicate(&self) -> Verifier {
        Verifier {
            http: self.http.clone(),
            introspect_url: self.introspect_url.clone(),
            doc_url: self.doc_url.clone(),
            client_id: self.client_id,
            client_secret: self.client_secret.clone(),
            cache_ttl: self.cache_ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    async fn verify(&self, authorization: Option<&str>) -> Result<Identity, Refusal> {
        let header = authorization.ok_or(Refusal::Missing)?;
        let token = match header.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => token.trim(),
            _ => return Err(Refusal::Invalid),
        };
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(identity) = self.cached(&key) {
            return Ok(identity);
        }
        let answer = self.introspect(token).await?;
        if !answer.active {
            return Err(Refusal::Invalid);
        }
        let (Some(user_id), Some(email), Some(token_kind)) = (answer.sub, answer.username, answer.token_type) else {
            tracing::warn!("harmont-auth answered an active token without sub, username or token_type");
            return Err(Refusal::Unavailable);
        };
        let identity = Identity { user_id, email, token_kind };
        let keep = keep_for(self.cache_ttl, answer.exp, unix_millis());
        if !keep.is_zero() {
            let mut cache = self.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if cache.len() >= MAX_ENTRIES {
                let now = Instant::now();
                cache.retain(|_, (_, until)| *until > now);
                if cache.len() >= MAX_ENTRIES {
                    cache.clear();
                }
            }
            cache.insert(key, (identity.clone(), Instant::now() + keep));
        }
        Ok(identity)
    }

    fn cached(&self, key: &[u8; 32]) -> Option<Identity> {
        let mut cache = self.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match cache.get(key) {
            Some((identity, until)) if *until > Instant::now() => Some(identity.clone()),
            Some(_) => {
                cache.remove(key);
                None
            }
            None => None,
        }
    }

    async fn introspect(&self, token: &str) -> Result<IntrospectionResponse, Refusal> {
        let response = self
            .http
            .post(&self.introspect_url)
            .basic_auth(self.client_id, Some(self.client_secret.expose()))
            .form(&[("token", token)])
            .send()
            .await
            .map_err(|err| {
                // Without the URL: nothing of the request reaches the log.
                tracing::warn!(error = %err.without_url(), "cannot reach harmont-auth to introspect a token");
                Refusal::Unavailable
            })?;
        let status = response.status();
        if !status.is_success() {
            if status == StatusCode::UNAUTHORIZED {
                tracing::error!(
                    client_id = %self.client_id,
                    "harmont-auth refused this service's client credentials (removed, or a wrong secret?)"
                );
            } else {
                tracing::warn!(%status, "harmont-auth did not answer an introspection");
            }
            return Err(Refusal::Unavailable);
        }
        response.json::<IntrospectionResponse>().await.map_err(|err| {
            tracing::warn!(error = %err.without_url(), "harmont-auth's introspection answer did not parse");
            Refusal::Unavailable
        })
    }

    /// The harmont error envelope for a refusal, as harmont-auth itself
    /// would answer (no `request_id`: the request never reached it).
    fn refuse<B: From<String>>(&self, refusal: Refusal) -> Response<B> {
        let code = match refusal {
            Refusal::Missing | Refusal::Invalid => ErrorCode::Unauthorized,
            Refusal::Unavailable => ErrorCode::Unavailable,
        };
        let mut body = ErrorBody::new(code, code.message());
        body.error.doc_url = Some(format!("{}/{}", self.doc_url, code.as_str()));
        let json = serde_json::to_string(&body).unwrap_or_default();
        let mut response = Response::new(B::from(json));
        *response.status_mut() = StatusCode::from_u16(code.status()).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        match refusal {
            Refusal::Missing => {
                headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"harmont\""));
            }
            Refusal::Invalid => {
                let challenge = HeaderValue::from_static("Bearer realm=\"harmont\", error=\"invalid_token\"");
                headers.insert(WWW_AUTHENTICATE, challenge);
            }
            Refusal::Unavailable => {
                headers.insert(RETRY_AFTER, HeaderValue::from_static("1"));
            }
        }
        response
    }
}

fn unix_millis() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// How long to keep a positive answer: the TTL, cut at the token's `exp`
/// (Unix seconds; none for a key that never expires), never negative.
fn keep_for(ttl: Duration, exp: Option<i64>, now_millis: i64) -> Duration {
    match exp {
        None => ttl,
        Some(exp) => {
            let left = exp.saturating_mul(1000).saturating_sub(now_millis);
            ttl.min(Duration::from_millis(u64::try_from(left).unwrap_or(0)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_positive_answer_is_kept_for_the_ttl_and_never_past_exp() {
        let ttl = Duration::from_secs(2);
        let now = 1_767_225_600_000;
        assert_eq!(keep_for(ttl, None, now), ttl, "a key that never expires");
        assert_eq!(keep_for(ttl, Some(now / 1000 + 3600), now), ttl);
        assert_eq!(keep_for(ttl, Some(now / 1000 + 1), now), Duration::from_secs(1), "cut at exp");
        assert_eq!(keep_for(ttl, Some(now / 1000), now), Duration::ZERO, "expires now");
        assert_eq!(keep_for(ttl, Some(now / 1000 - 10), now), Duration::ZERO, "already past");
        assert_eq!(keep_for(Duration::ZERO, None, now), Duration::ZERO, "cache off");
        assert_eq!(keep_for(ttl, Some(i64::MAX), now), ttl);
        assert_eq!(keep_for(ttl, Some(i64::MIN), now), Duration::ZERO);
    }

    #[test]
    fn the_configuration_is_checked_and_debug_hides_the_secret() {
        let id = Uuid::new_v4().to_string();
        let secret = ClientSecret::generate();
        assert!(matches!(HarmontAuthLayer::new("ftp://x", &id, secret.expose()), Err(ConfigError::Url)));
        assert!(matches!(HarmontAuthLayer::new("http://x", "nope", secret.expose()), Err(ConfigError::ClientId)));
        assert!(matches!(HarmontAuthLayer::new("http://x", &id, "hmk_nope"), Err(ConfigError::ClientSecret)));
        let layer = HarmontAuthLayer::new("http://auth.example.com/", &id, secret.expose()).unwrap();
        assert_eq!(layer.verifier.introspect_url, "http://auth.example.com/api/v0/auth/introspect");
        let shown = format!("{layer:?}");
        assert!(!shown.contains(&secret.expose()[4..]), "{shown}");
        let layer = layer.cache_ttl(Duration::ZERO);
        assert_eq!(layer.verifier.cache_ttl, Duration::ZERO);
    }
}
