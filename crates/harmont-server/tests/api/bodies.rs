//! JSON bodies: only objects are taken, and a wrong body is explained in the
//! API's words (the field and the JSON type it should have), never in the
//! server's own type names.

use crate::api_test;
use crate::helpers::{assert_error, nonce, spawn_app, Backend, TestApp};
use reqwest::StatusCode;

const TRANSFER: &str = "/api/v0/auth/cli/transfer";
const CLAIM: &str = "/api/v0/auth/cli/claim";
const CODE: &str = "/api/v0/auth/cli/code";
const REDEEM: &str = "/api/v0/auth/cli/redeem";
const LINK: &str = "/api/v0/auth/links/redeem";
const SIGN_IN: &str = "/api/v0/auth/passkeys/sign-in/finish";
const REGISTER: &str = "/api/v0/auth/passkeys/register/finish";

/// Posts `raw` as an `application/json` body and returns the error message,
/// after checking the response is `400 invalid_request`.
async fn rejected(app: &TestApp, path: &str, token: Option<&str>, raw: &str) -> String {
    let mut request = app.http.post(app.url(path)).header("content-type", "application/json").body(raw.to_owned());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let body = assert_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    body["error"]["message"].as_str().unwrap().to_owned()
}

/// How many logins wait for this user (transfers and paste codes).
async fn grants_of(app: &TestApp, email: &str) -> i64 {
    let user = app.service.users().user_by_email(email).await.unwrap().unwrap();
    match app.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
            let sql = "SELECT count(*) FROM cli_grants WHERE user_id = ?";
            sqlx::query_scalar(sql).bind(user.id.to_string()).fetch_one(&pool).await.unwrap()
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
            let sql = "SELECT count(*) FROM cli_grants WHERE user_id::text = $1";
            sqlx::query_scalar(sql).bind(user.id.to_string()).fetch_one(&pool).await.unwrap()
        }
    }
}

async fn a_body_that_is_not_an_object_is_refused_and_mints_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let (email, token) = app.signed_in().await;
    for raw in ["[]", "null", "\"x\"", "1", "true", "[{\"code_challenge\": null}]", " [ ] "] {
        for (path, token) in [
            (CODE, Some(token.as_str())),
            (TRANSFER, Some(token.as_str())),
            (CLAIM, None),
            (REDEEM, None),
            (LINK, None),
            (SIGN_IN, None),
            (REGISTER, Some(token.as_str())),
        ] {
            let message = rejected(&app, path, token, raw).await;
            assert_eq!(message, "the body must be a JSON object", "{path} {raw}");
        }
    }
    assert_eq!(grants_of(&app, &email).await, 0, "a refused body must not park a login");

    // Whitespace is not an absent body, it is a body that isn't JSON.
    for raw in ["\t", " ", "\r\n"] {
        let message = rejected(&app, CODE, Some(&token), raw).await;
        assert_eq!(message, "the body is not well-formed JSON", "{raw:?}");
    }
    assert_eq!(grants_of(&app, &email).await, 0, "a refused body must not park a login");

    // Still fine: no body at all (with or without a JSON content type), and an empty object.
    let response = app.http.post(app.url(CODE)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = app.http.post(app.url(CODE)).bearer_auth(&token).header("content-type", "application/json");
    assert_eq!(response.send().await.unwrap().status(), StatusCode::OK);
    let response = app.http.post(app.url(CODE)).bearer_auth(&token).json(&serde_json::json!({})).send().await;
    assert_eq!(response.unwrap().status(), StatusCode::OK);
    assert_eq!(grants_of(&app, &email).await, 3);
}
api_test!(a_body_that_is_not_an_object_is_refused_and_mints_nothing);

async fn wrong_fields_are_named_in_the_apis_words(backend: Backend) {
    let app = spawn_app(backend).await;
    let (email, token) = app.signed_in().await;
    let t = Some(token.as_str());
    let n = nonce();
    for (path, token, raw, expected) in [
        (TRANSFER, t, "{}".to_owned(), "field \"nonce\" is required"),
        (TRANSFER, t, r#"{"nonce": 1}"#.to_owned(), "field \"nonce\" must be a string"),
        (TRANSFER, t, r#"{"nonce": null}"#.to_owned(), "field \"nonce\" must be a string"),
        (TRANSFER, t, r#"{"nonce": ["x"]}"#.to_owned(), "field \"nonce\" must be a string"),
        (
            TRANSFER,
            t,
            format!(r#"{{"nonce": "{n}", "code_challenge": 7}}"#),
            "field \"code_challenge\" must be a string",
        ),
        (TRANSFER, t, format!(r#"{{"nonce": "{n}", "nonce": "{n}"}}"#), "field \"nonce\" is given more than once"),
        (CLAIM, None, r#"{"code_verifier": "x"}"#.to_owned(), "field \"nonce\" is required"),
        (CLAIM, None, r#"{"nonce": {"a": 1}}"#.to_owned(), "field \"nonce\" must be a string"),
        (
            CLAIM,
            None,
            format!(r#"{{"nonce": "{n}", "code_verifier": false}}"#),
            "field \"code_verifier\" must be a string",
        ),
        (CODE, t, r#"{"code_challenge": 1.5}"#.to_owned(), "field \"code_challenge\" must be a string"),
        (CODE, t, r#"{"code_challenge": "#.to_owned(), "the body is not well-formed JSON"),
        (CODE, t, r#"{"code_challenge": null} x"#.to_owned(), "the body is not well-formed JSON"),
        (REDEEM, None, r#"{"code": 12345678}"#.to_owned(), "field \"code\" must be a string"),
        (REDEEM, None, "{}".to_owned(), "field \"code\" is required"),
        (LINK, None, r#"{"link": true}"#.to_owned(), "field \"link\" must be a string"),
        (LINK, None, r#"{"secret": "hml_x"}"#.to_owned(), "field \"link\" is required"),
        (SIGN_IN, None, r#"{"ceremony": "abc"}"#.to_owned(), "field \"credential\" is required"),
        (SIGN_IN, None, r#"{"ceremony": 3, "credential": {}}"#.to_owned(), "field \"ceremony\" must be a string"),
        (
            REGISTER,
            t,
            r#"{"ceremony": "abc", "credential": {}, "name": 5}"#.to_owned(),
            "field \"name\" must be a string",
        ),
    ] {
        let message = rejected(&app, path, token, &raw).await;
        assert_eq!(message, expected, "{path} {raw}");
        for leak in ["struct", "Request", "Finish", "invalid type", "expected", "line", "column", "`"] {
            assert!(!message.contains(leak), "{path} {raw}: {message}");
        }
    }
    assert_eq!(grants_of(&app, &email).await, 0);
}
api_test!(wrong_fields_are_named_in_the_apis_words);

/// Extra fields are ignored, as before: published clients may send more.
async fn unknown_fields_are_still_ignored(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, token) = app.signed_in().await;
    let body = serde_json::json!({"nonce": nonce(), "port": 4321, "state": "s"});
    let response = app.post_json(TRANSFER, Some(&token), body).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}
api_test!(unknown_fields_are_still_ignored);
