//! Who is asking and what they may do: the caller's address and user agent,
//! how a session was signed in, what a new session records of both
//! ([`SessionDrafts`]), and the two rules that guard credentials (a recent
//! browser sign-in; no API keys). A leaf: the operations in `cli_login/`,
//! `sessions.rs`, `api_keys.rs`, `web/` and `sso/` all use it, and it uses
//! none of them.

use harmont_store::{Authenticated, Millis, SessionDraft, SignInMethod};
use harmont_wire::token::SessionToken;
use harmont_wire::ErrorCode;
use std::net::IpAddr;
use std::time::Duration;
use uuid::Uuid;

use crate::clock::millis;
use crate::error::ApiError;

/// Who is asking, as far as the server can tell; recorded on the sessions it mints.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    pub ip: IpAddr,
    pub user_agent: Option<String>,
}

/// Longest user agent kept, on a session or in an audit line; the rest is cut.
pub const MAX_USER_AGENT: usize = 256;

/// `user_agent` cut to [`MAX_USER_AGENT`] characters (never inside one).
pub fn kept_user_agent(user_agent: &str) -> &str {
    match user_agent.char_indices().nth(MAX_USER_AGENT) {
        Some((end, _)) => &user_agent[..end],
        None => user_agent,
    }
}

/// How recent a browser sign-in must be to change credentials.
pub const REAUTHENTICATION_WINDOW: Millis = 10 * 60 * 1000;

/// How a session about to be minted was signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignIn {
    pub method: SignInMethod,
    /// The passkey that signed it in, for [`SignInMethod::Passkey`].
    pub passkey_id: Option<Uuid>,
}

impl SignIn {
    /// `claim` and `redeem`.
    pub const CLI: SignIn = SignIn { method: SignInMethod::Cli, passkey_id: None };
    /// A one-time login link.
    pub const LINK: SignIn = SignIn { method: SignInMethod::Link, passkey_id: None };
    /// `harmont-auth token mint`.
    pub const OPERATOR: SignIn = SignIn { method: SignInMethod::Operator, passkey_id: None };

    pub fn passkey(passkey_id: Uuid) -> SignIn {
        SignIn { method: SignInMethod::Passkey, passkey_id: Some(passkey_id) }
    }
}

/// Drafts the sessions that sign-ins mint: a fresh token, and the row the
/// store writes (in the same statement that spends the grant, link or
/// ceremony paying for it), valid for the configured session window.
#[derive(Debug, Clone, Copy)]
pub struct SessionDrafts {
    session_ttl: Duration,
}

impl SessionDrafts {
    pub fn new(session_ttl: Duration) -> Self {
        Self { session_ttl }
    }

    /// A token and its session, signed in `sign_in` by `client` at `now`.
    pub fn draft(&self, client: &ClientInfo, now: Millis, sign_in: SignIn) -> (SessionToken, SessionDraft) {
        let token = SessionToken::generate();
        let draft = SessionDraft {
            id: Uuid::new_v4(),
            token_hash: token.hash(),
            created_at: now,
            expires_at: now + millis(self.session_ttl),
            user_agent: client.user_agent.as_deref().map(|ua| kept_user_agent(ua).to_owned()),
            ip: Some(client.ip.to_string()),
            method: sign_in.method,
            passkey_id: sign_in.passkey_id,
        };
        (token, draft)
    }
}

/// Adding or removing a credential (a passkey, a sign-in identity) and
/// deleting the account need a browser session signed in (passkey, link,
/// SSO) within the last [`REAUTHENTICATION_WINDOW`]; CLI and operator
/// sessions never qualify. Otherwise `403 reauthentication_required`. A
/// session stamped slightly in the future (another replica's clock) counts
/// as just signed in.
pub fn require_recent_sign_in(auth: &Authenticated, now: Millis) -> Result<(), ApiError> {
    forbid_api_key(auth)?;
    let session = &auth.session;
    if session.method.is_browser_sign_in() && now - session.created_at <= REAUTHENTICATION_WINDOW {
        Ok(())
    } else {
        Err(ApiError::new(ErrorCode::ReauthenticationRequired))
    }
}

/// `403 api_key_forbidden` for a key: what mints credentials or changes the
/// account needs a session token.
pub fn forbid_api_key(auth: &Authenticated) -> Result<(), ApiError> {
    if auth.is_api_key() {
        Err(ApiError::new(ErrorCode::ApiKeyForbidden))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use harmont_store::User;

    #[test]
    fn a_long_user_agent_is_cut_between_characters() {
        let long = "é".repeat(MAX_USER_AGENT + 10);
        assert_eq!(kept_user_agent(&long).chars().count(), MAX_USER_AGENT);
        assert_eq!(kept_user_agent("curl/8"), "curl/8");
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
