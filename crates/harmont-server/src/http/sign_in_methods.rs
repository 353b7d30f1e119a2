//! `GET /api/v0/auth/methods`: the ways to sign in this server offers, so
//! the sign-in page shows only those (the pages themselves are static).

use axum::extract::State;
use axum::Json;
use harmont_wire::web_sign_in::{SignInMethods, SignInProvider};
use std::sync::Arc;

use crate::service::Service;

/// What this server offers besides passkeys: emailed links and single sign-on providers.
#[utoipa::path(
    get, path = "/api/v0/auth/methods", operation_id = "listSignInMethods", tag = "web",
    responses((status = 200, description = "The sign-in methods", body = SignInMethods)),
)]
pub async fn sign_in_methods(State(service): State<Arc<Service>>) -> Json<SignInMethods> {
    let providers = service
        .sso()
        .sso_providers()
        .into_iter()
        .map(|(id, name)| SignInProvider { id: id.to_owned(), name, start_url: format!("/api/v0/auth/sso/{id}/start") })
        .collect();
    Json(SignInMethods { email_links: service.web().email_links_enabled(), providers })
}
