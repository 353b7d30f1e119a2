//! Nothing in storage reveals a token, nonce, paste code or client secret: after a full run
//! of every flow, the database (files or tables) is searched for each secret.

use crate::api_test;
use crate::helpers::{nonce, spawn_app, Backend, TestApp};
use harmont_client::Claim;
use harmont_wire::pkce::CodeVerifier;

async fn the_database_holds_no_recoverable_secret(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, token) = app.signed_in().await;
    let web = app.client().with_token(&token);
    let verifier = CodeVerifier::generate();

    // A claimed transfer, a parked one, a redeemed code and a parked one.
    let (claimed_nonce, parked_nonce) = (nonce(), nonce());
    web.transfer(&claimed_nonce, Some(&verifier.challenge())).await.unwrap();
    web.transfer(&parked_nonce, None).await.unwrap();
    let Claim::Token(claimed) = app.client().claim(&claimed_nonce, Some(verifier.expose()), None).await.unwrap() else {
        panic!("the transfer should be claimable")
    };
    let claimed = claimed.expose().to_owned();
    let code = web.code(None).await.unwrap();
    let redeemed = app.client().redeem(&code, None).await.unwrap().expose().to_owned();
    let parked_code = web.code(None).await.unwrap();
    // A resource-server client, used to introspect.
    let (client_id, client_secret) = crate::introspect::client(&app, "gateway").await;
    let asked = app.http.post(app.url("/api/v0/auth/introspect")).basic_auth(&client_id, Some(&client_secret));
    assert_eq!(asked.form(&[("token", &token)]).send().await.unwrap().status(), reqwest::StatusCode::OK);

    let dump = dump(&app).await;
    for secret in [&token, &claimed, &redeemed, &claimed_nonce, &parked_nonce, &code, &parked_code, &client_secret] {
        assert!(!dump.contains(secret.as_str()), "a secret is stored in the clear");
    }
    // The verifier is a secret too; the challenge may be stored (it is a hash).
    assert!(!dump.contains(verifier.expose()));
    assert!(dump.len() > 1000, "the dump should not be empty ({} bytes)", dump.len());
}
api_test!(the_database_holds_no_recoverable_secret);

/// Everything the database holds, as text.
pub(crate) async fn dump(app: &TestApp) -> String {
    match app.backend {
        Backend::Sqlite => {
            let dir = app.dir.as_ref().expect("SQLite keeps its folder");
            let mut all = Vec::new();
            for entry in std::fs::read_dir(dir.path()).unwrap() {
                all.extend(std::fs::read(entry.unwrap().path()).unwrap());
            }
            String::from_utf8_lossy(&all).into_owned()
        }
        Backend::Postgres => {
            use sqlx::Row;
            let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
            let tables = sqlx::query(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema()",
            )
            .fetch_all(&pool)
            .await
            .unwrap();
            let mut all = String::new();
            for table in tables {
                let name: String = table.get(0);
                let sql = format!("SELECT coalesce(string_agg(t::text, '|'), '') FROM \"{name}\" t");
                let rows: String = sqlx::query_scalar(&sql).fetch_one(&pool).await.unwrap();
                all.push_str(&rows);
            }
            all
        }
    }
}
