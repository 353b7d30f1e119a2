//! `GET /api/v0/auth/methods`: the ways to sign in this server offers, so
//! the sign-in page shows only those (the pages themselves are static).

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

use crate::service::Service;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SignInMethods {
    /// Whether `POST /api/v0/auth/links/email` sends mail here.
    pub email_links: bool,
    /// Single sign-on providers, in the order to show them.
    pub providers: Vec<SignInProvider>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SignInProvider {
    /// `oidc` or `github`.
    pub id: String,
    /// The button's label.
    pub name: String,
    /// Where the browser goes to start (add `?next=/path` to come back there).
    pub start_url: String,
}

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
