//! `spawn_app`: a server on 127.0.0.1:0 over a fresh store, with a clock the
//! test controls, plus helpers to make users and tokens and to assert the
//! error envelope. `api_test!` runs one test body on both backends.

use harmont_server::cli_login::ClientInfo;
use harmont_server::clock::ManualClock;
use harmont_server::secret::ServerSecret;
use harmont_server::{Service, Settings};
use harmont_store::Store;
use reqwest::{Response, StatusCode};
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const POSTGRES_URL_VAR: &str = "HARMONT_TEST_POSTGRES_URL";

/// Runs `async fn name(backend: Backend)` as two tests, one per backend.
#[macro_export]
macro_rules! api_test {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::helpers::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::helpers::Backend::Postgres).await
            }
        }
    };
}

#[derive(Debug)]
pub struct TestApp {
    pub base: String,
    pub service: Arc<Service>,
    pub clock: Arc<ManualClock>,
    pub http: reqwest::Client,
    pub backend: Backend,
    /// The SQLite database folder, kept alive for the test.
    pub dir: Option<tempfile::TempDir>,
    pub database_url: String,
}

pub async fn open_store(backend: Backend) -> (Arc<dyn Store>, String, Option<tempfile::TempDir>) {
    let (url, dir) = match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            (format!("sqlite://{}/harmont.db", dir.path().display()), Some(dir))
        }
        Backend::Postgres => {
            let url = std::env::var(POSTGRES_URL_VAR).unwrap_or_else(|_| {
                panic!("{POSTGRES_URL_VAR} is not set: run the tests through scripts/test-postgres.sh (see README)")
            });
            (url, None)
        }
    };
    let store = harmont_server::store::open(&url).await.expect("open store");
    store.migrate().await.expect("migrate");
    (store, url, dir)
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(backend: Backend, configure: impl FnOnce(&mut Settings)) -> TestApp {
    let (store, database_url, dir) = open_store(backend).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let clock = Arc::new(ManualClock::new(wall_clock_millis()));
    let mut settings = Settings::new(base.clone());
    configure(&mut settings);
    let service = Arc::new(Service::new(store, clock.clone(), ServerSecret::random(), settings));
    tokio::spawn(harmont_server::serve(listener, service.clone(), std::future::pending()));
    TestApp { base, service, clock, http: reqwest::Client::new(), backend, dir, database_url }
}

pub fn wall_clock_millis() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_millis() as i64
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A new user with a unique email; returns the email.
    pub async fn add_user(&self) -> String {
        let email = format!("user-{}@example.com", uuid::Uuid::new_v4().simple());
        self.service.add_user(&email, Some("Test User".into())).await.expect("add user");
        email
    }

    /// A session token for `email`, as `harmont-auth token mint` makes them.
    pub async fn token_for(&self, email: &str) -> String {
        let user = self.service.user_by_email(email).await.expect("lookup").expect("user exists");
        let client = ClientInfo { ip: IpAddr::V4(Ipv4Addr::LOCALHOST), user_agent: Some("tests".into()) };
        self.service.mint_session(user.id, &client).await.expect("mint").expose().to_owned()
    }

    /// A user and a token for them.
    pub async fn signed_in(&self) -> (String, String) {
        let email = self.add_user().await;
        let token = self.token_for(&email).await;
        (email, token)
    }

    pub fn client(&self) -> harmont_client::Client {
        harmont_client::Client::new(&self.base)
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        let mut request = self.http.post(self.url(path)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request")
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        let mut request = self.http.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request")
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }
}

/// A nonce as the published CLI makes them.
pub fn nonce() -> String {
    harmont_wire::nonce::Nonce::generate().expose().to_owned()
}

/// Asserts a response is the error envelope with this status and code, that
/// its `request_id` matches the header and its `doc_url` points at the code's
/// page; returns the body.
pub async fn assert_error(response: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status, "status");
    let header_id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .expect("x-request-id header");
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert!(content_type.starts_with("application/json"), "content-type {content_type}");
    let body: Value = response.json().await.expect("JSON body");
    let error = &body["error"];
    assert_eq!(error["code"], code, "code in {body}");
    assert!(error["type"].as_str().is_some_and(|t| !t.is_empty()), "type in {body}");
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "message in {body}");
    assert_eq!(error["request_id"].as_str(), Some(header_id.as_str()), "request_id in {body}");
    let doc_url = error["doc_url"].as_str().expect("doc_url");
    assert!(doc_url.ends_with(&format!("/docs/errors/{code}")), "doc_url {doc_url}");
    body
}

impl TestApp {
    /// A second server over the same database, as another replica would be.
    pub async fn replica(&self, configure: impl FnOnce(&mut Settings)) -> TestApp {
        let store = harmont_server::store::open(&self.database_url).await.expect("open store");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let mut settings = Settings::new(base.clone());
        configure(&mut settings);
        let service = Arc::new(Service::new(store, self.clock.clone(), ServerSecret::random(), settings));
        tokio::spawn(harmont_server::serve(listener, service.clone(), std::future::pending()));
        TestApp {
            base,
            service,
            clock: self.clock.clone(),
            http: reqwest::Client::new(),
            backend: self.backend,
            dir: None,
            database_url: self.database_url.clone(),
        }
    }
}
