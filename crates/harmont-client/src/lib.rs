//! A typed async client for the Harmont Auth API.
//!
//! One method per operation, taking and returning the bodies of
//! [`harmont_wire::api`]. Every failure is an [`ApiError`] that tells a refusal
//! by the server (with its envelope) from a server that could not be reached.
//!
//! ```no_run
//! # async fn demo() -> Result<(), harmont_client::ApiError> {
//! let client = harmont_client::Client::new("http://127.0.0.1:8080").with_token("hms_…");
//! let me = client.current_user().await?;
//! println!("{}", me.email);
//! # Ok(()) }
//! ```

mod error;

use std::time::Duration;

use harmont_wire::api::{
    ApiTokenCreateRequest, ApiTokenListResponse, CliClaimRequest, CliCodeRequest, CliCodeResponse,
    CliDeviceCodeRequest, CliDeviceRequest, CliRedeemRequest, CliTokenResponse, CliTransferRequest, RevokedSessions,
    SessionList,
};
use harmont_wire::{ErrorBody, ErrorCode};
use reqwest::header::{HeaderMap, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER, USER_AGENT};
use reqwest::{Method, RequestBuilder, Response};
use serde::de::DeserializeOwned;

pub use error::{ApiError, ProtocolMismatch};
pub use harmont_wire::api::{ApiToken, ApiTokenCreateResponse, CliDeviceResponse, CurrentUserResponse, SessionInfo};
pub use harmont_wire::token::BearerToken;
pub use uuid::Uuid;

/// The longest `Prefer: wait` the server honours (it caps it there anyway).
pub const MAX_WAIT: Duration = Duration::from_secs(30);

/// How long an ordinary call may take before it counts as unreachable.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A handle on one Harmont API base. Cheap to clone. `Debug` shows no token.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<BearerToken>,
    user_agent: Option<String>,
}

/// What a `claim` found under the nonce.
#[derive(Debug, Clone)]
pub enum Claim {
    /// The session token; the server hands it out once.
    Token(BearerToken),
    /// Nothing there yet (`400 cli_code_invalid`: pending, unknown, expired,
    /// already taken, or the verifier does not match).
    NotYet {
        /// Whether the server held the request (`Preference-Applied: wait`).
        /// `false` after asking to wait means the server does not long-poll,
        /// and the caller should pace its own polling.
        long_polled: bool,
    },
}

impl Client {
    /// A client for the API at `base_url` (e.g. `http://127.0.0.1:8080`), with
    /// no token. A trailing slash is ignored.
    pub fn new(base_url: impl Into<String>) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .expect("a reqwest client with rustls and no custom TLS settings always builds");
        let base = base_url.into().trim_end_matches('/').to_owned();
        Self { http, base, token: None, user_agent: None }
    }

    /// Sends `Authorization: Bearer <token>` on every call.
    pub fn with_token(mut self, token: impl Into<BearerToken>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Sends this `User-Agent`; the server records it on sessions it mints.
    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// The API base, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// `GET /api/v0/ping`: whether a harmont-auth server answers. Anything
    /// but `200` with the JSON object `{"ok": true}` (a web server's HTML page,
    /// another service's JSON) is [`ApiError::Unexpected`].
    pub async fn ping(&self) -> Result<(), ApiError> {
        let response = self.send(self.request(Method::GET, "/api/v0/ping")).await?;
        let status = response.status().as_u16();
        let url = response.url().to_string();
        let content_type = content_type(response.headers());
        let text = response.text().await.map_err(|source| self.transport(source))?;
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(value) if value.get("ok") == Some(&serde_json::Value::Bool(true)) => Ok(()),
            _ => Err(ApiError::Unexpected { url, status, detail: describe(content_type.as_deref(), &text) }),
        }
    }

    /// `POST /api/v0/auth/cli/transfer` (Bearer): parks a fresh session token
    /// for the signed-in user under a CLI's nonce. This is the web page's half
    /// of the loopback login.
    pub async fn transfer(&self, nonce: &str, code_challenge: Option<&str>) -> Result<(), ApiError> {
        let body = CliTransferRequest { nonce: nonce.to_owned(), code_challenge: code_challenge.map(str::to_owned) };
        self.send(self.request(Method::POST, "/api/v0/auth/cli/transfer").json(&body)).await.map(drop)
    }

    /// `POST /api/v0/auth/cli/claim`: collects the token parked under `nonce`.
    ///
    /// With `wait`, asks the server to hold the request until the token
    /// arrives or the wait passes (`Prefer: wait=N`, capped at [`MAX_WAIT`]).
    /// `400 cli_code_invalid` is "not yet", not an error.
    pub async fn claim(
        &self,
        nonce: &str,
        code_verifier: Option<&str>,
        wait: Option<Duration>,
    ) -> Result<Claim, ApiError> {
        let body = CliClaimRequest { nonce: nonce.to_owned(), code_verifier: code_verifier.map(str::to_owned) };
        let mut request = self.request(Method::POST, "/api/v0/auth/cli/claim").json(&body);
        if let Some(wait) = wait {
            let wait = wait.min(MAX_WAIT);
            request = request.header("Prefer", format!("wait={}", wait.as_secs())).timeout(REQUEST_TIMEOUT + wait);
        }
        let response = self.dispatch(request).await?;
        if response.status().is_success() {
            return Ok(Claim::Token(self.json::<CliTokenResponse>(response).await?.token));
        }
        let long_polled = preference_applied_wait(response.headers());
        match self.error(response).await {
            err if err.is(ErrorCode::CliCodeInvalid) => Ok(Claim::NotYet { long_polled }),
            err => Err(err),
        }
    }

    /// `POST /api/v0/auth/cli/code` (Bearer): mints a paste code for the
    /// signed-in user, bound to `code_challenge` when given.
    pub async fn code(&self, code_challenge: Option<&str>) -> Result<String, ApiError> {
        let mut request = self.request(Method::POST, "/api/v0/auth/cli/code");
        if let Some(challenge) = code_challenge {
            request = request.json(&CliCodeRequest { code_challenge: Some(challenge.to_owned()) });
        }
        let response = self.send(request).await?;
        Ok(self.json::<CliCodeResponse>(response).await?.code)
    }

    /// `POST /api/v0/auth/cli/device`: registers this terminal's login for the
    /// short approval; returns the code to type and the page to type it on.
    pub async fn device(&self, nonce: &str, code_challenge: &str, host: &str) -> Result<CliDeviceResponse, ApiError> {
        let body = CliDeviceRequest {
            nonce: nonce.to_owned(),
            code_challenge: code_challenge.to_owned(),
            host: Some(host.to_owned()),
        };
        let response = self.send(self.request(Method::POST, "/api/v0/auth/cli/device").json(&body)).await?;
        self.json(response).await
    }

    /// `POST /api/v0/auth/cli/device/approve` (Bearer): approves the login
    /// waiting under a typed code. The web page's half of the short approval.
    pub async fn device_approve(&self, user_code: &str) -> Result<(), ApiError> {
        let body = CliDeviceCodeRequest { user_code: user_code.to_owned() };
        self.send(self.request(Method::POST, "/api/v0/auth/cli/device/approve").json(&body)).await.map(drop)
    }

    /// `POST /api/v0/auth/cli/redeem`: trades a paste code for a session token.
    pub async fn redeem(&self, code: &str, code_verifier: Option<&str>) -> Result<BearerToken, ApiError> {
        let body = CliRedeemRequest { code: code.to_owned(), code_verifier: code_verifier.map(str::to_owned) };
        let response = self.send(self.request(Method::POST, "/api/v0/auth/cli/redeem").json(&body)).await?;
        Ok(self.json::<CliTokenResponse>(response).await?.token)
    }

    /// `POST /api/v0/auth/logout` (Bearer): revokes the token on the server.
    pub async fn logout(&self) -> Result<(), ApiError> {
        self.send(self.request(Method::POST, "/api/v0/auth/logout")).await.map(drop)
    }

    /// `GET /api/v0/user` (Bearer): who the token belongs to.
    pub async fn current_user(&self) -> Result<CurrentUserResponse, ApiError> {
        let response = self.send(self.request(Method::GET, "/api/v0/user")).await?;
        self.json(response).await
    }

    /// `GET /api/v0/auth/sessions` (Bearer): the caller's live sessions,
    /// newest first.
    pub async fn sessions(&self) -> Result<Vec<SessionInfo>, ApiError> {
        let response = self.send(self.request(Method::GET, "/api/v0/auth/sessions")).await?;
        Ok(self.json::<SessionList>(response).await?.sessions)
    }

    /// `DELETE /api/v0/auth/sessions/{id}` (Bearer): ends one of the caller's
    /// sessions. Someone else's answers `404 session_not_found`.
    pub async fn revoke_session(&self, id: Uuid) -> Result<(), ApiError> {
        let path = format!("/api/v0/auth/sessions/{id}");
        self.send(self.request(Method::DELETE, &path)).await.map(drop)
    }

    /// `POST /api/v0/auth/sessions/revoke-others` (Bearer): ends every session
    /// of the caller but the current one; returns how many ended.
    pub async fn revoke_other_sessions(&self) -> Result<u64, ApiError> {
        let response = self.send(self.request(Method::POST, "/api/v0/auth/sessions/revoke-others")).await?;
        Ok(self.json::<RevokedSessions>(response).await?.revoked)
    }

    /// `GET /api/v0/user/api-tokens` (Bearer): the caller's live personal API
    /// keys, newest first, without their secrets.
    pub async fn api_tokens(&self) -> Result<Vec<ApiToken>, ApiError> {
        let response = self.send(self.request(Method::GET, "/api/v0/user/api-tokens")).await?;
        Ok(self.json::<ApiTokenListResponse>(response).await?.api_tokens)
    }

    /// `POST /api/v0/user/api-tokens` (Bearer, a session): a new personal API
    /// key; its secret (`token`) is in this answer only. `expires_at` is RFC 3339.
    pub async fn create_api_token(
        &self,
        description: &str,
        expires_at: Option<&str>,
    ) -> Result<ApiTokenCreateResponse, ApiError> {
        let body =
            ApiTokenCreateRequest { description: description.to_owned(), expires_at: expires_at.map(str::to_owned) };
        let response = self.send(self.request(Method::POST, "/api/v0/user/api-tokens").json(&body)).await?;
        self.json(response).await
    }

    /// `DELETE /api/v0/user/api-tokens/{id}` (Bearer): revokes one of the
    /// caller's keys. Someone else's answers `404 api_token_not_found`.
    pub async fn revoke_api_token(&self, id: Uuid) -> Result<(), ApiError> {
        let path = format!("/api/v0/user/api-tokens/{id}");
        self.send(self.request(Method::DELETE, &path)).await.map(drop)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let mut request = self.http.request(method, self.url(path)).timeout(REQUEST_TIMEOUT);
        if let Some(token) = &self.token {
            request = request.header(AUTHORIZATION, format!("Bearer {}", token.expose()));
        }
        if let Some(user_agent) = &self.user_agent {
            request = request.header(USER_AGENT, user_agent);
        }
        request
    }

    /// Sends, and turns every non-2xx answer into an [`ApiError`].
    async fn send(&self, request: RequestBuilder) -> Result<Response, ApiError> {
        let response = self.dispatch(request).await?;
        if response.status().is_success() {
            Ok(response)
        } else {
            Err(self.error(response).await)
        }
    }

    async fn dispatch(&self, request: RequestBuilder) -> Result<Response, ApiError> {
        request.send().await.map_err(|source| self.transport(source))
    }

    /// Reads a non-2xx answer: the envelope if it is one.
    async fn error(&self, response: Response) -> ApiError {
        let status = response.status().as_u16();
        let retry_after = retry_after(response.headers());
        let url = response.url().to_string();
        let content_type = content_type(response.headers());
        let text = match response.text().await {
            Ok(text) => text,
            Err(source) => return self.transport(source),
        };
        match serde_json::from_str::<ErrorBody>(&text) {
            Ok(body) => ApiError::Api { status, body, retry_after },
            Err(_) => ApiError::Unexpected { url, status, detail: describe(content_type.as_deref(), &text) },
        }
    }

    async fn json<T: DeserializeOwned>(&self, response: Response) -> Result<T, ApiError> {
        let status = response.status().as_u16();
        let url = response.url().to_string();
        let content_type = content_type(response.headers());
        let text = response.text().await.map_err(|source| self.transport(source))?;
        serde_json::from_str(&text).map_err(|_| ApiError::Unexpected {
            url,
            status,
            detail: describe(content_type.as_deref(), &text),
        })
    }

    fn transport(&self, source: reqwest::Error) -> ApiError {
        ApiError::Transport { url: self.base.clone(), source }
    }
}

/// `Retry-After` as delay-seconds (the only form the server sends).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse().ok().map(Duration::from_secs)
}

/// `Preference-Applied: wait=N` (RFC 7240): the server did hold the request.
fn preference_applied_wait(headers: &HeaderMap) -> bool {
    headers
        .get_all("preference-applied")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|pref| pref.trim().to_ascii_lowercase().starts_with("wait"))
}

fn content_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    Some(value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
}

/// What kind of body came back, for an error message. Never the body itself:
/// a page from whatever answered at a wrong URL is noise at best, and may
/// echo things that do not belong in a terminal or a log.
fn describe(content_type: Option<&str>, text: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        return "an empty body".to_owned();
    }
    if serde_json::from_str::<serde_json::Value>(text).is_ok() {
        return "JSON that is not a harmont-auth response".to_owned();
    }
    match content_type.filter(|t| !t.is_empty() && t.len() <= 100 && t.bytes().all(|b| b.is_ascii_graphic())) {
        Some(kind) => format!("a {kind} body"),
        None => "a body that is not JSON".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn preference_applied_is_recognised() {
        let mut headers = HeaderMap::new();
        assert!(!preference_applied_wait(&headers));
        headers.insert("preference-applied", HeaderValue::from_static("respond-async, wait=25"));
        assert!(preference_applied_wait(&headers));
    }

    #[test]
    fn retry_after_reads_seconds() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"));
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn bodies_are_described_not_quoted() {
        let page = "<!DOCTYPE HTML><html><title>Error response</title><p>secret-ish</p></html>";
        assert_eq!(describe(Some("text/html"), page), "a text/html body");
        assert_eq!(describe(None, page), "a body that is not JSON");
        assert_eq!(
            describe(Some("application/json"), r#"{"detail": "x"}"#),
            "JSON that is not a harmont-auth response"
        );
        assert_eq!(describe(Some("text/plain"), "  "), "an empty body");
    }

    #[test]
    fn debug_hides_the_token() {
        let client = Client::new("http://h/").with_token(BearerToken::new("hms_secret"));
        assert_eq!(client.base_url(), "http://h");
        assert!(!format!("{client:?}").contains("secret"));
        assert!(!format!("{:?}", Claim::Token(BearerToken::new("hms_secret"))).contains("secret"));
    }
}
