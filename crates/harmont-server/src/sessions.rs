//! Session tokens: the bearer check every request passes through, the
//! operator's minting, and the user's own management of their sessions
//! (list, revoke, logout). [`Sessions`] owns the bearer cache; every other
//! part that revokes holds only a [`Revocations`] handle to it.

use harmont_store::{ApiKeyStore, Authenticated, SessionStore, Store};
use harmont_wire::api::{SessionInfo, SessionList};
use harmont_wire::token::{ApiKey, SessionToken};
use harmont_wire::ErrorCode;
use std::sync::Arc;
use uuid::Uuid;

use crate::access::SessionDrafts;
pub use crate::access::{require_recent_sign_in, ClientInfo, SignIn, REAUTHENTICATION_WINDOW};
use crate::auth_cache::{AuthCache, Revocation, Revocations};
pub(crate) use crate::clock::rfc3339;
use crate::clock::Clock;
use crate::error::ApiError;
use crate::rate_limit::FailureLimiter;

/// Sessions and the bearer check: the session and API key rows it reads
/// (a key is a bearer too), the bearer cache, and the per-session limit on
/// what a session may start.
#[derive(Debug)]
pub struct Sessions {
    sessions: Arc<dyn SessionStore>,
    api_keys: Arc<dyn ApiKeyStore>,
    clock: Arc<dyn Clock>,
    drafts: SessionDrafts,
    cache: Arc<AuthCache>,
    revocations: Revocations,
    starts: FailureLimiter<Uuid>,
}

impl Sessions {
    pub(crate) fn new(
        store: &Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        drafts: SessionDrafts,
        cache: Arc<AuthCache>,
        starts: crate::rate_limit::Rate,
    ) -> Self {
        Self {
            sessions: store.clone(),
            api_keys: store.clone(),
            clock,
            drafts,
            revocations: Revocations::new(cache.clone()),
            cache,
            starts: FailureLimiter::new(starts),
        }
    }

    /// Counts one start (`transfer`, `code`, passkey registration) against
    /// the caller's session: `429 rate_limited` past the limit.
    pub fn limit_starts(&self, auth: &Authenticated) -> Result<(), ApiError> {
        self.starts.take(auth.session.id, std::time::Instant::now()).map_err(|retry_after| {
            ApiError::rate_limited(retry_after).with_message("Too many requests from this session. Retry later.")
        })
    }

    /// A fresh session for a user the caller has already authenticated some
    /// other way (a passkey, the operator's `token mint`), recording how.
    pub async fn mint_session(
        &self,
        user_id: Uuid,
        client: &ClientInfo,
        sign_in: SignIn,
    ) -> Result<SessionToken, ApiError> {
        let (token, draft) = self.drafts.draft(client, self.clock.now(), sign_in);
        let session_id = draft.id;
        self.sessions.create_session(user_id, draft).await?;
        crate::metrics::session_created(sign_in.method);
        crate::audit::Event::success("session_minted")
            .user(user_id)
            .subject(session_id)
            .method(sign_in.method.as_str())
            .emit();
        Ok(token)
    }

    /// Resolves an `Authorization` header value. A missing header and a bad
    /// token both answer 401; only the latter says `invalid_token`. A token
    /// that fails its format check never reaches the store.
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Authenticated, ApiError> {
        let Some(header) = authorization else { return Err(ApiError::unauthorized()) };
        let raw = match header.split_once(' ') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
            _ => return Err(ApiError::invalid_token()),
        };
        self.authenticate_token(raw).await
    }

    /// Resolves a raw session token or API key, through the bearer cache: a
    /// bad one is `401 unauthorized` with `invalid_token`, an unavailable
    /// store `503`.
    pub async fn authenticate_token(&self, raw: &str) -> Result<Authenticated, ApiError> {
        // A session token or a personal API key; each fails its own format
        // check before any store call. Their hashes share the bearer cache.
        // The key is parsed only when the session token's check failed, so
        // the common case does one parse, not two.
        let (hash, is_key) = match SessionToken::parse(raw) {
            Ok(token) => (token.hash(), false),
            Err(_) => match ApiKey::parse(raw) {
                Ok(key) => (key.hash(), true),
                Err(_) => return Err(ApiError::invalid_token()),
            },
        };
        let now = self.clock.now();
        let generation = self.cache.generation();
        let found = self.cache.get(&hash, now);
        crate::metrics::bearer_cache(found.is_some());
        let (mut auth, cached) = match found {
            Some(auth) => (auth, true),
            None if is_key => {
                (self.api_keys.authenticate_api_key(&hash, now).await?.ok_or_else(ApiError::invalid_token)?, false)
            }
            None => (self.sessions.authenticate(&hash, now).await?.ok_or_else(ApiError::invalid_token)?, false),
        };
        crate::audit::set_caller(auth.user.id, auth.session.id);
        // A disabled user's tokens are refused, and kept in the cache as
        // such: enabling the user drops them (announced, like a revocation).
        if auth.user.disabled_at.is_some() {
            if !cached {
                self.cache.put(hash, auth, now, generation);
            }
            crate::audit::Event::failure("bearer_refused").reason(ErrorCode::UserDisabled.as_str()).emit();
            return Err(ApiError::new(ErrorCode::UserDisabled));
        }
        let touch = harmont_store::touch_due(auth.session.last_used_at, now);
        if touch {
            if is_key {
                self.api_keys.touch_api_key(auth.session.id, now).await?;
            } else {
                self.sessions.touch_session(auth.session.id, now).await?;
            }
            auth.session.last_used_at = Some(now);
        }
        if !cached {
            self.cache.put(hash, auth.clone(), now, generation);
        } else if touch {
            // The entry keeps the time it was read: a revocation elsewhere
            // must still be seen once the TTL is up, however busy the token.
            self.cache.touched(&hash, now);
        }
        Ok(auth)
    }

    /// Revokes the session (or the API key) that made the request.
    pub async fn logout(&self, auth: &Authenticated) -> Result<(), ApiError> {
        if auth.is_api_key() {
            if self.api_keys.revoke_api_key(auth.user.id, auth.session.id, self.clock.now()).await? {
                crate::metrics::api_key_revoked();
                crate::audit::Event::success("api_key_revoked").subject(auth.session.id).method("logout").emit();
            }
        } else if self.sessions.revoke_session(auth.user.id, auth.session.id, self.clock.now()).await? {
            crate::metrics::sessions_revoked("logout", 1);
            crate::audit::Event::success("session_revoked").subject(auth.session.id).method("logout").emit();
        }
        self.revocations.revoked(Revocation::Session(auth.session.id));
        Ok(())
    }

    pub async fn list_sessions(&self, auth: &Authenticated) -> Result<SessionList, ApiError> {
        let sessions = self.sessions.list_sessions(auth.user.id, self.clock.now()).await?;
        let sessions = sessions
            .into_iter()
            .map(|s| SessionInfo {
                current: s.id == auth.session.id,
                id: s.id,
                created_at: rfc3339(s.created_at),
                expires_at: rfc3339(s.expires_at),
                last_used_at: s.last_used_at.map(rfc3339),
                user_agent: s.user_agent,
                ip: s.ip,
            })
            .collect();
        Ok(SessionList { sessions })
    }

    /// Someone else's session answers exactly as a missing one does.
    pub async fn revoke_session(&self, auth: &Authenticated, session_id: Uuid) -> Result<(), ApiError> {
        if self.sessions.revoke_session(auth.user.id, session_id, self.clock.now()).await? {
            crate::metrics::sessions_revoked("revoke", 1);
            crate::audit::Event::success("session_revoked").subject(session_id).method("revoke").emit();
            self.revocations.revoked(Revocation::Session(session_id));
            Ok(())
        } else {
            Err(ApiError::new(ErrorCode::SessionNotFound))
        }
    }

    /// Whether revocations made by other processes sharing the store reach
    /// this one at once (Postgres, while its listening connection is up), so
    /// that the bearer cache is used; always true where there are none to hear.
    pub fn revocations_heard(&self) -> bool {
        self.cache.trusted()
    }

    /// Drops what has aged out of the bearer cache and the per-session limit.
    pub(crate) fn forget_stale(&self, now: harmont_store::Millis) {
        self.cache.forget_stale(now);
        self.starts.forget_idle(std::time::Instant::now());
    }

    pub async fn revoke_other_sessions(&self, auth: &Authenticated) -> Result<u64, ApiError> {
        let revoked = self.sessions.revoke_other_sessions(auth.user.id, auth.session.id, self.clock.now()).await?;
        crate::metrics::sessions_revoked("revoke_others", revoked);
        crate::audit::Event::success("session_revoked").method("revoke_others").count(revoked).emit();
        self.revocations.revoked(Revocation::User(auth.user.id));
        Ok(revoked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_500), "1970-01-01T00:00:01.5Z");
    }
}
