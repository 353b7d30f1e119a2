//! `spawn_app`: a server on 127.0.0.1:0 over a fresh store, with a clock the
//! test controls, plus helpers to make users and tokens and to assert the
//! error envelope. `api_test!` runs one test body on both backends.

use harmont_server::cli_login::ClientInfo;
use harmont_server::clock::ManualClock;
use harmont_server::secret::ServerSecret;
use harmont_server::sessions::SignIn;
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
    /// The service's store, for a test to arrange or inspect rows directly.
    pub store: Arc<dyn Store>,
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
            (schema_of_its_own(&url).await, None)
        }
    };
    let store = harmont_server::store::open(&url).await.expect("open store");
    store.migrate().await.expect("migrate");
    (store, url, dir)
}

/// `url` scoped to a new, empty schema, so each test migrates and sweeps
/// tables nobody else uses (replicas made from the URL share it). Schemas are
/// left behind in the throwaway database.
async fn schema_of_its_own(url: &str) -> String {
    use sqlx::Connection;
    let schema = format!("api_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(url).await.expect("connecting to the test database");
    sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&mut admin).await.expect("creating a schema for the test");
    admin.close().await.expect("closing the admin connection");
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}options=-c%20search_path%3D{schema}")
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
    let service = Arc::new(Service::new(store.clone(), clock.clone(), ServerSecret::random(), settings).unwrap());
    tokio::spawn(harmont_server::serve(listener, service.clone(), std::future::pending()));
    TestApp { base, service, store, clock, http: reqwest::Client::new(), backend, dir, database_url }
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
        self.service.users().add_user(&email, Some("Test User".into())).await.expect("add user");
        email
    }

    /// A session token for `email`, as `harmont-auth token mint` makes them
    /// (an operator session: it may not change credentials).
    pub async fn token_for(&self, email: &str) -> String {
        let user = self.service.users().user_by_email(email).await.expect("lookup").expect("user exists");
        let client = ClientInfo { ip: IpAddr::V4(Ipv4Addr::LOCALHOST), user_agent: Some("tests".into()) };
        self.service
            .sessions()
            .mint_session(user.id, &client, SignIn::OPERATOR)
            .await
            .expect("mint")
            .expose()
            .to_owned()
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

    /// A personal API key made with `session`, as the settings page makes
    /// them; returns the key and its id.
    pub async fn api_key_for(&self, session: &str, expires_at: Option<&str>) -> (String, String) {
        let body = serde_json::json!({"description": "tests", "expires_at": expires_at});
        let response = self.post_json("/api/v0/user/api-tokens", Some(session), body).await;
        assert_eq!(response.status(), StatusCode::CREATED, "creating an API key");
        let body: Value = response.json().await.expect("JSON");
        let key = body["token"].as_str().expect("a key").to_owned();
        (key, body["api_token"]["id"].as_str().expect("an id").to_owned())
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
        let service =
            Arc::new(Service::new(store.clone(), self.clock.clone(), ServerSecret::random(), settings).unwrap());
        tokio::spawn(harmont_server::serve(listener, service.clone(), std::future::pending()));
        TestApp {
            base,
            service,
            store,
            clock: self.clock.clone(),
            http: reqwest::Client::new(),
            backend: self.backend,
            dir: None,
            database_url: self.database_url.clone(),
        }
    }
}

/// Tokens signed in each way the server records.
impl TestApp {
    /// A browser session from a one-time login link, as `/login#link=…` makes it.
    pub async fn link_token_for(&self, email: &str) -> String {
        let user = self.service.users().user_by_email(email).await.expect("lookup").expect("user exists");
        let url = self.service.web().create_login_link(user.id).await.expect("a login link");
        let secret = url.split_once("#link=").expect("a link URL").1;
        let response = self.post_json("/api/v0/auth/links/redeem", None, serde_json::json!({"link": secret})).await;
        assert_eq!(response.status(), StatusCode::OK, "redeeming a fresh link");
        response.json::<Value>().await.expect("JSON")["token"].as_str().expect("a token").to_owned()
    }

    /// A CLI session, as `transfer` and `claim` make it (no PKCE).
    pub async fn cli_token_for(&self, email: &str) -> String {
        let web = self.token_for(email).await;
        let nonce = nonce();
        let parked = self.post_json("/api/v0/auth/cli/transfer", Some(&web), serde_json::json!({"nonce": nonce})).await;
        assert_eq!(parked.status(), StatusCode::NO_CONTENT);
        let claimed = self.post_json("/api/v0/auth/cli/claim", None, serde_json::json!({"nonce": nonce})).await;
        assert_eq!(claimed.status(), StatusCode::OK);
        claimed.json::<Value>().await.expect("JSON")["token"].as_str().expect("a token").to_owned()
    }

    /// The origin the pages (and so WebAuthn) live at.
    pub fn web_origin(&self) -> String {
        harmont_server::web::web_base(&self.base)
    }

    /// Registers `authenticator` for the user of `token` (which must qualify)
    /// under `name`; returns the passkey's id.
    pub async fn register_passkey(&self, token: &str, authenticator: &mut SoftPasskey, name: &str) -> String {
        let started = self.post_json("/api/v0/auth/passkeys/register/start", Some(token), serde_json::json!({})).await;
        assert_eq!(started.status(), StatusCode::OK, "register/start");
        let started: Value = started.json().await.expect("JSON");
        let credential = authenticator.register(&self.web_origin(), &started["options"]);
        let body = serde_json::json!({"ceremony": started["ceremony"], "credential": credential, "name": name});
        let finished = self.post_json("/api/v0/auth/passkeys/register/finish", Some(token), body).await;
        assert_eq!(finished.status(), StatusCode::CREATED, "register/finish");
        finished.json::<Value>().await.expect("JSON")["id"].as_str().expect("an id").to_owned()
    }

    /// Signs in with `authenticator`, as the login page does; returns the token.
    pub async fn passkey_sign_in(&self, authenticator: &mut SoftPasskey) -> String {
        let started = self.post_json("/api/v0/auth/passkeys/sign-in/start", None, serde_json::json!({})).await;
        assert_eq!(started.status(), StatusCode::OK, "sign-in/start");
        let started: Value = started.json().await.expect("JSON");
        let credential = authenticator.sign_in(&self.web_origin(), &started["options"]);
        let body = serde_json::json!({"ceremony": started["ceremony"], "credential": credential});
        let finished = self.post_json("/api/v0/auth/passkeys/sign-in/finish", None, body).await;
        assert_eq!(finished.status(), StatusCode::OK, "sign-in/finish");
        finished.json::<Value>().await.expect("JSON")["token"].as_str().expect("a token").to_owned()
    }
}

/// A software authenticator: one ES256 discoverable credential with user
/// verification and "none" attestation, answering the options the server
/// sends as a browser's `navigator.credentials` would.
pub struct SoftPasskey {
    key: ring::signature::EcdsaKeyPair,
    credential_id: Vec<u8>,
    user_handle: Option<String>,
    counter: u32,
}

impl std::fmt::Debug for SoftPasskey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftPasskey").field("counter", &self.counter).finish_non_exhaustive()
    }
}

impl Default for SoftPasskey {
    fn default() -> Self {
        Self::new()
    }
}

fn b64url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).into()
}

/// CBOR head of a major type with a length or small value.
fn cbor_head(out: &mut Vec<u8>, major: u8, n: usize) {
    let major = major << 5;
    match n {
        0..=23 => out.push(major | n as u8),
        24..=0xff => out.extend([major | 24, n as u8]),
        _ => {
            out.push(major | 25);
            out.extend((n as u16).to_be_bytes());
        }
    }
}

fn cbor_text(out: &mut Vec<u8>, text: &str) {
    cbor_head(out, 3, text.len());
    out.extend(text.as_bytes());
}

fn cbor_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    cbor_head(out, 2, bytes.len());
    out.extend(bytes);
}

/// A small CBOR integer (-24..=23).
fn cbor_int(out: &mut Vec<u8>, n: i8) {
    if n >= 0 {
        cbor_head(out, 0, n as usize);
    } else {
        cbor_head(out, 1, (-1 - n) as usize);
    }
}

impl SoftPasskey {
    pub fn new() -> Self {
        use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).expect("a key");
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng).expect("the key");
        let credential_id = uuid::Uuid::new_v4().as_bytes().to_vec();
        Self { key, credential_id, user_handle: None, counter: 0 }
    }

    fn client_data(kind: &str, origin: &str, options: &Value) -> Vec<u8> {
        let challenge = options["publicKey"]["challenge"].as_str().expect("a challenge");
        serde_json::to_vec(&serde_json::json!({
            "type": kind, "challenge": challenge, "origin": origin, "crossOrigin": false,
        }))
        .expect("JSON")
    }

    /// The answer to `navigator.credentials.create(options)`.
    pub fn register(&mut self, origin: &str, options: &Value) -> Value {
        use ring::signature::KeyPair as _;
        let public = &options["publicKey"];
        let rp_id = public["rp"]["id"].as_str().expect("rp.id");
        self.user_handle = Some(public["user"]["id"].as_str().expect("user.id").to_owned());
        let client_data = Self::client_data("webauthn.create", origin, options);

        let point = self.key.public_key().as_ref();
        let mut cose = Vec::new();
        cbor_head(&mut cose, 5, 5);
        for (label, value) in [(1, 2), (3, -7), (-1, 1)] {
            cbor_int(&mut cose, label);
            cbor_int(&mut cose, value);
        }
        cbor_int(&mut cose, -2);
        cbor_bytes(&mut cose, &point[1..33]);
        cbor_int(&mut cose, -3);
        cbor_bytes(&mut cose, &point[33..65]);

        let mut auth_data = sha256(rp_id.as_bytes()).to_vec();
        auth_data.push(0x01 | 0x04 | 0x40); // user present, user verified, attested credential data
        auth_data.extend(self.counter.to_be_bytes());
        auth_data.extend([0u8; 16]); // AAGUID
        auth_data.extend((self.credential_id.len() as u16).to_be_bytes());
        auth_data.extend(&self.credential_id);
        auth_data.extend(cose);

        let mut attestation = Vec::new();
        cbor_head(&mut attestation, 5, 3);
        cbor_text(&mut attestation, "fmt");
        cbor_text(&mut attestation, "none");
        cbor_text(&mut attestation, "attStmt");
        cbor_head(&mut attestation, 5, 0);
        cbor_text(&mut attestation, "authData");
        cbor_bytes(&mut attestation, &auth_data);

        let id = b64url(&self.credential_id);
        serde_json::json!({
            "id": id, "rawId": id, "type": "public-key", "extensions": {},
            "response": {"attestationObject": b64url(&attestation), "clientDataJSON": b64url(&client_data)},
        })
    }

    /// The answer to `navigator.credentials.get(options)`.
    pub fn sign_in(&mut self, origin: &str, options: &Value) -> Value {
        let rp_id = options["publicKey"]["rpId"].as_str().expect("rpId");
        let client_data = Self::client_data("webauthn.get", origin, options);
        self.counter += 1;
        let mut auth_data = sha256(rp_id.as_bytes()).to_vec();
        auth_data.push(0x01 | 0x04); // user present, user verified
        auth_data.extend(self.counter.to_be_bytes());
        let mut signed = auth_data.clone();
        signed.extend(sha256(&client_data));
        let signature = self.key.sign(&ring::rand::SystemRandom::new(), &signed).expect("signing");
        let id = b64url(&self.credential_id);
        serde_json::json!({
            "id": id, "rawId": id, "type": "public-key", "extensions": {},
            "response": {
                "authenticatorData": b64url(&auth_data),
                "clientDataJSON": b64url(&client_data),
                "signature": b64url(signature.as_ref()),
                "userHandle": self.user_handle.as_deref().expect("registered first"),
            },
        })
    }
}
