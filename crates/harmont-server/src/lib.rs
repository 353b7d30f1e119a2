//! harmont-auth: Harmont's Auth API. Where things live:
//! - `cli_login/`: the login handoff, one file per operation (transfer, claim, code, redeem);
//! - `sessions.rs`: session tokens, the bearer check, logout and session management;
//! - `web/`: the web pages (passkey sign-in, CLI approval, paste code, settings) and login links;
//! - `http/`: routes, extractors, the error envelope middleware, the OpenAPI document;
//! - `config.rs` and `main.rs`: the `harmont-auth` command line;
//! - storage is the `harmont-store` trait, with the SQLite and Postgres crates beside this one.

pub mod auth_cache;
pub mod cli_login;
pub mod clock;
pub mod config;
pub mod error;
pub mod http;
pub mod rate_limit;
pub mod secret;
pub mod service;
pub mod sessions;
pub mod store;
pub mod web;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

pub use service::{Service, Settings};

/// Serves `service` on `listener` until `shutdown` resolves, then stops
/// taking requests, releases waiting long polls, and lets in-flight requests
/// finish. Tests bind port 0 and call this directly.
pub async fn serve(
    listener: TcpListener,
    service: Arc<Service>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let sweeper = tokio::spawn(service.clone().sweep_forever(Duration::from_secs(60)));
    let watcher = service.clone().wake_on_transfers_elsewhere().await;
    let app = http::router(service.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let release = service.shutdown.clone();
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            release.cancel();
        })
        .await;
    service.shutdown.cancel();
    sweeper.abort();
    if let Some(watcher) = watcher {
        watcher.abort();
    }
    result
}
