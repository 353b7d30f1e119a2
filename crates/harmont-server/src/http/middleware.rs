//! The layer every request passes through: it gives the request an id, logs
//! one line for it, and renders every error response as the envelope (with
//! that id and the code's `doc_url`), whether it came from our code or from
//! the framework (unknown route, wrong method, panic). A 500's cause is
//! logged here, once, with the request id, and never reaches the client.

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER, USER_AGENT, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use harmont_wire::{ErrorBody, ErrorCode};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tracing::Instrument;

use crate::error::ApiError;
use crate::service::Service;

pub const REQUEST_ID: &str = "x-request-id";

/// The route template a request matched, carried out on the response for the log line.
#[derive(Debug, Clone)]
struct MatchedRoute(MatchedPath);

/// Runs after routing, where the matched route is known.
pub async fn remember_route(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().cloned();
    let mut response = next.run(req).await;
    if let Some(route) = route {
        response.extensions_mut().insert(MatchedRoute(route));
    }
    response
}

/// Request id, log line and error envelope. The id is always ours: a
/// client-sent `x-request-id` is not trusted into the logs.
pub async fn request_context(State(service): State<Arc<Service>>, req: Request, next: Next) -> Response {
    let request_id = uuid::Uuid::new_v4().simple().to_string();
    let method = req.method().clone();
    let started = Instant::now();
    let span = tracing::info_span!("request", request_id = %request_id);
    let context = audit_context(&service, &request_id, &req);
    let mut response = crate::audit::scope(context, async {
        let response = next.run(req).instrument(span.clone()).await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            let route = response.extensions().get::<MatchedRoute>().map_or("unmatched", |r| r.0.as_str());
            crate::audit::Event::failure("rate_limited").route(route).reason("rate_limited").emit();
        }
        response
    })
    .await;
    // The route template, never the raw path or query: those may carry a
    // nonce (the web pages take one in the query string).
    let route = response.extensions().get::<MatchedRoute>().map(|r| r.0.clone());

    span.in_scope(|| render_error(&service, &request_id, &mut response));
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    let route = route.as_ref().map_or("-", MatchedPath::as_str);
    let status = response.status().as_u16();
    crate::metrics::request(if route == "-" { "unmatched" } else { route }, method.as_str(), status, started.elapsed());
    let latency_ms = format!("{:.3}", started.elapsed().as_secs_f64() * 1000.0);
    span.in_scope(|| tracing::info!(%method, route, status, %latency_ms, "request"));
    response
}

/// Who is asking, for the audit trail: the address as every limit sees it
/// (through trusted proxies only) and the user agent.
fn audit_context(service: &Service, request_id: &str, req: &Request) -> crate::audit::RequestContext {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip());
    crate::audit::RequestContext {
        request_id: request_id.to_owned(),
        client_ip: peer.map(|peer| super::extract::client_ip(peer, req.headers(), &service.settings().trusted_proxies)),
        user_agent: req.headers().get(USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned),
        caller: None,
    }
}

fn render_error(service: &Service, request_id: &str, response: &mut Response) {
    let error = match response.extensions_mut().remove::<ApiError>() {
        Some(error) => error,
        None if is_bare_error(response) => ApiError::new(code_for_status(response.status())),
        None => return,
    };
    // Called inside the request's span, so the line carries the request id.
    // The one place an error's cause is logged: not where it was built, not twice.
    if let Some(cause) = error.cause_to_log() {
        if error.code == ErrorCode::Internal {
            tracing::error!(code = error.code.as_str(), cause = %cause, "internal error");
        } else {
            tracing::warn!(code = error.code.as_str(), cause = %cause, "request failed");
        }
    }
    let mut body = ErrorBody::new(error.code, error.message.clone());
    body.error.doc_url = Some(service.doc_url(error.code));
    body.error.request_id = Some(request_id.to_owned());

    let mut rendered = (error.status(), axum::Json(body)).into_response();
    // Keep what the inner layers said (such as `Allow` on a 405), minus the old body's framing.
    let headers = rendered.headers_mut();
    for (name, value) in response.headers() {
        if name != CONTENT_TYPE && name != CONTENT_LENGTH {
            headers.insert(name.clone(), value.clone());
        }
    }
    if error.code == ErrorCode::Unauthorized {
        let challenge = match error.bearer_error {
            Some(err) => format!("Bearer realm=\"harmont\", error=\"{err}\""),
            None => "Bearer realm=\"harmont\"".to_owned(),
        };
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            headers.insert(WWW_AUTHENTICATE, value);
        }
    }
    if error.code == ErrorCode::InvalidClient {
        headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"harmont\""));
    }
    if let Some(seconds) = error.retry_after {
        headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    *response = rendered;
}

/// An error status from the framework, with no body of ours.
fn is_bare_error(response: &Response) -> bool {
    let status = response.status();
    let content_type = response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    (status.is_client_error() || status.is_server_error())
        && !content_type.starts_with("application/json")
        && !content_type.starts_with("text/html")
}

fn code_for_status(status: StatusCode) -> ErrorCode {
    match status {
        StatusCode::NOT_FOUND => ErrorCode::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
        StatusCode::UNAUTHORIZED => ErrorCode::Unauthorized,
        StatusCode::TOO_MANY_REQUESTS => ErrorCode::RateLimited,
        StatusCode::SERVICE_UNAVAILABLE => ErrorCode::Unavailable,
        s if s.is_client_error() => ErrorCode::InvalidRequest,
        _ => ErrorCode::Internal,
    }
}

/// What a panicking handler answers: a bare 500 that `request_context` renders.
pub fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    ApiError::internal(format!("handler panicked: {detail}")).into_response()
}
