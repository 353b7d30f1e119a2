//! Request and response bodies of the Auth API. Schema names match Harmont's
//! published OpenAPI document so that generated clients keep working.

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
#[cfg_attr(feature = "openapi", schema(example = json!({"code": "K7P2QR9MX3WZ4NTV"})))]
pub struct CliCodeResponse {
    /// 16 Crockford base32 characters, single use, valid for five minutes.
    pub code: String,
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
    pub token: String,
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
