//! One-time login links: `harmont-auth user add` prints an enrollment link,
//! `harmont-auth user link` a new one for a lost passkey or a new browser.
//! The secret rides in the URL fragment (`/login#link=…`), which browsers
//! never send to a server; the page trades it for a session with a POST.
//! Only its SHA-256 is stored; it works once, within its validity: 24 hours
//! for the operator's links, 15 minutes for an emailed one, 60 seconds for
//! the one a single sign-on ends on.

use harmont_store::{LinkKey, LinkStore, Millis, NewLoginLink, Session, SessionDraft, Store};
use harmont_wire::token::{LinkSecret, SessionToken};
use harmont_wire::ErrorCode;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

use super::WebSignIn;
use crate::access::{ClientInfo, SignIn};
use crate::clock::{millis, Clock};
use crate::error::ApiError;

/// How long an operator's login link works.
pub const LINK_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// The login links' rows: issuing one, and spending one on the session it
/// pays for. Held by [`WebSignIn`] and by single sign-on, which ends on a link.
#[derive(Debug, Clone)]
pub struct Links {
    links: Arc<dyn LinkStore>,
    clock: Arc<dyn Clock>,
    /// Where the pages live (see [`super::web_base`]).
    web_base: String,
}

impl Links {
    pub(crate) fn new(store: &Arc<dyn Store>, clock: Arc<dyn Clock>, public_url: &str) -> Self {
        Self { links: store.clone(), clock, web_base: super::web_base(public_url) }
    }

    /// Stores a fresh link that works once within `ttl` and returns the URL to open.
    pub async fn issue(&self, user_id: Uuid, ttl: Duration) -> Result<String, ApiError> {
        let secret = LinkSecret::generate();
        let now = self.clock.now();
        let link = NewLoginLink {
            key_hash: LinkKey::from_hash(secret.hash()),
            user_id,
            created_at: now,
            expires_at: now + millis(ttl),
        };
        self.links.create_login_link(link).await?;
        crate::audit::Event::success("login_link_created").user(user_id).emit();
        Ok(format!("{}/login#link={}", self.web_base, secret.expose()))
    }

    /// Spends the link, minting `draft`'s session in the same statement.
    async fn consume(
        &self,
        secret: &LinkSecret,
        now: Millis,
        draft: SessionDraft,
    ) -> Result<Option<Session>, ApiError> {
        Ok(self.links.consume_login_link(&LinkKey::from_hash(secret.hash()), now, draft).await?)
    }
}

impl WebSignIn {
    /// Stores a fresh operator's link (24 hours) for the user and returns the URL to open.
    pub async fn create_login_link(&self, user_id: Uuid) -> Result<String, ApiError> {
        self.links.issue(user_id, LINK_TTL).await
    }

    /// Stores a fresh link that works once within `ttl` and returns the URL to open.
    pub async fn create_login_link_valid_for(&self, user_id: Uuid, ttl: Duration) -> Result<String, ApiError> {
        self.links.issue(user_id, ttl).await
    }

    /// Trades a link for a session token, once.
    pub async fn redeem_login_link(&self, raw: &str, client: &ClientInfo) -> Result<SessionToken, ApiError> {
        let redeemed = self.redeem_link_secret(raw, client).await;
        signed_in("link", &redeemed);
        redeemed.map(|(token, _)| token)
    }

    async fn redeem_link_secret(&self, raw: &str, client: &ClientInfo) -> Result<(SessionToken, Session), ApiError> {
        let secret = LinkSecret::parse(raw.trim()).ok_or_else(|| ApiError::new(ErrorCode::LinkInvalid))?;
        let now = self.clock.now();
        let (token, draft) = self.drafts.draft(client, now, SignIn::LINK);
        match self.links.consume(&secret, now, draft).await? {
            Some(session) => Ok((token, session)),
            None => Err(ApiError::new(ErrorCode::LinkInvalid)),
        }
    }
}

/// Counts and audits how a browser sign-in by `method` ended.
pub(crate) fn signed_in(method: &'static str, outcome: &Result<(SessionToken, harmont_store::Session), ApiError>) {
    let label = outcome.as_ref().map_or(method, |(_, session)| session.method.as_str());
    crate::metrics::sign_in(label, sign_in_result(outcome));
    match outcome {
        Ok((_, session)) => {
            // What the session records (a link an SSO sign-in ended on may say `sso`).
            let method = session.method.as_str();
            crate::metrics::session_created(session.method);
            crate::audit::Event::success("sign_in").user(session.user_id).subject(session.id).method(method).emit();
        }
        Err(err) => crate::audit::Event::failure("sign_in").method(method).reason(err.code.as_str()).emit(),
    }
}

/// How a sign-in ended, for the metrics: the store being away is no failure of the person's.
fn sign_in_result<T>(outcome: &Result<T, ApiError>) -> &'static str {
    match outcome {
        Ok(_) => "success",
        Err(err) if err.code == ErrorCode::UserDisabled => "user_disabled",
        Err(err) if err.status().is_server_error() => "error",
        Err(_) => "failure",
    }
}
