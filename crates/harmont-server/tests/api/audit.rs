//! Issue 13: the audit trail, with the real binary. One JSON line per
//! security event, with who (user, session), where from (address, user
//! agent) and the request id; never a secret. `HARMONT_AUDIT_LOG` names a
//! file (appended, created 0600) or leaves it on stderr beside the request log.

use crate::api_test;
use crate::binary::{Operator, Server};
use crate::helpers::{nonce, Backend};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

const UA: &str = "audit-test/1.0";

fn lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines().map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))).collect()
}

/// The lines of `event` (and `outcome`), waiting a little for the writer.
fn find(path: &Path, event: &str, outcome: &str) -> Vec<Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let found: Vec<Value> =
            lines(path).into_iter().filter(|l| l["event"] == event && l["outcome"] == outcome).collect();
        if !found.is_empty() || std::time::Instant::now() > deadline {
            return found;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn request_id(response: &reqwest::Response) -> String {
    response.headers()["x-request-id"].to_str().unwrap().to_owned()
}

async fn the_audit_file_records_each_security_event_and_no_secret(backend: Backend) {
    let operator = Operator::new(backend);
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.log");
    let command = |args: &[&str]| {
        let mut command = operator.command(args);
        command.env("HARMONT_AUDIT_LOG", &audit);
        command
    };
    let email = format!("op-{}@example.com", uuid::Uuid::new_v4().simple());
    let added = command(&["user", "add", &email]).output().unwrap();
    assert!(added.status.success());
    let link = String::from_utf8(added.stdout).unwrap().trim().to_owned();
    let minted = command(&["token", "mint", &email]).output().unwrap();
    let web = String::from_utf8(minted.stdout).unwrap().trim().to_owned();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&audit).unwrap().permissions().mode() & 0o777, 0o600, "created 0600");
    }
    let server = Server::start(command(&["serve", "--listen", "127.0.0.1:0", "--log", "trace"]));
    let http = reqwest::Client::builder().user_agent(UA).build().unwrap();
    let api = |path: &str| format!("{}{path}", server.base);
    let mut secrets = vec![web.clone(), link.split_once("#link=").unwrap().1.to_owned()];

    // A login through transfer and claim.
    let nonce = nonce();
    let parked = http.post(api("/api/v0/auth/cli/transfer")).bearer_auth(&web).json(&json!({"nonce": nonce}));
    let parked = parked.send().await.unwrap();
    assert_eq!(parked.status(), StatusCode::NO_CONTENT);
    let transfer_request = request_id(&parked);
    let claimed = http.post(api("/api/v0/auth/cli/claim")).json(&json!({"nonce": nonce})).send().await.unwrap();
    let claim_request = request_id(&claimed);
    let cli = claimed.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    secrets.extend([nonce.clone(), cli.clone()]);

    // A paste code, redeemed; then wrong codes until the limit answers.
    let code = http.post(api("/api/v0/auth/cli/code")).bearer_auth(&web).json(&json!({})).send().await.unwrap();
    let code = code.json::<Value>().await.unwrap()["code"].as_str().unwrap().to_owned();
    let redeemed = http.post(api("/api/v0/auth/cli/redeem")).json(&json!({"code": code})).send().await.unwrap();
    let pasted = redeemed.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    secrets.extend([code.clone(), pasted.clone()]);
    let mut limited = false;
    for _ in 0..20 {
        let wrong = http.post(api("/api/v0/auth/cli/redeem")).json(&json!({"code": "0000000000000000"})).send();
        if wrong.await.unwrap().status() == StatusCode::TOO_MANY_REQUESTS {
            limited = true;
            break;
        }
    }
    assert!(limited, "the redeem limit answers 429");

    // A forged link; an API key created and revoked; a session revoked; a logout.
    let forged = format!("hml_{}", "A".repeat(43));
    let refused = http.post(api("/api/v0/auth/links/redeem")).json(&json!({"link": forged})).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let key = http.post(api("/api/v0/user/api-tokens")).bearer_auth(&web).json(&json!({"description": "CI"}));
    let key: Value = key.send().await.unwrap().json().await.unwrap();
    secrets.push(key["token"].as_str().unwrap().to_owned());
    let key_id = key["api_token"]["id"].as_str().unwrap().to_owned();
    let revoked = http.delete(api(&format!("/api/v0/user/api-tokens/{key_id}"))).bearer_auth(&web).send().await;
    assert_eq!(revoked.unwrap().status(), StatusCode::NO_CONTENT);
    let sessions: Value =
        http.get(api("/api/v0/auth/sessions")).bearer_auth(&pasted).send().await.unwrap().json().await.unwrap();
    let pasted_id = sessions["sessions"].as_array().unwrap().iter().find(|s| s["current"] == true).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoked = http.delete(api(&format!("/api/v0/auth/sessions/{pasted_id}"))).bearer_auth(&web).send().await;
    assert_eq!(revoked.unwrap().status(), StatusCode::NO_CONTENT);
    let logout = http.post(api("/api/v0/auth/logout")).bearer_auth(&cli).send().await.unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    let logout_request = request_id(&logout);
    let disabled = command(&["user", "disable", &email]).output().unwrap();
    assert!(disabled.status.success());

    // Who did it, from where, in which request.
    let approved = &find(&audit, "login_approved", "success")[0];
    assert_eq!(approved["kind"], "transfer");
    assert_eq!(approved["request_id"], transfer_request);
    assert_eq!(approved["client_ip"], "127.0.0.1");
    assert_eq!(approved["user_agent"], UA);
    assert_eq!(approved["target"], "audit");
    assert!(approved["timestamp"].as_str().is_some());
    let user_id = approved["user_id"].as_str().expect("the approving user").to_owned();
    let web_session = approved["session_id"].as_str().expect("the approving session").to_owned();
    let claimed = &find(&audit, "token_claimed", "success")[0];
    assert_eq!(claimed["request_id"], claim_request);
    assert_eq!(claimed["user_id"], user_id.as_str());
    let cli_session = claimed["subject_id"].as_str().expect("the new session").to_owned();
    assert!(claimed.get("session_id").is_none(), "claim is unauthenticated");
    assert_eq!(find(&audit, "login_approved", "success").iter().filter(|l| l["kind"] == "code").count(), 1);
    assert_eq!(find(&audit, "token_redeemed", "success")[0]["subject_id"], pasted_id.as_str());
    let wrong = find(&audit, "token_redeemed", "failure");
    assert!(wrong.len() >= 10 && wrong.iter().all(|l| l["reason"] == "cli_code_invalid"));
    let limit = &find(&audit, "rate_limited", "failure")[0];
    assert_eq!(limit["route"], "/api/v0/auth/cli/redeem");
    assert_eq!(limit["client_ip"], "127.0.0.1");
    let forged_line = &find(&audit, "sign_in", "failure")[0];
    assert_eq!((&forged_line["method"], &forged_line["reason"]), (&json!("link"), &json!("link_invalid")));
    assert_eq!(find(&audit, "api_key_created", "success")[0]["subject_id"], key_id.as_str());
    assert_eq!(find(&audit, "api_key_revoked", "success")[0]["subject_id"], key_id.as_str());
    let ended = find(&audit, "session_revoked", "success");
    let revoke = ended.iter().find(|l| l["method"] == "revoke").expect("a revoke");
    assert_eq!((&revoke["subject_id"], &revoke["session_id"]), (&json!(pasted_id), &json!(web_session)));
    let out = ended.iter().find(|l| l["method"] == "logout").expect("a logout");
    assert_eq!(out["subject_id"], cli_session.as_str());
    assert_eq!(out["request_id"], logout_request);
    // The operator's commands, from the same file.
    assert_eq!(find(&audit, "login_link_created", "success")[0]["user_id"], user_id.as_str());
    let mint = &find(&audit, "session_minted", "success")[0];
    assert_eq!((&mint["method"], &mint["subject_id"]), (&json!("operator"), &json!(web_session)));
    assert_eq!(find(&audit, "user_disabled", "success")[0]["user_id"], user_id.as_str());

    // No secret anywhere, and no audit line in the request log.
    let text = std::fs::read_to_string(&audit).unwrap();
    for secret in &secrets {
        assert!(!text.contains(secret.as_str()), "a secret reached the audit log");
    }
    let log = server.log();
    assert!(!log.contains("\"target\":\"audit\"") && !log.contains("login_approved"), "audit lines stay in their file");
    assert!(server.terminate().success());
}
api_test!(the_audit_file_records_each_security_event_and_no_secret);

/// By default the audit lines are JSON lines on stderr beside the request
/// log (text here), and a passkey-less sign-in failure is among them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_by_default_audit_lines_are_json_on_stderr() {
    let operator = Operator::new(Backend::Sqlite);
    let mut server = operator.serve();
    let http = reqwest::Client::builder().user_agent(UA).build().unwrap();
    let forged = format!("hml_{}", "B".repeat(43));
    let refused = http
        .post(format!("{}/api/v0/auth/links/redeem", server.base))
        .json(&json!({"link": forged}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let id = request_id(&refused);
    let line: Value = serde_json::from_str(&server.wait_for_line("\"event\":\"sign_in\"")).unwrap();
    assert_eq!(line["target"], "audit");
    assert_eq!(line["request_id"], id.as_str());
    assert_eq!(line["reason"], "link_invalid");
    assert!(!server.log().contains(&forged), "never the link");
    assert!(server.terminate().success());
}

/// An audit file that anyone may read is refused at start, with the fix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_an_audit_file_others_can_read_is_refused() {
    let operator = Operator::new(Backend::Sqlite);
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.log");
    std::fs::write(&audit, "").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&audit, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let mut command = operator.command(&["serve", "--listen", "127.0.0.1:0"]);
    let output = command.env("HARMONT_AUDIT_LOG", &audit).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains(&format!("chmod 600 {}", audit.display())), "{said}");
}
