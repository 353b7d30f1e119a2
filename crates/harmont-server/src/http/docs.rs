//! `/docs/errors/<code>`: the page each error's `doc_url` points at.

use axum::extract::Path;
use axum::response::Html;
use harmont_wire::ErrorCode;

use crate::error::ApiError;

pub async fn error_index() -> Html<String> {
    let items: String = ErrorCode::ALL
        .iter()
        .map(|c| format!("<li><a href=\"/docs/errors/{0}\"><code>{0}</code></a> ({1})</li>", c.as_str(), c.status()))
        .collect();
    Html(page(
        "Error codes",
        &format!("<p>Every error the Auth API returns carries one of these codes.</p><ul>{items}</ul>"),
    ))
}

pub async fn error_page(Path(code): Path<String>) -> Result<Html<String>, ApiError> {
    let code = ErrorCode::from_code(&code).ok_or_else(|| ApiError::new(ErrorCode::NotFound))?;
    let body = format!(
        "<p class=\"status\">HTTP {status} · type <code>{kind}</code></p><p>{explain}</p>\
         <p>The error envelope:</p><pre>{{\"error\": {{\"type\": \"{kind}\", \"code\": \"{code}\", \"message\": \"{message}\", \"doc_url\": \"…\", \"request_id\": \"…\"}}}}</pre>\
         <p><a href=\"/docs/errors\">All error codes</a></p>",
        status = code.status(),
        kind = code.kind(),
        explain = escape(code.explanation()),
        code = code.as_str(),
        message = escape(code.message()),
    );
    Ok(Html(page(code.as_str(), &body)))
}

/// The pages' shared frame and stylesheet (no inline style: the CSP forbids it).
fn page(title: &str, body: &str) -> String {
    crate::web::pages::layout(title, &format!("<h1><code>{title}</code></h1>{body}"), None)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
