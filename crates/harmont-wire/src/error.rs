//! The error envelope and the catalogue of its stable codes. Every failure the
//! server returns is one of these; clients match on `code`.

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// `{"error": {...}}`, the Harmont error envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema), schema(as = Error))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ErrorDetail {
    /// The broad class of the error.
    #[serde(rename = "type")]
    pub kind: String,
    /// Stable code from the catalogue; documented at `doc_url`.
    pub code: String,
    /// Short, human-readable.
    pub message: String,
    /// A page that explains this code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc_url: Option<String>,
    /// Equals the `x-request-id` response header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

macro_rules! catalogue {
    ($($variant:ident = $code:literal, $status:literal, $kind:literal, $message:literal, $explain:literal;)*) => {
        /// Every code the server can answer with.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode { $($variant),* }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code),* }
            }

            pub fn status(self) -> u16 {
                match self { $(ErrorCode::$variant => $status),* }
            }

            /// The envelope's `type`.
            pub fn kind(self) -> &'static str {
                match self { $(ErrorCode::$variant => $kind),* }
            }

            /// The default client message.
            pub fn message(self) -> &'static str {
                match self { $(ErrorCode::$variant => $message),* }
            }

            /// A paragraph for the code's documentation page. The server's
            /// windows appear as `{transfer_ttl}`, `{paste_ttl}`, `{link_ttl}`,
            /// `{ceremony_ttl}`, `{reauth_window}` and `{body_timeout}`, for
            /// the page to fill with what that server is configured with.
            pub fn explanation(self) -> &'static str {
                match self { $(ErrorCode::$variant => $explain),* }
            }

            pub fn from_code(code: &str) -> Option<Self> {
                match code { $($code => Some(ErrorCode::$variant),)* _ => None }
            }
        }
    };
}

catalogue! {
    InvalidRequest = "invalid_request", 400, "invalid_request",
        "The request body is not valid.",
        "The body could not be read as the JSON object this endpoint takes: it is malformed, a required field is missing, or a field has the wrong type. The message names the problem.";
    NonceInvalid = "nonce_invalid", 400, "invalid_request",
        "The nonce must be 22 to 256 URL-safe characters.",
        "A nonce is the secret a CLI polls with. It must be 22 to 256 characters of base64url (A-Z, a-z, 0-9, - and _), so that it carries at least 128 bits and cannot be guessed, and look random: at least 8 different characters, none repeated more than 7 times in a row.";
    CodeChallengeInvalid = "code_challenge_invalid", 400, "invalid_request",
        "The code_challenge must be an S256 challenge of 43 base64url characters.",
        "A PKCE code_challenge is the base64url SHA-256 of the CLI's verifier (RFC 7636, S256): exactly 43 characters of A-Z, a-z, 0-9, - and _.";
    CliCodeInvalid = "cli_code_invalid", 400, "invalid_request",
        "No token is available for this nonce or code.",
        "Nothing is waiting under this nonce or paste code: the browser has not approved the login yet, the window has passed ({transfer_ttl} for a transfer, {paste_ttl} for a paste code), it was already used, it never existed, or the PKCE verifier does not match. A CLI polling claim treats this as 'not yet'.";
    LinkInvalid = "link_invalid", 400, "invalid_request",
        "This sign-in link is invalid, expired or already used.",
        "A sign-in link works once, within its validity: {link_ttl} for one from `harmont-auth user add` or `harmont-auth user link`, 15 minutes for an emailed one, 60 seconds for the one single sign-on ends on. This one is malformed, unknown, expired or was already used. Ask for a new one on the sign-in page (\"Email me a sign-in link\", where the server offers it), or ask the operator: `harmont-auth user link EMAIL`.";
    PasskeyInvalid = "passkey_invalid", 400, "invalid_request",
        "The passkey could not be verified.",
        "The passkey response did not verify: the ceremony expired ({ceremony_ttl}) or was already finished, the passkey is not registered here, it belongs to another relying party, or the signature or user verification failed. Start again.";
    Unauthorized = "unauthorized", 401, "authentication",
        "A valid bearer token is required.",
        "The request needs `Authorization: Bearer <token>` with a live Harmont session token. The token was missing, malformed, unknown, expired or revoked. Log in again to get a new one.";
    InvalidClient = "invalid_client", 401, "authentication",
        "Client authentication failed.",
        "Token introspection (`POST /api/v0/auth/introspect`) is for resource servers registered with `harmont-auth client add NAME`: send their `client_id` and `client_secret` with HTTP Basic (`Authorization: Basic base64(client_id:client_secret)`). They were missing, malformed, unknown (the client may have been removed) or wrong. Repeated failures from one address are rate limited.";
    ReauthenticationRequired = "reauthentication_required", 403, "authentication",
        "Sign in again to do this.",
        "Adding or removing a passkey or a sign-in identity, and deleting the account, need a browser session whose sign-in (passkey, emailed or operator link, single sign-on) happened within the last {reauth_window}. A session obtained by the CLI (`claim` or `redeem`) never qualifies. Sign in again in the browser, then retry.";
    ApiKeyForbidden = "api_key_forbidden", 403, "authentication",
        "An API key cannot do this; use a browser or CLI session.",
        "A personal API key (`hmk_…`) authenticates the platform, but cannot mint credentials or change the account: creating API keys, starting a CLI login (`transfer`, `code`), adding or removing passkeys, changing or deleting the account and managing sessions all need a session token (`hms_…`) from `harmont login` or the browser. A leaked key cannot become a session or a longer-lived key.";
    UserDisabled = "user_disabled", 403, "authentication",
        "This account is disabled. Ask an administrator to enable it.",
        "An administrator disabled this account (`harmont-auth user disable EMAIL`). While it is disabled, its sessions and API keys are refused, it cannot sign in (passkey, link, single sign-on), and logins already approved for it cannot be claimed or redeemed. Nothing was deleted: once an administrator enables it again (`harmont-auth user enable EMAIL`), the same sessions and keys work again.";
    NotFound = "not_found", 404, "not_found",
        "There is nothing at this path.",
        "No endpoint or resource exists at this path. Check the URL against the API reference.";
    SessionNotFound = "session_not_found", 404, "not_found",
        "No such session.",
        "You have no live session with this id. It may have expired or already been revoked.";
    PasskeyNotFound = "passkey_not_found", 404, "not_found",
        "No such passkey.",
        "You have no passkey with this id. It may already have been removed.";
    ApiTokenNotFound = "api_token_not_found", 404, "not_found",
        "No such API key.",
        "You have no live API key with this id. It may have expired or already been revoked.";
    IdentityNotFound = "identity_not_found", 404, "not_found",
        "No such sign-in identity.",
        "You have no linked sign-in identity (single sign-on with an OpenID Connect provider or GitHub) with this id. It may already have been unlinked.";
    MethodNotAllowed = "method_not_allowed", 405, "invalid_request",
        "This method is not allowed here.",
        "The path exists but does not take this HTTP method. The Auth endpoints take POST.";
    RequestTimeout = "request_timeout", 408, "invalid_request",
        "The request body did not arrive in time.",
        "The server waits {body_timeout} for a request's body once its headers have arrived; this one was still incomplete. Send the whole request at once.";
    NonceInUse = "nonce_in_use", 409, "conflict",
        "A login is already waiting under this nonce.",
        "A transfer was already parked under this nonce: it is still waiting, or it was claimed or expired less than one transfer window ago (a spent nonce is never used twice). The first one stays as it was; start a new login to get a new nonce.";
    LastSignInMethod = "last_sign_in_method", 409, "conflict",
        "This is your last way to sign in.",
        "Unlinking this identity would leave you no way to sign in: you have no passkey and no other linked identity, and this server sends no sign-in links by mail. Add a passkey (or link another identity) first.";
    PayloadTooLarge = "payload_too_large", 413, "invalid_request",
        "The request body is too large.",
        "The Auth endpoints take small JSON bodies; this one exceeded the server's limit.";
    UnsupportedMediaType = "unsupported_media_type", 415, "invalid_request",
        "The request body must be application/json.",
        "Send the body as JSON with `Content-Type: application/json`.";
    ValidationFailed = "validation_failed", 422, "invalid_request",
        "A field has a value that is not allowed.",
        "The body is well-formed, but a field's value breaks a rule: a name is empty after trimming, too long, or holds control characters; a date is in the past or not RFC 3339. The message names the field and the rule.";
    RateLimited = "rate_limited", 429, "rate_limit",
        "Too many failed attempts. Retry later.",
        "Too many failed claim or redeem attempts came from your address, too many claims are held waiting (`Prefer: wait`) from your address or on the server, your address asked for more than 20 emailed sign-in links this hour, or your session started too many logins, paste codes or passkey registrations. Wait for the number of seconds in the Retry-After header. A CLI polling at its normal pace never reaches these limits.";
    Internal = "internal_error", 500, "internal",
        "Internal error.",
        "Something went wrong on the server. Nothing about it is shown here; quote the request_id when you report it.";
    Unavailable = "service_unavailable", 503, "internal",
        "The service is unavailable.",
        "The server cannot reach its store right now. Retry shortly.";
}

impl ErrorBody {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            error: ErrorDetail {
                kind: code.kind().to_owned(),
                code: code.as_str().to_owned(),
                message: message.into(),
                doc_url: None,
                request_id: None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_serializes_as_published() {
        let mut body = ErrorBody::new(ErrorCode::CliCodeInvalid, "nope");
        body.error.request_id = Some("r1".into());
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"error": {"type": "invalid_request", "code": "cli_code_invalid", "message": "nope", "request_id": "r1"}})
        );
    }

    #[test]
    fn codes_round_trip_and_are_unique() {
        for &code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_code(code.as_str()), Some(code));
        }
        let mut names: Vec<_> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ErrorCode::ALL.len());
    }
}
