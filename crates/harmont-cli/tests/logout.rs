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
    assert!(!home.credentials().contains(&server.url));

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
    assert!(!home.credentials().contains(&server.url));
}

#[tokio::test]
async fn logout_with_the_server_unreachable_forgets_locally_and_says_so() {
    let mut server = Server::start().await;
    let home = Home::new();
    login(&server, &home).await;
    let token = stored_token(&server, &home).await;
    server.stop().await;

    let done = home.run(&server.url, &["logout"]).await;
    assert_eq!(done.code, 4, "{done:?}");
    assert!(done.stderr.contains("the session was NOT revoked on the server"), "{}", done.stderr);
    assert!(done.stderr.contains(&format!("could not reach the server at {}", server.url)), "{}", done.stderr);
    assert!(done.stdout.contains("Forgot the credential"), "{}", done.stdout);
    assert!(!home.credentials().contains(&token), "forgotten anyway");
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
