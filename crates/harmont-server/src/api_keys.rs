//! Personal API keys (`hmk_…`): a key authenticates every Bearer endpoint
//! but cannot mint credentials or change the account ([`forbid_api_key`]);
//! revoking a key reaches every replica's bearer cache at once. The account
//! endpoints (name, deletion) are `users.rs`'.

use harmont_store::{ApiKeyRecord, ApiKeyStore, Authenticated, Millis, NewApiKey, Store};
use harmont_wire::api::{ApiToken, ApiTokenCreateRequest, ApiTokenCreateResponse};
use harmont_wire::token::ApiKey;
use harmont_wire::ErrorCode;
use std::sync::Arc;
use uuid::Uuid;

use crate::auth_cache::{Revocation, Revocations};
use crate::clock::{rfc3339, Clock};
use crate::error::ApiError;

/// The longest key description and display name, in characters.
pub const MAX_TEXT: usize = 200;

pub use crate::access::forbid_api_key;

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::ValidationFailed).with_message(message.into())
}

/// A user-set text: at most [`MAX_TEXT`] characters and no control
/// characters as sent (so exactly what the OpenAPI schema allows is
/// accepted), not blank; kept trimmed.
pub(crate) fn display_text(field: &str, value: &str) -> Result<String, ApiError> {
    harmont_wire::text::validate_display_text(field, value, MAX_TEXT).map_err(|err| invalid(err.to_string()))?;
    let value = value.trim();
    if value.is_empty() {
        return Err(invalid(format!("`{field}` must not be empty")));
    }
    Ok(value.to_owned())
}

/// An RFC 3339 instant strictly after `now`, in milliseconds.
fn future_instant(field: &str, value: &str, now: Millis) -> Result<Millis, ApiError> {
    let at = time::OffsetDateTime::parse(value.trim(), &time::format_description::well_known::Rfc3339)
        .map_err(|_| invalid(format!("`{field}` must be an RFC 3339 date-time, such as 2027-01-31T00:00:00Z")))?;
    let millis = i64::try_from(at.unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| invalid(format!("`{field}` is out of range")))?;
    if millis <= now {
        return Err(invalid(format!("`{field}` must be in the future")));
    }
    Ok(millis)
}

pub fn api_token(key: &ApiKeyRecord) -> ApiToken {
    ApiToken {
        id: key.id,
        description: Some(key.description.clone()),
        created_at: rfc3339(key.created_at),
        expires_at: key.expires_at.map(rfc3339),
        last_used_at: key.last_used_at.map(rfc3339),
    }
}

/// Personal API keys: their rows, and the bearer cache's revocation handle.
/// (The bearer check that reads keys is `Sessions`'.)
#[derive(Debug)]
pub struct ApiKeys {
    api_keys: Arc<dyn ApiKeyStore>,
    clock: Arc<dyn Clock>,
    revocations: Revocations,
}

impl ApiKeys {
    pub(crate) fn new(store: &Arc<dyn Store>, clock: Arc<dyn Clock>, revocations: Revocations) -> Self {
        Self { api_keys: store.clone(), clock, revocations }
    }

    pub async fn create_api_key(
        &self,
        auth: &Authenticated,
        request: ApiTokenCreateRequest,
    ) -> Result<ApiTokenCreateResponse, ApiError> {
        forbid_api_key(auth)?;
        let now = self.clock.now();
        let description = display_text("description", &request.description)?;
        let expires_at = request.expires_at.as_deref().map(|at| future_instant("expires_at", at, now)).transpose()?;
        let key = ApiKey::generate();
        let stored = self
            .api_keys
            .create_api_key(NewApiKey {
                id: Uuid::new_v4(),
                user_id: auth.user.id,
                token_hash: key.hash(),
                description,
                created_at: now,
                expires_at,
            })
            .await?;
        crate::metrics::api_key_created();
        crate::audit::Event::success("api_key_created").subject(stored.id).emit();
        Ok(ApiTokenCreateResponse { token: key.into(), api_token: api_token(&stored) })
    }

    pub async fn list_api_keys(&self, auth: &Authenticated) -> Result<Vec<ApiToken>, ApiError> {
        let keys = self.api_keys.list_api_keys(auth.user.id, self.clock.now()).await?;
        Ok(keys.iter().map(api_token).collect())
    }

    /// Someone else's key answers exactly as a missing one does.
    pub async fn revoke_api_key(&self, auth: &Authenticated, id: Uuid) -> Result<(), ApiError> {
        if self.api_keys.revoke_api_key(auth.user.id, id, self.clock.now()).await? {
            crate::metrics::api_key_revoked();
            crate::audit::Event::success("api_key_revoked").subject(id).method("revoke").emit();
            self.revocations.revoked(Revocation::Session(id));
            Ok(())
        } else {
            Err(ApiError::new(ErrorCode::ApiTokenNotFound))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = 1_767_225_600_000; // 2026-01-01T00:00:00Z

    #[test]
    fn expiry_must_be_a_future_rfc3339_instant() {
        assert_eq!(future_instant("expires_at", "2026-01-01T00:00:01Z", NOW).unwrap(), NOW + 1000);
        assert_eq!(
            future_instant("expires_at", "2026-01-01T01:00:00+01:00", NOW).unwrap_err().code,
            ErrorCode::ValidationFailed
        );
        for bad in
            ["2025-12-31T23:59:59Z", "2026-01-01T00:00:00Z", "tomorrow", "2027-01-31", "", "9999999-01-01T00:00:00Z"]
        {
            let err = future_instant("expires_at", bad, NOW).unwrap_err();
            assert_eq!(err.code, ErrorCode::ValidationFailed, "{bad:?}");
            assert!(err.message.contains("`expires_at`"), "{bad:?}");
        }
    }

    #[test]
    fn texts_are_trimmed_and_checked() {
        assert_eq!(display_text("name", "  Ada  ").unwrap(), "Ada");
        assert_eq!(display_text("name", &"é".repeat(200)).unwrap(), "é".repeat(200));
        for bad in ["", "   ", &"a".repeat(201), &format!(" {}", "a".repeat(200)), "a\nb", "\u{202E}x", "\u{3000}"] {
            assert_eq!(display_text("name", bad).unwrap_err().code, ErrorCode::ValidationFailed, "{bad:?}");
        }
    }
}
