//! Issue 8: `harmont api-keys create|list|revoke`, `harmont login
//! --with-token`, and `login` refusing at once where nobody can approve.
//! End to end: the real `harmont-auth` and `harmont` binaries.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{login, stored_token, Home, Server, EMAIL};
use tokio::io::AsyncWriteExt as _;

/// `harmont ARGS` with `input` on stdin.
async fn run_with_stdin(home: &Home, server: &Server, args: &[&str], input: &str) -> common::Finished {
    let mut command = home.harmont(&server.url);
    command.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).await.unwrap();
    drop(stdin);
    let output = tokio::time::timeout(common::PATIENCE, child.wait_with_output()).await.unwrap().unwrap();
    common::Finished::from(output)
}

#[tokio::test]
async fn create_list_and_revoke_keys() {
    let server = Server::start().await;
    let home = Home::new();
    login(&server, &home).await;

    let created = home.run(&server.url, &["api-keys", "create", "CI deploys", "--expires", "90d"]).await;
    assert_eq!(created.code, 0, "{created:?}");
    let key = created.stdout.trim().to_owned();
    assert_eq!(created.stdout, format!("{key}\n"), "the key alone on stdout");
    assert!(key.starts_with("hmk_"), "{key}");
    assert!(created.stderr.contains("shown only now"), "{}", created.stderr);
    let me = server.client().with_token(&key).current_user().await.unwrap();
    assert_eq!(me.email, EMAIL);

    let json = home.run(&server.url, &["api-keys", "create", "never expires", "--json"]).await.json();
    assert!(json["token"].as_str().unwrap().starts_with("hmk_"));
    assert_eq!(json["api_token"]["expires_at"], serde_json::Value::Null);

    let list = home.run(&server.url, &["api-keys", "list"]).await;
    assert_eq!(list.code, 0, "{list:?}");
    assert!(list.stdout.starts_with("ID") && list.stdout.contains("LAST USED"), "{}", list.stdout);
    assert!(list.stdout.contains("CI deploys") && list.stdout.contains("never expires"), "{}", list.stdout);
    assert!(!list.stdout.contains("hmk_"), "no secrets listed");
    let listed = home.run(&server.url, &["api-keys", "--json"]).await.json();
    let keys = listed["api_tokens"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    let id = keys.iter().find(|k| k["description"] == "CI deploys").unwrap()["id"].as_str().unwrap().to_owned();

    let revoked = home.run(&server.url, &["api-keys", "revoke", &id]).await;
    assert_eq!((revoked.code, revoked.stdout.clone()), (0, format!("Revoked API key {id}.\n")), "{revoked:?}");
    assert!(server.client().with_token(&key).current_user().await.unwrap_err().is_unauthorized());
    let again = home.run(&server.url, &["api-keys", "revoke", &id]).await;
    assert_eq!(again.code, 1, "{again:?}");
    assert!(again.stderr.contains("(api_token_not_found)"), "{}", again.stderr);

    let bad = home.run(&server.url, &["api-keys", "create", "CI", "--expires", "tomorrow"]).await;
    assert_eq!(bad.code, 2, "a usage error: {bad:?}");
}

#[tokio::test]
async fn login_with_token_stores_a_key_and_a_later_login_leaves_it_live() {
    let server = Server::start().await;
    let maker = Home::new();
    login(&server, &maker).await;
    let key = maker.run(&server.url, &["api-keys", "create", "CI"]).await.stdout.trim().to_owned();

    let ci = Home::new();
    let done = run_with_stdin(&ci, &server, &["login", "--with-token"], &format!("  {key}\n")).await;
    assert_eq!(done.code, 0, "{done:?}");
    assert_eq!(done.stdout, format!("Logged in to {} as {EMAIL} (Alice).\n", server.url));
    assert_eq!(stored_token(&server, &ci).await, key);
    assert_eq!(ci.run(&server.url, &["whoami"]).await.stdout, format!("{EMAIL} (Alice)\n"));
    // A key cannot mint keys.
    let refused = ci.run(&server.url, &["api-keys", "create", "longer-lived"]).await;
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("(api_key_forbidden)"), "{}", refused.stderr);

    // A browser login replaces it here, but does not revoke it: it was handed in.
    login(&server, &ci).await;
    assert_ne!(stored_token(&server, &ci).await, key);
    assert!(server.client().with_token(&key).current_user().await.is_ok(), "the key stays live");

    // A session token works too; logging out of a key forgets it and leaves it live.
    let done = run_with_stdin(&ci, &server, &["login", "--with-token", "--json"], &key).await;
    assert_eq!(done.json()["user"]["email"], EMAIL);
    let out = ci.run(&server.url, &["logout"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(server.client().with_token(&key).current_user().await.is_ok(), "logout leaves a handed-in key live");
    let session = server.mint().await;
    let done = run_with_stdin(&ci, &server, &["login", "--with-token"], &session).await;
    assert_eq!(done.code, 0, "{done:?}");
    assert_eq!(stored_token(&server, &ci).await, session);
}

#[tokio::test]
async fn login_with_a_bad_token_stores_nothing() {
    let server = Server::start().await;
    let home = Home::new();
    for (input, code) in [
        ("hmk_notarealkeyatall", 3),
        (harmont_wire::token::ApiKey::generate().expose(), 3),
        ("", 2),
        ("hms_a hms_b", 2),
    ] {
        let done = run_with_stdin(&home, &server, &["login", "--with-token"], input).await;
        assert_eq!(done.code, code, "{input:?}: {done:?}");
        assert!(home.credentials().is_empty(), "nothing stored for {input:?}");
    }
}

#[tokio::test]
async fn login_where_nobody_can_approve_exits_at_once() {
    let server = Server::start().await;
    let home = Home::new();
    // Headless (no display, no $BROWSER) with stdin not a terminal; and CI.
    for ci in [false, true] {
        let mut command = home.harmont(&server.url);
        if ci {
            command.env("CI", "true").env("DISPLAY", ":0");
        }
        let started = Instant::now();
        let output = tokio::time::timeout(Duration::from_secs(20), command.arg("login").output()).await.unwrap();
        let done = common::Finished::from(output.unwrap());
        assert_eq!(done.code, 2, "{done:?}");
        assert!(started.elapsed() < Duration::from_secs(10), "at once, not after a wait");
        for needle in ["--with-token", "--paste", "HARMONT_API_TOKEN"] {
            assert!(done.stderr.contains(needle), "{needle} in {}", done.stderr);
        }
        assert!(done.stdout.is_empty() && !done.stderr.contains("/cli-login"), "no URL: {}", done.stderr);
    }
}
