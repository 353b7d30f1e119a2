//! A small axum service behind harmont-auth: `GET /whoami` answers who the
//! bearer is, `GET /health` is open. Register it first:
//!
//! ```sh
//! harmont-auth client add orders        # prints {"client_id": …, "client_secret": …}
//! HARMONT_URL=http://127.0.0.1:8080 HARMONT_CLIENT_ID=… HARMONT_CLIENT_SECRET=hmc_… \
//!     cargo run -p harmont-auth-layer --example protected
//! curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:3000/whoami
//! ```
//!
//! `tests/example.rs` runs [`app`] against a real harmont-auth.

use axum::routing::get;
use axum::{Extension, Json, Router};
use harmont_auth_layer::{HarmontAuthLayer, Identity};
use serde_json::{json, Value};

/// The service: the protected routes behind the layer, the open ones beside it.
pub fn app(auth: HarmontAuthLayer) -> Router {
    let protected = Router::new().route("/whoami", get(whoami)).layer(auth);
    Router::new().route("/health", get(|| async { "ok" })).merge(protected)
}

async fn whoami(Extension(who): Extension<Identity>) -> Json<Value> {
    Json(json!({"user_id": who.user_id, "email": who.email, "token_kind": who.token_kind}))
}

#[allow(dead_code)] // The tests use `app` alone.
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let var = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
    let auth = HarmontAuthLayer::new(&var("HARMONT_URL")?, &var("HARMONT_CLIENT_ID")?, &var("HARMONT_CLIENT_SECRET")?)?;
    let listen = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    eprintln!("listening on http://{listen}");
    axum::serve(listener, app(auth)).await?;
    Ok(())
}
