//! Issue 9, forward auth behind a real nginx (Debian's `nginx-light`, which
//! `scripts/test.sh` installs): nginx runs unprivileged on a free port with a
//! generated configuration, asks `GET /api/v0/auth/verify` with
//! `auth_request` before every request, and passes the user's id to a small
//! upstream that echoes the headers it got.
//!
//! Without nginx installed the tests say so and pass, unless
//! `HARMONT_TEST_REQUIRE_NGINX` is set (as `scripts/test.sh` sets it), when
//! they fail: CI cannot skip them silently.

use crate::api_test;
use crate::helpers::{spawn_app, Backend, TestApp};
use reqwest::StatusCode;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const REQUIRE: &str = "HARMONT_TEST_REQUIRE_NGINX";

/// The nginx binary: `HARMONT_TEST_NGINX`, else `nginx` on the PATH or in the sbin folders.
fn nginx_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("HARMONT_TEST_NGINX") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join("nginx"))
        .find(|candidate| candidate.is_file())
}

/// nginx, or `None` (after saying why) when the test may be skipped.
fn nginx_or_skip(test: &str) -> Option<PathBuf> {
    match nginx_binary() {
        Some(nginx) => Some(nginx),
        None if std::env::var_os(REQUIRE).is_some() => {
            panic!("{test}: nginx is not installed and {REQUIRE} is set (scripts/test.sh installs nginx-light)")
        }
        None => {
            eprintln!("SKIPPED {test}: nginx is not installed (apt-get install nginx-light, or run scripts/test.sh)");
            None
        }
    }
}

/// An upstream that answers every request with the headers it got, as JSON.
async fn echo_upstream() -> String {
    use axum::http::HeaderMap;
    async fn echo(headers: HeaderMap) -> axum::Json<Value> {
        let headers = headers
            .iter()
            .map(|(name, value)| (name.as_str().to_owned(), Value::from(value.to_str().unwrap_or("<binary>"))))
            .collect::<serde_json::Map<_, _>>();
        axum::Json(Value::Object(headers))
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, axum::Router::new().fallback(echo)).await });
    format!("http://{addr}")
}

/// The configuration the README shows, on the given ports and folder.
fn config(dir: &Path, port: u16, harmont: &str, upstream: &str) -> String {
    let dir = dir.display();
    format!(
        r#"daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;

    server {{
        listen 127.0.0.1:{port};

        location = /_harmont_verify {{
            internal;
            proxy_pass {harmont}/api/v0/auth/verify;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
        }}

        location / {{
            auth_request /_harmont_verify;
            auth_request_set $harmont_user_id $upstream_http_x_harmont_user_id;
            auth_request_set $harmont_user_email $upstream_http_x_harmont_user_email;
            auth_request_set $harmont_token_kind $upstream_http_x_harmont_token_kind;
            proxy_set_header X-Harmont-User-Id $harmont_user_id;
            proxy_set_header X-Harmont-User-Email $harmont_user_email;
            proxy_set_header X-Harmont-Token-Kind $harmont_token_kind;
            proxy_pass {upstream};
        }}
    }}
}}
"#
    )
}

/// A running nginx, stopped when dropped.
struct Nginx {
    child: Child,
    base: String,
    dir: tempfile::TempDir,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Nginx {
    /// Starts nginx in front of `upstream`, asking `harmont`. A free port can
    /// be taken by someone else before nginx binds it: then another one.
    async fn start(nginx: &Path, harmont: &str, upstream: &str) -> Nginx {
        let mut last_log = String::new();
        for _ in 0..5 {
            let dir = tempfile::tempdir().unwrap();
            let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let conf = dir.path().join("nginx.conf");
            std::fs::write(&conf, config(dir.path(), port, harmont, upstream)).unwrap();
            let child = Command::new(nginx)
                .arg("-p")
                .arg(dir.path())
                .arg("-e")
                .arg(dir.path().join("error.log"))
                .arg("-c")
                .arg(&conf)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("nginx starts");
            let mut nginx = Nginx { child, base: format!("http://127.0.0.1:{port}"), dir };
            for _ in 0..200 {
                if nginx.child.try_wait().unwrap().is_some() {
                    break;
                }
                if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                    return nginx;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            last_log = std::fs::read_to_string(nginx.dir.path().join("error.log")).unwrap_or_default();
        }
        panic!("nginx did not start: {last_log}");
    }
}

/// harmont-auth, an echoing upstream and nginx in front of it.
async fn stack(backend: Backend, test: &str) -> Option<(TestApp, Nginx)> {
    let nginx = nginx_or_skip(test)?;
    let app = spawn_app(backend).await;
    let upstream = echo_upstream().await;
    let nginx = Nginx::start(&nginx, &app.base, &upstream).await;
    Some((app, nginx))
}

async fn the_upstream_sees_the_user_id_of_a_live_token(backend: Backend) {
    let Some((app, nginx)) = stack(backend, "the_upstream_sees_the_user_id_of_a_live_token").await else { return };
    let (email, token) = app.signed_in().await;
    let user = app.service.users().user_by_email(&email).await.unwrap().unwrap();
    let (key, _) = app.api_key_for(&token, None).await;

    for (bearer, kind) in [(&token, "session"), (&key, "api_key")] {
        let response = app.http.get(format!("{}/orders/42", nginx.base)).bearer_auth(bearer).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let seen: Value = response.json().await.unwrap();
        assert_eq!(seen["x-harmont-user-id"], user.id.to_string(), "{seen}");
        assert_eq!(seen["x-harmont-user-email"], email.as_str());
        assert_eq!(seen["x-harmont-token-kind"], kind);
    }

    // A POST with a body: nginx asks with the original method, without the body.
    let response = app.http.post(format!("{}/orders", nginx.base)).bearer_auth(&token).body("{}").send().await;
    assert_eq!(response.unwrap().status(), StatusCode::OK);

    // What the client claims to be is overwritten by what harmont-auth says.
    let spoofed = app
        .http
        .get(format!("{}/orders/42", nginx.base))
        .bearer_auth(&token)
        .header("x-harmont-user-id", uuid::Uuid::new_v4().to_string())
        .send()
        .await
        .unwrap();
    let seen: Value = spoofed.json().await.unwrap();
    assert_eq!(seen["x-harmont-user-id"], user.id.to_string(), "{seen}");
}
api_test!(the_upstream_sees_the_user_id_of_a_live_token);

async fn without_a_live_token_the_client_gets_401(backend: Backend) {
    let Some((app, nginx)) = stack(backend, "without_a_live_token_the_client_gets_401").await else { return };
    let url = format!("{}/orders/42", nginx.base);

    let response = app.http.get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["www-authenticate"], "Bearer realm=\"harmont\"");

    // A made-up identity header without a token gets nowhere either.
    let response = app.http.get(&url).header("x-harmont-user-id", uuid::Uuid::new_v4().to_string()).send().await;
    assert_eq!(response.unwrap().status(), StatusCode::UNAUTHORIZED);

    let unknown = harmont_wire::token::SessionToken::generate();
    let response = app.http.get(&url).bearer_auth(unknown.expose()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["www-authenticate"], "Bearer realm=\"harmont\", error=\"invalid_token\"");
}
api_test!(without_a_live_token_the_client_gets_401);

async fn a_token_revoked_a_moment_ago_gets_401(backend: Backend) {
    let Some((app, nginx)) = stack(backend, "a_token_revoked_a_moment_ago_gets_401").await else { return };
    let (_, token) = app.signed_in().await;
    let url = format!("{}/orders/42", nginx.base);
    for _ in 0..3 {
        assert_eq!(app.http.get(&url).bearer_auth(&token).send().await.unwrap().status(), StatusCode::OK);
    }
    let logout = app.http.post(app.url("/api/v0/auth/logout")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    let response = app.http.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}
api_test!(a_token_revoked_a_moment_ago_gets_401);
