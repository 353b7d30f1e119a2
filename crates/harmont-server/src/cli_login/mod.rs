//! The CLI login handoff, one file per operation:
//! - `transfer`: the signed-in web page parks a grant under the CLI's nonce;
//! - `claim`: the CLI collects it (optionally long-polling), minting its token;
//! - `code`: the web page parks a grant under a paste code it shows;
//! - `redeem`: the CLI trades the typed code for its token.
//!
//! A grant names a user, not a token: the token is minted inside the atomic
//! consume, so a login nobody collects leaves no live session behind.

mod claim;
mod code;
pub mod device;
mod redeem;
pub mod seen;
mod transfer;

use harmont_store::{GrantKey, GrantKind, GrantStore, Store};
use harmont_wire::token::SessionToken;
use harmont_wire::{pkce, ErrorCode};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

use crate::access::{SessionDrafts, SignIn};
use crate::claim_memory::seen::SeenClaims;
use crate::claim_memory::waiters::Waiters;
use crate::clock::Clock;
use crate::error::ApiError;
use crate::rate_limit::{FailureLimiter, LongPolls};
use crate::secret::ServerSecret;

pub use crate::access::ClientInfo;

/// The windows the handoff runs with (see `Settings`).
#[derive(Debug, Clone, Copy)]
pub struct LoginWindows {
    pub transfer_ttl: Duration,
    pub paste_ttl: Duration,
    /// The longest `Prefer: wait` honoured.
    pub max_wait: Duration,
    /// How often a waiting claim re-reads the store, to see grants parked by
    /// another replica.
    pub recheck_every: Duration,
}

/// The CLI login handoff: the grants and device requests it parks and
/// spends (spending one mints its session in the same store call), the
/// server secret that keys paste and device codes, the claims waiting in
/// this process and where they came from, and the limits on failed claims
/// and redeems, held claims and unauthenticated starts.
#[derive(Debug)]
pub struct CliLogin {
    grants: Arc<dyn GrantStore>,
    clock: Arc<dyn Clock>,
    drafts: SessionDrafts,
    secret: ServerSecret,
    windows: LoginWindows,
    waiters: Waiters,
    seen_claims: SeenClaims,
    claim_limiter: FailureLimiter,
    redeem_limiter: FailureLimiter,
    /// Unauthenticated starts that store a row (device requests here; shared
    /// with passkey and single sign-on starts).
    starts: Arc<FailureLimiter>,
    long_polls: LongPolls,
    /// Cancelled on shutdown, so long polls answer at once instead of holding it up.
    shutdown: CancellationToken,
}

/// What [`CliLogin::new`] is built from, besides the store and the clock.
#[derive(Debug)]
pub(crate) struct CliLoginParts {
    pub drafts: SessionDrafts,
    pub secret: ServerSecret,
    pub windows: LoginWindows,
    pub claim_failures: crate::rate_limit::Rate,
    pub redeem_failures: crate::rate_limit::Rate,
    pub starts: Arc<FailureLimiter>,
    pub long_polls: LongPolls,
    pub shutdown: CancellationToken,
}

impl CliLogin {
    pub(crate) fn new(store: &Arc<dyn Store>, clock: Arc<dyn Clock>, parts: CliLoginParts) -> Self {
        Self {
            grants: store.clone(),
            clock,
            drafts: parts.drafts,
            secret: parts.secret,
            windows: parts.windows,
            waiters: Waiters::default(),
            seen_claims: SeenClaims::default(),
            claim_limiter: FailureLimiter::new(parts.claim_failures),
            redeem_limiter: FailureLimiter::new(parts.redeem_failures),
            starts: parts.starts,
            long_polls: parts.long_polls,
            shutdown: parts.shutdown,
        }
    }

    /// The windows this server's logins run with.
    pub fn windows(&self) -> LoginWindows {
        self.windows
    }

    /// How many nonces have a claim waiting on them in this process.
    pub fn waiting_claims(&self) -> usize {
        self.waiters.keys_waited_on()
    }

    /// Claims held open right now, in this process.
    pub fn held_long_polls(&self) -> usize {
        self.long_polls.held()
    }

    /// Wakes the claims waiting here on a grant another process parked.
    pub(crate) fn parked_elsewhere(&self, key_hash: &GrantKey) {
        self.waiters.wake(key_hash);
    }

    /// Forgets failure counts that have run out.
    pub(crate) fn forget_idle(&self, now: Instant) {
        self.claim_limiter.forget_idle(now);
        self.redeem_limiter.forget_idle(now);
    }

    /// Consumes the grant and mints the session it pays for, in one store call.
    async fn consume(
        &self,
        kind: GrantKind,
        key_hash: &GrantKey,
        code_challenge: Option<&str>,
        client: &ClientInfo,
    ) -> Result<Option<SessionToken>, ApiError> {
        let now = self.clock.now();
        let (token, draft) = self.drafts.draft(client, now, SignIn::CLI);
        let session = self.grants.consume_grant(kind, key_hash, code_challenge, now, draft).await?;
        if let Some(session) = &session {
            crate::metrics::session_created(harmont_store::SignInMethod::Cli);
            crate::metrics::sign_in("cli", "success");
            crate::audit::Event::success(collected(kind))
                .user(session.user_id)
                .subject(session.id)
                .method("cli")
                .emit();
        }
        Ok(session.map(|_| token))
    }

    /// [`CliLogin::consume`], counting a disabled user's refusal.
    async fn consume_counted(
        &self,
        kind: GrantKind,
        key_hash: &GrantKey,
        code_challenge: Option<&str>,
        client: &ClientInfo,
    ) -> Result<Option<SessionToken>, ApiError> {
        let consumed = self.consume(kind, key_hash, code_challenge, client).await;
        if consumed.as_ref().is_err_and(|err| err.code == ErrorCode::UserDisabled) {
            crate::metrics::sign_in("cli", "user_disabled");
            crate::audit::Event::failure(collected(kind)).method("cli").reason(ErrorCode::UserDisabled.as_str()).emit();
        }
        consumed
    }
}

/// The audit event of collecting a grant of this kind.
fn collected(kind: GrantKind) -> &'static str {
    match kind {
        GrantKind::Transfer => "token_claimed",
        GrantKind::Paste => "token_redeemed",
    }
}

fn check_challenge(challenge: Option<&str>) -> Result<(), ApiError> {
    match challenge {
        Some(c) if !pkce::is_valid_challenge(c) => Err(ApiError::new(ErrorCode::CodeChallengeInvalid)),
        _ => Ok(()),
    }
}
