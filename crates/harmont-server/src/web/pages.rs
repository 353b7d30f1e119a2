//! The HTML pages and their assets, embedded in the binary: no Node, no
//! separate front-end server. Each page is a static shell around one page
//! fragment; its JavaScript module does the work through the JSON API, so
//! nothing from the URL or the database is ever written into HTML here.
//!
//! Every response carries the security headers of [`security_headers`]: a
//! CSP without inline script or style, no framing, no referrer.

use axum::extract::{Path, Request, State};
use axum::http::header::{CONTENT_TYPE, HOST, LOCATION};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use std::sync::Arc;

use crate::service::Service;

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'";

/// Adds the page security headers to every response (harmless on JSON).
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    let set = [
        ("content-security-policy", CONTENT_SECURITY_POLICY),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
        ("cross-origin-opener-policy", "same-origin"),
    ];
    for (name, value) in set {
        headers.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
    }
    response
}

/// The shared frame of every HTML page, the error docs included.
pub fn layout(title: &str, body: &str, script: Option<&str>) -> String {
    layout_with(title, body, script, "")
}

/// [`layout`], with `head` (trusted markup, such as the windows' `<meta>`) in the head.
fn layout_with(title: &str, body: &str, script: Option<&str>, head: &str) -> String {
    let script = script.map(|s| format!("<script type=\"module\" src=\"/assets/{s}\"></script>")).unwrap_or_default();
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">{head}\
         <title>{title} · Harmont</title>\
         <link rel=\"icon\" href=\"/assets/icon.svg\" type=\"image/svg+xml\">\
         <link rel=\"stylesheet\" href=\"/assets/app.css\">{script}</head>\
         <body><header class=\"top\"><a class=\"brand\" href=\"/settings\">Harmont</a></header>\
         <main id=\"main\">{body}</main></body></html>",
        title = escape(title),
    )
}

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// Pages asked for at a loopback IP go to `localhost` (see
/// [`super::web_origin`]); everything else is served as asked.
fn canonical_redirect(service: &Service, req_host: Option<&str>, uri: &Uri) -> Option<Response> {
    if !super::origin_rewritten(&service.settings.public_url) {
        return None;
    }
    let origin = super::web_origin(&service.settings.public_url);
    let host = req_host?.rsplit_once(':').map_or(req_host?, |(h, _)| h);
    if host == "localhost" || Some(host) == origin.host_str() {
        return None;
    }
    let path_and_query = uri.path_and_query().map_or("/", |pq| pq.as_str());
    let location = format!("{}{path_and_query}", super::web_base(&service.settings.public_url));
    let value = HeaderValue::from_str(&location).ok()?;
    Some((StatusCode::TEMPORARY_REDIRECT, [(LOCATION, value)]).into_response())
}

fn page(service: &Service, headers: &HeaderMap, uri: &Uri, title: &str, body: &str, script: &str) -> Response {
    let host = headers.get(HOST).and_then(|v| v.to_str().ok());
    if let Some(redirect) = canonical_redirect(service, host, uri) {
        return redirect;
    }
    Html(layout_with(title, body, Some(script), &windows_meta(service))).into_response()
}

/// The server's windows, in seconds, for the pages' scripts to read (so a
/// page says "30 days" when the server is configured so, not a default):
/// `<meta name="harmont:session-ttl" content="2592000">` and the like.
/// Configuration only, never anything from a request or the database.
fn windows_meta(service: &Service) -> String {
    let settings = &service.settings;
    [
        ("session-ttl", settings.session_ttl),
        ("transfer-ttl", settings.transfer_ttl),
        ("paste-ttl", settings.paste_ttl),
        ("max-wait", settings.max_wait),
    ]
    .iter()
    .map(|(name, value)| format!("<meta name=\"harmont:{name}\" content=\"{}\">", value.as_secs()))
    .collect()
}

pub async fn login(State(service): State<Arc<Service>>, headers: HeaderMap, uri: Uri) -> Response {
    page(&service, &headers, &uri, "Sign in", include_str!("../../web/login.html"), "login.js")
}

pub async fn cli_login(State(service): State<Arc<Service>>, headers: HeaderMap, uri: Uri) -> Response {
    page(
        &service,
        &headers,
        &uri,
        "Authorize the Harmont CLI",
        include_str!("../../web/cli-login.html"),
        "cli-login.js",
    )
}

/// `/docs/api`: the API reference, rendered in the browser from `/api/v0/openapi.json`.
pub fn api_reference(service: &Service, headers: &HeaderMap, uri: &Uri) -> Response {
    page(service, headers, uri, "API reference", include_str!("../../web/api-docs.html"), "api-docs.js")
}

pub async fn settings(State(service): State<Arc<Service>>, headers: HeaderMap, uri: Uri) -> Response {
    page(&service, &headers, &uri, "Settings", include_str!("../../web/settings.html"), "settings.js")
}

pub async fn home() -> Response {
    (StatusCode::SEE_OTHER, [(LOCATION, HeaderValue::from_static("/settings"))]).into_response()
}

/// The HTML answer to a browser asking for a page that does not exist.
pub fn not_found() -> Response {
    let body = "<h1>Page not found</h1><p>There is nothing at this address.</p>\
                <p><a href=\"/settings\">Your settings</a> · <a href=\"/docs/errors\">Error codes</a></p>";
    (StatusCode::NOT_FOUND, Html(layout("Not found", body, None))).into_response()
}

pub async fn asset(Path(name): Path<String>) -> Response {
    let (content_type, body): (&str, &'static [u8]) = match name.as_str() {
        "app.css" => ("text/css; charset=utf-8", include_bytes!("../../web/app.css")),
        "common.js" => ("text/javascript; charset=utf-8", include_bytes!("../../web/common.js")),
        "login.js" => ("text/javascript; charset=utf-8", include_bytes!("../../web/login.js")),
        "cli-login.js" => ("text/javascript; charset=utf-8", include_bytes!("../../web/cli-login.js")),
        "settings.js" => ("text/javascript; charset=utf-8", include_bytes!("../../web/settings.js")),
        "api-docs.js" => ("text/javascript; charset=utf-8", include_bytes!("../../web/api-docs.js")),
        "icon.svg" => ("image/svg+xml", include_bytes!("../../web/icon.svg")),
        _ => return crate::error::ApiError::new(harmont_wire::ErrorCode::NotFound).into_response(),
    };
    ([(CONTENT_TYPE, HeaderValue::from_static(content_type))], body).into_response()
}
