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

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · Harmont Auth</title>\
         <style>body{{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#111}}\
         code,pre{{font-family:ui-monospace,monospace;background:#f3f3f3;border-radius:4px;padding:.1em .3em}}\
         pre{{padding:.75rem;overflow:auto}}.status{{color:#555}}</style></head>\
         <body><main><h1><code>{title}</code></h1>{body}</main></body></html>"
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
