//! `harmont whoami`, `status` and `token`, logged in, logged out, with
//! `HARMONT_API_TOKEN`, with a revoked credential and with no server.

mod common;

use common::{login, stored_token, Finished, Home, Server, EMAIL};

#[tokio::test]
async fn logged_in() {
    let server = Server::start().await;
    let home = Home::new();
    login(&server, &home).await;
    let token = stored_token(&server, &home).await;
    assert!(token.starts_with("hms_"), "{token}");
    assert!(home.credentials().contains(&format!("token = \"{token}\"")));

    let whoami = home.run(&server.url, &["whoami"]).await;
    assert_eq!((whoami.code, whoami.stdout.as_str()), (0, "alice@example.com (Alice)\n"));
    let whoami = home.run(&server.url, &["whoami", "--json"]).await;
    assert_eq!(whoami.code, 0);
    assert_eq!(whoami.json()["user"]["email"], EMAIL);
    assert_eq!(whoami.json()["user"]["name"], "Alice");
    assert_eq!(whoami.json()["token_source"], "file");

    let status = home.run(&server.url, &["status"]).await;
    assert_eq!(status.code, 0, "{status:?}");
    assert_eq!(
        status.stdout,
        format!(
            "Server:      {}\nCredential:  {}\nAccount:     alice@example.com (Alice)\nSession:     valid\n",
            server.url,
            home.credentials_path().display()
        )
    );
    let status = home.run(&server.url, &["status", "--json"]).await.json();
    assert_eq!(status["valid"], true);
    assert_eq!(status["logged_in"], true);
    assert_eq!(status["credentials_path"], home.credentials_path().display().to_string());

    let json = home.run(&server.url, &["token", "--json"]).await.json();
    assert_eq!(json["token"], token);
    assert_eq!(json["token_source"], "file");
}

#[tokio::test]
async fn not_logged_in() {
    let server = Server::start().await;
    let home = Home::new();
    for command in ["whoami", "token"] {
        let done = home.run(&server.url, &[command]).await;
        assert_eq!(done.code, 3, "{command}: {done:?}");
        assert_eq!(done.stderr, format!("error: You are not logged in to {}. Run `harmont login`.\n", server.url));
        assert_eq!(done.stdout, "");
    }
    let status = home.run(&server.url, &["status"]).await;
    assert_eq!(status.code, 3, "{status:?}");
    assert_eq!(status.stdout, format!("Server:      {}\nCredential:  none (run `harmont login`)\n", server.url));

    let json = home.run(&server.url, &["whoami", "--json"]).await;
    assert_eq!(json.code, 3);
    assert_eq!(json.json()["error"]["code"], "not_logged_in");
    assert_eq!(json.json()["error"]["exit_code"], 3);
}

#[tokio::test]
async fn a_revoked_credential_is_reported_as_such() {
    let server = Server::start().await;
    let home = Home::new();
    login(&server, &home).await;
    server.client().with_token(stored_token(&server, &home).await).logout().await.unwrap();

    let whoami = home.run(&server.url, &["whoami"]).await;
    assert_eq!(whoami.code, 3, "{whoami:?}");
    assert!(whoami.stderr.contains("is no longer accepted (revoked or expired)"), "{}", whoami.stderr);
    let status = home.run(&server.url, &["status"]).await;
    assert_eq!(status.code, 3, "{status:?}");
    assert!(status.stdout.contains("Session:     refused by the server"), "{}", status.stdout);
}

#[tokio::test]
async fn harmont_api_token_overrides_the_stored_credential() {
    let server = Server::start().await;
    let home = Home::new();
    let env_token = server.mint().await;
    let run = |args: &'static [&'static str], token: String| {
        let mut command = home.harmont(&server.url);
        command.env("HARMONT_API_TOKEN", token).args(args);
        async move { Finished::from(command.output().await.unwrap()) }
    };

    // Nothing stored, and yet:
    let whoami = run(&["whoami", "--json"], env_token.clone()).await;
    assert_eq!(whoami.code, 0, "{whoami:?}");
    assert_eq!(whoami.json()["token_source"], "env");
    assert_eq!(whoami.json()["user"]["email"], EMAIL);
    let token = run(&["token"], env_token.clone()).await;
    assert_eq!((token.code, token.stdout), (0, format!("{env_token}\n")));
    let status = run(&["status"], env_token.clone()).await;
    assert_eq!(status.code, 0);
    assert!(status.stdout.contains("Credential:  HARMONT_API_TOKEN (takes precedence over"), "{}", status.stdout);

    // It wins over a stored credential too.
    login(&server, &home).await;
    let token = run(&["token"], env_token.clone()).await;
    assert_eq!(token.stdout.trim(), env_token);

    // Issue 11, item 11: a token that never worked is "not accepted" (not
    // "no longer"), and the way out is to unset it, since login refuses
    // while it is set.
    let bad = run(&["whoami"], "hms_nope".into()).await;
    assert_eq!(bad.code, 3, "{bad:?}");
    assert_eq!(
        bad.stderr,
        format!(
            "error: The token in HARMONT_API_TOKEN was not accepted by {}. Unset it to use your own login: \
             `unset HARMONT_API_TOKEN` (then `harmont login` if you have none).\n",
            server.url
        )
    );
    // Issue 11, item 12: under --json the server's status, code, doc_url and
    // request_id come along.
    let bad = run(&["whoami", "--json"], "hms_nope".into()).await;
    assert_eq!(bad.code, 3, "{bad:?}");
    let error = &bad.json()["error"];
    assert_eq!(error["status"], 401);
    assert_eq!(error["code"], "unauthorized");
    assert_eq!(error["exit_code"], 3);
    assert!(error["doc_url"].as_str().unwrap().ends_with("/docs/errors/unauthorized"), "{error}");
    assert!(!error["request_id"].as_str().unwrap().is_empty(), "{error}");
}

#[tokio::test]
async fn an_unreachable_server_is_named() {
    let mut server = Server::start().await;
    let home = Home::new();
    login(&server, &home).await;
    server.stop().await;

    let whoami = home.run(&server.url, &["whoami"]).await;
    assert_eq!(whoami.code, 4, "{whoami:?}");
    assert!(whoami.stderr.contains(&format!("could not reach the server at {}", server.url)), "{}", whoami.stderr);
    let status = home.run(&server.url, &["status"]).await;
    assert_eq!(status.code, 4, "{status:?}");
    assert!(status.stdout.contains("Session:     not checked: could not reach the server"), "{}", status.stdout);
    // `token` needs no server.
    assert_eq!(home.run(&server.url, &["token"]).await.code, 0);
}

#[tokio::test]
async fn help_documents_exit_codes_and_environment() {
    let home = Home::new();
    let help = home.run("http://127.0.0.1:1", &["--help"]).await;
    assert_eq!(help.code, 0);
    for needle in ["Exit codes:", "130  interrupted", "HARMONT_API_TOKEN", "HARMONT_APP_URL", "BROWSER", "--json"] {
        assert!(help.stdout.contains(needle), "{needle}: {}", help.stdout);
    }
    let usage = home.run("http://127.0.0.1:1", &["sessions", "revoke"]).await;
    assert_eq!(usage.code, 2, "{usage:?}");
    let bad_url = home.run("not a url", &["whoami"]).await;
    assert_eq!(bad_url.code, 2, "{bad_url:?}");
}
