//! The loopback listener of the browser handoff: after the approval page has
//! called `transfer`, it sends the browser to
//! `http://localhost:PORT/callback?state=S`, and this answers with a page
//! saying the tab can be closed. Only that path with the expected `state` is
//! answered; anything else gets a bare 404, so other local software cannot
//! learn anything by probing the port.
//!
//! `localhost` is `::1` as well as `127.0.0.1`, and browsers try `::1` first,
//! so the listener is on the same port on both loopbacks (on `127.0.0.1`
//! alone where the machine has no IPv6 loopback).

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use subtle::ConstantTimeEq as _;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Harmont CLI: logged in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}</style>
</head>
<body>
<h1>You are logged in</h1>
<p>The Harmont CLI has your session. You can close this tab and go back to your terminal.</p>
</body>
</html>
"#;

/// How many ports to try for one free on both loopbacks.
const PORT_TRIES: usize = 10;

/// A running listener on `127.0.0.1` and `::1`, stopped when dropped.
#[derive(Debug)]
pub struct Loopback {
    port: u16,
    called_back: watch::Receiver<bool>,
    tasks: Vec<JoinHandle<()>>,
}

#[derive(Debug)]
struct Shared {
    state: String,
    called_back: watch::Sender<bool>,
}

impl Loopback {
    /// Binds a free port on `127.0.0.1` and the same one on `::1`, and
    /// serves until dropped.
    pub async fn start(state: String) -> std::io::Result<Self> {
        let listeners = bind_both().await?;
        let port = listeners[0].local_addr()?.port();
        let (tx, rx) = watch::channel(false);
        let shared = Arc::new(Shared { state, called_back: tx });
        let app = Router::new().route("/callback", any(callback)).fallback(not_found).with_state(shared);
        let tasks = listeners
            .into_iter()
            .map(|listener| {
                let app = app.clone();
                tokio::spawn(async move {
                    // Serving ends only when the task is aborted; an accept error on a
                    // loopback socket would just leave the user to close the tab.
                    let _ = axum::serve(listener, app).await;
                })
            })
            .collect();
        Ok(Self { port, called_back: rx, tasks })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Resolves once the browser has come back with the right state.
    pub async fn called_back(&self) {
        let mut rx = self.called_back.clone();
        // The sender lives in the serving task, which outlives `self`'s borrow.
        let _ = rx.wait_for(|called| *called).await;
    }
}

impl Drop for Loopback {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// `127.0.0.1:P` and `[::1]:P` for one free `P`; only the first when this
/// machine has no IPv6 loopback at all.
async fn bind_both() -> std::io::Result<Vec<TcpListener>> {
    for _ in 0..PORT_TRIES {
        let v4 = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
        let port = v4.local_addr()?.port();
        match TcpListener::bind(SocketAddr::from((Ipv6Addr::LOCALHOST, port))).await {
            Ok(v6) => return Ok(vec![v4, v6]),
            // Taken on ::1 by something else: another port.
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => continue,
            // No IPv6 here (disabled, or no ::1): browsers will not try it either.
            Err(_) => return Ok(vec![v4]),
        }
    }
    Ok(vec![TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?])
}

async fn callback(State(shared): State<Arc<Shared>>, method: Method, RawQuery(query): RawQuery) -> Response {
    let state_matches = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .any(|(name, value)| name == "state" && bool::from(value.as_bytes().ct_eq(shared.state.as_bytes())));
    if method != Method::GET || !state_matches {
        return not_found().await;
    }
    shared.called_back.send_replace(true);
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        PAGE,
    )
        .into_response()
}

async fn not_found() -> Response {
    StatusCode::NOT_FOUND.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get(port: u16, path: &str) -> (u16, String) {
        get_from("127.0.0.1", port, path).await
    }

    async fn get_from(host: &str, port: u16, path: &str) -> (u16, String) {
        let response = reqwest::get(format!("http://{host}:{port}{path}")).await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    #[tokio::test]
    async fn both_loopbacks_answer_on_one_port() {
        if std::net::TcpListener::bind("[::1]:0").is_err() {
            eprintln!("no IPv6 loopback here; nothing to check");
            return;
        }
        let loopback = Loopback::start("s3cret".into()).await.unwrap();
        let port = loopback.port();
        assert_eq!(get_from("[::1]", port, "/").await.0, 404);
        let (status, body) = get_from("[::1]", port, "/callback?state=s3cret").await;
        assert_eq!(status, 200);
        assert!(body.contains("You can close this tab"), "{body}");
        loopback.called_back().await;
    }

    #[tokio::test]
    async fn only_the_callback_with_the_right_state_is_answered() {
        let loopback = Loopback::start("s3cret".into()).await.unwrap();
        let port = loopback.port();
        for path in ["/", "/callback", "/callback?state=wrong", "/callback?state=s3cre", "/other?state=s3cret"] {
            assert_eq!(get(port, path).await, (404, String::new()), "{path}");
        }
        let post =
            reqwest::Client::new().post(format!("http://127.0.0.1:{port}/callback?state=s3cret")).send().await.unwrap();
        assert_eq!(post.status(), 404);
        assert!(!*loopback.called_back.borrow());

        let (status, body) = get(port, "/callback?state=s3cret").await;
        assert_eq!(status, 200);
        assert!(body.contains("You can close this tab"), "{body}");
        loopback.called_back().await;
    }
}
