//! The example service (`examples/protected.rs`) behind the layer, against
//! the real `harmont-auth` binary on port 0 (SQLite in a temporary folder),
//! started as every crate's tests start it (`harmont_testkit::ServerProcess`)
//! and given its users, sessions and client by the operator's commands: a
//! live token gets through with its identity, a missing or dead one gets the
//! 401 envelope, and a revocation is seen once the cache is.
//!
//! The binary is found in the target folder (`cargo nextest run --workspace`
//! builds it; for this crate alone, `cargo build -p harmont-server --bin
//! harmont-auth` first).

#[path = "../examples/protected.rs"]
mod example;

use harmont_auth_layer::{HarmontAuthLayer, TokenKind};
use harmont_testkit::{ServerProcess, QUIET_LOG};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::process::Command;
use std::time::Duration;

struct Harmont {
    base: String,
    database: String,
    client_id: String,
    client_secret: String,
    _server: ServerProcess,
    _dir: tempfile::TempDir,
}

async fn harmont() -> Harmont {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}/harmont.db", dir.path().display());
    let server = ServerProcess::start(operator(&database, &["serve", "--listen", "127.0.0.1:0", "--log", QUIET_LOG]));
    let client: Value = serde_json::from_str(&run(&database, &["client", "add", "example"])).unwrap();
    Harmont {
        base: server.base.clone(),
        database,
        client_id: client["client_id"].as_str().unwrap().to_owned(),
        client_secret: client["client_secret"].as_str().unwrap().to_owned(),
        _server: server,
        _dir: dir,
    }
}

/// `harmont-auth ARGS` on `database`, with none of the test's own settings.
fn operator(database: &str, args: &[&str]) -> Command {
    let mut command = Command::new(harmont_testkit::workspace_bin("harmont-auth"));
    command.args(args).env("DATABASE_URL", database);
    for (name, _) in std::env::vars() {
        if name.starts_with("HARMONT_") {
            command.env_remove(name);
        }
    }
    command.env("HARMONT_SECRET", "a-test-secret-that-is-long-enough-0123456789");
    command
}

/// Runs an operator's command to the end; its stdout.
fn run(database: &str, args: &[&str]) -> String {
    let output = operator(database, args).output().unwrap();
    assert!(output.status.success(), "harmont-auth {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

impl Harmont {
    /// A user and a session token: (user id, email, token).
    async fn signed_in(&self) -> (String, String, String) {
        let email = format!("user-{}@example.com", uuid::Uuid::new_v4().simple());
        run(&self.database, &["user", "add", &email]);
        let token = run(&self.database, &["token", "mint", &email]).trim().to_owned();
        let users: Value = serde_json::from_str(&run(&self.database, &["user", "list", "--json"])).unwrap();
        let user = users.as_array().unwrap().iter().find(|u| u["email"] == email.as_str()).expect("the user listed");
        (user["id"].as_str().unwrap().to_owned(), email, token)
    }

    fn layer(&self) -> HarmontAuthLayer {
        HarmontAuthLayer::new(&self.base, &self.client_id, &self.client_secret).unwrap()
    }

    async fn logout(&self, token: &str) {
        let url = format!("{}/api/v0/auth/logout", self.base);
        let response = reqwest::Client::new().post(url).bearer_auth(token).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }
}

/// The example service on port 0; its base URL.
async fn serve(layer: HarmontAuthLayer) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, example::app(layer)).await });
    base
}

async fn whoami(base: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(format!("{base}/whoami"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

/// Status, code and `WWW-Authenticate` of a refusal, after checking it is the envelope.
async fn refused(response: reqwest::Response) -> (StatusCode, String, Option<String>) {
    let status = response.status();
    let challenge = response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();
    let error = &body["error"];
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    assert!(error["type"].as_str().is_some_and(|t| !t.is_empty()), "{body}");
    let code = error["code"].as_str().unwrap().to_owned();
    assert!(error["doc_url"].as_str().unwrap().ends_with(&format!("/docs/errors/{code}")), "{body}");
    (status, code, challenge)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_token_gets_through_with_its_identity() {
    let harmont = harmont().await;
    let (user_id, email, token) = harmont.signed_in().await;
    let base = serve(harmont.layer()).await;
    let response = whoami(&base, Some(&token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"user_id": user_id, "email": email, "token_kind": TokenKind::Session}));

    // A personal API key, as an API key.
    let url = format!("{}/api/v0/user/api-tokens", harmont.base);
    let created = reqwest::Client::new().post(url).bearer_auth(&token).json(&json!({"description": "ci"})).send();
    let key = created.await.unwrap().json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let body: Value = whoami(&base, Some(&key)).await.json().await.unwrap();
    assert_eq!(body["token_kind"], "api_key");
    assert_eq!(body["user_id"], user_id.as_str());

    // The open route needs nothing.
    let health = reqwest::get(format!("{base}/health")).await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_dead_token_gets_the_401_envelope() {
    let harmont = harmont().await;
    let (_, _, token) = harmont.signed_in().await;
    let base = serve(harmont.layer()).await;
    let bare = Some("Bearer realm=\"harmont\"".to_owned());
    let invalid = Some("Bearer realm=\"harmont\", error=\"invalid_token\"".to_owned());
    assert_eq!(refused(whoami(&base, None).await).await, (StatusCode::UNAUTHORIZED, "unauthorized".into(), bare));
    let unknown = harmont_wire::token::SessionToken::generate();
    for dead in [unknown.expose(), "garbage", harmont.client_secret.as_str()] {
        let got = refused(whoami(&base, Some(dead)).await).await;
        assert_eq!(got, (StatusCode::UNAUTHORIZED, "unauthorized".into(), invalid.clone()));
    }
    let basic = reqwest::Client::new().get(format!("{base}/whoami")).basic_auth("a", Some(&token)).send().await;
    let got = refused(basic.unwrap()).await;
    assert_eq!(got, (StatusCode::UNAUTHORIZED, "unauthorized".into(), invalid));
}

/// With the cache off, a revocation is refused at the next request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_cache_a_revoked_token_is_refused_at_once() {
    let harmont = harmont().await;
    let (_, _, token) = harmont.signed_in().await;
    let base = serve(harmont.layer().cache_ttl(Duration::ZERO)).await;
    assert_eq!(whoami(&base, Some(&token)).await.status(), StatusCode::OK);
    harmont.logout(&token).await;
    let (status, code, _) = refused(whoami(&base, Some(&token)).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::UNAUTHORIZED, "unauthorized"));
}

/// With a cache, the answer is kept for its window (so a revocation is seen
/// once it is up, not before), and never past the token's `exp`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_is_seen_once_the_cache_window_is_up() {
    let harmont = harmont().await;
    let (_, _, token) = harmont.signed_in().await;
    let window = Duration::from_millis(300);
    let base = serve(harmont.layer().cache_ttl(window)).await;
    assert_eq!(whoami(&base, Some(&token)).await.status(), StatusCode::OK);
    harmont.logout(&token).await;
    // The answer kept from before the logout may still let it through for
    // the rest of the window; once it is up, the revocation is seen.
    tokio::time::sleep(window + Duration::from_millis(50)).await;
    let (status, code, _) = refused(whoami(&base, Some(&token)).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::UNAUTHORIZED, "unauthorized"));

    // A long window still kept the answer: the logout is not seen yet.
    let (_, _, kept) = harmont.signed_in().await;
    let base = serve(harmont.layer().cache_ttl(Duration::from_secs(3600))).await;
    assert_eq!(whoami(&base, Some(&kept)).await.status(), StatusCode::OK);
    harmont.logout(&kept).await;
    assert_eq!(whoami(&base, Some(&kept)).await.status(), StatusCode::OK, "kept for the window");
}

/// harmont-auth refusing the service's client, or down: 503, never a pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_answer_from_harmont_auth_it_is_503_never_a_pass() {
    let harmont = harmont().await;
    let (_, _, token) = harmont.signed_in().await;
    let wrong_secret = harmont_wire::token::ClientSecret::generate();
    let layer = HarmontAuthLayer::new(&harmont.base, &harmont.client_id, wrong_secret.expose()).unwrap();
    let base = serve(layer).await;
    let response = whoami(&base, Some(&token)).await;
    assert_eq!(response.headers()["retry-after"], "1");
    let (status, code, _) = refused(response).await;
    assert_eq!((status, code.as_str()), (StatusCode::SERVICE_UNAVAILABLE, "service_unavailable"));

    // Nobody listening at all.
    let closed = harmont_testkit::ClosedPort::new();
    let layer = HarmontAuthLayer::new(&closed.url(), &harmont.client_id, &harmont.client_secret);
    let base = serve(layer.unwrap()).await;
    let (status, code, _) = refused(whoami(&base, Some(&token)).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::SERVICE_UNAVAILABLE, "service_unavailable"));
}
