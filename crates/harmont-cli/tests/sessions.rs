//! `harmont sessions`, `sessions revoke ID` and `sessions revoke --all-others`.

mod common;

use common::{login, stored_token, Home, Server};

#[tokio::test]
async fn list_and_revoke_sessions() {
    let server = Server::start().await;
    let home = Home::new();
    let laptop = server.mint().await;
    let phone = server.mint().await;
    // Logging in makes two more: the web page's (the helper plays it) and the CLI's.
    login(&server, &home).await;
    let mine = stored_token(&server, &home).await;

    let list = home.run(&server.url, &["sessions"]).await;
    assert_eq!(list.code, 0, "{list:?}");
    let lines: Vec<&str> = list.stdout.lines().collect();
    assert_eq!(lines.len(), 6, "header, 4 sessions, legend: {}", list.stdout);
    assert!(lines[0].starts_with("  ID") && lines[0].contains("CREATED") && lines[0].contains("LAST USED"));
    assert!(lines[1].starts_with("* "), "newest first, and it is this one: {}", list.stdout);
    assert!(lines[1].contains("harmont/0.1.0 ("), "the CLI names itself: {}", list.stdout);
    assert!(lines[2..5].iter().all(|l| l.starts_with("  ")), "{}", list.stdout);
    assert_eq!(lines[5], "* this session");

    let json = home.run(&server.url, &["sessions", "--json"]).await.json();
    let sessions = json["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 4);
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    assert!(!json.to_string().contains("hms_"), "no secrets in the list");
    let current = sessions[0]["user_agent"].as_str().unwrap();
    assert!(current.starts_with(&format!("harmont/{} (", env!("CARGO_PKG_VERSION"))), "{current}");
    let oldest = sessions[3]["id"].as_str().unwrap().to_owned();

    // Revoke the oldest (the "laptop") by ID.
    let done = home.run(&server.url, &["sessions", "revoke", &oldest]).await;
    assert_eq!((done.code, done.stdout.clone()), (0, format!("Revoked session {oldest}.\n")), "{done:?}");
    assert!(server.client().with_token(&laptop).current_user().await.unwrap_err().is_unauthorized());
    assert_eq!(home.run(&server.url, &["sessions", "--json"]).await.json()["sessions"].as_array().unwrap().len(), 3);

    // Again: it is gone.
    let done = home.run(&server.url, &["sessions", "revoke", &oldest]).await;
    assert_eq!(done.code, 1, "{done:?}");
    assert!(done.stderr.contains(&format!("You have no live session {oldest}")), "{}", done.stderr);
    assert!(done.stderr.contains("(session_not_found)"), "{}", done.stderr);

    let done = home.run(&server.url, &["sessions", "revoke", "--all-others"]).await;
    assert_eq!((done.code, done.stdout.as_str()), (0, "Revoked 2 other sessions.\n"), "{done:?}");
    assert!(server.client().with_token(&phone).current_user().await.unwrap_err().is_unauthorized());
    server.client().with_token(&mine).current_user().await.expect("this session survives");

    let done = home.run(&server.url, &["sessions", "revoke", "--all-others", "--json"]).await;
    assert_eq!(done.json()["revoked_count"], 0);

    // Revoking this very session is a logout: the dead credential is forgotten.
    let this =
        home.run(&server.url, &["sessions", "--json"]).await.json()["sessions"][0]["id"].as_str().unwrap().to_owned();
    let done = home.run(&server.url, &["sessions", "revoke", &this]).await;
    assert_eq!(done.code, 0, "{done:?}");
    assert!(done.stdout.contains("It was this one, so the stored credential is forgotten too."), "{}", done.stdout);
    assert!(server.client().with_token(&mine).current_user().await.unwrap_err().is_unauthorized());
    assert_eq!(home.run(&server.url, &["whoami"]).await.code, 3, "not logged in any more");
}

#[tokio::test]
async fn sessions_need_a_login() {
    let server = Server::start().await;
    let home = Home::new();
    let done = home.run(&server.url, &["sessions"]).await;
    assert_eq!(done.code, 3, "{done:?}");
    let done = home.run(&server.url, &["sessions", "revoke", "not-a-uuid"]).await;
    assert_eq!(done.code, 2, "{done:?}");
}
