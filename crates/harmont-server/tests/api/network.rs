//! The connection layer: clients of a dual-stack listener told apart by
//! their IPv4 address, and the timeouts and the cap that keep slow or idle
//! sockets from holding the server.

use crate::api_test;
use crate::helpers::{assert_error, nonce, open_store, wall_clock_millis, Backend, TestApp};
use harmont_server::clock::ManualClock;
use harmont_server::rate_limit::Rate;
use harmont_server::secret::ServerSecret;
use harmont_server::{Service, Settings};
use reqwest::StatusCode;
use serde_json::json;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A server on `listener`, reached at `base`.
async fn serve_on(
    backend: Backend,
    listener: TcpListener,
    base: String,
    configure: impl FnOnce(&mut Settings),
) -> TestApp {
    let (store, database_url, dir) = open_store(backend).await;
    let clock = Arc::new(ManualClock::new(wall_clock_millis()));
    let mut settings = Settings::new(base.clone());
    configure(&mut settings);
    let service = Arc::new(Service::new(store.clone(), clock.clone(), ServerSecret::random(), settings).unwrap());
    tokio::spawn(harmont_server::serve(listener, service.clone(), std::future::pending()));
    TestApp { base, service, store, clock, http: reqwest::Client::new(), backend, dir, database_url }
}

async fn serve_local(configure: impl FnOnce(&mut Settings)) -> (TestApp, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (serve_on(Backend::Sqlite, listener, format!("http://{addr}"), configure).await, addr)
}

/// An HTTP client whose connections come from `source` (any 127.0.0.0/8 address works on Linux).
pub fn client_from(source: &str) -> reqwest::Client {
    reqwest::Client::builder().local_address(source.parse::<IpAddr>().unwrap()).build().unwrap()
}

/// Issue 14 #4: on `[::]`, IPv4 peers arrive as `::ffff:a.b.c.d`; one of them
/// must not exhaust another's limit, and sessions record the IPv4 address.
async fn dual_stack_ipv4_clients_are_limited_and_recorded_apart(backend: Backend) {
    let listener = match TcpListener::bind("[::]:0").await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("skipped: no IPv6 listener here ({err})");
            return;
        }
    };
    let port = listener.local_addr().unwrap().port();
    let app = serve_on(backend, listener, format!("http://127.0.0.1:{port}"), |s| {
        s.redeem_failures = Rate { burst: 2, refill_every: Duration::from_secs(3600) };
    })
    .await;
    let (a, b) = (client_from("127.0.0.2"), client_from("127.0.0.3"));
    let redeem = app.url("/api/v0/auth/cli/redeem");
    for _ in 0..2 {
        let response = a.post(&redeem).json(&json!({"code": "ABCD-EFGH-JKMN-PQRS"})).send().await.unwrap();
        assert_error(response, StatusCode::BAD_REQUEST, "cli_code_invalid").await;
    }
    let response = a.post(&redeem).json(&json!({"code": "ABCD-EFGH-JKMN-PQRS"})).send().await.unwrap();
    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    let response = b.post(&redeem).json(&json!({"code": "ABCD-EFGH-JKMN-PQRS"})).send().await.unwrap();
    assert_error(response, StatusCode::BAD_REQUEST, "cli_code_invalid").await;

    let (_, token) = app.signed_in().await;
    let nonce = nonce();
    let response = app.post_json("/api/v0/auth/cli/transfer", Some(&token), json!({"nonce": nonce})).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = b.post(app.url("/api/v0/auth/cli/claim")).json(&json!({"nonce": nonce})).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let claimed = response.json::<serde_json::Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let sessions: serde_json::Value = app.get("/api/v0/auth/sessions", Some(&claimed)).await.json().await.unwrap();
    let current = sessions["sessions"].as_array().unwrap().iter().find(|s| s["current"] == true).unwrap();
    assert_eq!(current["ip"], "127.0.0.3", "{sessions}");
}
api_test!(dual_stack_ipv4_clients_are_limited_and_recorded_apart);

/// Reads until the server closes the connection, or `within` passes (then `None`).
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> Option<String> {
    let mut received = Vec::new();
    let read = tokio::time::timeout(within, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok().map(|()| String::from_utf8_lossy(&received).into_owned())
}

/// The timeouts are shortened so a closed connection tells them apart from
/// the 10 s defaults.
fn short_timeouts(s: &mut Settings) {
    s.header_timeout = Duration::from_millis(300);
    s.body_timeout = Duration::from_millis(300);
}

const CLOSED_WITHIN: Duration = Duration::from_secs(5);

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed() {
    let (_app, addr) = serve_local(short_timeouts).await;
    let mut silent = TcpStream::connect(addr).await.unwrap();
    assert!(read_until_closed(&mut silent, CLOSED_WITHIN).await.is_some(), "still open");
}

#[tokio::test]
async fn partial_headers_are_cut_off() {
    let (_app, addr) = serve_local(short_timeouts).await;
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /api/v0/ping HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.unwrap();
    let answer = read_until_closed(&mut slow, CLOSED_WITHIN).await.expect("closed");
    assert!(!answer.contains("200 OK"), "{answer}");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let (_app, addr) = serve_local(short_timeouts).await;
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /api/v0/ping HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let answer = read_until_closed(&mut idle, CLOSED_WITHIN).await.expect("closed once idle");
    assert!(answer.starts_with("HTTP/1.1 200"), "answered first: {answer}");
}

#[tokio::test]
async fn a_body_that_does_not_arrive_is_answered_408_and_closed() {
    let (_app, addr) = serve_local(short_timeouts).await;
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(
        b"POST /api/v0/auth/cli/redeem HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"code\":",
    )
    .await
    .unwrap();
    let answer = read_until_closed(&mut slow, CLOSED_WITHIN).await.expect("closed");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"code\":\"request_timeout\""), "the envelope: {answer}");
    assert!(answer.to_ascii_lowercase().contains("connection: close"), "{answer}");
}

/// A body that comes in time is read as usual.
#[tokio::test]
async fn a_body_in_time_is_read() {
    let (app, _) = serve_local(|s| s.body_timeout = Duration::from_secs(30)).await;
    let response = app.post_json("/api/v0/auth/cli/redeem", None, json!({"code": "ABCD-EFGH-JKMN-PQRS"})).await;
    assert_error(response, StatusCode::BAD_REQUEST, "cli_code_invalid").await;
}

/// With the cap at 2, a third connection waits in the backlog until one of
/// the two closes, then is served.
#[tokio::test]
async fn connections_past_the_cap_wait_until_one_closes() {
    let (_app, addr) = serve_local(|s| {
        s.max_connections = 2;
        s.header_timeout = Duration::from_secs(60);
    })
    .await;
    const PING: &[u8] = b"GET /api/v0/ping HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(PING).await.unwrap();
        let mut buf = [0u8; 1024];
        let n = stream.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "served and kept alive");
        held.push(stream);
    }
    let mut third = TcpStream::connect(addr).await.unwrap();
    third.write_all(PING).await.unwrap();
    let mut buf = [0u8; 1024];
    let waited = tokio::time::timeout(Duration::from_millis(500), third.read(&mut buf)).await;
    assert!(waited.is_err(), "the third connection is not served while two are open");

    drop(held.pop());
    let n = tokio::time::timeout(Duration::from_secs(10), third.read(&mut buf)).await.expect("served").unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&buf[..n]));
}

/// Shutting down answers held long polls at once and lets the server stop.
#[tokio::test]
async fn shutdown_answers_long_polls_and_stops() {
    let (store, _, _dir) = open_store(Backend::Sqlite).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let service = Arc::new(
        Service::new(
            store,
            Arc::new(ManualClock::new(wall_clock_millis())),
            ServerSecret::random(),
            Settings::new(base.clone()),
        )
        .unwrap(),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(harmont_server::serve(listener, service.clone(), async move {
        let _ = stopped.await;
    }));
    let held = tokio::spawn(
        reqwest::Client::new()
            .post(format!("{base}/api/v0/auth/cli/claim"))
            .header("Prefer", "wait=30")
            .json(&json!({"nonce": nonce()}))
            .send(),
    );
    harmont_testkit::eventually("the long poll to be held", async || {
        (service.cli_login().held_long_polls() > 0).then_some(())
    })
    .await;
    stop.send(()).unwrap();
    let response = tokio::time::timeout(Duration::from_secs(10), held).await.expect("answered").unwrap().unwrap();
    assert_error(response, StatusCode::BAD_REQUEST, "cli_code_invalid").await;
    tokio::time::timeout(Duration::from_secs(10), server).await.expect("stopped").unwrap().unwrap();
}

/// Issue 14 #7: behind a trusted proxy, `6.6.6.6, 203.0.113.7:4431` was read
/// as 6.6.6.6 (the entry with a port was skipped), so rotating the first
/// entry never met the limit. The proxy's own entry is the client now.
async fn a_rotated_forwarded_entry_does_not_escape_the_limit(backend: Backend) {
    let app = crate::helpers::spawn_app_with(backend, |s| {
        s.trusted_proxies = vec![harmont_server::config::parse_trusted_proxy("127.0.0.1").unwrap()];
        s.redeem_failures = Rate { burst: 2, refill_every: Duration::from_secs(3600) };
    })
    .await;
    let redeem = |spoofed: u8| {
        app.http
            .post(app.url("/api/v0/auth/cli/redeem"))
            .header("X-Forwarded-For", format!("6.6.6.{spoofed}, 203.0.113.7:4431"))
            .json(&json!({"code": "ABCD-EFGH-JKMN-PQRS"}))
            .send()
    };
    for spoofed in 0..2 {
        assert_error(redeem(spoofed).await.unwrap(), StatusCode::BAD_REQUEST, "cli_code_invalid").await;
    }
    assert_error(redeem(2).await.unwrap(), StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // Another client of the same proxy is not affected.
    let response = app
        .http
        .post(app.url("/api/v0/auth/cli/redeem"))
        .header("X-Forwarded-For", "203.0.113.8:5000")
        .json(&json!({"code": "ABCD-EFGH-JKMN-PQRS"}))
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::BAD_REQUEST, "cli_code_invalid").await;
}
api_test!(a_rotated_forwarded_entry_does_not_escape_the_limit);
