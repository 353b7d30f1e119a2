//! `POST /api/v0/auth/links/email` against a real SMTP server (aiosmtpd):
//! the mailed link signs in once within 15 minutes, an unknown address gets
//! the same answer and no mail, at most 5 mails an hour go to one address,
//! 20 requests an hour from one client, and nothing without SMTP.

use crate::api_test;
use crate::helpers::{assert_error, spawn_app, spawn_app_with, Backend, TestApp};
use crate::smtp::{mail_settings, SmtpServer};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

const ACCEPTED: &str =
    "If this address belongs to an account, a sign-in link is on its way. It works once, within 15 minutes.";

async fn app_with_mail(backend: Backend, smtp: &SmtpServer) -> TestApp {
    let url = smtp.url();
    spawn_app_with(backend, |settings| settings.mail = Some(mail_settings(&url))).await
}

async fn ask(app: &TestApp, email: &str) -> reqwest::Response {
    app.post_json("/api/v0/auth/links/email", None, json!({ "email": email })).await
}

async fn assert_accepted(response: reqwest::Response) {
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(response.json::<Value>().await.unwrap(), json!({ "message": ACCEPTED }));
}

async fn redeem(app: &TestApp, secret: &str) -> reqwest::Response {
    app.post_json("/api/v0/auth/links/redeem", None, json!({ "link": secret })).await
}

async fn the_mailed_link_signs_in_once(backend: Backend) {
    let smtp = SmtpServer::start();
    let app = app_with_mail(backend, &smtp).await;
    let email = app.add_user().await;

    assert_accepted(ask(&app, &email.to_uppercase()).await).await;
    let mail = smtp.wait_for(&email).await;
    assert_eq!(mail.header("From").as_deref(), Some("Harmont <auth@example.com>"));
    assert_eq!(mail.header("Subject").as_deref(), Some("Your Harmont sign-in link"));
    let url = mail.link_url().expect("a link in the mail");
    let web_base = app.base.replace("127.0.0.1", "localhost");
    assert!(url.starts_with(&format!("{web_base}/login#link=hml_")), "{url}");
    assert!(mail.raw.contains("within 15 minutes"), "{}", mail.raw);
    let secret = mail.link_secret().unwrap();

    let first = redeem(&app, &secret).await;
    assert_eq!(first.status(), StatusCode::OK);
    let token = first.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let me = app.get("/api/v0/user", Some(&token)).await.json::<Value>().await.unwrap();
    assert_eq!(me["email"], email.as_str());
    assert_error(redeem(&app, &secret).await, StatusCode::BAD_REQUEST, "link_invalid").await;

    // The link is not in the database in a recoverable form.
    let dump = crate::secrets::dump(&app).await;
    assert!(!dump.contains(&secret), "the link's secret is stored in the clear");
}
api_test!(the_mailed_link_signs_in_once);

async fn the_mailed_link_expires_after_15_minutes(backend: Backend) {
    let smtp = SmtpServer::start();
    let app = app_with_mail(backend, &smtp).await;
    let email = app.add_user().await;
    assert_accepted(ask(&app, &email).await).await;
    let secret = smtp.wait_for(&email).await.link_secret().unwrap();
    app.advance(Duration::from_secs(15 * 60 + 1));
    assert_error(redeem(&app, &secret).await, StatusCode::BAD_REQUEST, "link_invalid").await;
}
api_test!(the_mailed_link_expires_after_15_minutes);

async fn an_unknown_address_gets_the_same_answer_and_no_mail(backend: Backend) {
    let smtp = SmtpServer::start();
    let app = app_with_mail(backend, &smtp).await;
    let known = app.add_user().await;
    let unknown = format!("nobody-{}@example.com", uuid::Uuid::new_v4().simple());

    assert_accepted(ask(&app, &unknown).await).await;
    // One worker sends in order: once the known address's mail is in, the
    // unknown one's request has been handled.
    assert_accepted(ask(&app, &known).await).await;
    smtp.wait_for(&known).await;
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1, "only the known address got mail");
    assert!(smtp.mails_to(&unknown).is_empty());
}
api_test!(an_unknown_address_gets_the_same_answer_and_no_mail);

async fn at_most_five_mails_an_hour_go_to_one_address(backend: Backend) {
    let smtp = SmtpServer::start();
    let app = app_with_mail(backend, &smtp).await;
    let (flooded, marker) = (app.add_user().await, app.add_user().await);
    for _ in 0..7 {
        assert_accepted(ask(&app, &flooded).await).await;
    }
    assert_accepted(ask(&app, &marker).await).await;
    smtp.wait_for(&marker).await;
    assert_eq!(smtp.mails_to(&flooded).len(), 5, "the 6th and 7th asked for got the same answer and no mail");
}
api_test!(at_most_five_mails_an_hour_go_to_one_address);

async fn twenty_requests_an_hour_from_one_client_then_429(backend: Backend) {
    let smtp = SmtpServer::start();
    let app = app_with_mail(backend, &smtp).await;
    for i in 0..20 {
        assert_accepted(ask(&app, &format!("someone-{i}@example.com")).await).await;
    }
    let refused = ask(&app, "someone-else@example.com").await;
    let retry_after: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=180).contains(&retry_after), "Retry-After {retry_after}");
    assert_error(refused, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}
api_test!(twenty_requests_an_hour_from_one_client_then_429);

async fn not_an_address_is_422(backend: Backend) {
    let smtp = SmtpServer::start();
    let app = app_with_mail(backend, &smtp).await;
    for bad in ["", "ada", "ada@localhost", "a b@example.com"] {
        assert_error(ask(&app, bad).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }
    let no_field = app.post_json("/api/v0/auth/links/email", None, json!({})).await;
    assert_error(no_field, StatusCode::BAD_REQUEST, "invalid_request").await;
}
api_test!(not_an_address_is_422);

async fn without_smtp_there_are_no_emailed_links(backend: Backend) {
    let app = spawn_app(backend).await;
    let email = app.add_user().await;
    assert_error(ask(&app, &email).await, StatusCode::NOT_FOUND, "not_found").await;
    let methods = app.get("/api/v0/auth/methods", None).await.json::<Value>().await.unwrap();
    assert_eq!(methods, json!({ "email_links": false, "providers": [] }));

    let smtp = SmtpServer::start();
    let with_mail = app_with_mail(backend, &smtp).await;
    let methods = with_mail.get("/api/v0/auth/methods", None).await.json::<Value>().await.unwrap();
    assert_eq!(methods["email_links"], true);
}
api_test!(without_smtp_there_are_no_emailed_links);

/// The real binary with `--smtp-url` and `--mail-from`, logging at trace:
/// the mail arrives and signs in; a send that fails (`?tls=required` to a
/// server without STARTTLS) is logged; no link reaches the log either way.
async fn the_binary_mails_links_and_logs_none(backend: Backend) {
    use crate::binary::{server_terminated, Operator, Server};
    let smtp = SmtpServer::start();
    let operator = Operator::new(backend);
    let email = format!("op-{}@example.com", uuid::Uuid::new_v4().simple());
    assert!(operator.run(&["user", "add", &email]).status.success());
    let serve = |smtp_url: &str| {
        let mut command = operator.command(&["serve", "--listen", "127.0.0.1:0", "--log", "trace"]);
        command.env("HARMONT_SMTP_URL", smtp_url).env("HARMONT_MAIL_FROM", "Harmont <auth@example.com>");
        Server::start(command)
    };
    let http = reqwest::Client::new();

    let server = serve(&smtp.url());
    let asked = http.post(format!("{}/api/v0/auth/links/email", server.base)).json(&json!({ "email": email }));
    assert_accepted(asked.send().await.unwrap()).await;
    let secret = smtp.wait_for(&email).await.link_secret().unwrap();
    let redeemed = http.post(format!("{}/api/v0/auth/links/redeem", server.base)).json(&json!({ "link": secret }));
    let redeemed = redeemed.send().await.unwrap();
    assert_eq!(redeemed.status(), StatusCode::OK);
    let token = redeemed.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    assert!(server_terminated(server, |log| {
        assert!(log.contains("sent a sign-in link by mail"), "{log}");
        assert!(!log.contains(&secret) && !log.contains(&token), "a link or its token reached the log");
    })
    .success());

    let mut failing = serve(&format!("{}?tls=required", smtp.url()));
    let asked = http.post(format!("{}/api/v0/auth/links/email", failing.base)).json(&json!({ "email": email }));
    assert_accepted(asked.send().await.unwrap()).await;
    failing.wait_for_line("could not send a sign-in mail");
    assert!(server_terminated(failing, |log| {
        assert!(!log.contains("#link=") && !log.contains("hml_"), "no link in the log: {log}");
    })
    .success());
    assert_eq!(smtp.mails_to(&email).len(), 1, "the failed send sent nothing");
}
api_test!(the_binary_mails_links_and_logs_none);
