//! Issue 13: Prometheus metrics on `--metrics-listen`, with the real binary.
//! A real login (transfer and claim, held and not; a paste code redeemed; a
//! failed redeem) moves the counters it should, and the metrics are not on
//! the API's address.

use crate::api_test;
use crate::binary::{Operator, Server};
use crate::helpers::{nonce, Backend};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

/// The sum of the samples of `name` whose labels include every one of `labels`.
fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, sample) = line.rsplit_once(' ')?;
            let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
            let wanted = metric == name && labels.iter().all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
            wanted.then(|| sample.parse::<f64>().ok()).flatten()
        })
        .sum()
}

/// What moved between two scrapes.
struct Moved<'a> {
    before: &'a str,
    after: &'a str,
}

impl Moved<'_> {
    fn by(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        value(self.after, name, labels) - value(self.before, name, labels)
    }
}

/// Where the server says it serves its metrics.
fn metrics_address(server: &mut Server) -> String {
    let line = server.wait_for_line("metrics_listen=");
    line.split("metrics_listen=").nth(1).and_then(|rest| rest.split_whitespace().next()).unwrap().to_owned()
}

async fn metrics_move_with_a_real_login(backend: Backend) {
    let operator = Operator::new(backend);
    let email = format!("op-{}@example.com", uuid::Uuid::new_v4().simple());
    assert!(operator.run(&["user", "add", &email]).status.success());
    let minted = operator.run(&["token", "mint", &email]);
    let web = String::from_utf8(minted.stdout).unwrap().trim().to_owned();
    let mut server =
        Server::start(operator.command(&["serve", "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"]));
    let metrics_url = format!("http://{}/metrics", metrics_address(&mut server));
    let http = reqwest::Client::new();
    let api = |path: &str| format!("{}{path}", server.base);
    let scrape = async || {
        let response = http.get(&metrics_url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
        response.text().await.unwrap()
    };

    // Not on the API's address.
    let elsewhere = http.get(api("/metrics")).send().await.unwrap();
    assert_eq!(elsewhere.status(), StatusCode::NOT_FOUND);
    let before = scrape().await;

    // Transfer and claim: a claim that is too early, then the winning one.
    let nonce = nonce();
    let early = http.post(api("/api/v0/auth/cli/claim")).json(&json!({"nonce": nonce})).send().await.unwrap();
    assert_eq!(early.status(), StatusCode::BAD_REQUEST);
    let parked =
        http.post(api("/api/v0/auth/cli/transfer")).bearer_auth(&web).json(&json!({"nonce": nonce})).send().await;
    assert_eq!(parked.unwrap().status(), StatusCode::NO_CONTENT);
    let claimed = http.post(api("/api/v0/auth/cli/claim")).json(&json!({"nonce": nonce})).send().await.unwrap();
    assert_eq!(claimed.status(), StatusCode::OK);
    let cli: Value = claimed.json().await.unwrap();
    let cli = cli["token"].as_str().unwrap().to_owned();

    // A held claim that wins when the transfer lands, and one that times out.
    let held_nonce = self::nonce();
    let held = {
        let (http, url, nonce) = (http.clone(), api("/api/v0/auth/cli/claim"), held_nonce.clone());
        tokio::spawn(async move {
            http.post(url).header("prefer", "wait=20").json(&json!({"nonce": nonce})).send().await.unwrap().status()
        })
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while value(&scrape().await, "harmont_login_long_polls_held", &[]) < 1.0 {
        assert!(std::time::Instant::now() < deadline, "the held claim shows as held");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let parked = http
        .post(api("/api/v0/auth/cli/transfer"))
        .bearer_auth(&web)
        .json(&json!({"nonce": held_nonce}))
        .send()
        .await
        .unwrap();
    assert_eq!(parked.status(), StatusCode::NO_CONTENT);
    assert_eq!(held.await.unwrap(), StatusCode::OK);
    let timed_out = http
        .post(api("/api/v0/auth/cli/claim"))
        .header("prefer", "wait=1")
        .json(&json!({"nonce": self::nonce()}))
        .send()
        .await
        .unwrap();
    assert_eq!(timed_out.status(), StatusCode::BAD_REQUEST);

    // A paste code and its redeem; a wrong code.
    let code = http.post(api("/api/v0/auth/cli/code")).bearer_auth(&web).json(&json!({})).send().await.unwrap();
    let code: Value = code.json().await.unwrap();
    let redeemed = http.post(api("/api/v0/auth/cli/redeem")).json(&json!({"code": code["code"]})).send().await.unwrap();
    assert_eq!(redeemed.status(), StatusCode::OK);
    let wrong =
        http.post(api("/api/v0/auth/cli/redeem")).json(&json!({"code": "0000000000000000"})).send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);

    // The new token twice (the store, then the cache), then an API key, then logout.
    for _ in 0..2 {
        assert_eq!(http.get(api("/api/v0/user")).bearer_auth(&cli).send().await.unwrap().status(), StatusCode::OK);
    }
    let key = http
        .post(api("/api/v0/user/api-tokens"))
        .bearer_auth(&web)
        .json(&json!({"description": "metrics"}))
        .send()
        .await
        .unwrap();
    assert_eq!(key.status(), StatusCode::CREATED);
    let logout = http.post(api("/api/v0/auth/logout")).bearer_auth(&cli).send().await.unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);

    let after = scrape().await;
    let moved = Moved { before: &before, after: &after };
    let claim_route = [("route", "/api/v0/auth/cli/claim"), ("method", "POST")];
    assert_eq!(moved.by("harmont_http_requests_total", &[claim_route[0], claim_route[1], ("status", "200")]), 2.0);
    assert_eq!(moved.by("harmont_http_requests_total", &[claim_route[0], ("status", "400")]), 2.0);
    assert_eq!(
        moved.by("harmont_http_requests_total", &[("route", "/api/v0/auth/cli/redeem"), ("status", "400")]),
        1.0
    );
    assert_eq!(moved.by("harmont_http_requests_total", &[("route", "unmatched"), ("status", "404")]), 0.0);
    assert!(value(&after, "harmont_http_requests_total", &[("route", "unmatched"), ("status", "404")]) >= 1.0);
    assert_eq!(moved.by("harmont_http_request_duration_seconds_count", &claim_route), 4.0);
    assert!(after.contains("harmont_http_request_duration_seconds_bucket{"), "a histogram with buckets");
    assert!(after.contains("# TYPE harmont_http_request_duration_seconds histogram"));

    assert_eq!(moved.by("harmont_login_transfers_total", &[]), 2.0);
    assert_eq!(moved.by("harmont_login_codes_total", &[]), 1.0);
    assert_eq!(moved.by("harmont_login_claims_total", &[("outcome", "won")]), 2.0);
    assert_eq!(moved.by("harmont_login_claims_total", &[("outcome", "not_yet")]), 2.0);
    assert_eq!(moved.by("harmont_login_long_polls_total", &[("outcome", "won")]), 1.0);
    assert_eq!(moved.by("harmont_login_long_polls_total", &[("outcome", "timed_out")]), 1.0);
    assert_eq!(value(&after, "harmont_login_long_polls_held", &[]), 0.0);
    assert_eq!(moved.by("harmont_login_redeems_total", &[("outcome", "won")]), 1.0);
    assert_eq!(moved.by("harmont_login_redeems_total", &[("outcome", "failed")]), 1.0);
    assert_eq!(moved.by("harmont_sessions_created_total", &[("method", "cli")]), 3.0);
    assert_eq!(moved.by("harmont_sessions_revoked_total", &[("how", "logout")]), 1.0);
    assert_eq!(moved.by("harmont_api_keys_created_total", &[]), 1.0);
    assert_eq!(moved.by("harmont_sign_ins_total", &[("method", "cli"), ("result", "success")]), 3.0);
    assert_eq!(moved.by("harmont_sign_ins_total", &[("method", "cli"), ("result", "failure")]), 1.0);
    assert!(moved.by("harmont_bearer_cache_lookups_total", &[("result", "hit")]) >= 1.0);
    assert!(moved.by("harmont_bearer_cache_lookups_total", &[("result", "miss")]) >= 1.0);
    assert!(after.contains("harmont_db_pool_connections{state=\"idle\"}"), "{after}");
    assert!(after.contains("harmont_db_pool_connections{state=\"in_use\"}"));
    assert!(value(&after, "harmont_db_pool_max_connections", &[]) >= 1.0);
    match backend {
        Backend::Postgres => assert_eq!(value(&after, "harmont_store_listener_up", &[]), 1.0),
        Backend::Sqlite => assert!(!after.contains("harmont_store_listener_up "), "no listener on SQLite"),
    }
    // Every metric is described.
    for name in ["harmont_http_requests_total", "harmont_login_claims_total", "harmont_bearer_cache_lookups_total"] {
        assert!(after.contains(&format!("# HELP {name} ")), "{name} has help");
    }
    // Nothing secret in the rendering.
    for secret in [web.as_str(), cli.as_str(), nonce.as_str(), held_nonce.as_str(), code["code"].as_str().unwrap()] {
        assert!(!after.contains(secret));
    }
    assert!(server.terminate().success());
}
api_test!(metrics_move_with_a_real_login);
