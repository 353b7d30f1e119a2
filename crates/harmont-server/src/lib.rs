//! harmont-auth: Harmont's Auth API. `service.rs` holds the root, [`Service`],
//! which builds each part once and hands it only what it may touch (its roles
//! of the store, its limits, its windows); the fields of a part say what it
//! may reach. Where things live:
//! - `cli_login/`: [`cli_login::CliLogin`], the login handoff, one file per operation (transfer, claim, code, redeem, device);
//! - `sessions.rs`: [`sessions::Sessions`], session tokens, the bearer check and its cache, logout, session management;
//! - `users.rs`: [`users::Users`], users and the account endpoints (name, deletion), disabling;
//! - `api_keys.rs`: [`api_keys::ApiKeys`], personal API keys;
//! - `introspection.rs`: [`introspection::Introspection`], RFC 7662 for resource servers, and their clients;
//! - `web/`: [`web::WebSignIn`], login links (emailed ones too) and passkeys; the pages' shells and assets;
//! - `sso/`: [`sso::SingleSignOn`], the flow from start to callback, and which user an identity signs in as;
//! - `providers/`: clients of the single sign-on providers (OpenID Connect, GitHub), and `HARMONT_SIGNUP`;
//! - `access.rs`: who is asking, what a new session records of it, and what they may do (a leaf all parts share);
//! - `auth_cache.rs`: the bearer cache; parts that revoke hold only its `Revocations` handle;
//! - `claim_memory/`: in-process state of waiting CLIs (long-poll waiters, where claims came from);
//! - `http/`: routes, every handler, extractors, the error envelope middleware, the OpenAPI document;
//! - `mail.rs`: outgoing mail over SMTP (emailed sign-in links);
//! - `config.rs` and `main.rs`: the `harmont-auth` command line;
//! - storage is the `harmont-store` traits (one per role), with the SQLite and Postgres crates beside this one.

pub mod access;
pub mod api_keys;
pub mod audit;
pub mod auth_cache;
pub mod claim_memory;
pub mod cli_login;
pub mod clock;
pub mod config;
pub mod config_file;
pub mod error;
pub mod http;
pub mod introspection;
pub mod mail;
pub mod metrics;
pub mod providers;
pub mod rate_limit;
pub mod secret;
pub mod service;
pub mod sessions;
pub mod sso;
pub mod store;
pub mod users;
pub mod web;

use axum::extract::ConnectInfo;
use axum::http::header::CONNECTION;
use axum::http::{HeaderValue, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

pub use service::{Service, Settings};

/// Serves `service` on `listener` until `shutdown` resolves, then stops
/// taking requests, releases waiting long polls, and lets in-flight requests
/// finish. Tests bind port 0 and call this directly.
///
/// HTTP/1.1 with the limits of `service.settings`: at most `max_connections`
/// served at once (the rest wait in the listen backlog), `header_timeout` to
/// send a request's headers (which also closes idle keep-alive connections),
/// `body_timeout` to send its body. Running out of file descriptors pauses
/// accepting with a back-off instead of spinning, and says so in one line.
pub async fn serve(
    listener: TcpListener,
    service: Arc<Service>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let sweeper = tokio::spawn(service.clone().sweep_forever(Duration::from_secs(60)));
    let watcher = service.clone().follow_store().await;
    let mail_worker = service.web().take_mail_queue().map(|queue| {
        let service = service.clone();
        tokio::spawn(async move { service.web().send_email_links_forever(queue).await })
    });
    let router = http::router(service.clone());
    let settings = service.settings();
    let slots = Arc::new(Semaphore::new(settings.max_connections.clamp(1, Semaphore::MAX_PERMITS)));
    let mut http1 = hyper::server::conn::http1::Builder::new();
    http1.timer(TokioTimer::new()).header_read_timeout(settings.header_timeout).keep_alive(true);
    let body_timeout = settings.body_timeout;
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut backoff = AcceptBackoff::default();
    tokio::pin!(shutdown);

    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => {
                backoff.succeeded();
                accepted
            }
            Err(err) => {
                if let Some(pause) = backoff.failed(&err, Instant::now()) {
                    tokio::select! {
                        () = tokio::time::sleep(pause) => {}
                        () = &mut shutdown => break,
                    }
                }
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let peer = SocketAddr::new(peer.ip().to_canonical(), peer.port());
        let router = router.clone();
        let handler = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            let deadline = tokio::time::Instant::now() + body_timeout;
            req.extensions_mut().insert(ConnectInfo(peer));
            req.extensions_mut().insert(http::extract::BodyDeadline(deadline));
            let call = tower::ServiceExt::oneshot(router.clone(), req);
            async move {
                let mut response = call.await?;
                // The rest of a body that came too slowly is not worth waiting for.
                if response.status() == StatusCode::REQUEST_TIMEOUT {
                    response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
                }
                Ok::<_, std::convert::Infallible>(response)
            }
        });
        let connection = graceful.watch(http1.serve_connection(TokioIo::new(stream), handler));
        tokio::spawn(async move {
            // A client that goes away mid-request is its own business.
            let _ = connection.await;
            drop(slot);
        });
    }

    drop(listener);
    service.shutdown().cancel();
    graceful.shutdown().await;
    sweeper.abort();
    if let Some(worker) = mail_worker {
        worker.abort();
    }
    if let Some(watcher) = watcher {
        watcher.abort();
    }
    Ok(())
}

/// What the accept loop does when `accept` fails. A peer that gave up before
/// being accepted is skipped at once. Anything else (out of file descriptors:
/// `EMFILE`, `ENFILE`; out of buffers) pauses accepting, 10 ms at first and
/// doubling up to 1 s while it lasts, so the loop neither spins nor stops;
/// connections that close give descriptors back. It is logged once a minute
/// at most, with how many failures were not.
#[derive(Debug, Default)]
pub struct AcceptBackoff {
    pause: Option<Duration>,
    logged_at: Option<Instant>,
    unlogged: u64,
}

impl AcceptBackoff {
    pub const FIRST_PAUSE: Duration = Duration::from_millis(10);
    pub const LONGEST_PAUSE: Duration = Duration::from_secs(1);
    pub const LOG_EVERY: Duration = Duration::from_secs(60);

    /// How long to pause before accepting again, if at all; logs as above.
    pub fn failed(&mut self, err: &std::io::Error, now: Instant) -> Option<Duration> {
        use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset, Interrupted};
        if matches!(err.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset | Interrupted) {
            return None;
        }
        let pause = self.pause.map_or(Self::FIRST_PAUSE, |p| (p * 2).min(Self::LONGEST_PAUSE));
        self.pause = Some(pause);
        if self.should_log(now) {
            tracing::warn!(
                error = %err,
                not_logged = self.unlogged,
                "cannot accept connections (out of file descriptors?); pausing up to 1s between tries \
                 until some close. This is logged at most once a minute."
            );
            self.unlogged = 0;
        } else {
            self.unlogged += 1;
        }
        Some(pause)
    }

    /// An accept worked: the next failure starts from the shortest pause.
    pub fn succeeded(&mut self) {
        self.pause = None;
    }

    fn should_log(&mut self, now: Instant) -> bool {
        let due = self.logged_at.is_none_or(|at| now.saturating_duration_since(at) >= Self::LOG_EVERY);
        if due {
            self.logged_at = Some(now);
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emfile() -> std::io::Error {
        std::io::Error::from_raw_os_error(24)
    }

    #[test]
    fn out_of_files_backs_off_doubling_to_a_second_and_resets_after_an_accept() {
        let mut backoff = AcceptBackoff::default();
        let now = Instant::now();
        let pauses: Vec<_> = (0..10).map(|_| backoff.failed(&emfile(), now).unwrap().as_millis()).collect();
        assert_eq!(pauses, [10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000]);
        backoff.succeeded();
        assert_eq!(backoff.failed(&emfile(), now), Some(AcceptBackoff::FIRST_PAUSE));
    }

    #[test]
    fn a_peer_that_gave_up_is_skipped_without_a_pause() {
        let mut backoff = AcceptBackoff::default();
        let aborted = std::io::Error::from(std::io::ErrorKind::ConnectionAborted);
        assert_eq!(backoff.failed(&aborted, Instant::now()), None);
        assert_eq!(backoff.unlogged, 0);
        assert!(backoff.logged_at.is_none(), "nothing logged");
    }

    #[test]
    fn failures_are_logged_once_a_minute_at_most() {
        let mut backoff = AcceptBackoff::default();
        let t0 = Instant::now();
        assert!(backoff.should_log(t0));
        for i in 1..1000 {
            backoff.succeeded();
            let _ = backoff.failed(&emfile(), t0 + Duration::from_millis(i));
        }
        assert!(!backoff.should_log(t0 + Duration::from_secs(59)));
        assert!(backoff.should_log(t0 + Duration::from_secs(60)));
        assert_eq!(backoff.unlogged, 999);
    }
}
