//! Session tokens: minting, the bearer check every request passes through,
//! and the user's own management of their sessions (list, revoke, logout).

use harmont_store::{Authenticated, Millis, NewUser, SessionDraft, StoreError, User};
use harmont_wire::api::{SessionInfo, SessionList};
use harmont_wire::token::{ApiKey, SessionToken};
use harmont_wire::ErrorCode;
use uuid::Uuid;

pub use crate::access::{require_recent_sign_in, ClientInfo, SignIn, REAUTHENTICATION_WINDOW};
use crate::clock::millis;
pub(crate) use crate::clock::rfc3339;
use crate::error::ApiError;
use crate::service::{Revocation, Service};

impl Service {
    pub(crate) fn session_draft(
        &self,
        client: &ClientInfo,
        now: Millis,
        sign_in: SignIn,
    ) -> (SessionToken, SessionDraft) {
        let token = SessionToken::generate();
        let draft = SessionDraft {
            id: Uuid::new_v4(),
            token_hash: token.hash(),
            created_at: now,
            expires_at: now + millis(self.settings.session_ttl),
            user_agent: client.user_agent.as_deref().map(|ua| crate::access::kept_user_agent(ua).to_owned()),
            ip: Some(client.ip.to_string()),
            method: sign_in.method,
            passkey_id: sign_in.passkey_id,
        };
        (token, draft)
    }

    /// A fresh session for a user the caller has already authenticated some
    /// other way (a passkey, the operator's `token mint`), recording how.
    pub async fn mint_session(
        &self,
        user_id: Uuid,
        client: &ClientInfo,
        sign_in: SignIn,
    ) -> Result<SessionToken, ApiError> {
        let (token, draft) = self.session_draft(client, self.clock.now(), sign_in);
        let session_id = draft.id;
        self.store.create_session(user_id, draft).await?;
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
        let generation = self.auth_cache.generation();
        let found = self.auth_cache.get(&hash, now);
        crate::metrics::bearer_cache(found.is_some());
        let (mut auth, cached) = match found {
            Some(auth) => (auth, true),
            None if is_key => {
                (self.store.authenticate_api_key(&hash, now).await?.ok_or_else(ApiError::invalid_token)?, false)
            }
            None => (self.store.authenticate(&hash, now).await?.ok_or_else(ApiError::invalid_token)?, false),
        };
        crate::audit::set_caller(auth.user.id, auth.session.id);
        // A disabled user's tokens are refused, and kept in the cache as
        // such: enabling the user drops them (announced, like a revocation).
        if auth.user.disabled_at.is_some() {
            if !cached {
                self.auth_cache.put(hash, auth, now, generation);
            }
            crate::audit::Event::failure("bearer_refused").reason(ErrorCode::UserDisabled.as_str()).emit();
            return Err(ApiError::new(ErrorCode::UserDisabled));
        }
        let touch = harmont_store::touch_due(auth.session.last_used_at, now);
        if touch {
            if is_key {
                self.store.touch_api_key(auth.session.id, now).await?;
            } else {
                self.store.touch_session(auth.session.id, now).await?;
            }
            auth.session.last_used_at = Some(now);
        }
        if !cached {
            self.auth_cache.put(hash, auth.clone(), now, generation);
        } else if touch {
            // The entry keeps the time it was read: a revocation elsewhere
            // must still be seen once the TTL is up, however busy the token.
            self.auth_cache.touched(&hash, now);
        }
        Ok(auth)
    }

    /// Revokes the session (or the API key) that made the request.
    pub async fn logout(&self, auth: &Authenticated) -> Result<(), ApiError> {
        if auth.is_api_key() {
            if self.store.revoke_api_key(auth.user.id, auth.session.id, self.clock.now()).await? {
                crate::metrics::api_key_revoked();
                crate::audit::Event::success("api_key_revoked").subject(auth.session.id).method("logout").emit();
            }
        } else if self.store.revoke_session(auth.user.id, auth.session.id, self.clock.now()).await? {
            crate::metrics::sessions_revoked("logout", 1);
            crate::audit::Event::success("session_revoked").subject(auth.session.id).method("logout").emit();
        }
        self.revoked(Revocation::Session(auth.session.id));
        Ok(())
    }

    pub async fn list_sessions(&self, auth: &Authenticated) -> Result<SessionList, ApiError> {
        let sessions = self.store.list_sessions(auth.user.id, self.clock.now()).await?;
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
        if self.store.revoke_session(auth.user.id, session_id, self.clock.now()).await? {
            crate::metrics::sessions_revoked("revoke", 1);
            crate::audit::Event::success("session_revoked").subject(session_id).method("revoke").emit();
            self.revoked(Revocation::Session(session_id));
            Ok(())
        } else {
            Err(ApiError::new(ErrorCode::SessionNotFound))
        }
    }

    pub async fn revoke_other_sessions(&self, auth: &Authenticated) -> Result<u64, ApiError> {
        let revoked = self.store.revoke_other_sessions(auth.user.id, auth.session.id, self.clock.now()).await?;
        crate::metrics::sessions_revoked("revoke_others", revoked);
        crate::audit::Event::success("session_revoked").method("revoke_others").count(revoked).emit();
        self.revoked(Revocation::User(auth.user.id));
        Ok(revoked)
    }

    /// Adds a user; emails are kept lower-case so lookups are exact.
    pub async fn add_user(&self, email: &str, name: Option<String>) -> Result<User, AddUserError> {
        let email = email.trim().to_lowercase();
        if !looks_like_email(&email) {
            return Err(AddUserError::InvalidEmail);
        }
        let slug = email.split('@').next().map(slug_of);
        let user = NewUser { id: Uuid::new_v4(), email, name, personal_org_slug: slug, created_at: self.clock.now() };
        match self.store.create_user(user).await {
            Ok(user) => Ok(user),
            Err(StoreError::Conflict(_)) => Err(AddUserError::Duplicate),
            Err(err) => Err(AddUserError::Store(err)),
        }
    }

    /// Disables (`true`) or enables the user. Disabling revokes nothing:
    /// their sessions and keys are refused while it lasts (here at once, on
    /// other replicas as soon as the store's announcement reaches them) and
    /// work again once enabled. `false` when there is no such user.
    pub async fn set_user_disabled(&self, user_id: Uuid, disabled: bool) -> Result<bool, StoreError> {
        let at = disabled.then(|| self.clock.now());
        let found = self.store.set_user_disabled(user_id, at).await?;
        if found {
            self.revoked(Revocation::User(user_id));
            crate::audit::Event::success(if disabled { "user_disabled" } else { "user_enabled" }).user(user_id).emit();
        }
        Ok(found)
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        self.store.user_by_email(&email.trim().to_lowercase()).await
    }

    /// Every user, by email.
    pub async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        self.store.list_users().await
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AddUserError {
    #[error("that is not an email address")]
    InvalidEmail,
    #[error("a user with that email already exists")]
    Duplicate,
    #[error(transparent)]
    Store(StoreError),
}

pub(crate) fn looks_like_email(email: &str) -> bool {
    matches!(email.split_once('@'), Some((local, domain)) if !local.is_empty() && domain.contains('.') && !domain.contains('@'))
        && email.len() <= 254
        && !email.chars().any(char::is_whitespace)
}

pub(crate) fn slug_of(local_part: &str) -> String {
    let slug: String =
        local_part.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    slug.trim_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use harmont_store::SignInMethod;

    #[test]
    fn emails_and_slugs() {
        assert!(looks_like_email("ada@example.com"));
        for bad in ["ada", "ada@", "@example.com", "ada@example", "a da@example.com", "a@b@c.com"] {
            assert!(!looks_like_email(bad), "{bad}");
        }
        assert_eq!(slug_of("Ada.Lovelace+test"), "ada-lovelace-test");
    }

    #[test]
    fn timestamps_are_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_500), "1970-01-01T00:00:01.5Z");
    }

    #[test]
    fn only_recent_browser_sign_ins_may_change_credentials() {
        const T0: Millis = 1_767_225_600_000;
        let auth = |method| Authenticated {
            session: harmont_store::Session {
                id: Uuid::new_v4(),
                user_id: Uuid::nil(),
                created_at: T0,
                expires_at: T0 + REAUTHENTICATION_WINDOW * 1000,
                last_used_at: None,
                user_agent: None,
                ip: None,
                method,
                passkey_id: None,
            },
            user: User {
                id: Uuid::nil(),
                email: "ada@example.com".into(),
                name: None,
                personal_org_slug: None,
                created_at: T0,
                disabled_at: None,
            },
        };
        for method in [SignInMethod::Passkey, SignInMethod::Link, SignInMethod::Sso] {
            for now in [T0 - 5_000, T0, T0 + REAUTHENTICATION_WINDOW] {
                assert!(require_recent_sign_in(&auth(method), now).is_ok(), "{method:?} at {now}");
            }
            let late = require_recent_sign_in(&auth(method), T0 + REAUTHENTICATION_WINDOW + 1).unwrap_err();
            assert_eq!(late.code, ErrorCode::ReauthenticationRequired);
        }
        for method in [SignInMethod::Cli, SignInMethod::Operator, SignInMethod::Unknown] {
            let refused = require_recent_sign_in(&auth(method), T0).unwrap_err();
            assert_eq!(refused.code, ErrorCode::ReauthenticationRequired, "{method:?}");
            assert_eq!(refused.status(), axum::http::StatusCode::FORBIDDEN);
        }
    }
}
