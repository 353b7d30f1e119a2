//! Issue 13: `--config PATH` / `HARMONT_CONFIG` and `harmont-auth config
//! check`, with the real binary: the file's settings are used, the
//! environment beats the file and a flag beats both, and `config check`
//! says what is wrong (all of it) or prints the effective settings with
//! secrets redacted.

use crate::api_test;
use crate::binary::{bin, Server};
use crate::helpers::{Backend, POSTGRES_URL_VAR};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SECRET: &str = "a-config-file-secret-that-is-long-enough-42";

/// The binary with none of the settings' variables from the test's own environment.
fn harmont(args: &[&str]) -> Command {
    let mut command = Command::new(bin());
    command.args(args);
    for (name, _) in std::env::vars() {
        if name.starts_with("HARMONT_") || name == "DATABASE_URL" {
            command.env_remove(name);
        }
    }
    command
}

fn run(mut command: impl std::borrow::BorrowMut<Command>) -> (Output, String, String) {
    let output = command.borrow_mut().output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output, stdout, stderr)
}

fn private_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    path
}

fn database(backend: Backend, dir: &Path) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}/harmont.db", dir.display()),
        Backend::Postgres => std::env::var(POSTGRES_URL_VAR).expect("run through scripts/test-postgres.sh"),
    }
}

/// `serve` and the operator's commands read the file; the environment beats it.
async fn serve_and_the_operators_commands_read_the_config_file(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let config = private_file(
        dir.path(),
        "harmont.toml",
        &format!(
            "database = \"{}\"\nsecret = \"{SECRET}\"\nlisten = \"127.0.0.1:0\"\npublic_url = \"https://auth.example.com\"\n\
             log = \"trace\"\nsession_ttl = \"2d\"\n",
            database(backend, dir.path())
        ),
    );
    let email = format!("cfg-{}@example.com", uuid::Uuid::new_v4().simple());
    // Only `serve` and `migrate` create a database; `migrate` finds it in the file too.
    let (migrated, _, said) = run(harmont(&["migrate"]).env("HARMONT_CONFIG", &config));
    assert!(migrated.status.success(), "{said}");
    // `user add` takes the database and the public URL from the file.
    let (added, link, said) = run(harmont(&["user", "add", &email]).env("HARMONT_CONFIG", &config));
    assert!(added.status.success(), "{said}");
    assert!(link.starts_with("https://auth.example.com/login#link=hml_"), "{link}");
    let (_, token, _) = run(harmont(&["--config", config.to_str().unwrap(), "token", "mint", &email]));
    let token = token.trim().to_owned();

    let server = Server::start({
        let mut command = harmont(&["serve", "--config", config.to_str().unwrap()]);
        command.env("HARMONT_PUBLIC_URL", "https://env.example.com");
        command
    });
    let http = reqwest::Client::new();
    // The same database: the token minted through the file works.
    let me = http.get(format!("{}/api/v0/user", server.base)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(me.status(), reqwest::StatusCode::OK);
    let sessions: serde_json::Value = http
        .get(format!("{}/api/v0/auth/sessions", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sessions["sessions"].as_array().unwrap().len(), 1);
    // The environment beat the file's public URL.
    let refused: serde_json::Value =
        http.get(format!("{}/api/v0/user", server.base)).send().await.unwrap().json().await.unwrap();
    let doc_url = refused["error"]["doc_url"].as_str().unwrap();
    assert!(doc_url.starts_with("https://env.example.com/docs/errors/"), "{doc_url}");
    // `log = "trace"` from the file reached the server.
    assert!(server.log().contains("TRACE") || server.log().contains("DEBUG"));
    assert!(server.terminate().success());
}
api_test!(serve_and_the_operators_commands_read_the_config_file);

/// `config check` prints the effective settings and where each came from:
/// a flag beats the environment, which beats the file; secrets redacted.
async fn config_check_prints_the_effective_settings(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let url = database(backend, dir.path());
    // SQLite: a database that exists, so the check reads it.
    if backend == Backend::Sqlite {
        let (made, _, said) = run(harmont(&["migrate", "--database", &url]));
        assert!(made.status.success(), "{said}");
    }
    let with_password = match backend {
        Backend::Postgres => {
            let mut parsed = url::Url::parse(&url).unwrap();
            parsed.set_password(Some("hunter2-password")).unwrap();
            parsed.to_string()
        }
        Backend::Sqlite => url.clone(),
    };
    let config = private_file(
        dir.path(),
        "harmont.toml",
        &format!(
            "database = \"{with_password}\"\nsecret = \"{SECRET}\"\ntransfer_ttl = \"90s\"\npaste_ttl = \"4m\"\n\
             session_ttl = \"3d\"\ntrusted_proxies = [\"10.0.0.1\", \"10.1.0.0/16\"]\nmax_long_polls = 500\n\
             public_url = \"https://auth.example.com\"\n"
        ),
    );
    let (checked, stdout, stderr) =
        run(harmont(&["config", "check", "--config", config.to_str().unwrap(), "--paste-ttl", "2m"])
            .env("HARMONT_PASTE_TTL", "3m")
            .env("HARMONT_SESSION_TTL", "5d"));
    assert!(checked.status.success(), "{stderr}");
    assert!(stderr.contains("ok: database: answers"), "{stderr}");
    assert!(stderr.contains("the configuration is usable"));
    for line in [
        "transfer_ttl = \"90s\"  # config file",
        "session_ttl = \"5d\"  # environment",
        "paste_ttl = \"2m\"  # flag",
        "header_timeout = \"10s\"  # default",
        "max_long_polls = 500  # config file",
        "trusted_proxies = [\"10.0.0.1\", \"10.1.0.0/16\"]  # config file",
        "secret = \"<redacted>\"  # config file",
    ] {
        assert!(stdout.contains(line), "{line} in\n{stdout}");
    }
    assert!(!stdout.contains(SECRET) && !stderr.contains(SECRET), "the secret is never shown");
    assert!(!stdout.contains("hunter2-password") && !stderr.contains("hunter2-password"), "nor a password");

    // What it prints is a config file that reads back the same (but for the redacted secret).
    let echoed: String = stdout.lines().filter(|l| !l.starts_with("secret")).map(|l| format!("{l}\n")).collect();
    let again = private_file(dir.path(), "again.toml", &echoed);
    let (reread, restdout, restderr) =
        run(harmont(&["config", "check", "--config", again.to_str().unwrap()]).env("HARMONT_SECRET", SECRET));
    assert!(reread.status.success() || backend == Backend::Postgres, "{restderr}");
    assert!(restdout.contains("transfer_ttl = \"90s\"  # config file"), "{restdout}");
}
api_test!(config_check_prints_the_effective_settings);

/// Everything wrong is listed at once, and the exit status is 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_check_lists_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let bad_keys = private_file(dir.path(), "keys.toml", "transfer-ttl = \"5s\"\nnope = 1\nlisten = [\"a\"]\n");
    let (failed, stdout, stderr) = run(harmont(&["config", "check", "--config", bad_keys.to_str().unwrap()]));
    assert_eq!(failed.status.code(), Some(1));
    assert!(stdout.is_empty());
    for problem in
        ["write it with underscores: `transfer_ttl`", "`nope` is not a setting of `serve`", "`listen` takes one value"]
    {
        assert!(stderr.contains(problem), "{problem} in {stderr}");
    }
    // `serve` refuses the same file the same way.
    let (serve, _, said) = run(harmont(&["serve", "--config", bad_keys.to_str().unwrap()]));
    assert_eq!(serve.status.code(), Some(1));
    assert!(said.contains("`nope` is not a setting of `serve`"), "{said}");

    // A database nobody answers at, a short secret, a public URL that is no
    // web URL, a bad log filter, metrics on the API's address, and a config
    // file that anyone may read although it holds the secret.
    let config = dir.path().join("open.toml");
    std::fs::write(
        &config,
        "database = \"postgres://harmont:pw@127.0.0.1:1/harmont\"\nsecret = \"short\"\npublic_url = \"ftp://x\"\n\
         log = \"info,=[\"\nlisten = \"127.0.0.1:18080\"\nmetrics_listen = \"127.0.0.1:18080\"\ndb_timeout = \"1s\"\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let (failed, stdout, stderr) = run(harmont(&["config", "check", "--config", config.to_str().unwrap()]));
    assert_eq!(failed.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("has 6 problem(s)"), "{stderr}");
    for problem in [
        "cannot open the database",
        "secret: HARMONT_SECRET must be at least 32 bytes",
        "public_url `ftp://x` must be an http:// or https:// URL",
        "is not a tracing filter",
        "metrics_listen must differ from listen",
        &format!("chmod 600 {}", config.display()),
    ] {
        assert!(stderr.contains(problem), "{problem} in {stderr}");
    }
    assert!(!stderr.contains(":pw@") && !stdout.contains(":pw@"), "the password stays out: {stdout}{stderr}");
    assert!(stdout.contains("database = \"postgres://harmont:redacted@127.0.0.1:1/harmont\""), "{stdout}");

    // Sign-in settings where given: an OpenID provider that does not answer
    // discovery, GitHub without its secret, and an SMTP server that is not
    // there, each named with what is wrong.
    let nobody = harmont_testkit::ClosedPort::new();
    let closed = nobody.addr.port();
    let sign_in = private_file(
        dir.path(),
        "sign-in.toml",
        &format!(
            "database = \"sqlite://{}/new.db\"\noidc_issuer = \"http://127.0.0.1:{closed}\"\noidc_client_id = \"c\"\n\
             oidc_client_secret = \"s\"\ngithub_client_id = \"g\"\nsmtp_url = \"smtp://127.0.0.1:{closed}\"\n\
             mail_from = \"auth@example.com\"\n",
            dir.path().display()
        ),
    );
    let (failed, _, stderr) = run(harmont(&["config", "check", "--config", sign_in.to_str().unwrap()]));
    assert_eq!(failed.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("has 3 problem(s)"), "{stderr}");
    for problem in ["oidc_issuer: ", "needs both github_client_id and github_client_secret", "smtp_url: "] {
        assert!(stderr.contains(problem), "{problem} in {stderr}");
    }
    assert!(!stderr.contains("= \"s\""), "no client secret shown: {stderr}");

    // A missing file is named.
    let (missing, _, said) = run(harmont(&["config", "check"]).env("HARMONT_CONFIG", dir.path().join("none.toml")));
    assert_eq!(missing.status.code(), Some(1));
    assert!(said.contains("none.toml") && said.contains("cannot read it"), "{said}");
}
