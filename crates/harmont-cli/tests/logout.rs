//! `harmont logout`: revokes on the server, then forgets locally; an
//! unreachable server is reported, the local copy forgotten anyway.

mod common;

use common::{login, stored_token, Home, Server};

#[tokio::test]
async fn logout_revokes_the_token_on_the_server() {
    let server = Server::start().await;
    let home = Home::new();
    login(&server, &home).await;
    let token = stored_token(&server, &home).await;

    let done = home.run(&server.url, &["logout"]).await;
    assert_eq!(done.code, 0, "{done:?}");
    assert!(done.stdout.starts_with(&format!("Logged out of {}: the session is revoked on the server", server.url)));

    // The server no longer takes the token: not just forgotten, revoked.
    let err = server.client().with_token(&token).current_user().await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert_eq!(err.code(), Some("unauthorized"));
    assert!(!home.credentials().contains(&token));
    assert!(!home.credentials().contains(&format!("[servers.\"{}\"]", server.url)));

    let again = home.run(&server.url, &["logout"]).await;
    assert_eq!(again.code, 3, "{again:?}");
    assert!(again.stderr.contains("You are not logged in"), "{}", again.stderr);
}

#[tokio::test]
async fn logout_of_a_session_the_server_already_ended_still_forgets_it() {
    let server = Server::start().await;
    let home = Home::new();
    login(&server, &home).await;
    server.client().with_token(stored_token(&server, &home).await).logout().await.unwrap();

    let done = home.run(&server.url, &["logout", "--json"]).await;
    assert_eq!(done.code, 0, "{done:?}");
    assert_eq!(done.json()["forgotten"], true);
    assert!(!home.credentials().contains(&format!("[servers.\"{}\"]", server.url)));
}

/// Issue 11, item 10: a logout that cannot reach the server used to forget
/// the token, so the session could never be revoked from here. Now it stops
/// being a login but is kept, pending revocation, and revoked at the next
/// command that reaches the server.
#[tokio::test]
async fn logout_with_the_server_unreachable_keeps_the_token_pending_revocation() {
    let mut server = Server::start().await;
    let home = Home::new();
    login(&server, &home).await;
    let token = stored_token(&server, &home).await;
    server.stop().await;

    let done = home.run(&server.url, &["logout"]).await;
    assert_eq!(done.code, 4, "{done:?}");
    assert!(done.stderr.contains("the session was NOT revoked on the server"), "{}", done.stderr);
    assert!(done.stderr.contains(&format!("could not reach the server at {}", server.url)), "{}", done.stderr);
    assert!(done.stderr.contains("marked pending revocation"), "{}", done.stderr);
    assert_eq!(done.stdout, format!("Logged out of {} here; the revocation on the server is pending.\n", server.url));
    let file = home.credentials();
    assert!(
        file.contains(&format!("[[pending_revocation]]\napi_url = \"{}\"\ntoken = \"{token}\"", server.url)),
        "{file}"
    );
    assert!(!file.contains(&format!("[servers.\"{}\"]", server.url)), "no longer a login: {file}");

    // Logged out as far as every command is concerned.
    let whoami = home.run(&server.url, &["whoami"]).await;
    assert_eq!(whoami.code, 3, "{whoami:?}");
    assert_eq!(home.run(&server.url, &["token"]).await.code, 3);
    let status = home.run(&server.url, &["status"]).await;
    assert!(status.stdout.contains("Pending:     1 logged-out session still to be revoked"), "{}", status.stdout);

    // The server is back: the next command revokes it, and says so.
    server.restart().await;
    assert!(server.client().with_token(&token).current_user().await.is_ok(), "still live until retried");
    let whoami = home.run(&server.url, &["whoami"]).await;
    assert_eq!(whoami.code, 3, "{whoami:?}");
    assert!(whoami.stderr.contains("Revoked on"), "{}", whoami.stderr);
    assert!(whoami.stderr.contains("the session you logged out of"), "{}", whoami.stderr);
    let err = server.client().with_token(&token).current_user().await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert!(!home.credentials().contains(&token), "{}", home.credentials());
    let again = home.run(&server.url, &["whoami"]).await;
    assert!(!again.stderr.contains("Revoked on"), "only once: {}", again.stderr);
}

#[tokio::test]
async fn a_pending_revocation_is_retried_by_logout_itself() {
    let mut server = Server::start().await;
    let home = Home::new();
    login(&server, &home).await;
    let token = stored_token(&server, &home).await;
    server.stop().await;
    assert_eq!(home.run(&server.url, &["logout"]).await.code, 4);
    // Still down: logout says it is still pending.
    let done = home.run(&server.url, &["logout", "--json"]).await;
    assert_eq!(done.code, 4, "{done:?}");
    assert_eq!(done.json()["pending_revocation"], true);

    server.restart().await;
    let done = home.run(&server.url, &["logout"]).await;
    assert_eq!(done.code, 0, "{done:?}");
    assert!(done.stdout.contains("the revocation that was pending is done now"), "{}", done.stdout);
    assert!(server.client().with_token(&token).current_user().await.unwrap_err().is_unauthorized());
    assert_eq!(home.run(&server.url, &["logout"]).await.code, 3, "nothing left to do");
}

#[tokio::test]
async fn logout_refuses_while_harmont_api_token_is_set() {
    let server = Server::start().await;
    let home = Home::new();
    let token = server.mint().await;
    let done = home.harmont(&server.url).env("HARMONT_API_TOKEN", &token).arg("logout").output().await.unwrap();
    let done = common::Finished::from(done);
    assert_eq!(done.code, 2, "{done:?}");
    assert!(done.stderr.contains("HARMONT_API_TOKEN is set"), "{}", done.stderr);
    server.client().with_token(token).current_user().await.expect("the token was left alone");
}
