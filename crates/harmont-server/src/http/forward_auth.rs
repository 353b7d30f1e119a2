//! `GET`/`HEAD /api/v0/auth/verify`: forward auth for reverse proxies (nginx
//! `auth_request`, Traefik ForwardAuth, Caddy `forward_auth`, Envoy
//! `ext_authz`). The proxy asks on every request it forwards, so this is the
//! bearer check and nothing more: served through the bearer cache (a
//! revocation applies at once), with no failure limit (every request would
//! come from the proxy's address and trip it), and an empty body.

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use harmont_wire::ErrorBody;

use super::extract::Bearer;

pub const USER_ID: HeaderName = HeaderName::from_static("x-harmont-user-id");
pub const USER_EMAIL: HeaderName = HeaderName::from_static("x-harmont-user-email");
pub const TOKEN_KIND: HeaderName = HeaderName::from_static("x-harmont-token-kind");
pub const SESSION_ID: HeaderName = HeaderName::from_static("x-harmont-session-id");

/// Says who the bearer is, in headers a proxy copies onto the request it
/// forwards. Every method a proxied request may have is answered alike (nginx
/// asks with the original one), and any path below (Envoy appends the
/// original path); the body is never read.
#[utoipa::path(
    method(get, head, post, put, patch, delete), path = "/api/v0/auth/verify", operation_id = "verifyToken", tag = "auth",
    responses(
        (status = 200, description = "The bearer is live; the body is empty and the identity is in the headers",
            headers(
                ("X-Harmont-User-Id" = String, description = "The user's uuid"),
                ("X-Harmont-User-Email" = String, description = "The user's email"),
                ("X-Harmont-Token-Kind" = String, description = "`session` or `api_key`"),
                ("X-Harmont-Session-Id" = String, description = "The session's id (session tokens only)"),
            )),
        (status = 401, description = "No bearer token, or a malformed, unknown, expired or revoked one (`unauthorized`); `WWW-Authenticate: Bearer realm=\"harmont\"`, with `error=\"invalid_token\"` when a token was sent", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
        (status = 503, description = "The store does not answer (`service_unavailable`)", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn verify(Bearer(auth): Bearer) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(USER_ID, header_value(&auth.user.id.to_string()));
    // Emails are checked for shape, not for header safety: one that cannot be
    // a header value (a control character) is left out rather than mangled.
    if let Ok(email) = HeaderValue::from_bytes(auth.user.email.as_bytes()) {
        headers.insert(USER_EMAIL, email);
    }
    if auth.is_api_key() {
        headers.insert(TOKEN_KIND, HeaderValue::from_static("api_key"));
    } else {
        headers.insert(TOKEN_KIND, HeaderValue::from_static("session"));
        headers.insert(SESSION_ID, header_value(&auth.session.id.to_string()));
    }
    (StatusCode::OK, headers).into_response()
}

/// The route: GET (and so HEAD), POST, PUT, PATCH and DELETE; anything else
/// (TRACE, CONNECT, OPTIONS) is `405`.
pub fn methods() -> axum::routing::MethodRouter<std::sync::Arc<crate::service::Service>> {
    use axum::routing::{delete, get, patch, post, put};
    get(verify).merge(post(verify)).merge(put(verify)).merge(patch(verify)).merge(delete(verify))
}

/// A uuid's text is always a valid header value.
fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static(""))
}
