//! The HTTP surface: routes, extractors and the middleware that makes every
//! failure the documented envelope.

mod account;
mod cli_login;
mod docs;
mod email_links;
pub mod extract;
mod forward_auth;
mod health;
mod identities;
mod introspect;
pub mod metrics;
pub mod middleware;
pub mod openapi;
mod pages;
mod sign_in_methods;
mod sso;
mod web_sign_in;

use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use axum::http::{HeaderName, HeaderValue, Method};
use axum::routing::{delete, get, post};
use axum::Router;
use harmont_wire::api::CliTokenResponse;
use harmont_wire::token::SessionToken;
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::CorsLayer;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::error::ApiError;
use crate::service::Service;
use crate::web;

/// The whole application.
pub fn router(service: Arc<Service>) -> Router {
    with_middleware(routes(), service)
}

/// Every route, before the middleware.
pub fn routes() -> Router<Arc<Service>> {
    Router::new()
        .route("/api/v0/auth/cli/transfer", post(cli_login::transfer))
        .route("/api/v0/auth/cli/claim", post(cli_login::claim))
        .route("/api/v0/auth/cli/code", post(cli_login::code))
        .route("/api/v0/auth/cli/redeem", post(cli_login::redeem))
        .route("/api/v0/auth/cli/inspect", post(cli_login::inspect))
        .route("/api/v0/auth/cli/device", post(cli_login::device))
        .route("/api/v0/auth/cli/device/inspect", post(cli_login::device_inspect))
        .route("/api/v0/auth/cli/device/approve", post(cli_login::device_approve))
        .route("/api/v0/auth/logout", post(account::logout))
        // The methods of a proxied request, and any path below: nginx's
        // `auth_request` asks with the original request's method, Envoy's
        // `ext_authz` with its method and its path appended.
        .route("/api/v0/auth/verify", forward_auth::methods())
        .route("/api/v0/auth/verify/", forward_auth::methods())
        .route("/api/v0/auth/verify/{*forwarded}", forward_auth::methods())
        .route("/api/v0/auth/introspect", post(introspect::introspect))
        .route("/api/v0/auth/sessions", get(account::list_sessions))
        .route("/api/v0/auth/sessions/{id}", delete(account::revoke_session))
        .route("/api/v0/auth/sessions/revoke-others", post(account::revoke_other_sessions))
        .route(
            "/api/v0/user",
            get(account::current_user).patch(account::update_current_user).delete(account::delete_current_user),
        )
        .route("/api/v0/user/api-tokens", get(account::list_api_tokens).post(account::create_api_token))
        .route("/api/v0/user/api-tokens/{id}", delete(account::revoke_api_token))
        .route("/api/v0/ping", get(health::ping))
        .route("/healthz", get(health::healthz))
        .route("/api/v0/openapi.json", get(openapi::openapi_json))
        .route("/docs/errors", get(docs::error_index))
        .route("/docs/errors/{code}", get(docs::error_page))
        .route("/docs/api", get(pages::api_reference))
        .route("/api/v0/auth/links/redeem", post(web_sign_in::redeem_link))
        .route("/api/v0/auth/links/email", post(email_links::email_link))
        .route("/api/v0/auth/methods", get(sign_in_methods::sign_in_methods))
        .route("/api/v0/auth/identities", get(identities::list))
        .route("/api/v0/auth/identities/{id}", delete(identities::unlink))
        .route("/api/v0/auth/sso/{provider}/start", get(sso::start))
        .route("/api/v0/auth/sso/{provider}/callback", get(sso::callback))
        .route("/api/v0/auth/passkeys", get(web_sign_in::list))
        .route("/api/v0/auth/passkeys/{id}", delete(web_sign_in::delete))
        .route("/api/v0/auth/passkeys/sign-in/start", post(web_sign_in::sign_in_start))
        .route("/api/v0/auth/passkeys/sign-in/finish", post(web_sign_in::sign_in_finish))
        .route("/api/v0/auth/passkeys/register/start", post(web_sign_in::register_start))
        .route("/api/v0/auth/passkeys/register/finish", post(web_sign_in::register_finish))
        .route("/", get(web::pages::home))
        .route("/login", get(pages::login))
        .route("/cli-login", get(pages::cli_login))
        .route("/cli-login/device", get(pages::cli_login))
        .route("/settings", get(pages::settings))
        .route("/assets/{name}", get(web::pages::asset))
}

/// A browser asking for a missing page gets the HTML page; API clients the envelope.
async fn fallback(req: axum::extract::Request) -> axum::response::Response {
    use axum::response::IntoResponse;
    let wants_html = req
        .headers()
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if wants_html && !req.uri().path().starts_with("/api/") {
        return web::pages::not_found();
    }
    ApiError::new(harmont_wire::ErrorCode::NotFound).into_response()
}

/// Wraps routes in the layers every request passes through. Public so tests
/// can add a route (one that panics, say) and see it treated like the rest.
pub fn with_middleware(routes: Router<Arc<Service>>, service: Arc<Service>) -> Router {
    routes
        .fallback(fallback)
        .route_layer(axum::middleware::from_fn(middleware::remember_route))
        .layer(CatchPanicLayer::custom(middleware::panic_response))
        .layer(SetResponseHeaderLayer::if_not_present(CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .layer(axum::middleware::from_fn(web::pages::security_headers))
        .layer(SetResponseHeaderLayer::overriding(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(tower::util::option_layer(cors(&service.settings().cors_origins)))
        .layer(axum::middleware::from_fn_with_state(service.clone(), middleware::request_context))
        .with_state(service)
}

/// A response that carries a secret (a token, a paste code): never cached,
/// whatever the global default becomes.
pub(crate) fn no_store(body: impl axum::response::IntoResponse) -> axum::response::Response {
    let mut response = body.into_response();
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The answer of every operation that hands out a fresh session token (the
/// CLI's `claim` and `redeem`, web sign-in with a login link or a passkey):
/// `{"token": "hms_…"}`, never cached. The document calls this body
/// `CliTokenResponse` on the CLI's operations (Harmont's published name) and
/// `SignInResponse` on web sign-in's: two names for one shape, held together
/// by harmont-wire's tests, so the bytes do not differ. Failures stay with the
/// caller: the CLI's handlers turn an error into its envelope themselves, so
/// that `claim` sets `Preference-Applied` on either answer.
pub(crate) fn token_response(token: SessionToken) -> axum::response::Response {
    no_store(axum::Json(CliTokenResponse { token: token.into() }))
}

/// Lets the configured origins call the API with a bearer token; `None`
/// (no CORS headers at all) when there are none.
fn cors(origins: &[String]) -> Option<CorsLayer> {
    let origins: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    (!origins.is_empty()).then(|| {
        CorsLayer::new()
            .allow_origin(origins)
            .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
            .allow_headers([AUTHORIZATION, CONTENT_TYPE, HeaderName::from_static("prefer")])
            .expose_headers([HeaderName::from_static("x-request-id"), HeaderName::from_static("preference-applied")])
            .max_age(std::time::Duration::from_secs(3600))
    })
}
