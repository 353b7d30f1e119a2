//! Our OpenAPI document, generated from the handlers' annotations. Paths,
//! `operationId`s and schema names follow Harmont's published document, so
//! clients generated from either work against this server.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{
    account, cli_login, email_links, forward_auth, health, identities, introspect, sign_in_methods, web_sign_in,
};

#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "Harmont API", version = "0", description = "harmont-auth: Harmont's authentication API."),
    paths(
        cli_login::transfer, cli_login::claim, cli_login::code, cli_login::redeem, cli_login::inspect,
        cli_login::device, cli_login::device_inspect, cli_login::device_approve,
        account::logout, forward_auth::verify, introspect::introspect, account::current_user, account::update_current_user, account::delete_current_user,
        account::list_api_tokens, account::create_api_token, account::revoke_api_token,
        account::list_sessions, account::revoke_session, account::revoke_other_sessions,
        health::ping, health::healthz,
        web_sign_in::redeem_link, web_sign_in::sign_in_start, web_sign_in::sign_in_finish,
        web_sign_in::register_start, web_sign_in::register_finish, web_sign_in::list, web_sign_in::delete,
        email_links::email_link, sign_in_methods::sign_in_methods, identities::list, identities::unlink,
    ),
    modifiers(&BearerScheme, &OptionalCodeBody),
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
                    .description(Some(
                        "A Harmont session token, `hms_…`, or a personal API key, `hmk_…`. Every operation that takes \
                         one answers `403 user_disabled` while its user is disabled by an administrator.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "client_basic",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "A resource server's `client_id` and `client_secret`, from `harmont-auth client add NAME`.",
                    ))
                    .build(),
            ),
        );
    }
}

/// `code` takes no body or an object. utoipa renders an optional body as
/// "object or `null`", but the server reads only objects, so the document says
/// what the server does: an optional body that is an object.
struct OptionalCodeBody;

impl Modify for OptionalCodeBody {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let op = openapi.paths.paths.get_mut("/api/v0/auth/cli/code").and_then(|item| item.post.as_mut());
        for content in op.and_then(|op| op.request_body.as_mut()).into_iter().flat_map(|body| body.content.values_mut())
        {
            content.schema = Some(utoipa::openapi::Ref::from_schema_name("CliCodeRequest").into());
        }
    }
}

pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
