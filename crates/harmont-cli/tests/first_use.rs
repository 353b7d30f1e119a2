//! Issue 11, "The CLI and the pages as a first-time user meets them": each
//! test reproduces one thing that got in a newcomer's way, with the real
//! `harmont` and `harmont-auth` binaries. (Items 5 and 16, which are about
//! what a terminal shows, are in `terminal.rs`; item 10 in `logout.rs`;
//! item 11 in `whoami_status_token.rs`.)

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::time::Duration;

use common::{login, paste_login, stored_token, FakeBrowser, Finished, Home, Running, Server, EMAIL, PATIENCE};

fn chmod(path: &std::path::Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

async fn run(mut command: tokio::process::Command) -> Finished {
    Finished::from(tokio::time::timeout(PATIENCE, command.output()).await.expect("harmont did not finish").unwrap())
}

/// Item 1: after `--api-url X login`, plain commands go to X, not to the
/// built-in default; `status` says where the server came from; the flag and
/// `HARMONT_API_URL` still win.
#[tokio::test]
async fn the_server_of_the_last_login_is_the_default() {
    let server = Server::start().await;
    let home = Home::new();
    let mut command = home.harmont("unused");
    command.env_remove("HARMONT_API_URL").args(["--api-url", &server.url, "login", "--paste"]);
    let done = paste_login(&server, command).await;
    assert_eq!(done.code, 0, "{done:?}");

    let mut whoami = home.harmont("unused");
    whoami.env_remove("HARMONT_API_URL").arg("whoami");
    let done = run(whoami).await;
    assert_eq!((done.code, done.stdout.as_str()), (0, "alice@example.com (Alice)\n"), "{done:?}");

    let mut status = home.harmont("unused");
    status.env_remove("HARMONT_API_URL").args(["status", "--json"]);
    let done = run(status).await;
    assert_eq!(done.json()["api_url"], server.url);
    assert_eq!(done.json()["api_url_source"], "last_login");
    let mut status = home.harmont("unused");
    status.env_remove("HARMONT_API_URL").arg("status");
    let done = run(status).await;
    assert!(
        done.stdout.starts_with(&format!("Server:      {} (the server of your last login)\n", server.url)),
        "{done:?}"
    );

    // The environment and the flag still override it.
    let closed = harmont_testkit::ClosedPort::new();
    let elsewhere = closed.url();
    let done = home.run(&elsewhere, &["whoami"]).await;
    assert_eq!(done.code, 3, "{done:?}");
    assert!(done.stderr.contains(&format!("not logged in to {elsewhere}")), "{}", done.stderr);
    let mut flag = home.harmont("unused");
    flag.env_remove("HARMONT_API_URL").args(["--api-url", &elsewhere, "token"]);
    assert_eq!(run(flag).await.code, 3);
}

/// Item 2: a 0755 config folder (made by hand for config.toml) is fine, as
/// long as the file is 0600; a folder others can write to stops `login`
/// before anyone is sent to a browser.
#[tokio::test]
async fn the_credential_store_is_checked_before_a_login_starts() {
    let server = Server::start().await;
    let home = Home::new();
    std::fs::create_dir_all(home.config_dir()).unwrap();
    chmod(&home.config_dir(), 0o755);
    login(&server, &home).await;
    assert_eq!(mode(&home.credentials_path()), 0o600);
    assert_eq!(mode(&home.config_dir()), 0o755, "left as the person made it");
    assert_eq!(home.run(&server.url, &["whoami"]).await.code, 0);

    let other = Home::new();
    std::fs::create_dir_all(other.config_dir()).unwrap();
    chmod(&other.config_dir(), 0o777);
    let done = other.run(&server.url, &["login"]).await;
    assert_eq!(done.code, 1, "{done:?}");
    assert!(done.stderr.contains("can be written by other users (mode 0777)"), "{}", done.stderr);
    assert!(done.stderr.contains(&format!("chmod 700 {}", other.config_dir().display())), "{}", done.stderr);
    assert!(!done.stderr.contains("/cli-login"), "nobody is sent to a browser: {}", done.stderr);
}

/// Item 2: if storing still fails once the token has arrived, the new
/// session is revoked instead of living 30 days with nobody holding it.
#[tokio::test]
async fn a_token_that_cannot_be_stored_is_revoked() {
    let server = Server::start().await;
    let home = Home::new();
    let mut command = home.harmont(&server.url);
    command.args(["login", "--no-browser"]);
    let mut cli = Running::spawn(command);
    let page = cli.approval_url().await;
    cli.line_containing("Waiting for the approval").await;
    // The folder loosens while the person approves.
    chmod(&home.config_dir(), 0o777);
    let web = server.client().with_token(server.mint().await);
    web.transfer(page.get("nonce"), Some(page.get("code_challenge"))).await.unwrap();

    let done = cli.finish().await;
    assert_eq!(done.code, 1, "{done:?}");
    assert!(done.stderr.contains("can be written by other users"), "{}", done.stderr);
    assert!(
        done.stderr.contains("The new session could not be stored, so it was revoked on the server again."),
        "{}",
        done.stderr
    );
    let sessions = web.sessions().await.unwrap();
    assert_eq!(sessions.len(), 1, "only the web page's session is live: {sessions:?}");
    assert!(sessions[0].current);
}

/// Item 3: a second login revokes the session it replaced (only one this CLI
/// got through `login`), and says so; `--keep-old` keeps it.
#[tokio::test]
async fn a_new_login_revokes_the_session_it_replaced() {
    let server = Server::start().await;
    let home = Home::new();
    login(&server, &home).await;
    let first = stored_token(&server, &home).await;

    let mut command = home.harmont(&server.url);
    command.args(["login", "--paste"]);
    let done = paste_login(&server, command).await;
    assert_eq!(done.code, 0, "{done:?}");
    assert_eq!(
        done.stdout,
        format!("Logged in to {} as {EMAIL} (Alice).\nRevoked the session this login replaced.\n", server.url)
    );
    let second = stored_token(&server, &home).await;
    assert_ne!(first, second);
    assert!(server.client().with_token(&first).current_user().await.unwrap_err().is_unauthorized());
    server.client().with_token(&second).current_user().await.expect("the new one works");

    let mut command = home.harmont(&server.url);
    command.args(["login", "--paste", "--keep-old", "--json"]);
    let done = paste_login(&server, command).await;
    assert_eq!(done.code, 0, "{done:?}");
    assert_eq!(done.json()["previous_session"], "kept");
    server.client().with_token(&second).current_user().await.expect("--keep-old kept it");

    // A token the CLI was handed (not from `login`) is never ended by it.
    let handed = server.mint().await;
    let other = Home::new();
    std::fs::create_dir_all(other.config_dir()).unwrap();
    chmod(&other.config_dir(), 0o700);
    std::fs::write(other.credentials_path(), format!("[servers.\"{}\"]\ntoken = \"{handed}\"\n", server.url)).unwrap();
    chmod(&other.credentials_path(), 0o600);
    let mut command = other.harmont(&server.url);
    command.args(["login", "--paste"]);
    let done = paste_login(&server, command).await;
    assert_eq!(done.code, 0, "{done:?}");
    assert!(
        done.stdout.contains("is not marked as one from `harmont login`, so its session was left alone"),
        "{}",
        done.stdout
    );
    server.client().with_token(&handed).current_user().await.expect("left alone");
}

/// A web server that is not harmont-auth: every path answers `status` with
/// an HTML page, as `python3 -m http.server` does for a POST (501).
async fn not_harmont(status: u16) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().fallback(move || async move {
        (
            axum::http::StatusCode::from_u16(status).unwrap(),
            [("content-type", "text/html")],
            "<!DOCTYPE HTML><html><body><h1>Error response</h1><p>Unsupported method ('POST')</p></body></html>",
        )
    });
    (url, tokio::spawn(async move { axum::serve(listener, app).await.unwrap() }))
}

/// Item 4: a wrong URL is found before anything else, and no page's HTML is
/// ever printed.
#[tokio::test]
async fn a_server_that_is_not_harmont_auth_is_named_before_anything_else() {
    let home = Home::new();
    for status in [501, 200, 404] {
        let (url, _task) = not_harmont(status).await;
        let done = home.run(&url, &["login"]).await;
        assert_eq!(done.code, 1, "{status}: {done:?}");
        assert!(
            done.stderr.contains("this does not look like a harmont-auth server; check --api-url / HARMONT_API_URL"),
            "{status}: {}",
            done.stderr
        );
        assert!(done.stderr.contains(&format!("answered HTTP {status} with a text/html body")), "{}", done.stderr);
        assert!(!done.stderr.contains("DOCTYPE") && !done.stderr.contains("Unsupported"), "{}", done.stderr);
        assert!(!done.stderr.contains("/cli-login"), "nobody is sent to a browser: {}", done.stderr);

        let mut command = home.harmont(&url);
        command.env("HARMONT_API_TOKEN", "hms_whatever").args(["whoami", "--json"]);
        let done = run(command).await;
        assert_eq!(done.code, 1, "{done:?}");
        assert_eq!(done.json()["error"]["code"], "not_harmont");
        assert_eq!(done.json()["error"]["status"], status);
        assert!(!done.stdout.contains("DOCTYPE") && !done.stderr.contains("DOCTYPE"), "{done:?}");
    }
}

/// Item 4: `https://` for a plain-HTTP server, and `http://` for a TLS one,
/// each get a sentence of their own.
#[tokio::test]
async fn a_tls_and_plain_http_mix_up_is_named() {
    let server = Server::start().await;
    let home = Home::new();
    let https = server.url.replacen("http://", "https://", 1);
    let done = home.run(&https, &["login"]).await;
    assert_eq!(done.code, 1, "{done:?}");
    assert!(done.stderr.contains(&format!("{https} does not speak HTTPS")), "{}", done.stderr);
    assert!(done.stderr.contains(&format!("Use {} in --api-url / HARMONT_API_URL", server.url)), "{}", done.stderr);

    // Something that answers in TLS (a handshake failure alert) to plain HTTP.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let _task = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = socket.read(&mut buf).await;
            let _ = socket.write_all(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46]).await;
        }
    });
    let url = format!("http://127.0.0.1:{port}");
    let done = home.run(&url, &["login", "--json"]).await;
    assert_eq!(done.code, 1, "{done:?}");
    assert!(done.stderr.contains("the server there expects HTTPS"), "{}", done.stderr);
    assert!(done.stderr.contains(&format!("Use https://127.0.0.1:{port} in")), "{}", done.stderr);
    assert_eq!(done.json()["error"]["code"], "tls_mismatch");
}

/// Item 6: "Opened your browser." only when the opener says it worked.
#[tokio::test]
async fn opened_is_said_only_when_a_browser_opened() {
    let server = Server::start().await;
    let home = Home::new();
    for browser in ["false", "/nonexistent/browser"] {
        let mut command = home.harmont(&server.url);
        command.env("BROWSER", browser).env("DISPLAY", ":0").arg("login");
        let mut cli = Running::spawn(command);
        let page = cli.approval_url().await;
        let line = cli.line_containing("Could not open a browser").await;
        assert!(line.contains(&format!("`{browser}`")), "{line}");
        assert!(line.contains("open the page above yourself"), "{line}");
        cli.line_containing("Waiting for the approval").await;
        let web = server.client().with_token(server.mint().await);
        web.transfer(page.get("nonce"), Some(page.get("code_challenge"))).await.unwrap();
        let done = cli.finish().await;
        assert_eq!(done.code, 0, "{done:?}");
        assert!(!done.stderr.contains("Opened your browser"), "{browser}: {}", done.stderr);
    }
}

/// Item 7: the server restarting while the CLI waits does not end the login.
#[tokio::test]
async fn a_server_restart_while_waiting_does_not_end_the_login() {
    let mut server = Server::start().await;
    let home = Home::new();
    let mut command = home.harmont(&server.url);
    command.args(["login", "--no-browser"]);
    let mut cli = Running::spawn(command);
    let page = cli.approval_url().await;
    cli.line_containing("Waiting for the approval").await;

    server.stop().await;
    let line = cli.line_containing("The server is not answering").await;
    // Reset or closed (the held claim) or refused (the next one), in words.
    assert!(line.contains("); retrying.") && !line.contains("os error"), "{line}");
    server.restart().await;
    let web = server.client().with_token(server.mint().await);
    web.transfer(page.get("nonce"), Some(page.get("code_challenge"))).await.unwrap();

    let done = cli.finish().await;
    assert_eq!(done.code, 0, "{done:?}");
    assert_eq!(done.stdout, format!("Logged in to {} as {EMAIL} (Alice).\n", server.url));
}

/// Item 7: a gateway's 502, 503 and 504 in front of the server (a deploy, a
/// proxy restarting) are waited out too.
#[tokio::test]
async fn gateway_errors_while_waiting_do_not_end_the_login() {
    let server = Server::start().await;
    let gateway = FlakyGateway::start(&server.url).await;
    let home = Home::new();
    // Set before the first claim: one already held by the server would
    // otherwise be waited out first.
    gateway.fail_next_claims(3);
    let mut command = home.harmont(&gateway.url);
    command.args(["login", "--no-browser"]);
    let mut cli = Running::spawn(command);
    let page = cli.approval_url().await;
    cli.line_containing("Waiting for the approval").await;
    cli.line_containing("The server is not answering (HTTP 50").await;
    let web = server.client().with_token(server.mint().await);
    web.transfer(page.get("nonce"), Some(page.get("code_challenge"))).await.unwrap();
    let done = cli.finish().await;
    assert_eq!(done.code, 0, "{done:?}");
    assert_eq!(gateway.failures_left(), 0, "every failure was met and waited out");
    assert!(!done.stderr.contains("<html>"), "{}", done.stderr);
}

/// A reverse proxy that can be told to answer the next claims with 502, 503
/// and 504 pages, as nginx does while its upstream restarts.
struct FlakyGateway {
    url: String,
    failures: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl FlakyGateway {
    async fn start(upstream: &str) -> Self {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let failures = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (upstream, left) = (upstream.to_owned(), failures.clone());
        let http = reqwest::Client::new();
        let forward = move |method: axum::http::Method,
                            uri: axum::http::Uri,
                            headers: axum::http::HeaderMap,
                            body: axum::body::Bytes| {
            let (upstream, left, http) = (upstream.clone(), left.clone(), http.clone());
            async move {
                if uri.path() == "/api/v0/auth/cli/claim" {
                    let n = left.load(Ordering::SeqCst);
                    if n > 0 {
                        left.store(n - 1, Ordering::SeqCst);
                        let status = [502, 503, 504][n % 3];
                        let mut reply = axum::response::Response::new(axum::body::Body::from(
                            "<html><body><h1>Bad Gateway</h1></body></html>",
                        ));
                        *reply.status_mut() = axum::http::StatusCode::from_u16(status).unwrap();
                        return reply;
                    }
                }
                let mut request = http.request(method, format!("{upstream}{uri}")).body(body);
                for (name, value) in &headers {
                    if !matches!(name.as_str(), "host" | "content-length") {
                        request = request.header(name, value);
                    }
                }
                let response = request.send().await.unwrap();
                let status = axum::http::StatusCode::from_u16(response.status().as_u16()).unwrap();
                let mut out = axum::http::HeaderMap::new();
                for name in ["content-type", "preference-applied", "retry-after"] {
                    if let Some(value) = response.headers().get(name) {
                        out.insert(name, value.clone());
                    }
                }
                let mut reply = axum::response::Response::new(axum::body::Body::from(response.bytes().await.unwrap()));
                *reply.status_mut() = status;
                *reply.headers_mut() = out;
                reply
            }
        };
        let app = axum::Router::new().fallback(forward);
        let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FlakyGateway { url, failures, task }
    }

    fn fail_next_claims(&self, n: usize) {
        self.failures.store(n, std::sync::atomic::Ordering::SeqCst);
    }

    fn failures_left(&self) -> usize {
        self.failures.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for FlakyGateway {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Item 9, the CLI's half: browsers try `localhost` as `::1` first, so the
/// loopback answers there too, on the same port.
#[tokio::test]
async fn the_callback_answers_on_both_loopbacks() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback on this machine; nothing to check");
        return;
    }
    let server = Server::start().await;
    let home = Home::new();
    let browser = FakeBrowser::install(home.dir.path());
    let mut command = home.harmont(&server.url);
    command.env("BROWSER", &browser.script).env("DISPLAY", ":0").arg("login");
    let cli = Running::spawn(command);
    let page = browser.opened().await;
    let port = page.get("port");
    let probe = reqwest::get(format!("http://[::1]:{port}/")).await.expect("::1 answers");
    assert_eq!(probe.status(), 404);

    let web = server.client().with_token(server.mint().await);
    web.transfer(page.get("nonce"), Some(page.get("code_challenge"))).await.unwrap();
    let landing = reqwest::get(format!("http://[::1]:{port}/callback?state={}", page.get("state"))).await.unwrap();
    assert_eq!(landing.status(), 200);
    assert_eq!(cli.finish().await.code, 0);
}

/// Item 13: `rate_limited` says when to try again, from `Retry-After`.
#[tokio::test]
async fn rate_limited_says_when_to_try_again() {
    let server = Server::start().await;
    let home = Home::new();
    let client = server.client();
    let mut limited = false;
    for _ in 0..50 {
        let err = client.redeem("K7P2QR9MX3WZ4NTV", None).await.unwrap_err();
        if err.status() == Some(429) {
            limited = true;
            break;
        }
    }
    assert!(limited, "the server never rate limited");

    for json in [false, true] {
        let mut command = home.harmont(&server.url);
        command.args(["login", "--paste"]);
        if json {
            command.arg("--json");
        }
        let mut cli = Running::spawn(command);
        cli.approval_url().await;
        cli.type_line("K7P2-QR9M-X3WZ-4NTV").await;
        let done = cli.finish().await;
        assert_eq!(done.code, 1, "{done:?}");
        let wait = done
            .stderr
            .split("try again in ")
            .nth(1)
            .and_then(|rest| rest.split(" s").next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("no \"try again in N s\": {}", done.stderr));
        assert!((1..=60).contains(&wait), "{wait}");
        assert!(done.stderr.contains("(rate_limited)"), "{}", done.stderr);
        if json {
            assert_eq!(done.json()["error"]["code"], "rate_limited");
            assert_eq!(done.json()["error"]["status"], 429);
            assert!(done.json()["error"]["retry_after"].as_u64().is_some(), "{}", done.stdout);
        }
    }
}

/// Item 12: usage errors are JSON too under `--json`.
#[tokio::test]
async fn usage_errors_are_json_under_json() {
    let home = Home::new();
    let done = home.run("http://127.0.0.1:1", &["sessions", "revoke", "--json"]).await;
    assert_eq!(done.code, 2, "{done:?}");
    let error = &done.json()["error"];
    assert_eq!(error["code"], "usage");
    assert_eq!(error["exit_code"], 2);
    assert!(error["message"].as_str().unwrap().contains("<ID|--all-others>"), "{error}");
    assert!(done.stderr.contains("Usage: harmont sessions revoke "), "{}", done.stderr);
    assert!(done.stderr.contains(" <ID|--all-others>"), "{}", done.stderr);

    let done = home.run("http://127.0.0.1:1", &["--json", "whoami", "--bogus"]).await;
    assert_eq!(done.code, 2, "{done:?}");
    assert_eq!(done.json()["error"]["code"], "usage");
    let done = home.run("not a url", &["whoami", "--json"]).await;
    assert_eq!(done.code, 2, "{done:?}");
    assert_eq!(done.json()["error"]["code"], "usage");
    // Help is still help.
    let done = home.run("http://127.0.0.1:1", &["--json", "--help"]).await;
    assert_eq!(done.code, 0, "{done:?}");
    assert!(done.stdout.contains("Usage: harmont"), "{}", done.stdout);
}

/// Item 14: `sessions revoke` without an ID names `--all-others`; a unique
/// ID prefix of 8 or more characters is taken.
#[tokio::test]
async fn sessions_revoke_takes_a_prefix_and_names_all_others() {
    let server = Server::start().await;
    let home = Home::new();
    let done = home.run(&server.url, &["sessions", "revoke"]).await;
    assert_eq!(done.code, 2, "{done:?}");
    assert!(done.stderr.contains("--all-others"), "{}", done.stderr);

    let laptop = server.mint().await;
    login(&server, &home).await;
    let sessions = server.client().with_token(&laptop).sessions().await.unwrap();
    let id = sessions.iter().find(|s| s.current).unwrap().id.to_string();

    let done = home.run(&server.url, &["sessions", "revoke", &id[..7]]).await;
    assert_eq!(done.code, 2, "7 characters are too few: {done:?}");
    assert!(done.stderr.contains("first 8 or more characters"), "{}", done.stderr);
    let done = home.run(&server.url, &["sessions", "revoke", &id[..8].to_uppercase()]).await;
    assert_eq!((done.code, done.stdout.clone()), (0, format!("Revoked session {id}.\n")), "{done:?}");
    assert!(server.client().with_token(&laptop).current_user().await.unwrap_err().is_unauthorized());
    let done = home.run(&server.url, &["sessions", "revoke", &id[..8]]).await;
    assert_eq!(done.code, 1, "{done:?}");
    assert!(done.stderr.contains(&format!("no live session whose ID starts with {}", &id[..8])), "{}", done.stderr);
}

/// Item 15: when the browser's callback never arrives, the login still ends
/// right after the claim succeeds (it used to wait 5 s more, silently).
#[tokio::test]
async fn the_login_ends_soon_after_the_claim_without_a_callback() {
    let server = Server::start().await;
    let home = Home::new();
    let browser = FakeBrowser::install(home.dir.path());
    let mut command = home.harmont(&server.url);
    command.env("BROWSER", &browser.script).env("DISPLAY", ":0").arg("login");
    let cli = Running::spawn(command);
    let page = browser.opened().await;

    let web = server.client().with_token(server.mint().await);
    web.transfer(page.get("nonce"), Some(page.get("code_challenge"))).await.unwrap();
    let approved = std::time::Instant::now();
    let done = cli.finish().await;
    let took = approved.elapsed();
    assert_eq!(done.code, 0, "{done:?}");
    // Generous, but well under the old 5 s pause.
    assert!(took < Duration::from_millis(4000), "the login took {took:?} after the approval");
}

/// Item 17: shell completions.
#[tokio::test]
async fn completions_for_bash_zsh_and_fish() {
    let home = Home::new();
    for (shell, marker) in
        [("bash", "complete -F _harmont"), ("zsh", "#compdef harmont"), ("fish", "complete -c harmont")]
    {
        let done = home.run("http://127.0.0.1:1", &["completions", shell]).await;
        assert_eq!(done.code, 0, "{shell}: {done:?}");
        assert!(done.stdout.contains(marker), "{shell}: {}", &done.stdout[..done.stdout.len().min(300)]);
        assert!(done.stdout.contains("all-others") && done.stdout.contains("keep-old"), "{shell}");
    }
    let done = home.run("http://127.0.0.1:1", &["completions", "tcsh"]).await;
    assert_eq!(done.code, 2, "{done:?}");

    // bash takes the script as it is.
    let script = home.dir.path().join("harmont.bash");
    std::fs::write(&script, home.run("http://127.0.0.1:1", &["completions", "bash"]).await.stdout).unwrap();
    let check = tokio::process::Command::new("bash")
        .arg("-c")
        .arg(format!("source '{}' && complete -p harmont", script.display()))
        .output()
        .await
        .unwrap();
    assert!(check.status.success(), "{check:?}");
    assert!(String::from_utf8_lossy(&check.stdout).contains("_harmont"), "{check:?}");
}
