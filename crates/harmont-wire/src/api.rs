//! Request and response bodies of the Auth API. Schema names match Harmont's
//! published OpenAPI document so that generated clients keep working.

use crate::token::BearerToken;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

// The request schemas are as strict as the server, so that a request the
// OpenAPI document calls valid is refused only for the contract's own reasons
// (an unknown nonce or code), never for its shape: nonces as in `nonce`,
// challenges and verifiers as RFC 7636 has them, paste codes as a person may
// type them (`PasteCode::parse_lenient`). Schema-driven fuzzing
// (scripts/fuzz-api.sh) holds the server to it.

/// Parks a fresh session token under the nonce of a waiting CLI.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"nonce": "Yb1oB9w3l5m2VqfJx0u8QJH2gkz0r6Wm3y4Tq9sLx7E"})))]
pub struct CliTransferRequest {
    /// The nonce the CLI generated: 22 to 256 base64url characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 22, max_length = 256, pattern = "^[A-Za-z0-9_-]{22,256}$"))]
    pub nonce: String,
    /// Optional S256 PKCE challenge; when present, `claim` must send the matching verifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 43, max_length = 43, pattern = "^[A-Za-z0-9_-]{43}$"))]
    pub code_challenge: Option<String>,
}

/// A CLI collecting the token parked under its nonce.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"nonce": "Yb1oB9w3l5m2VqfJx0u8QJH2gkz0r6Wm3y4Tq9sLx7E"})))]
pub struct CliClaimRequest {
    /// The nonce the CLI generated.
    #[cfg_attr(feature = "openapi", schema(min_length = 22, max_length = 256, pattern = "^[A-Za-z0-9_-]{22,256}$"))]
    pub nonce: String,
    /// The PKCE verifier, required when the transfer carried a challenge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 43, max_length = 128, pattern = "^[A-Za-z0-9._~-]{43,128}$"))]
    pub code_verifier: Option<String>,
}

/// Optional body of `code`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CliCodeRequest {
    /// Optional S256 PKCE challenge; when present, `redeem` must send the matching verifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 43, max_length = 43, pattern = "^[A-Za-z0-9_-]{43}$"))]
    pub code_challenge: Option<String>,
}

/// A paste code for the user to type into the CLI.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"code": "K7P2QR9MX3WZ4NTV", "expires_in": 300})))]
pub struct CliCodeResponse {
    /// 16 Crockford base32 characters, single use, valid for `expires_in` seconds.
    pub code: String,
    /// Seconds the code can be redeemed for: the server's paste window (five
    /// minutes unless its operator changed it). Servers that predate it leave
    /// it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
}

/// A CLI redeeming the paste code its user typed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"code": "K7P2QR9MX3WZ4NTV"})))]
pub struct CliRedeemRequest {
    /// The code as typed; case, spaces and dashes are forgiven.
    #[cfg_attr(feature = "openapi", schema(min_length = 16, pattern = "^[ \\t-]*(?:[0-9A-TV-Za-tv-z][ \\t-]*){16}$"))]
    pub code: String,
    /// The PKCE verifier, required when the code was minted with a challenge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 43, max_length = 128, pattern = "^[A-Za-z0-9._~-]{43,128}$"))]
    pub code_verifier: Option<String>,
}

/// A fresh session token.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CliTokenResponse {
    /// Send as `Authorization: Bearer <token>`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub token: BearerToken,
}

/// The nonce of the login the page is about to approve.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CliInspectRequest {
    /// The nonce from the page's URL, as the terminal made it.
    #[cfg_attr(feature = "openapi", schema(min_length = 22, max_length = 256, pattern = "^[A-Za-z0-9_-]+$"))]
    pub nonce: String,
}

/// Where the terminal waiting for a login connects from, as the server sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CliInspectResponse {
    /// The address the claims for this nonce came from; when they came from
    /// several, one that is not `your_address`. `null` when this server has
    /// seen no claim for it (yet).
    pub claimed_from: Option<String>,
    /// The address of the caller (the browser), as the server sees it.
    pub your_address: String,
    /// Where the login stands, as far as this server knows.
    pub state: LoginState,
}

/// Where a CLI login stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LoginState {
    /// This server has seen no claim for it (yet): it may be on another
    /// replica, or nobody is waiting.
    Unseen,
    /// A terminal is asking for it.
    Waiting,
    /// Approved, and not collected yet.
    Approved,
    /// Its terminal collected its session: it cannot be approved again.
    Collected,
    /// Its terminal asked, then stopped asking (it gave up, or was stopped).
    Stopped,
}

/// A terminal registering its login for the short approval.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CliDeviceRequest {
    /// The terminal's nonce.
    #[cfg_attr(feature = "openapi", schema(min_length = 22, max_length = 256, pattern = "^[A-Za-z0-9_-]+$"))]
    pub nonce: String,
    /// The S256 PKCE challenge of the terminal's verifier: required, since the
    /// person approving types only the code.
    #[cfg_attr(feature = "openapi", schema(min_length = 43, max_length = 43, pattern = "^[A-Za-z0-9_-]{43}$"))]
    pub code_challenge: String,
    /// The terminal's host name, shown on the page. Informational, so never a
    /// reason to refuse a login: control characters are dropped and a longer
    /// name is cut to 255 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// Where to send the person, and the code to type there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CliDeviceResponse {
    /// The terminal's verification code, `XXXX-XXXX`.
    pub user_code: String,
    /// The page where a signed-in user types it.
    pub verification_uri: String,
    /// Seconds the code can be typed.
    pub expires_in: u64,
}

/// The code a person typed on `/cli-login/device`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CliDeviceCodeRequest {
    /// As typed: case, spaces and the dash do not matter.
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub user_code: String,
}

/// Which terminal waits under a typed code, for the page to show before Authorize.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CliDeviceInspectResponse {
    /// The code, as the terminal shows it.
    pub user_code: String,
    /// The host name the terminal reported.
    pub host: Option<String>,
    /// The address the terminal registered from.
    pub requested_from: Option<String>,
    /// The address of the caller (the browser), as the server sees it.
    pub your_address: String,
    /// Where the login stands.
    pub state: LoginState,
    /// Seconds left to approve it.
    pub expires_in: u64,
}

/// The user behind the bearer token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CurrentUserResponse {
    pub uuid: Uuid,
    pub email: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub personal_org_slug: Option<String>,
}

/// One of the caller's live sessions. Carries no secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SessionInfo {
    pub id: Uuid,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub expires_at: String,
    /// RFC 3339, updated at most once a minute.
    pub last_used_at: Option<String>,
    /// The client that obtained the session, as it named itself.
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// Whether this is the session making the request.
    pub current: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SessionList {
    /// Newest first.
    pub sessions: Vec<SessionInfo>,
}

/// How many sessions a bulk revoke ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RevokedSessions {
    pub revoked: u64,
}

/// A personal API key. The secret is returned only once, at creation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ApiToken {
    pub id: Uuid,
    /// Human label for the key.
    pub description: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339; `null` when the key never expires.
    pub expires_at: Option<String>,
    /// RFC 3339, updated at most once a minute; `null` if never used.
    pub last_used_at: Option<String>,
}

/// Every live personal API key of the current user, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ApiTokenListResponse {
    pub api_tokens: Vec<ApiToken>,
}

/// Creates a personal API key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"description": "CI deploys", "expires_at": null})))]
pub struct ApiTokenCreateRequest {
    /// Human label for the key: not blank, at most 200 characters (after
    /// trimming), no control characters.
    #[cfg_attr(feature = "openapi", schema(
        max_length = 200,
        // What `text::validate_display_text` accepts, and not blank: no
        // control, bidirectional-override or line-separator character, and
        // one that is not whitespace (as `str::trim` has it).
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F\\u2028\\u2029\\u202A-\\u202E\\u2066-\\u2069]*[^\\u0000-\\u0020\\u007F-\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202A-\\u202F\\u205F\\u2066-\\u2069\\u3000][^\\u0000-\\u001F\\u007F-\\u009F\\u2028\\u2029\\u202A-\\u202E\\u2066-\\u2069]*$"
    ))]
    pub description: String,
    /// Optional expiry (RFC 3339, in the future); null or omitted means never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub expires_at: Option<String>,
}

/// The created key and its raw secret, shown only here, once.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ApiTokenCreateResponse {
    /// The raw key (`hmk_…`). Store it now; it is never shown again.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub token: BearerToken,
    pub api_token: ApiToken,
}

/// Updates the current user's editable profile fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"name": "Ada Lovelace"})))]
pub struct UserUpdateRequest {
    /// New display name: not blank, at most 200 characters (after
    /// trimming), no control characters.
    #[cfg_attr(feature = "openapi", schema(
        max_length = 200,
        // What `text::validate_display_text` accepts, and not blank: no
        // control, bidirectional-override or line-separator character, and
        // one that is not whitespace (as `str::trim` has it).
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F\\u2028\\u2029\\u202A-\\u202E\\u2066-\\u2069]*[^\\u0000-\\u0020\\u007F-\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202A-\\u202F\\u205F\\u2066-\\u2069\\u3000][^\\u0000-\\u001F\\u007F-\\u009F\\u2028\\u2029\\u202A-\\u202E\\u2066-\\u2069]*$"
    ))]
    pub name: String,
}

/// What a bearer is: a session token (`hms_…`) or a personal API key (`hmk_…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    Session,
    ApiKey,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Session => "session",
            TokenKind::ApiKey => "api_key",
        }
    }
}

/// An RFC 7662 introspection request, form-encoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct IntrospectionRequest {
    /// The token to look at: a session token or a personal API key.
    pub token: String,
    /// Accepted and ignored: the token's prefix says what it is.
    #[serde(default)]
    pub token_type_hint: Option<String>,
}

/// An RFC 7662 introspection response. Anything but a live token is exactly
/// `{"active": false}`: no field says why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct IntrospectionResponse {
    pub active: bool,
    /// The user's uuid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<Uuid>,
    /// The user's email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<TokenKind>,
    /// When the token was issued, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// When the token expires, Unix seconds; absent for a key that never does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
}

impl IntrospectionResponse {
    /// `{"active": false}`.
    pub fn inactive() -> Self {
        Self { active: false, sub: None, username: None, token_type: None, iat: None, exp: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The device and inspect responses keep the JSON the approval pages and
    /// the CLI read: every field, absent values as `null`, states in snake case.
    #[test]
    fn device_and_inspect_responses_keep_their_json() {
        let inspect =
            CliInspectResponse { claimed_from: None, your_address: "192.0.2.7".into(), state: LoginState::Unseen };
        assert_eq!(
            serde_json::to_string(&inspect).unwrap(),
            r#"{"claimed_from":null,"your_address":"192.0.2.7","state":"unseen"}"#
        );
        let device = CliDeviceResponse {
            user_code: "57BY-26FF".into(),
            verification_uri: "http://127.0.0.1:8080/cli-login/device".into(),
            expires_in: 600,
        };
        assert_eq!(
            serde_json::to_string(&device).unwrap(),
            r#"{"user_code":"57BY-26FF","verification_uri":"http://127.0.0.1:8080/cli-login/device","expires_in":600}"#
        );
        let waiting = CliDeviceInspectResponse {
            user_code: "57BY-26FF".into(),
            host: Some("build-7".into()),
            requested_from: None,
            your_address: "2001:db8::1".into(),
            state: LoginState::Waiting,
            expires_in: 42,
        };
        assert_eq!(
            serde_json::to_string(&waiting).unwrap(),
            r#"{"user_code":"57BY-26FF","host":"build-7","requested_from":null,"your_address":"2001:db8::1","state":"waiting","expires_in":42}"#
        );
        let states = [
            (LoginState::Unseen, "unseen"),
            (LoginState::Waiting, "waiting"),
            (LoginState::Approved, "approved"),
            (LoginState::Collected, "collected"),
            (LoginState::Stopped, "stopped"),
        ];
        for (state, text) in states {
            assert_eq!(serde_json::to_value(state).unwrap(), serde_json::Value::from(text));
            assert_eq!(serde_json::from_value::<LoginState>(text.into()).unwrap(), state);
        }
    }

    /// The requests read what the pages and the CLI send: a terminal may
    /// leave its host out, and nothing else.
    #[test]
    fn device_and_inspect_requests_read_what_clients_send() {
        let nonce = "Yb1oB9w3l5m2VqfJx0u8QJH2gkz0r6Wm3y4Tq9sLx7E";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        let bare: CliDeviceRequest =
            serde_json::from_value(serde_json::json!({"nonce": nonce, "code_challenge": challenge})).unwrap();
        assert_eq!(bare.host, None);
        assert_eq!(
            serde_json::to_string(&bare).unwrap(),
            format!(r#"{{"nonce":"{nonce}","code_challenge":"{challenge}"}}"#),
            "no host is sent as no field"
        );
        let with_host = CliDeviceRequest { host: Some("build-7".into()), ..bare };
        assert_eq!(
            serde_json::to_string(&with_host).unwrap(),
            format!(r#"{{"nonce":"{nonce}","code_challenge":"{challenge}","host":"build-7"}}"#)
        );
        assert!(serde_json::from_value::<CliDeviceRequest>(serde_json::json!({"nonce": nonce})).is_err());
        let typed: CliDeviceCodeRequest =
            serde_json::from_value(serde_json::json!({"user_code": "57by 26ff"})).unwrap();
        assert_eq!(typed.user_code, "57by 26ff");
        assert!(serde_json::from_value::<CliDeviceCodeRequest>(serde_json::json!({})).is_err());
        let inspect: CliInspectRequest = serde_json::from_value(serde_json::json!({"nonce": nonce})).unwrap();
        assert_eq!(inspect.nonce, nonce);
        assert!(serde_json::from_value::<CliInspectRequest>(serde_json::json!({})).is_err());
    }
}
