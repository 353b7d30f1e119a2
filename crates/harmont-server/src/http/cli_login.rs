//! HTTP handlers of the CLI login handoff. Each parses, calls one
//! `Service` method (see `cli_login/`), and shapes the response.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use harmont_wire::api::{
    CliClaimRequest, CliCodeRequest, CliCodeResponse, CliDeviceCodeRequest, CliDeviceInspectResponse, CliDeviceRequest,
    CliDeviceResponse, CliInspectRequest, CliInspectResponse, CliRedeemRequest, CliTokenResponse, CliTransferRequest,
};
use harmont_wire::ErrorBody;
use std::sync::Arc;
use std::time::Duration;

use super::extract::{Bearer, Client, JsonBody, OptionalJsonBody, SessionBearer};
use super::{no_store, token_response};
use crate::error::ApiError;
use crate::service::Service;

/// Parks a fresh login for the signed-in user under the CLI's nonce, for the
/// server's transfer window (60 seconds by default).
#[utoipa::path(
    post, path = "/api/v0/auth/cli/transfer", operation_id = "cliTransfer", tag = "auth",
    request_body(content = CliTransferRequest, description = "The nonce of the waiting CLI"),
    responses(
        (status = 204, description = "Parked; the CLI can claim it"),
        (status = 400, description = "Bad body, weak nonce (`nonce_invalid`) or bad challenge", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "The bearer is an API key (`api_key_forbidden`): keys cannot start a login", body = ErrorBody),
        (status = 409, description = "A login already waits under this nonce (`nonce_in_use`)", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
        (status = 429, description = "Too many transfers and codes from this session (`rate_limited`)", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn transfer(
    State(service): State<Arc<Service>>,
    SessionBearer(auth): SessionBearer,
    JsonBody(body): JsonBody<CliTransferRequest>,
) -> Result<StatusCode, ApiError> {
    service.sessions().limit_starts(&auth)?;
    service.cli_login().transfer(&auth.user, &body.nonce, body.code_challenge).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Collects the session token parked under a nonce, once. Honours `Prefer: wait=N` (N ≤ 30).
#[utoipa::path(
    post, path = "/api/v0/auth/cli/claim", operation_id = "cliClaim", tag = "auth",
    request_body(content = CliClaimRequest, description = "The CLI's nonce"),
    params(("Prefer" = Option<String>, Header, description = "`wait=N`: hold the request up to N seconds (at most 30) until the token is there")),
    responses(
        (status = 200, description = "The session token", body = CliTokenResponse,
            headers(("Preference-Applied" = String, description = "`wait=N` when the request was held"))),
        (status = 400, description = "Nothing to claim yet, or any more (`cli_code_invalid`)", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
        (status = 429, description = "Too many failed claims, or too many held at once, from this address (`rate_limited`)", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
    ),
)]
pub async fn claim(
    State(service): State<Arc<Service>>,
    Client(client): Client,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CliClaimRequest>,
) -> Response {
    let wait = preferred_wait(&headers).map(|w| w.min(service.settings().max_wait));
    let result =
        service.cli_login().claim(&body.nonce, body.code_verifier.as_deref(), wait.unwrap_or_default(), &client).await;
    let mut response = result.map_or_else(IntoResponse::into_response, token_response);
    if let Some(wait) = wait {
        if let Ok(value) = HeaderValue::from_str(&format!("wait={}", wait.as_secs())) {
            response.headers_mut().insert("preference-applied", value);
        }
    }
    response
}

/// Mints a paste code for the signed-in user, valid for the server's paste
/// window (five minutes by default; `expires_in` says).
#[utoipa::path(
    post, path = "/api/v0/auth/cli/code", operation_id = "cliCode", tag = "auth",
    request_body(content = Option<CliCodeRequest>, description = "Optional: a PKCE challenge to bind the code to"),
    responses(
        (status = 200, description = "The paste code", body = CliCodeResponse),
        (status = 400, description = "Bad body or challenge", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "The bearer is an API key (`api_key_forbidden`): keys cannot start a login", body = ErrorBody),
        (status = 413, description = "Body too large (the body is optional, but read when sent)", body = ErrorBody),
        (status = 415, description = "A body that is not JSON", body = ErrorBody),
        (status = 429, description = "Too many transfers and codes from this session (`rate_limited`)", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn code(
    State(service): State<Arc<Service>>,
    SessionBearer(auth): SessionBearer,
    OptionalJsonBody(body): OptionalJsonBody<CliCodeRequest>,
) -> Result<Response, ApiError> {
    service.sessions().limit_starts(&auth)?;
    let code = service.cli_login().code(&auth.user, body.code_challenge).await?;
    let expires_in = Some(service.settings().paste_ttl.as_secs());
    Ok(no_store(Json(CliCodeResponse { code: code.expose().to_owned(), expires_in })))
}

/// Trades a typed paste code for a session token, once.
#[utoipa::path(
    post, path = "/api/v0/auth/cli/redeem", operation_id = "cliRedeem", tag = "auth",
    request_body(content = CliRedeemRequest, description = "The code as typed"),
    responses(
        (status = 200, description = "The session token", body = CliTokenResponse),
        (status = 400, description = "Unknown, expired or used code (`cli_code_invalid`)", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
        (status = 429, description = "Too many failed codes from this address (`rate_limited`)", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
    ),
)]
pub async fn redeem(
    State(service): State<Arc<Service>>,
    Client(client): Client,
    JsonBody(body): JsonBody<CliRedeemRequest>,
) -> Response {
    service
        .cli_login()
        .redeem(&body.code, body.code_verifier.as_deref(), &client)
        .await
        .map_or_else(IntoResponse::into_response, token_response)
}

/// Where the terminal waiting for this login connects from, and where the login stands, for the approval page.
#[utoipa::path(
    post, path = "/api/v0/auth/cli/inspect", operation_id = "cliInspect", tag = "auth",
    request_body(content = CliInspectRequest, description = "The nonce of the login about to be approved"),
    responses(
        (status = 200, description = "The address the claims for this nonce came from, and the caller's", body = CliInspectResponse),
        (status = 400, description = "Bad body or nonce (`nonce_invalid`)", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn inspect(
    State(service): State<Arc<Service>>,
    Bearer(_): Bearer,
    Client(client): Client,
    JsonBody(body): JsonBody<CliInspectRequest>,
) -> Result<Json<CliInspectResponse>, ApiError> {
    service.cli_login().inspect_claims(&body.nonce, client.ip).await.map(Json)
}

/// Registers a waiting terminal's login for the short approval: a person types
/// its verification code on `/cli-login/device` instead of opening the long URL.
#[utoipa::path(
    post, path = "/api/v0/auth/cli/device", operation_id = "cliDevice", tag = "auth",
    request_body(content = CliDeviceRequest, description = "The terminal's nonce, PKCE challenge and host"),
    responses(
        (status = 200, description = "The code to type, and where", body = CliDeviceResponse),
        (status = 400, description = "Bad body, weak nonce (`nonce_invalid`) or bad challenge (`code_challenge_invalid`)", body = ErrorBody),
        (status = 409, description = "A live login holds this code already (`nonce_in_use`): start a new login", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
        (status = 429, description = "Too many registrations from this address (`rate_limited`)", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
    ),
)]
pub async fn device(
    State(service): State<Arc<Service>>,
    Client(client): Client,
    JsonBody(body): JsonBody<CliDeviceRequest>,
) -> Result<Json<CliDeviceResponse>, ApiError> {
    let page = format!("{}/cli-login/device", crate::web::web_base(&service.settings().public_url));
    service.cli_login().device_start(&body.nonce, &body.code_challenge, body.host, &client, page).await.map(Json)
}

/// Which terminal waits under a typed code, for the page to show before Authorize.
#[utoipa::path(
    post, path = "/api/v0/auth/cli/device/inspect", operation_id = "cliDeviceInspect", tag = "auth",
    request_body(content = CliDeviceCodeRequest, description = "The code as typed"),
    responses(
        (status = 200, description = "The terminal waiting under the code", body = CliDeviceInspectResponse),
        (status = 400, description = "Bad body, or no login waits under this code (`cli_code_invalid`)", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "The bearer is an API key (`api_key_forbidden`)", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
        (status = 429, description = "Too many codes tried from this session (`rate_limited`)", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn device_inspect(
    State(service): State<Arc<Service>>,
    SessionBearer(auth): SessionBearer,
    Client(client): Client,
    JsonBody(body): JsonBody<CliDeviceCodeRequest>,
) -> Result<Json<CliDeviceInspectResponse>, ApiError> {
    // Every code tried counts: guessing codes meets the session's limit.
    service.sessions().limit_starts(&auth)?;
    service.cli_login().device_inspect(&body.user_code, client.ip).await.map(Json)
}

/// Approves the login waiting under a typed code: its terminal can then claim
/// its session (with the verifier of its PKCE challenge). Works once.
#[utoipa::path(
    post, path = "/api/v0/auth/cli/device/approve", operation_id = "cliDeviceApprove", tag = "auth",
    request_body(content = CliDeviceCodeRequest, description = "The code as typed"),
    responses(
        (status = 204, description = "Approved; the terminal can claim it"),
        (status = 400, description = "Bad body, or no login waits under this code (`cli_code_invalid`)", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "The bearer is an API key (`api_key_forbidden`): keys cannot start a login", body = ErrorBody),
        (status = 409, description = "This login was already approved (`nonce_in_use`)", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
        (status = 429, description = "Too many transfers and codes from this session (`rate_limited`)", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn device_approve(
    State(service): State<Arc<Service>>,
    SessionBearer(auth): SessionBearer,
    JsonBody(body): JsonBody<CliDeviceCodeRequest>,
) -> Result<StatusCode, ApiError> {
    service.sessions().limit_starts(&auth)?;
    service.cli_login().device_approve(&auth.user, &body.user_code).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The `wait` preference of RFC 7240, if the client stated one.
fn preferred_wait(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|pref| {
            let pref = pref.split(';').next()?.trim();
            let (name, value) = pref.split_once('=')?;
            name.trim().eq_ignore_ascii_case("wait").then(|| value.trim().trim_matches('"').parse::<u64>().ok())?
        })
        .next()
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefer(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("prefer", value.parse().unwrap());
        headers
    }

    #[test]
    fn wait_preference_is_read_among_others() {
        assert_eq!(preferred_wait(&prefer("wait=25")), Some(Duration::from_secs(25)));
        assert_eq!(preferred_wait(&prefer("respond-async, wait=10")), Some(Duration::from_secs(10)));
        assert_eq!(preferred_wait(&prefer("Wait = \"5\"; foo=bar")), Some(Duration::from_secs(5)));
        assert_eq!(preferred_wait(&prefer("return=minimal")), None);
        assert_eq!(preferred_wait(&prefer("wait=soon")), None);
        assert_eq!(preferred_wait(&HeaderMap::new()), None);
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config { cases: 2000, failure_persistence: None, ..Default::default() })]

        /// Any `Prefer` header (any bytes a header value may hold) is read
        /// without a panic; a stated `wait=N` round-trips among other preferences.
        #[test]
        fn any_prefer_header_is_read_without_panicking(
            raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..120),
            before in "[a-z-]{1,10}(=[a-z0-9]{1,5})?",
            wait in proptest::prelude::any::<u64>(),
        ) {
            let mut headers = HeaderMap::new();
            if let Ok(value) = HeaderValue::from_bytes(&raw) {
                headers.insert("prefer", value);
            }
            let _ = preferred_wait(&headers);
            proptest::prop_assume!(!before.starts_with("wait"));
            let stated = prefer(&format!("{before}, wait={wait}; x=y"));
            proptest::prop_assert_eq!(preferred_wait(&stated), Some(Duration::from_secs(wait)));
        }
    }
}
