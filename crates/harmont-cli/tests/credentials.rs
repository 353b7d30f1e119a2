//! The credentials file as `harmont` leaves it: 0600 in a 0700 folder, one
//! table per server, and refused (with the fix) once its permissions loosen.

mod common;

use std::os::unix::fs::PermissionsExt as _;

use common::{login, stored_token, Home, Server};

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn the_file_is_private_and_refused_when_it_is_not() {
    let server = Server::start().await;
    let home = Home::new();
    login(&server, &home).await;
    let path = home.credentials_path();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&home.config_dir()), 0o700);

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let done = home.run(&server.url, &["whoami"]).await;
    assert_eq!(done.code, 1, "{done:?}");
    assert!(done.stderr.contains("can be read by other users (mode 0644)"), "{}", done.stderr);
    assert!(done.stderr.contains(&format!("Fix it with: chmod 600 {}", path.display())), "{}", done.stderr);
    let json = home.run(&server.url, &["token", "--json"]).await;
    assert_eq!(json.json()["error"]["code"], "credentials");

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    // A folder others can read is fine (the file is private); one they can
    // write to is not: they could swap the file.
    std::fs::set_permissions(home.config_dir(), std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(home.run(&server.url, &["whoami"]).await.code, 0);
    std::fs::set_permissions(home.config_dir(), std::fs::Permissions::from_mode(0o775)).unwrap();
    let done = home.run(&server.url, &["logout"]).await;
    assert_eq!(done.code, 1, "{done:?}");
    assert!(done.stderr.contains("can be written by other users (mode 0775)"), "{}", done.stderr);
    assert!(done.stderr.contains(&format!("chmod 700 {}", home.config_dir().display())), "{}", done.stderr);

    std::fs::set_permissions(home.config_dir(), std::fs::Permissions::from_mode(0o700)).unwrap();
    assert_eq!(home.run(&server.url, &["whoami"]).await.code, 0);
}

#[tokio::test]
async fn several_servers_at_once() {
    let one = Server::start().await;
    let two = Server::start().await;
    let home = Home::new();
    login(&one, &home).await;
    login(&two, &home).await;
    let (token_one, token_two) = (stored_token(&one, &home).await, stored_token(&two, &home).await);
    assert_ne!(token_one, token_two);

    let text = home.credentials();
    assert!(text.contains(&format!("[servers.\"{}\"]\ntoken = \"{token_one}\"", one.url)), "{text}");
    assert!(text.contains(&format!("[servers.\"{}\"]\ntoken = \"{token_two}\"", two.url)), "{text}");
    let status = home.run(&one.url, &["status"]).await;
    assert!(status.stdout.contains(&format!("Also stored: {}", two.url)), "{}", status.stdout);

    // A trailing slash names the same server.
    assert_eq!(home.run(&format!("{}/", one.url), &["token"]).await.stdout.trim(), token_one);

    assert_eq!(home.run(&one.url, &["logout"]).await.code, 0);
    assert_eq!(home.run(&one.url, &["whoami"]).await.code, 3);
    assert_eq!(home.run(&two.url, &["whoami"]).await.code, 0, "the other server's login is untouched");
    assert_eq!(mode(&home.credentials_path()), 0o600, "still private after a rewrite");
}

#[tokio::test]
async fn the_config_file_sets_the_server() {
    let server = Server::start().await;
    let home = Home::new();
    login(&server, &home).await;
    std::fs::write(home.config_dir().join("config.toml"), format!("api_url = \"{}\"\n", server.url)).unwrap();
    let done = common::Finished::from(
        home.harmont(&server.url).env_remove("HARMONT_API_URL").arg("whoami").output().await.unwrap(),
    );
    assert_eq!((done.code, done.stdout.as_str()), (0, "alice@example.com (Alice)\n"), "{done:?}");
    // The flag beats the environment, which beats the file.
    let done = home.run("http://127.0.0.1:1", &["--api-url", &server.url, "whoami"]).await;
    assert_eq!(done.code, 0, "{done:?}");
}
