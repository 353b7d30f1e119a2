//! The envelope on the framework's own failures, the error pages behind
//! `doc_url`, and the health endpoints.

use crate::api_test;
use crate::helpers::{assert_error, spawn_app, Backend};
use axum::routing::get;
use reqwest::StatusCode;

async fn unknown_routes_and_wrong_methods(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_error(app.get("/api/v0/nope", None).await, StatusCode::NOT_FOUND, "not_found").await;
    let response = app.get("/api/v0/auth/cli/claim", None).await;
    assert_eq!(response.headers()["allow"], "POST");
    assert_error(response, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
}
api_test!(unknown_routes_and_wrong_methods);

async fn oversized_and_non_json_bodies(backend: Backend) {
    let app = spawn_app(backend).await;
    let claim = app.url("/api/v0/auth/cli/claim");
    // Over the 16 KiB limit, yet small enough to sit in the socket buffers:
    // the server answers without reading it, and a larger body could still be
    // on its way when the connection closes. A client of its own, so no later
    // request reuses the connection the server closes.
    let huge = format!("{{\"nonce\": \"{}\"}}", "a".repeat(20 * 1024));
    let oversized = reqwest::Client::new().post(&claim).header("content-type", "application/json").body(huge);
    let response = oversized.send().await.unwrap();
    assert_error(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;

    let response = app.http.post(&claim).header("content-type", "text/plain").body("{\"nonce\":\"x\"}").send().await;
    assert_error(response.unwrap(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type").await;

    let response = app.http.post(&claim).send().await.unwrap();
    let body = assert_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    assert_eq!(body["error"]["message"], "a JSON body is required");
}
api_test!(oversized_and_non_json_bodies);

async fn a_panic_is_a_500_that_reveals_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let routes = harmont_server::http::routes().route(
        "/boom",
        get(|| async {
            if std::hint::black_box(true) {
                panic!("secret internal detail");
            }
            "unreachable"
        }),
    );
    let router = harmont_server::http::with_middleware(routes, app.service.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/boom", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });

    let response = app.http.get(url).send().await.unwrap();
    let body = assert_error(response, StatusCode::INTERNAL_SERVER_ERROR, "internal_error").await;
    assert_eq!(body["error"]["message"], "Internal error.");
    assert!(!body.to_string().contains("secret"));
}
api_test!(a_panic_is_a_500_that_reveals_nothing);

async fn every_doc_url_resolves_to_a_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = assert_error(app.get("/api/v0/user", None).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let page = app.http.get(body["error"]["doc_url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Bearer"));

    for &code in harmont_wire::ErrorCode::ALL {
        let page = app.get(&format!("/docs/errors/{}", code.as_str()), None).await;
        assert_eq!(page.status(), StatusCode::OK, "{code:?}");
        assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        assert!(page.text().await.unwrap().contains(code.as_str()));
    }
    assert_error(app.get("/docs/errors/no_such_code", None).await, StatusCode::NOT_FOUND, "not_found").await;
}
api_test!(every_doc_url_resolves_to_a_page);

async fn request_ids_are_the_servers_own(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.http.get(app.url("/api/v0/user")).header("x-request-id", "spoofed-id").send().await.unwrap();
    assert_ne!(response.headers()["x-request-id"], "spoofed-id");
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
}
api_test!(request_ids_are_the_servers_own);

async fn ping_and_health(backend: Backend) {
    let app = spawn_app(backend).await;
    let ping = app.get("/api/v0/ping", None).await;
    assert_eq!(ping.status(), StatusCode::OK);
    assert_eq!(ping.json::<serde_json::Value>().await.unwrap(), serde_json::json!({"ok": true}));
    let health = app.get("/healthz", None).await;
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(health.json::<serde_json::Value>().await.unwrap(), serde_json::json!({"ok": true}));
}
api_test!(ping_and_health);

/// `/healthz` follows the store: a database that goes away turns it into a
/// 503 envelope, while `/api/v0/ping` keeps answering.
#[tokio::test]
async fn healthz_answers_503_when_the_store_is_gone() {
    use harmont_server::{clock::SystemClock, secret::ServerSecret, Service, Settings};
    let admin_url = std::env::var(crate::helpers::POSTGRES_URL_VAR).expect("run through scripts/test-postgres.sh");
    let admin = sqlx::PgPool::connect(&admin_url).await.unwrap();
    let name = format!("healthz_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&admin).await.unwrap();
    let url = format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0);

    let store = harmont_server::store::open(&url).await.unwrap();
    store.migrate().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let service =
        Service::new(store, std::sync::Arc::new(SystemClock), ServerSecret::random(), Settings::new(&base)).unwrap();
    tokio::spawn(harmont_server::serve(listener, std::sync::Arc::new(service), std::future::pending()));
    let http = reqwest::Client::new();
    assert_eq!(http.get(format!("{base}/healthz")).send().await.unwrap().status(), StatusCode::OK);

    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)")).execute(&admin).await.unwrap();
    let response = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_error(response, StatusCode::SERVICE_UNAVAILABLE, "service_unavailable").await;
    assert_eq!(http.get(format!("{base}/api/v0/ping")).send().await.unwrap().status(), StatusCode::OK);
}

/// A web app on another origin can call the API only when that origin is configured.
#[tokio::test]
async fn cors_admits_only_configured_origins() {
    let app = crate::helpers::spawn_app_with(crate::helpers::Backend::Sqlite, |s| {
        s.cors_origins = vec!["https://app.example.com".into()];
    })
    .await;
    let preflight = |origin: &'static str| {
        app.http
            .request(reqwest::Method::OPTIONS, app.url("/api/v0/auth/cli/transfer"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization, content-type")
            .send()
    };
    let allowed = preflight("https://app.example.com").await.unwrap();
    assert_eq!(allowed.status(), StatusCode::OK);
    assert_eq!(allowed.headers()["access-control-allow-origin"], "https://app.example.com");
    assert!(allowed.headers()["access-control-allow-headers"].to_str().unwrap().contains("authorization"));
    let stranger = preflight("https://evil.example.com").await.unwrap();
    assert!(stranger.headers().get("access-control-allow-origin").is_none());

    let response = app.http.get(app.url("/api/v0/user")).header("origin", "https://app.example.com").send().await;
    let response = response.unwrap();
    assert_eq!(response.headers()["access-control-allow-origin"], "https://app.example.com");
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;

    // Without configured origins there are no CORS headers at all.
    let plain = spawn_app(crate::helpers::Backend::Sqlite).await;
    let response = plain.http.get(plain.url("/api/v0/ping")).header("origin", "https://app.example.com").send().await;
    assert!(response.unwrap().headers().get("access-control-allow-origin").is_none());
}
