//! The `harmont-auth` binary as an operator runs it: `user add`, `token mint`,
//! `serve` until SIGTERM, and a log that never carries a secret.

use crate::api_test;
use crate::helpers::{nonce, Backend, POSTGRES_URL_VAR};
use harmont_client::Claim;
use harmont_testkit::eventually;
pub(crate) use harmont_testkit::ServerProcess as Server;
use harmont_wire::token::SessionToken;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// The binary under test; `HARMONT_TEST_BIN` names a copy of it, for a
/// target folder that other builds share and may overwrite meanwhile.
pub(crate) fn bin() -> String {
    std::env::var("HARMONT_TEST_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_harmont-auth").to_owned())
}

/// `command`'s output, or a failure if it has not exited within a minute
/// (a server that should have refused to start).
fn output_within_a_minute(mut command: Command) -> Output {
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    for _ in 0..600 {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    panic!("still running after a minute: {}", String::from_utf8_lossy(&output.stderr));
}

pub(crate) struct Operator {
    pub(crate) database: String,
    _dir: tempfile::TempDir,
}

impl Operator {
    pub(crate) fn new(backend: Backend) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let database = match backend {
            Backend::Sqlite => format!("sqlite://{}/data/harmont.db", dir.path().display()),
            Backend::Postgres => std::env::var(POSTGRES_URL_VAR).expect("run through scripts/test-postgres.sh"),
        };
        let operator = Self { database, _dir: dir };
        // Only `serve` and `migrate` create a database; the operator's commands need one.
        let migrated = operator.run(&["migrate"]);
        assert!(migrated.status.success(), "{}", String::from_utf8_lossy(&migrated.stderr));
        operator
    }

    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(bin());
        command
            .args(args)
            .env("DATABASE_URL", &self.database)
            .env("HARMONT_SECRET", "a-test-secret-that-is-long-enough-0123456789")
            .env_remove("HARMONT_LISTEN");
        command
    }

    pub(crate) fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }
}

impl Operator {
    /// `harmont-auth serve` on port 0 with a trace log, on this database.
    pub(crate) fn serve(&self) -> Server {
        Server::start(self.command(&["serve", "--listen", "127.0.0.1:0", "--log", "trace"]))
    }
}

async fn user_add_and_token_mint(backend: Backend) {
    let operator = Operator::new(backend);
    let email = format!("op-{}@example.com", uuid::Uuid::new_v4().simple());

    let added = operator.run(&["user", "add", &email, "--name", "Op"]);
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let link = String::from_utf8(added.stdout).unwrap();
    assert_eq!(link.lines().count(), 1, "only the enrollment link on stdout");
    assert!(link.starts_with("http://localhost:8080/login#link=hml_"), "{link}");

    let duplicate = operator.run(&["user", "add", &email.to_uppercase()]);
    assert_eq!(duplicate.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&duplicate.stderr);
    assert!(stderr.contains("already exists"), "{stderr}");
    assert!(stderr.contains(&format!("run `harmont-auth user link {email}`")), "suggests user link: {stderr}");

    let unknown = operator.run(&["token", "mint", "nobody@example.com"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no user with email nobody@example.com"));

    let minted = operator.run(&["token", "mint", &email]);
    assert!(minted.status.success());
    let stdout = String::from_utf8(minted.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "only the token on stdout");
    assert!(SessionToken::parse(stdout.trim()).is_ok());

    let bad = operator.run(&["user", "add", "not-an-email"]);
    assert_eq!(bad.status.code(), Some(1));
}
api_test!(user_add_and_token_mint);

async fn serves_until_sigterm_and_logs_no_secret(backend: Backend) {
    let operator = Operator::new(backend);
    let email = format!("op-{}@example.com", uuid::Uuid::new_v4().simple());
    assert!(operator.run(&["user", "add", &email]).status.success());
    let minted = operator.run(&["token", "mint", &email]);
    let token = String::from_utf8(minted.stdout).unwrap().trim().to_owned();

    let server = operator.serve();
    let web = harmont_client::Client::new(&server.base).with_token(&token);
    let cli = harmont_client::Client::new(&server.base);

    let nonce = nonce();
    web.transfer(&nonce, None).await.unwrap();
    let Claim::Token(claimed) = cli.claim(&nonce, None, Some(Duration::from_secs(1))).await.unwrap() else {
        panic!("claimable")
    };
    let claimed = claimed.expose().to_owned();
    let code = web.code(None).await.unwrap();
    let redeemed = cli.redeem(&code.to_lowercase(), None).await.unwrap().expose().to_owned();
    let refused = harmont_client::Client::new(&server.base).with_token(&claimed).logout().await;
    assert!(refused.is_ok());
    let error = harmont_client::Client::new(&server.base).with_token(&claimed).current_user().await.unwrap_err();
    let request_id = error.request_id().expect("request id").to_owned();

    let status = server_terminated(server, |log| {
        assert!(log.contains("route=\"/api/v0/auth/cli/claim\""), "the log names routes");
        let line = log.lines().find(|l| l.contains(&request_id) && l.contains("status=")).expect("the 401's log line");
        assert!(line.contains("method=GET route=\"/api/v0/user\" status=401"), "{line}");
        for (name, secret) in
            [("token", &token), ("claimed", &claimed), ("redeemed", &redeemed), ("nonce", &nonce), ("code", &code)]
        {
            if let Some(at) = log.find(secret.as_str()) {
                let line_start = log[..at].rfind('\n').map_or(0, |i| i + 1);
                let line_end = log[at..].find('\n').map_or(log.len(), |i| at + i);
                let line = log[line_start..line_end].replace(secret.as_str(), "<SECRET>");
                panic!("the {name} reached the log: {line}");
            }
        }
    });
    assert!(status.success(), "SIGTERM stops the server cleanly: {status:?}");
}
api_test!(serves_until_sigterm_and_logs_no_secret);

/// `user add` and `user link` print one-time links; the server trades each
/// for a session once, and neither the link nor its token reaches the log.
async fn user_links_sign_in_once_and_stay_out_of_the_log(backend: Backend) {
    let operator = Operator::new(backend);
    let email = format!("op-{}@example.com", uuid::Uuid::new_v4().simple());
    let added = operator.run(&["user", "add", &email, "--public-url", "https://auth.example.com/"]);
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let enrollment = String::from_utf8(added.stdout).unwrap().trim().to_owned();
    assert!(enrollment.starts_with("https://auth.example.com/login#link=hml_"), "{enrollment}");
    assert!(String::from_utf8_lossy(&added.stderr).contains("within 24 hours"));

    let linked = operator.run(&["user", "link", &email.to_uppercase()]);
    assert!(linked.status.success(), "{}", String::from_utf8_lossy(&linked.stderr));
    let link = String::from_utf8(linked.stdout).unwrap().trim().to_owned();
    assert!(link.starts_with("http://localhost:8080/login#link=hml_"), "{link}");
    let unknown = operator.run(&["user", "link", "nobody@example.com"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no user with email nobody@example.com"));

    let server = operator.serve();
    let http = reqwest::Client::new();
    let redeem = format!("{}/api/v0/auth/links/redeem", server.base);
    let mut secrets = Vec::new();
    for url in [&enrollment, &link] {
        let secret = url.split_once("#link=").unwrap().1.to_owned();
        let first = http.post(&redeem).json(&serde_json::json!({"link": secret})).send().await.unwrap();
        assert_eq!(first.status(), reqwest::StatusCode::OK);
        let token = first.json::<serde_json::Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
        let second = http.post(&redeem).json(&serde_json::json!({"link": secret})).send().await.unwrap();
        assert_eq!(second.status(), reqwest::StatusCode::BAD_REQUEST);
        secrets.push(secret);
        secrets.push(token);
    }
    let status = server_terminated(server, |log| {
        assert!(log.contains("route=\"/api/v0/auth/links/redeem\""), "the log names routes");
        for secret in &secrets {
            assert!(!log.contains(secret.as_str()), "a link or its token reached the log");
        }
    });
    assert!(status.success());
}
api_test!(user_links_sign_in_once_and_stay_out_of_the_log);

/// Issue 13: `user disable` and `user enable` with the real binary, while
/// the server runs: the running server refuses the user's token (at once on
/// Postgres, announced; within the bearer cache's 2 s on SQLite, another
/// process), `token mint` refuses them, and `user enable` brings the very
/// same token back.
async fn user_disable_and_enable_from_the_command_line(backend: Backend) {
    let operator = Operator::new(backend);
    let email = format!("op-{}@example.com", uuid::Uuid::new_v4().simple());
    assert!(operator.run(&["user", "add", &email]).status.success());
    let minted = operator.run(&["token", "mint", &email]);
    assert!(minted.status.success());
    let token = String::from_utf8(minted.stdout).unwrap().trim().to_owned();
    let server = operator.serve();
    let http = reqwest::Client::new();
    let user_url = format!("{}/api/v0/user", server.base);
    let status = async || http.get(&user_url).bearer_auth(&token).send().await.unwrap().status();
    assert_eq!(status().await, reqwest::StatusCode::OK);

    let disabled = operator.run(&["user", "disable", &email.to_uppercase()]);
    assert!(disabled.status.success(), "{}", String::from_utf8_lossy(&disabled.stderr));
    let said = String::from_utf8_lossy(&disabled.stderr);
    assert!(said.contains(&format!("{email} (")) && said.contains("disabled"), "{said}");
    assert!(disabled.stdout.is_empty());
    let again = operator.run(&["user", "disable", &email]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("already disabled"));
    eventually("the running server to refuse a disabled user's token", async || {
        (status().await == reqwest::StatusCode::FORBIDDEN).then_some(())
    })
    .await;
    let refused: serde_json::Value =
        http.get(&user_url).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(refused["error"]["code"], "user_disabled");
    let mint = operator.run(&["token", "mint", &email]);
    assert_eq!(mint.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&mint.stderr).contains("disabled"), "{}", String::from_utf8_lossy(&mint.stderr));
    assert!(mint.stdout.is_empty());

    let enabled = operator.run(&["user", "enable", &email]);
    assert!(enabled.status.success());
    assert!(String::from_utf8_lossy(&enabled.stderr).contains("enabled"));
    eventually("the same token to work again", async || (status().await == reqwest::StatusCode::OK).then_some(()))
        .await;
    let unknown = operator.run(&["user", "disable", "nobody@example.com"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no user with email nobody@example.com"));
    assert!(server.terminate().success());
}
api_test!(user_disable_and_enable_from_the_command_line);

pub(crate) fn server_terminated(server: Server, check_log: impl FnOnce(&str)) -> std::process::ExitStatus {
    let (status, log) = server.terminate_and_log();
    check_log(&log);
    status
}

/// Issue 12 #3: an error keeps its cause. `token mint` against a read-only
/// database printed only "Internal error."; now it names the cause. The
/// server answers such a store 503 (issue 7) and logs the cause once, not
/// per request, and never sends it to the client.
#[tokio::test]
async fn a_read_only_database_is_named_by_token_mint_and_in_the_servers_log() {
    let operator = Operator::new(Backend::Sqlite);
    let email = "read-only@example.com";
    assert!(operator.run(&["user", "add", email]).status.success());
    let minted = operator.run(&["token", "mint", email]);
    assert!(minted.status.success(), "{}", String::from_utf8_lossy(&minted.stderr));
    let token = String::from_utf8(minted.stdout).unwrap().trim().to_owned();
    let read_only = Operator { database: format!("{}?mode=ro", operator.database), _dir: tempfile::tempdir().unwrap() };

    let refused = read_only.run(&["token", "mint", email]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("attempt to write a readonly database"), "the cause, not just a 500's text: {stderr}");
    assert!(!stderr.contains("Internal error"), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "the database used, then one line: {stderr}");
    assert!(lines[0].starts_with("Database: ") && lines[0].ends_with("harmont.db (SQLite)"), "{stderr}");

    // A database it cannot write is an unavailable store (issue 7): 503 to
    // retry, the cause in the store's one log line, never in the response.
    let server = read_only.serve();
    let http = reqwest::Client::new();
    let mut request_ids = Vec::new();
    for _ in 0..2 {
        let response = http
            .post(format!("{}/api/v0/auth/cli/transfer", server.base))
            .bearer_auth(&token)
            .json(&serde_json::json!({"nonce": nonce()}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()["retry-after"], "1");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "service_unavailable");
        assert!(!body.to_string().contains("readonly"), "the cause stays out of the response: {body}");
        request_ids.push(body["error"]["request_id"].as_str().unwrap().to_owned());
    }

    let status = server_terminated(server, |log| {
        let causes: Vec<&str> = log.lines().filter(|l| l.contains("attempt to write a readonly database")).collect();
        assert!(!causes.is_empty(), "the cause is in the log: {log}");
        assert!(causes.iter().all(|l| l.contains("the store is unavailable")), "{causes:?}");
        // Reads work and writes fail, so the store flips at every request:
        // still one line, not one per request.
        assert_eq!(causes.len(), 1, "{causes:?}");
        assert_eq!(request_ids.len(), 2);
        assert!(!log.contains("internal error"), "{log}");
    });
    assert!(status.success(), "{status:?}");
}

/// Without `HARMONT_SECRET`, the embedded default makes its own, private to
/// its owner, when the server starts. The operator's commands never use it
/// (it keys paste codes only), so they neither need nor make it.
#[tokio::test]
async fn sqlite_generates_a_private_secret_beside_the_database() {
    use std::os::unix::fs::PermissionsExt;
    let operator = Operator::new(Backend::Sqlite);
    let email = "first@example.com";
    let added = operator.command(&["user", "add", email]).env_remove("HARMONT_SECRET").output().unwrap();
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let database = operator.database.strip_prefix("sqlite://").unwrap();
    let secret = std::path::Path::new(database).with_file_name("secret");
    assert!(!secret.exists(), "an operator's command makes no secret");

    let start = || {
        let mut serve = operator.command(&["serve", "--listen", "127.0.0.1:0"]);
        serve.env_remove("HARMONT_SECRET");
        Server::start(serve)
    };
    let _ = start().terminate(); // The secret is made before the server says where it listens.
    let metadata = std::fs::metadata(&secret).unwrap();
    assert_eq!(metadata.permissions().mode() & 0o777, 0o600);
    let first = std::fs::read_to_string(&secret).unwrap();
    assert_eq!(first.trim().len(), 64);

    // A second start reads the same secret rather than making a new one.
    let _ = start().terminate(); // The secret is made before the server says where it listens.
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), first);
}

#[tokio::test]
async fn postgres_without_a_secret_is_refused() {
    let operator =
        Operator { database: "postgres://nobody:hunter2@127.0.0.1:1/none".into(), _dir: tempfile::tempdir().unwrap() };
    let mut serve = operator.command(&["serve", "--listen", "127.0.0.1:0"]);
    serve.env_remove("HARMONT_SECRET");
    let output = output_within_a_minute(serve);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("HARMONT_SECRET is required with Postgres"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "the password stays out of messages: {stderr}");
}

/// A start that cannot work says how to fix it and exits 1 or 2, never a panic (101).
fn assert_refused(output: &Output, fix: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(matches!(output.status.code(), Some(1 | 2)), "exit {:?}: {stderr}", output.status);
    assert!(stderr.contains(fix), "the message names the fix ({fix}): {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Issue 14 #13: `HARMONT_CORS_ORIGINS='*'` was a panic at start (exit 101).
#[tokio::test]
async fn a_wildcard_cors_origin_is_refused_at_start() {
    let operator = Operator::new(Backend::Sqlite);
    let output =
        operator.command(&["serve", "--listen", "127.0.0.1:0"]).env("HARMONT_CORS_ORIGINS", "*").output().unwrap();
    assert_refused(&output, "`*` is not allowed");
    let output = output_within_a_minute(operator.command(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--cors-origins",
        "https://ok.example,https://bad.example/path",
    ]));
    assert_refused(&output, "scheme://host[:port]");
}

/// Issue 14 #13: a `secret` file others can read started silently.
#[tokio::test]
async fn a_secret_file_others_can_read_is_refused_with_the_chmod_that_fixes_it() {
    use std::os::unix::fs::PermissionsExt;
    let operator = Operator::new(Backend::Sqlite);
    let secret = std::path::Path::new(operator.database.strip_prefix("sqlite://").unwrap()).with_file_name("secret");
    std::fs::write(&secret, format!("{}\n", "0123456789abcdef".repeat(4))).unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();

    let mut command = operator.command(&["serve", "--listen", "127.0.0.1:0"]);
    command.env_remove("HARMONT_SECRET");
    let output = output_within_a_minute(command);
    assert_refused(&output, &format!("chmod 600 {}", secret.display()));
}

#[tokio::test]
async fn a_short_or_monotonous_secret_is_refused() {
    let operator = Operator::new(Backend::Sqlite);
    let output = operator.command(&["migrate"]).output().unwrap();
    assert!(output.status.success());
    for (secret, says) in [("too-short", "at least 32 bytes"), (&*"ab".repeat(20), "only 2 different characters")] {
        let mut serve = operator.command(&["serve", "--listen", "127.0.0.1:0"]);
        serve.env("HARMONT_SECRET", secret);
        let output = output_within_a_minute(serve);
        assert_refused(&output, says);
        assert!(!String::from_utf8_lossy(&output.stderr).contains(secret), "the secret stays out of messages");
    }
}

/// Issue 14 #6: out of file descriptors (`ulimit -n 64`), the server keeps
/// accepting once connections close, says so once, and answers again.
#[tokio::test]
async fn out_of_file_descriptors_the_server_backs_off_logs_once_and_recovers() {
    let operator = Operator::new(Backend::Sqlite);
    let mut command = Command::new("sh");
    command
        .args(["-c", "ulimit -n 64 && exec \"$0\" \"$@\""])
        .arg(bin())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--log",
            "info",
            "--max-connections",
            "1000",
            "--header-timeout",
            "2s",
        ])
        .env("DATABASE_URL", &operator.database)
        .env("HARMONT_SECRET", "a-test-secret-that-is-long-enough-0123456789")
        .env_remove("HARMONT_LISTEN");
    let server = Server::start(command);
    let addr = server.base.strip_prefix("http://").unwrap().to_owned();

    let mut idle = Vec::new();
    for _ in 0..120 {
        idle.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    // Wait for the server to have met the limit (or for 5 s: then the test checks only recovery).
    for _ in 0..50 {
        if server.log().contains("cannot accept connections") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(idle);
    let http = reqwest::Client::new();
    eventually("ping to answer again once the connections are gone", async || {
        let ping = http.get(format!("{}/api/v0/ping", server.base)).timeout(Duration::from_secs(2)).send().await;
        ping.is_ok_and(|r| r.status() == reqwest::StatusCode::OK).then_some(())
    })
    .await;
    let status = server_terminated(server, |log| {
        let lines = log.lines().filter(|l| l.contains("cannot accept connections")).count();
        assert_eq!(lines, 1, "one line, not one per failure: {log}");
        assert!(log.contains("Too many open files"), "{log}");
    });
    assert!(status.success(), "{status:?}");
}

/// Issue 9: `client add` prints the credentials once, as JSON on stdout;
/// `client list` shows no secret; `client remove` refuses the secret from the
/// next request on. Neither the client secret (nor its Basic header) nor a
/// token reaches the server's log, on introspection or forward auth.
async fn client_add_list_remove_and_a_log_without_client_secrets(backend: Backend) {
    use base64::Engine as _;
    let operator = Operator::new(backend);
    let email = format!("op-{}@example.com", uuid::Uuid::new_v4().simple());
    assert!(operator.run(&["user", "add", &email]).status.success());
    let token = String::from_utf8(operator.run(&["token", "mint", &email]).stdout).unwrap().trim().to_owned();
    let name = format!("gateway-{}", uuid::Uuid::new_v4().simple());

    let added = operator.run(&["client", "add", &name]);
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let stdout = String::from_utf8(added.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "one JSON line on stdout: {stdout}");
    let shown: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let shown = shown.as_object().unwrap();
    assert_eq!(shown.keys().collect::<Vec<_>>(), ["client_id", "client_secret"]);
    let client_id = shown["client_id"].as_str().unwrap().to_owned();
    let secret = shown["client_secret"].as_str().unwrap().to_owned();
    assert!(uuid::Uuid::try_parse(&client_id).is_ok());
    assert!(harmont_wire::token::ClientSecret::parse(&secret).is_ok());
    assert!(String::from_utf8_lossy(&added.stderr).contains("only this once"));

    let again = operator.run(&["client", "add", &name]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"), "{again:?}");
    for bad in ["", " padded ", "tab\there"] {
        let refused = operator.run(&["client", "add", bad]);
        assert_eq!(refused.status.code(), Some(1), "{bad:?}");
        assert!(refused.stdout.is_empty());
    }

    let listed = operator.run(&["client", "list"]);
    assert!(listed.status.success());
    let listed = String::from_utf8(listed.stdout).unwrap();
    let line = listed.lines().find(|line| line.starts_with(&format!("{name}\t"))).expect("the client is listed");
    assert!(line.contains(&client_id), "{line}");
    assert!(!listed.contains(&secret), "list shows no secret");

    let server = operator.serve();
    let http = reqwest::Client::new();
    let introspect = format!("{}/api/v0/auth/introspect", server.base);
    let asked = http.post(&introspect).basic_auth(&client_id, Some(&secret)).form(&[("token", &token)]).send();
    let answer: serde_json::Value = asked.await.unwrap().json().await.unwrap();
    assert_eq!(answer["active"], true, "{answer}");
    assert_eq!(answer["username"], email.as_str());
    let verified = http.get(format!("{}/api/v0/auth/verify", server.base)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(verified.status(), reqwest::StatusCode::OK);
    let wrong = http.post(&introspect).basic_auth(&client_id, Some(&token)).form(&[("token", &token)]).send();
    assert_eq!(wrong.await.unwrap().status(), reqwest::StatusCode::UNAUTHORIZED);

    let removed = operator.run(&["client", "remove", &name]);
    assert!(removed.status.success(), "{}", String::from_utf8_lossy(&removed.stderr));
    let refused = http.post(&introspect).basic_auth(&client_id, Some(&secret)).form(&[("token", &token)]).send();
    assert_eq!(refused.await.unwrap().status(), reqwest::StatusCode::UNAUTHORIZED, "removed: refused at once");
    let gone = operator.run(&["client", "remove", &name]);
    assert_eq!(gone.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&gone.stderr).contains("no client named"));
    assert!(!String::from_utf8(operator.run(&["client", "list"]).stdout).unwrap().contains(&name));

    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"));
    let status = server_terminated(server, |log| {
        assert!(log.contains("route=\"/api/v0/auth/introspect\""), "the log names routes");
        assert!(log.contains("route=\"/api/v0/auth/verify\""), "the log names routes");
        for (what, secret) in [("client secret", &secret), ("Basic credentials", &basic), ("token", &token)] {
            assert!(!log.contains(secret.as_str()), "the {what} reached the log");
        }
    });
    assert!(status.success());
}
api_test!(client_add_list_remove_and_a_log_without_client_secrets);

/// Issue 11, item 18: run from another folder, `user add` made a new
/// `./harmont-data/` and a user the running server never saw. The operator's
/// commands name the database they use and never create one.
#[test]
fn operator_commands_name_their_database_and_never_create_one() {
    let elsewhere = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(bin())
            .args(args)
            .current_dir(elsewhere.path())
            .env_remove("DATABASE_URL")
            .env_remove("HARMONT_SECRET")
            .output()
            .unwrap()
    };
    let expected = elsewhere.path().canonicalize().unwrap().join("harmont-data/harmont.db");
    for args in [
        &["user", "add", "ada@example.com"][..],
        &["user", "link", "ada@example.com"],
        &["user", "list"],
        &["user", "remove", "ada@example.com"],
        &["token", "mint", "ada@example.com"],
    ] {
        let refused = run(args);
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert_eq!(refused.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(refused.stdout.is_empty(), "{args:?}");
        assert!(stderr.contains(&format!("there is no database at {}", expected.display())), "{args:?}: {stderr}");
        assert!(stderr.contains("`harmont-auth serve` or `harmont-auth migrate`"), "{args:?}: {stderr}");
        assert!(!elsewhere.path().join("harmont-data").exists(), "{args:?} created a database");
    }
    // `migrate` creates it; then the same command works, and names it.
    assert!(run(&["migrate"]).status.success());
    let added = run(&["user", "add", "ada@example.com"]);
    let stderr = String::from_utf8_lossy(&added.stderr);
    assert!(added.status.success(), "{stderr}");
    assert_eq!(stderr.lines().next(), Some(format!("Database: {} (SQLite)", expected.display()).as_str()), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&added.stdout).lines().count(), 1, "stdout: the link alone");

    // A database file that is not the server's is not turned into one.
    let stranger = elsewhere.path().join("other.db");
    std::fs::write(&stranger, b"").unwrap();
    let refused = run(&["user", "list", "--database", &format!("sqlite://{}", stranger.display())]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("this database has no harmont-auth tables"), "{stderr}");
}

/// Issue 11, item 18: `user list [--json]` and `user remove EMAIL`, which
/// ends everything of theirs at once for the running server too.
async fn user_list_and_remove(backend: Backend) {
    let operator = Operator::new(backend);
    let ada = format!("ada-{}@example.com", uuid::Uuid::new_v4().simple());
    let bob = format!("bob-{}@example.com", uuid::Uuid::new_v4().simple());
    assert!(operator.run(&["user", "add", &ada, "--name", "Ada Lovelace"]).status.success());
    assert!(operator.run(&["user", "add", &bob]).status.success());

    let listed = operator.run(&["user", "list"]);
    assert!(listed.status.success());
    let text = String::from_utf8(listed.stdout).unwrap();
    assert!(text.lines().next().unwrap().starts_with("EMAIL"), "{text}");
    let ada_line = text.lines().find(|l| l.starts_with(&ada)).expect("ada is listed");
    assert!(ada_line.contains("Ada Lovelace"), "{ada_line}");
    assert!(text.lines().any(|l| l.starts_with(&bob)), "{text}");
    assert!(String::from_utf8_lossy(&listed.stderr).starts_with("Database: "));

    let listed = operator.run(&["user", "list", "--json"]);
    assert!(listed.status.success());
    let users: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("stdout is one JSON document");
    let ada_json = users.as_array().unwrap().iter().find(|u| u["email"] == ada.as_str()).expect("ada in the JSON");
    assert_eq!(ada_json["name"], "Ada Lovelace");
    assert!(uuid::Uuid::parse_str(ada_json["id"].as_str().unwrap()).is_ok());
    assert!(ada_json["created_at"].as_str().unwrap().ends_with('Z'));

    let minted = operator.run(&["token", "mint", &bob]);
    let token = String::from_utf8(minted.stdout).unwrap().trim().to_owned();
    let server = operator.serve();
    let user = || reqwest::Client::new().get(format!("{}/api/v0/user", server.base)).bearer_auth(&token).send();
    assert_eq!(user().await.unwrap().status(), reqwest::StatusCode::OK);

    let removed = operator.run(&["user", "remove", &bob.to_uppercase()]);
    let stderr = String::from_utf8_lossy(&removed.stderr);
    assert!(removed.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("Removed {bob}")) && stderr.contains("refused from now on"), "{stderr}");
    // Refused by the running server: at once on Postgres (announced), within
    // the bearer cache's 2 s on SQLite.
    eventually("the removed user's token to be refused", async || {
        (user().await.unwrap().status() == reqwest::StatusCode::UNAUTHORIZED).then_some(())
    })
    .await;
    let listed = String::from_utf8(operator.run(&["user", "list"]).stdout).unwrap();
    assert!(!listed.contains(&bob) && listed.contains(&ada), "{listed}");
    let again = operator.run(&["user", "remove", &bob]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains(&format!("no user with email {bob}")));
    drop(server);
}
api_test!(user_list_and_remove);

/// Issue 11, item 18: `token mint --help` lists only what applies to it.
#[test]
fn token_mint_help_lists_only_what_applies() {
    let help = Command::new(bin()).args(["token", "mint", "--help"]).output().unwrap();
    let text = String::from_utf8(help.stdout).unwrap();
    for flag in ["--session-ttl", "--database", "<EMAIL>"] {
        assert!(text.contains(flag), "{flag}: {text}");
    }
    for flag in ["--secret", "--transfer-ttl", "--paste-ttl", "--auth-cache-ttl", "--public-url", "--listen"] {
        assert!(!text.contains(flag), "{flag} does not apply: {text}");
    }
}
