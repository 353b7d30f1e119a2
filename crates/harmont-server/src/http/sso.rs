//! The browser's side of single sign-on: `start` sends it to the provider
//! with the flow's cookie, `callback` ends on `/login#link=…` or on an error
//! page. Both are navigations, not API calls: they answer redirects and
//! HTML, never JSON, and are not in the OpenAPI document (like the pages).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header::{COOKIE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use std::sync::Arc;

use super::extract::Client;
use crate::service::Service;
use crate::sso::{CallbackQuery, FlowReference, SsoFailure, COOKIE as FLOW_COOKIE, FLOW_TTL};
use crate::web::pages::{escape, layout};

#[derive(Debug, serde::Deserialize)]
pub struct StartQuery {
    next: Option<String>,
}

pub async fn start(
    State(service): State<Arc<Service>>,
    Path(provider): Path<String>,
    Client(client): Client,
    query: Result<Query<StartQuery>, QueryRejection>,
) -> Response {
    let next = query.as_ref().ok().and_then(|q| q.next.as_deref());
    match service.sso().sso_start(&provider, next, &client).await {
        Ok((url, reference)) => {
            let cookie = flow_cookie(&service, &provider, reference.expose(), FLOW_TTL.as_secs());
            redirect(&url, cookie)
        }
        Err(failure) => failure_page(&failure),
    }
}

pub async fn callback(
    State(service): State<Arc<Service>>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    query: Result<Query<CallbackQuery>, QueryRejection>,
) -> Response {
    let reference = read_cookie(&headers);
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let outcome = service.sso().sso_callback(&provider, reference, query).await;
    // The flow is spent either way: the cookie goes.
    let clear = flow_cookie(&service, &provider, "", 0);
    match outcome {
        Ok(location) => redirect(&location, clear),
        Err(failure) => {
            match &failure {
                SsoFailure::Provider(err) => tracing::warn!(provider, error = %err, "single sign-on failed"),
                SsoFailure::ProviderRefused(code) => {
                    tracing::info!(provider, error = %code.chars().take(64).collect::<String>(), "the provider refused a sign-in")
                }
                other => tracing::info!(provider, failure = ?other, "single sign-on refused"),
            }
            let mut page = failure_page(&failure);
            if let Ok(value) = HeaderValue::from_str(&clear) {
                page.headers_mut().append(SET_COOKIE, value);
            }
            page
        }
    }
}

/// The flow's cookie: HttpOnly, SameSite=Lax (sent on the provider's
/// top-level redirect back, not on cross-site subrequests), only for the
/// callback's path, Secure when the site is served over HTTPS.
fn flow_cookie(service: &Service, provider: &str, value: &str, max_age: u64) -> String {
    let secure = if service.settings().public_url.starts_with("https://") { "; Secure" } else { "" };
    format!(
        "{FLOW_COOKIE}={value}; Path=/api/v0/auth/sso/{provider}/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
    )
}

fn read_cookie(headers: &HeaderMap) -> Option<FlowReference> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == FLOW_COOKIE)
        .and_then(|(_, value)| FlowReference::parse(value))
}

fn redirect(location: &str, cookie: String) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, value);
    }
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    response
}

/// An error page in the site's style that says what happened and links back to `/login`.
pub fn failure_page(failure: &SsoFailure) -> Response {
    let (heading, text) = failure.words();
    let body = format!(
        "<h1>{}</h1><p>{}</p><p class=\"status\">Nothing was signed in.</p>\
         <div class=\"actions\"><a class=\"button\" href=\"/login\">Back to sign-in</a></div>",
        escape(heading),
        escape(text),
    );
    let status = StatusCode::from_u16(failure.status()).unwrap_or(StatusCode::BAD_REQUEST);
    (status, Html(layout(heading, &body, None))).into_response()
}
