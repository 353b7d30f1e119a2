//! Request and response bodies of web sign-in: the operations our own pages
//! call (the `web` tag of the OpenAPI document), which Harmont's published
//! document does not have. Trading a login link for a session, emailed links,
//! the passkey ceremonies and the passkey list, linked single sign-on
//! identities, and the sign-in methods a server offers. The CLI handoff and
//! the account operations are in [`crate::api`].
//!
//! As in [`crate::api`], a request schema is as strict as the server, so that
//! a body the document calls valid is refused only for the contract's reasons
//! (an unknown link, a passkey that does not verify), never for its shape.
//! The schema names and descriptions are part of the document our clients
//! and schemathesis read: change them only on purpose.

use crate::token::BearerToken;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use uuid::Uuid;

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct LinkRedeemRequest {
    /// The secret after `#link=` in a sign-in link (printed by `harmont-auth
    /// user add` or `user link`, mailed, or where single sign-on ends).
    #[cfg_attr(feature = "openapi", schema(min_length = 47, max_length = 47, pattern = "^hml_[A-Za-z0-9_-]{43}$"))]
    pub link: String,
}

// The link signs its holder in (once): `Debug` never shows it.
impl fmt::Debug for LinkRedeemRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinkRedeemRequest").field("link", &format_args!("…redacted")).finish()
    }
}

/// A fresh session token for the browser.
// The same body as `api::CliTokenResponse`, `{"token": "hms_…"}`, under this
// schema name for web sign-in.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SignInResponse {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub token: BearerToken,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct EmailLinkRequest {
    /// The address to send the link to.
    #[cfg_attr(feature = "openapi", schema(format = "email", min_length = 3, max_length = 254))]
    pub email: String,
}

/// The one answer, whoever the address belongs to.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct EmailLinkAccepted {
    pub message: String,
}

/// A started WebAuthn ceremony.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CeremonyStart {
    /// Send back with the answer.
    pub ceremony: String,
    /// `{"publicKey": …}` for `navigator.credentials.create()` or `.get()`,
    /// binary fields as base64url.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub options: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PasskeySignInFinish {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, pattern = "^[A-Za-z0-9_-]+$"))]
    pub ceremony: String,
    /// The `PublicKeyCredential` from `navigator.credentials.get()`, binary fields as base64url.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub credential: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PasskeyRegistrationFinish {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, pattern = "^[A-Za-z0-9_-]+$"))]
    pub ceremony: String,
    /// The `PublicKeyCredential` from `navigator.credentials.create()`, binary fields as base64url.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub credential: Value,
    /// A name to tell it apart, such as "Laptop": at most 64 characters
    /// (after trimming), no control characters; "Passkey" when absent or empty.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(
            max_length = 64,
            pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F\\u2028\\u2029\\u202A-\\u202E\\u2066-\\u2069]*$"
        )
    )]
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PasskeyInfo {
    pub id: Uuid,
    pub name: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339; absent until it is first used to sign in.
    pub last_used_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PasskeyList {
    /// Oldest first.
    pub passkeys: Vec<PasskeyInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct IdentityInfo {
    pub id: Uuid,
    /// `oidc` or `github`.
    pub provider: String,
    /// The provider's name, as the sign-in button shows it.
    pub provider_name: String,
    /// The email the provider gave at the last sign-in.
    pub email: Option<String>,
    /// RFC 3339: when it was linked.
    pub created_at: String,
    /// RFC 3339; absent until it signs in again.
    pub last_used_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct IdentityList {
    /// Oldest first.
    pub identities: Vec<IdentityInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SignInMethods {
    /// Whether `POST /api/v0/auth/links/email` sends mail here.
    pub email_links: bool,
    /// Single sign-on providers, in the order to show them.
    pub providers: Vec<SignInProvider>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SignInProvider {
    /// `oidc` or `github`.
    pub id: String,
    /// The button's label.
    pub name: String,
    /// Where the browser goes to start (add `?next=/path` to come back there).
    pub start_url: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::CliTokenResponse;
    use serde_json::json;

    const TOKEN: &str = "hms_0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefg3cZhrr";

    /// Web sign-in and the CLI hand out a token in the same bytes, under two
    /// schema names: the server builds one for both.
    #[test]
    fn a_sign_in_is_the_cli_token_body() {
        let web = serde_json::to_string(&SignInResponse { token: TOKEN.into() }).unwrap();
        let cli = serde_json::to_string(&CliTokenResponse { token: TOKEN.into() }).unwrap();
        assert_eq!(web, format!(r#"{{"token":"{TOKEN}"}}"#));
        assert_eq!(web, cli);
        let read: SignInResponse = serde_json::from_str(&cli).unwrap();
        assert_eq!(read.token.expose(), TOKEN);
    }

    /// The responses keep the JSON the pages read: every field, absent
    /// values as `null`.
    #[test]
    fn responses_keep_their_json() {
        let id = Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
        let passkeys = PasskeyList {
            passkeys: vec![PasskeyInfo {
                id,
                name: "Laptop".into(),
                created_at: "2026-11-29T11:00:00Z".into(),
                last_used_at: None,
            }],
        };
        assert_eq!(
            serde_json::to_string(&passkeys).unwrap(),
            r#"{"passkeys":[{"id":"01234567-89ab-cdef-0123-456789abcdef","name":"Laptop","created_at":"2026-11-29T11:00:00Z","last_used_at":null}]}"#
        );
        let identities = IdentityList {
            identities: vec![IdentityInfo {
                id,
                provider: "github".into(),
                provider_name: "GitHub".into(),
                email: None,
                created_at: "2026-11-29T11:00:00Z".into(),
                last_used_at: Some("2026-11-29T12:00:00Z".into()),
            }],
        };
        assert_eq!(
            serde_json::to_string(&identities).unwrap(),
            r#"{"identities":[{"id":"01234567-89ab-cdef-0123-456789abcdef","provider":"github","provider_name":"GitHub","email":null,"created_at":"2026-11-29T11:00:00Z","last_used_at":"2026-11-29T12:00:00Z"}]}"#
        );
        let methods = SignInMethods {
            email_links: true,
            providers: vec![SignInProvider {
                id: "oidc".into(),
                name: "Acme".into(),
                start_url: "/api/v0/auth/sso/oidc/start".into(),
            }],
        };
        assert_eq!(
            serde_json::to_string(&methods).unwrap(),
            r#"{"email_links":true,"providers":[{"id":"oidc","name":"Acme","start_url":"/api/v0/auth/sso/oidc/start"}]}"#
        );
        let started = CeremonyStart { ceremony: "abc_-1".into(), options: json!({"publicKey": {"challenge": "AA"}}) };
        assert_eq!(
            serde_json::to_string(&started).unwrap(),
            r#"{"ceremony":"abc_-1","options":{"publicKey":{"challenge":"AA"}}}"#
        );
        let accepted = EmailLinkAccepted { message: "On its way.".into() };
        assert_eq!(serde_json::to_string(&accepted).unwrap(), r#"{"message":"On its way."}"#);
    }

    /// The requests read what the pages send; a passkey's name may be left out.
    #[test]
    fn requests_read_what_the_pages_send() {
        let link: LinkRedeemRequest = serde_json::from_value(json!({"link": "hml_x"})).unwrap();
        assert_eq!(link.link, "hml_x");
        let email: EmailLinkRequest = serde_json::from_value(json!({"email": "ada@example.com"})).unwrap();
        assert_eq!(email.email, "ada@example.com");
        let credential = json!({"id": "AA", "response": {}});
        let finish: PasskeySignInFinish =
            serde_json::from_value(json!({"ceremony": "c", "credential": credential})).unwrap();
        assert_eq!((finish.ceremony.as_str(), &finish.credential), ("c", &credential));
        let unnamed: PasskeyRegistrationFinish =
            serde_json::from_value(json!({"ceremony": "c", "credential": credential})).unwrap();
        assert_eq!(unnamed.name, None);
        let named: PasskeyRegistrationFinish =
            serde_json::from_value(json!({"ceremony": "c", "credential": {}, "name": "Laptop"})).unwrap();
        assert_eq!(named.name.as_deref(), Some("Laptop"));
        assert!(serde_json::from_value::<PasskeyRegistrationFinish>(json!({"ceremony": "c"})).is_err());
        assert!(serde_json::from_value::<LinkRedeemRequest>(json!({})).is_err());
    }

    /// Neither a link nor a token shows in `Debug` (a log line, a panic).
    #[test]
    fn secrets_do_not_debug() {
        let link = LinkRedeemRequest { link: format!("hml_{}", "A".repeat(43)) };
        assert_eq!(format!("{link:?}"), "LinkRedeemRequest { link: …redacted }");
        let signed_in = SignInResponse { token: TOKEN.into() };
        assert_eq!(format!("{signed_in:?}"), "SignInResponse { token: BearerToken(…redacted) }");
    }
}
