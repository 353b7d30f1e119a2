//! The HTML pages and their assets, embedded in the binary: no Node, no
//! separate front-end server. Each page is a static shell around one page
//! fragment; its JavaScript module does the work through the JSON API, so
//! nothing from the URL or the database is ever written into HTML here.
//!
//! Every response carries the security headers of [`security_headers`]: a
//! CSP without inline script or style, no framing, no referrer.

use axum::extract::{Path, Request};
use axum::http::header::{CONTENT_TYPE, HOST, LOCATION};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

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
fn canonical_redirect(public_url: &str, req_host: Option<&str>, uri: &Uri) -> Option<Response> {
    if !super::origin_rewritten(public_url) {
        return None;
    }
    let origin = super::web_origin(public_url);
    let host = req_host?.rsplit_once(':').map_or(req_host?, |(h, _)| h);
    if host == "localhost" || Some(host) == origin.host_str() {
        return None;
    }
    let path_and_query = uri.path_and_query().map_or("/", |pq| pq.as_str());
    let location = format!("{}{path_and_query}", super::web_base(public_url));
    let value = HeaderValue::from_str(&location).ok()?;
    Some((StatusCode::TEMPORARY_REDIRECT, [(LOCATION, value)]).into_response())
}

/// A page: the shell around `body`, with `script` and the server's windows
/// (see [`Page::windows`]) in its head, or the redirect to the canonical origin.
#[derive(Debug)]
pub struct Page<'a> {
    /// The server's public URL (`Settings::public_url`).
    pub public_url: &'a str,
    /// The server's windows by name (`session-ttl`, `transfer-ttl`,
    /// `paste-ttl`, `max-wait`), for the pages' scripts to read, so a page
    /// says "30 days" when the server is configured so, not a default:
    /// `<meta name="harmont:session-ttl" content="2592000">` and the like.
    /// Configuration only, never anything from a request or the database.
    pub windows: &'a [(&'static str, std::time::Duration)],
}

impl Page<'_> {
    pub fn render(&self, headers: &HeaderMap, uri: &Uri, shell: &Shell) -> Response {
        let host = headers.get(HOST).and_then(|h| h.to_str().ok());
        if let Some(redirect) = canonical_redirect(self.public_url, host, uri) {
            return redirect;
        }
        let meta: String = self
            .windows
            .iter()
            .map(|(name, value)| format!("<meta name=\"harmont:{name}\" content=\"{}\">", value.as_secs()))
            .collect();
        Html(layout_with(shell.title, shell.body, Some(shell.script), &meta)).into_response()
    }
}

/// One page's title, its fragment of HTML and its script module.
#[derive(Debug, Clone, Copy)]
pub struct Shell {
    pub title: &'static str,
    pub body: &'static str,
    pub script: &'static str,
}

pub const LOGIN: Shell = Shell { title: "Sign in", body: include_str!("../../web/login.html"), script: "login.js" };
pub const CLI_LOGIN: Shell = Shell {
    title: "Authorize the Harmont CLI",
    body: include_str!("../../web/cli-login.html"),
    script: "cli-login.js",
};
pub const API_REFERENCE: Shell =
    Shell { title: "API reference", body: include_str!("../../web/api-docs.html"), script: "api-docs.js" };
pub const SETTINGS: Shell =
    Shell { title: "Settings", body: include_str!("../../web/settings.html"), script: "settings.js" };

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
