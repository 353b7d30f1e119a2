//! The page routes: each serves its shell from `web/pages.rs` with the
//! server's public URL and windows.

use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use std::sync::Arc;

use crate::service::Service;
use crate::web::pages::{Page, Shell, API_REFERENCE, CLI_LOGIN, LOGIN, SETTINGS};

fn serve(service: &Service, headers: &HeaderMap, uri: &Uri, shell: &Shell) -> Response {
    let settings = service.settings();
    let windows = [
        ("session-ttl", settings.session_ttl),
        ("transfer-ttl", settings.transfer_ttl),
        ("paste-ttl", settings.paste_ttl),
        ("max-wait", settings.max_wait),
    ];
    Page { public_url: &settings.public_url, windows: &windows }.render(headers, uri, shell)
}

pub async fn login(State(service): State<Arc<Service>>, headers: HeaderMap, uri: Uri) -> Response {
    serve(&service, &headers, &uri, &LOGIN)
}

/// `/cli-login` and `/cli-login/device`.
pub async fn cli_login(State(service): State<Arc<Service>>, headers: HeaderMap, uri: Uri) -> Response {
    serve(&service, &headers, &uri, &CLI_LOGIN)
}

/// `/docs/api`: the API reference, rendered in the browser from `/api/v0/openapi.json`.
pub async fn api_reference(State(service): State<Arc<Service>>, headers: HeaderMap, uri: Uri) -> Response {
    serve(&service, &headers, &uri, &API_REFERENCE)
}

pub async fn settings(State(service): State<Arc<Service>>, headers: HeaderMap, uri: Uri) -> Response {
    serve(&service, &headers, &uri, &SETTINGS)
}
