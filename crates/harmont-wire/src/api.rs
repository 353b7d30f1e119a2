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
