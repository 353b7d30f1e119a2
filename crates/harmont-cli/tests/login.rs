//! `harmont login` against the real server: the loopback handoff with a
//! stand-in browser, the no-browser handoff, `--paste` through stdin, the PKCE
//! binding, wrong codes, an unreachable server, `HARMONT_API_TOKEN`, Ctrl-C,
//! and the fallback to plain polling against a server that does not long-poll.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::{FakeBrowser, Home, Running, Server, EMAIL};
use harmont_client::Claim;
use harmont_wire::pkce::CodeVerifier;
use harmont_wire::verification::verification_code;

#[tokio::test]
async fn login_through_the_browser_and_the_loopback_callback() {
    let server = Server::start().await;
    let home = Home::new();
    let browser = FakeBrowser::install(home.dir.path());
    let mut command = home.harmont(&server.url);
    command.env("BROWSER", &browser.script).env("DISPLAY", ":0").arg("login");
    let cli = Running::spawn(command);

    // The stand-in browser plays the approval page.
    let page = browser.opened().await;
    assert_eq!(page.url.path(), "/cli-login");
    assert_eq!(page.url.origin().ascii_serialization(), server.url, "the app URL defaults to the API base");
    let nonce = page.get("nonce").to_owned();
    assert_eq!(nonce.len(), 43);
    assert_eq!(page.get("code_challenge").len(), 43);
    assert!(!page.get("state").is_empty());
    assert!(!page.get("host").is_empty());
    let port = page.get("port");

    let callback = |state: &str| format!("http://localhost:{port}/callback?state={state}");
    let wrong = reqwest::get(callback("not-the-state")).await.unwrap();
    assert_eq!(wrong.status(), 404);
    let elsewhere = reqwest::get(format!("http://localhost:{port}/?state={}", page.get("state"))).await.unwrap();
    assert_eq!(elsewhere.status(), 404);

    let web_session = server.client().with_token(server.mint().await);
    web_session.transfer(&nonce, Some(page.get("code_challenge"))).await.unwrap();
    let landing = reqwest::get(callback(page.get("state"))).await.unwrap();
    assert_eq!(landing.status(), 200);
    assert!(landing.text().await.unwrap().contains("You can close this tab"));

    let done = cli.finish().await;
    assert_eq!(done.code, 0, "{done:?}");
    assert_eq!(done.stdout, format!("Logged in to {} as {EMAIL} (Alice).\n", server.url));
    assert!(done.stderr.contains(&format!("Verification code: {}", verification_code(&nonce))), "{}", done.stderr);
    assert!(done.stderr.contains(page.url.as_str()), "the URL is printed too: {}", done.stderr);
    assert!(home.credentials().contains(&format!("[servers.\"{}\"]", server.url)));

    let me = home.run(&server.url, &["whoami"]).await;
    assert_eq!((me.code, me.stdout.as_str()), (0, "alice@example.com (Alice)\n"));
}

#[tokio::test]
async fn login_without_a_browser_prints_a_url_without_a_port() {
    let server = Server::start().await;
    let home = Home::new();
    // The harness gives no DISPLAY and no BROWSER: a headless machine. With
    // stdin not a terminal, only an explicit --no-browser goes on to print the
    // URL (see api_keys.rs for the refusal without it).
    let mut command = home.harmont(&server.url);
    command.args(["login", "--no-browser"]);
    let mut cli = Running::spawn(command);

    let page = cli.approval_url().await;
    assert!(!page.has("port") && !page.has("state"), "{}", page.url);
    let nonce = page.get("nonce").to_owned();
    cli.line_containing("--paste").await;
    cli.line_containing("Waiting for the approval").await;

    // The person approves on another device.
    let web_session = server.client().with_token(server.mint().await);
    web_session.transfer(&nonce, Some(page.get("code_challenge"))).await.unwrap();

    let done = cli.finish().await;
    assert_eq!(done.code, 0, "{done:?}");
    assert!(done.stderr.contains("Not opening a browser here (--no-browser was given)"), "{}", done.stderr);
    assert_eq!(done.stdout, format!("Logged in to {} as {EMAIL} (Alice).\n", server.url));
}

/// Issue 11, item 8: headless, the CLI offers the short approval: `Open
/// <app>/cli-login/device and enter ABCD-EFGH`, the verification code
/// doubling as the user code; typing it there approves this terminal (bound
/// to it by PKCE), and the long URL is still printed.
#[tokio::test]
async fn login_without_a_browser_offers_a_short_code() {
    let server = Server::start().await;
    let home = Home::new();
    let mut command = home.harmont(&server.url);
    command.args(["login", "--no-browser"]);
    let mut cli = Running::spawn(command);

    assert!(cli.line_containing("To log in to").await.ends_with(&format!("{}:", server.url)));
    let line = cli.line_containing("/cli-login/device").await;
    let port = server.url.rsplit(':').next().unwrap();
    let prefix = format!("    Open http://localhost:{port}/cli-login/device and enter ");
    assert!(line.starts_with(&prefix), "{line}");
    let code = line[prefix.len()..].trim().to_owned();
    assert!(code.len() == 9 && code.as_bytes()[4] == b'-', "{line}");
    let page = cli.approval_url().await;
    assert_eq!(harmont_wire::verification::verification_code(page.get("nonce")), code, "one login, two ways in");
    cli.line_containing("Waiting for the approval").await;

    // The person types the code on another device.
    let web_session = server.client().with_token(server.mint().await);
    web_session.device_approve(&code.to_lowercase()).await.unwrap();
    let done = cli.finish().await;
    assert_eq!(done.code, 0, "{done:?}");
    assert_eq!(done.stdout, format!("Logged in to {} as {EMAIL} (Alice).\n", server.url));
}

#[tokio::test]
async fn a_claim_without_the_verifier_gets_nothing() {
    let server = Server::start().await;
    let home = Home::new();
    let mut command = home.harmont(&server.url);
    command.args(["login", "--no-browser", "--json"]);
    let mut cli = Running::spawn(command);
    let page = cli.approval_url().await;
    let nonce = page.get("nonce").to_owned();

    let web_session = server.client().with_token(server.mint().await);
    web_session.transfer(&nonce, Some(page.get("code_challenge"))).await.unwrap();
    // Someone who saw the URL (nonce and challenge) but not the verifier.
    let thief = server.client();
    assert!(matches!(thief.claim(&nonce, None, None).await.unwrap(), Claim::NotYet { long_polled: false }));
    let guess = CodeVerifier::generate();
    assert!(matches!(
        thief.claim(&nonce, Some(guess.expose()), None).await.unwrap(),
        Claim::NotYet { long_polled: false }
    ));

    let done = cli.finish().await;
    assert_eq!(done.code, 0, "the CLI, holding the verifier, still gets in: {done:?}");
    let json = done.json();
    assert_eq!(json["user"]["email"], EMAIL);
    assert_eq!(json["api_url"], server.url);
    assert_eq!(json["credentials_path"], home.credentials_path().display().to_string());
}

#[tokio::test]
async fn login_with_a_paste_code_read_from_stdin() {
    let server = Server::start().await;
    let home = Home::new();
    let mut command = home.harmont(&server.url);
    command.args(["login", "--paste"]);
    let mut cli = Running::spawn(command);

    let page = cli.approval_url().await;
    assert_eq!(page.get("paste"), "true");
    assert!(!page.has("nonce") && !page.has("port"), "{}", page.url);
    // The approval page calls `code` with the challenge it was given.
    let web_session = server.client().with_token(server.mint().await);
    let code = web_session.code(Some(page.get("code_challenge"))).await.unwrap();
    // People type codes in all sorts of ways.
    let typed = format!("  {}-{}  ", code[..8].to_lowercase(), &code[8..]);
    cli.type_line(&typed).await;

    let done = cli.finish().await;
    assert_eq!(done.code, 0, "{done:?}");
    assert_eq!(done.stdout, format!("Logged in to {} as {EMAIL} (Alice).\n", server.url));
    assert!(!done.stderr.contains("Paste the code"), "no prompt when stdin is a pipe: {}", done.stderr);
    let token = common::stored_token(&server, &home).await;
    assert_eq!(server.client().with_token(token).current_user().await.unwrap().email, EMAIL);
}

#[tokio::test]
async fn wrong_paste_codes_are_refused() {
    let server = Server::start().await;
    let home = Home::new();
    let web_session = server.client().with_token(server.mint().await);

    // Well formed, but never issued.
    let mut command = home.harmont(&server.url);
    command.args(["login", "--paste"]);
    let mut cli = Running::spawn(command);
    cli.approval_url().await;
    cli.type_line("K7P2-QR9M-X3WZ-4NTV").await;
    let done = cli.finish().await;
    assert_eq!(done.code, 1, "{done:?}");
    assert!(done.stderr.contains("That code was not accepted"), "{}", done.stderr);
    assert!(done.stderr.contains("(cli_code_invalid)"), "{}", done.stderr);
    assert!(done.stderr.contains("/cli_code_invalid"), "the doc_url is shown: {}", done.stderr);
    assert_eq!(done.stdout, "");

    // A real code, but bound to another CLI's challenge: PKCE refuses it.
    let mut command = home.harmont(&server.url);
    command.args(["login", "--paste", "--json"]);
    let mut cli = Running::spawn(command);
    cli.approval_url().await;
    let other = CodeVerifier::generate();
    let code = web_session.code(Some(&other.challenge())).await.unwrap();
    cli.type_line(&code).await;
    let done = cli.finish().await;
    assert_eq!(done.code, 1, "{done:?}");
    assert_eq!(done.json()["error"]["code"], "cli_code_invalid");
    assert_eq!(done.json()["error"]["status"], 400);

    // Not a code at all: refused before any request.
    let mut command = home.harmont(&server.url);
    command.args(["login", "--paste"]);
    let mut cli = Running::spawn(command);
    cli.approval_url().await;
    cli.type_line("hello").await;
    let done = cli.finish().await;
    assert_eq!(done.code, 1, "{done:?}");
    assert!(done.stderr.contains("That is not a paste code"), "{}", done.stderr);

    assert!(!home.credentials_path().exists(), "nothing was stored");
}

#[tokio::test]
async fn login_refuses_while_harmont_api_token_is_set() {
    let server = Server::start().await;
    let home = Home::new();
    let done = Running::spawn({
        let mut command = home.harmont(&server.url);
        command.env("HARMONT_API_TOKEN", server.mint().await).arg("login");
        command
    })
    .finish()
    .await;
    assert_eq!(done.code, 2, "{done:?}");
    assert!(done.stderr.contains("HARMONT_API_TOKEN is set"), "{}", done.stderr);
    assert!(!done.stderr.contains("/cli-login"), "no login was started: {}", done.stderr);
}

#[tokio::test]
async fn login_to_an_unreachable_server_fails_fast() {
    let home = Home::new();
    let closed = harmont_testkit::ClosedPort::new();
    let url = closed.url();
    let done = home.run(&url, &["login"]).await;
    assert_eq!(done.code, 4, "{done:?}");
    assert!(done.stderr.contains(&format!("could not reach the server at {url}")), "{}", done.stderr);
    assert!(!done.stderr.contains("/cli-login"), "nobody is sent to a browser: {}", done.stderr);

    let done = home.run(&url, &["login", "--json"]).await;
    assert_eq!(done.code, 4);
    assert_eq!(done.json()["error"]["code"], "unreachable");
    assert_eq!(done.json()["error"]["exit_code"], 4);
}

#[tokio::test]
async fn ctrl_c_cancels_a_waiting_login() {
    let server = Server::start().await;
    let home = Home::new();
    let mut command = home.harmont(&server.url);
    command.args(["login", "--no-browser"]);
    let mut cli = Running::spawn(command);
    cli.line_containing("Waiting for the approval").await;

    let kill = tokio::process::Command::new("kill").args(["-INT", &cli.id().to_string()]).status().await.unwrap();
    assert!(kill.success());
    let done = cli.finish().await;
    assert_eq!(done.code, 130, "{done:?}");
    assert!(done.stderr.ends_with("Login cancelled; nothing was stored.\n"), "{}", done.stderr);
    assert_eq!(done.stdout, "");
    assert!(!home.credentials_path().exists());
}

#[tokio::test]
async fn ctrl_c_cancels_the_paste_prompt() {
    let server = Server::start().await;
    let home = Home::new();
    let mut command = home.harmont(&server.url);
    command.args(["login", "--paste"]);
    let mut cli = Running::spawn(command);
    cli.approval_url().await;

    let kill = tokio::process::Command::new("kill").args(["-INT", &cli.id().to_string()]).status().await.unwrap();
    assert!(kill.success());
    // stdin stays open: the CLI is blocked reading it when the signal comes.
    let stdin = cli.stdin.take();
    let done = cli.finish().await;
    drop(stdin);
    assert_eq!(done.code, 130, "{done:?}");
    assert!(done.stderr.ends_with("Login cancelled; nothing was stored.\n"), "{}", done.stderr);
}

/// Long polling is an optimisation: a server (or a proxy) that answers every
/// claim at once must still log the user in, with the CLI pacing its polls.
#[tokio::test]
async fn login_falls_back_to_plain_polling_without_long_polling() {
    let server = Server::start().await;
    let proxy = NoLongPollProxy::start(&server.url).await;
    let home = Home::new();
    let mut command = home.harmont(&proxy.url);
    command.args(["login", "--no-browser"]);
    let mut cli = Running::spawn(command);
    let page = cli.approval_url().await;

    // The CLI keeps claiming, though each claim comes back at once.
    harmont_testkit::eventually("the CLI to claim three times", async || (proxy.claims() >= 3).then_some(())).await;
    let web_session = server.client().with_token(server.mint().await);
    web_session.transfer(page.get("nonce"), Some(page.get("code_challenge"))).await.unwrap();

    let done = cli.finish().await;
    assert_eq!(done.code, 0, "{done:?}");
    assert_eq!(done.stdout, format!("Logged in to {} as {EMAIL} (Alice).\n", proxy.url));
    assert_eq!(proxy.held(), 0, "the proxy stripped every Prefer header");
}

/// Forwards everything to the real server, minus `Prefer`, and counts claims.
struct NoLongPollProxy {
    url: String,
    claims: Arc<AtomicUsize>,
    held: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl NoLongPollProxy {
    async fn start(upstream: &str) -> Self {
        use axum::body::Bytes;
        use axum::http::{HeaderMap, Method, StatusCode, Uri};

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let claims = Arc::new(AtomicUsize::new(0));
        let held = Arc::new(AtomicUsize::new(0));
        let (upstream, counted, held_count) = (upstream.to_owned(), claims.clone(), held.clone());
        let http = reqwest::Client::new();
        let forward = move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let (upstream, counted, held_count, http) =
                (upstream.clone(), counted.clone(), held_count.clone(), http.clone());
            async move {
                if uri.path() == "/api/v0/auth/cli/claim" {
                    counted.fetch_add(1, Ordering::SeqCst);
                }
                let mut request = http.request(method, format!("{upstream}{uri}")).body(body);
                for (name, value) in &headers {
                    if !matches!(name.as_str(), "host" | "prefer" | "content-length") {
                        request = request.header(name, value);
                    }
                }
                let response = request.send().await.unwrap();
                if response.headers().contains_key("preference-applied") {
                    held_count.fetch_add(1, Ordering::SeqCst);
                }
                let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
                let content_type = response.headers().get("content-type").cloned();
                let body = response.bytes().await.unwrap();
                let mut reply = axum::response::Response::new(axum::body::Body::from(body));
                *reply.status_mut() = status;
                if let Some(content_type) = content_type {
                    reply.headers_mut().insert("content-type", content_type);
                }
                reply
            }
        };
        let app = axum::Router::new().fallback(forward);
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        NoLongPollProxy { url, claims, held, task }
    }

    fn claims(&self) -> usize {
        self.claims.load(Ordering::SeqCst)
    }

    fn held(&self) -> usize {
        self.held.load(Ordering::SeqCst)
    }
}

impl Drop for NoLongPollProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}
