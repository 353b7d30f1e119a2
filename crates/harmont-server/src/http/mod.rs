//! The HTTP surface: routes, extractors and the middleware that makes every
//! failure the documented envelope.

mod account;
mod cli_login;
mod docs;
pub mod extract;
mod health;
pub mod middleware;
pub mod openapi;

use axum::http::header::{CACHE_CONTROL, X_CONTENT_TYPE_OPTIONS};
use axum::http::HeaderValue;
use axum::routing::{delete, get, post};
use axum::Router;
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::error::ApiError;
use crate::service::Service;

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
        .route("/api/v0/auth/logout", post(account::logout))
        .route("/api/v0/auth/sessions", get(account::list_sessions))
        .route("/api/v0/auth/sessions/{id}", delete(account::revoke_session))
        .route("/api/v0/auth/sessions/revoke-others", post(account::revoke_other_sessions))
        .route("/api/v0/user", get(account::current_user))
        .route("/api/v0/ping", get(health::ping))
        .route("/healthz", get(health::healthz))
        .route("/api/v0/openapi.json", get(openapi::openapi_json))
        .route("/docs/errors", get(docs::error_index))
        .route("/docs/errors/{code}", get(docs::error_page))
}

/// Wraps routes in the layers every request passes through. Public so tests
/// can add a route (one that panics, say) and see it treated like the rest.
pub fn with_middleware(routes: Router<Arc<Service>>, service: Arc<Service>) -> Router {
    routes
        .fallback(|| async { ApiError::new(harmont_wire::ErrorCode::NotFound) })
        .route_layer(axum::middleware::from_fn(middleware::remember_route))
        .layer(CatchPanicLayer::custom(middleware::panic_response))
        .layer(SetResponseHeaderLayer::if_not_present(CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .layer(SetResponseHeaderLayer::overriding(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(axum::middleware::from_fn_with_state(service.clone(), middleware::request_context))
        .with_state(service)
}
