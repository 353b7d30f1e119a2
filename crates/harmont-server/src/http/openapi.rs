//! Our OpenAPI document, generated from the handlers' annotations. Paths,
//! `operationId`s and schema names follow Harmont's published document, so
//! clients generated from either work against this server.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{account, cli_login, health};
use crate::web;

#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "Harmont API", version = "0", description = "harmont-auth: Harmont's authentication API."),
    paths(
        cli_login::transfer, cli_login::claim, cli_login::code, cli_login::redeem, cli_login::inspect,
        account::logout, account::current_user,
        account::list_sessions, account::revoke_session, account::revoke_other_sessions,
        health::ping, health::healthz,
        web::api::redeem_link, web::api::sign_in_start, web::api::sign_in_finish,
        web::api::register_start, web::api::register_finish, web::api::list, web::api::delete,
    ),
    modifiers(&BearerScheme),
    tags((name = "auth"), (name = "user"), (name = "health"), (name = "web", description = "Web sign-in: login links and passkeys")),
)]
pub struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A Harmont session token, `hms_…`."))
                    .build(),
            ),
        );
    }
}

pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
