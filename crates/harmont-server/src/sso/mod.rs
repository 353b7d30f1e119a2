//! Single sign-on: the flow between `/api/v0/auth/sso/{provider}/start` and
//! its callback, and which user an identity signs in as. The browser holds a
//! random reference in an HttpOnly, SameSite=Lax cookie (10 minutes); the
//! store keeps the flow under its SHA-256; `state`, `nonce` and the PKCE
//! verifier are derived from the reference, so nothing stored is secret and
//! a callback without this browser's cookie fails. A flow is used once.
//! Every success ends on `/login#link=…`: a one-time link valid 60 seconds,
//! which the page trades for a session as it does for any link.
//!
//! Which user: a linked identity (issuer + subject) always signs in as its
//! user. A first sign-in needs an email the provider verified; it links to
//! the user with that email, or, with none, creates one if `HARMONT_SIGNUP`
//! admits it (in the same transaction as the identity: both or neither).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use harmont_store::{
    CeremonyStore, IdentityStore, NewIdentity, NewSsoFlow, NewUser, SsoFlowKey, Store, StoreError, UserStore,
};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

use crate::clock::{millis, Clock};
use crate::providers::github::GithubProvider;
use crate::providers::oidc::OidcProvider;
use crate::providers::{ProviderError, ProviderIdentity, SignupPolicy};
use crate::rate_limit::FailureLimiter;
use crate::web::links::Links;

/// How long a started sign-in may take at the provider.
pub const FLOW_TTL: Duration = Duration::from_secs(10 * 60);
/// The link a successful sign-on ends on works once within this.
pub const SSO_LINK_TTL: Duration = Duration::from_secs(60);
/// The cookie that binds a flow to the browser that started it.
pub const COOKIE: &str = "harmont_sso";

/// Why a sign-on ends on an error page: each with its status and words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SsoFailure {
    /// No such provider configured here.
    UnknownProvider,
    /// Too many sign-ins started from this address.
    TooMany,
    /// No flow for this browser: never started here, expired, or used.
    NoFlow,
    /// `state` is missing or not this flow's: a forged or replayed callback.
    StateMismatch,
    /// The person (or the provider) said no: `error=access_denied`.
    Denied,
    /// The provider answered the callback with another error.
    ProviderRefused(String),
    /// The callback had no code.
    NoCode,
    /// The code exchange, the ID token or userinfo failed.
    Provider(ProviderError),
    /// A first sign-in without an email the provider verified.
    EmailNotVerified,
    /// No account, and sign-up is by invitation.
    SignupClosed,
    /// No account, and the email's domain may not sign up.
    DomainNotAllowed,
    /// The store failed.
    Unavailable,
}

impl SsoFailure {
    /// 403 where a policy refuses the person, 400 where the flow is broken.
    pub fn status(&self) -> u16 {
        match self {
            Self::UnknownProvider => 404,
            Self::TooMany => 429,
            Self::Denied | Self::EmailNotVerified | Self::SignupClosed | Self::DomainNotAllowed => 403,
            Self::Unavailable => 503,
            _ => 400,
        }
    }

    /// The page's heading and explanation.
    pub fn words(&self) -> (&'static str, &'static str) {
        match self {
            Self::UnknownProvider => ("No such sign-in", "This server does not offer that way to sign in."),
            Self::TooMany => ("Too many sign-ins", "Too many sign-ins were started from your address. Wait a minute and try again."),
            Self::NoFlow => (
                "This sign-in has expired",
                "It was not started in this browser, took longer than 10 minutes, or was already used. Start again.",
            ),
            Self::StateMismatch => (
                "This sign-in could not be checked",
                "The answer that came back does not belong to the sign-in started in this browser, so it was not used. Start again.",
            ),
            Self::Denied => ("Sign-in cancelled", "The sign-in was cancelled or refused at your provider. Nothing was changed."),
            Self::ProviderRefused(_) => ("Your provider refused", "Your provider ended the sign-in with an error. Try again, or ask an administrator."),
            Self::NoCode => ("This sign-in is incomplete", "Your provider sent no authorization code back. Start again."),
            Self::Provider(_) => (
                "Your provider's answer was not accepted",
                "Harmont could not confirm who you are with your provider. Try again; if it keeps happening, ask an administrator.",
            ),
            Self::EmailNotVerified => (
                "Your email is not verified",
                "Your provider did not confirm that the email address is yours, so it cannot be used to sign in here. Verify it with your provider, or sign in another way.",
            ),
            Self::SignupClosed => (
                "No account for you yet",
                "There is no Harmont account with your email, and accounts here are made by invitation. Ask an administrator to add you.",
            ),
            Self::DomainNotAllowed => (
                "No account for you yet",
                "There is no Harmont account with your email, and accounts can be made only for the allowed email domains. Ask an administrator.",
            ),
            Self::Unavailable => ("Try again shortly", "The service is unavailable right now."),
        }
    }
}

impl From<StoreError> for SsoFailure {
    fn from(err: StoreError) -> Self {
        tracing::warn!(error = %err, "single sign-on: the store failed");
        Self::Unavailable
    }
}

/// What the browser's cookie holds: 32 random bytes, base64url. Everything
/// secret about the flow is derived from it.
#[derive(Clone)]
pub struct FlowReference(String);

impl std::fmt::Debug for FlowReference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FlowReference(redacted)")
    }
}

impl FlowReference {
    pub fn generate() -> Self {
        Self(URL_SAFE_NO_PAD.encode(harmont_wire::random::bytes::<32>()))
    }

    /// The cookie's value, if it has the shape of one.
    pub fn parse(raw: &str) -> Option<Self> {
        let ok = raw.len() == 43 && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn key_hash(&self) -> SsoFlowKey {
        SsoFlowKey::from_hash(self.derive_raw("key"))
    }

    fn derive_raw(&self, label: &str) -> [u8; 32] {
        let mut hash = Sha256::new();
        hash.update(b"harmont sso ");
        hash.update(label.as_bytes());
        hash.update(b"\0");
        hash.update(self.0.as_bytes());
        hash.finalize().into()
    }

    fn derive(&self, label: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.derive_raw(label))
    }

    pub fn state(&self) -> String {
        self.derive("state")
    }

    pub fn nonce(&self) -> String {
        self.derive("nonce")
    }

    /// The PKCE verifier: 43 base64url characters.
    pub fn code_verifier(&self) -> String {
        self.derive("pkce")
    }

    pub fn code_challenge(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.code_verifier().as_bytes()))
    }
}

/// A configured provider.
enum Provider {
    Oidc(std::sync::Arc<crate::providers::oidc::OidcProvider>),
    Github(std::sync::Arc<crate::providers::github::GithubProvider>),
}

/// What the provider sent back to the callback.
#[derive(Debug, Default, serde::Deserialize)]
pub struct CallbackQuery {
    pub state: Option<String>,
    pub code: Option<String>,
    pub error: Option<String>,
    pub iss: Option<String>,
}

/// A `next` that is a path on this site, or `/settings`.
pub fn local_next(next: Option<&str>) -> String {
    let fallback = "/settings".to_owned();
    let Some(next) = next else { return fallback };
    let plain = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control)
        && next.len() <= 512;
    if plain {
        next.to_owned()
    } else {
        fallback
    }
}

/// Single sign-on: the configured providers and who may sign up through
/// them, the flows between start and callback, identities and the users
/// they sign in as (created with their identity, never alone), and the
/// login links every success ends on.
#[derive(Debug)]
pub struct SingleSignOn {
    flows: Arc<dyn CeremonyStore>,
    identities: Arc<dyn IdentityStore>,
    users: Arc<dyn UserStore>,
    links: Links,
    clock: Arc<dyn Clock>,
    /// Unauthenticated starts that store a row (shared with passkey sign-in
    /// starts and the CLI's device requests).
    starts: Arc<FailureLimiter>,
    oidc: Option<Arc<OidcProvider>>,
    github: Option<Arc<GithubProvider>>,
    signup: SignupPolicy,
    /// Where the pages live (see [`crate::web::web_base`]).
    web_base: String,
    /// Whether users may also sign in by an emailed link, so that unlinking
    /// their last identity does not lock them out.
    email_links: bool,
}

/// What [`SingleSignOn::new`] is built from, besides the store and the clock.
#[derive(Debug)]
pub(crate) struct SingleSignOnParts {
    pub links: Links,
    pub starts: Arc<FailureLimiter>,
    pub oidc: Option<Arc<OidcProvider>>,
    pub github: Option<Arc<GithubProvider>>,
    pub signup: SignupPolicy,
    pub public_url: String,
    pub email_links: bool,
}

impl SingleSignOn {
    pub(crate) fn new(store: &Arc<dyn Store>, clock: Arc<dyn Clock>, parts: SingleSignOnParts) -> Self {
        Self {
            flows: store.clone(),
            identities: store.clone(),
            users: store.clone(),
            links: parts.links,
            clock,
            starts: parts.starts,
            oidc: parts.oidc,
            github: parts.github,
            signup: parts.signup,
            web_base: crate::web::web_base(&parts.public_url),
            email_links: parts.email_links,
        }
    }
}

impl SingleSignOn {
    /// The providers configured here, as `(id, name)`, in button order.
    pub fn sso_providers(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(oidc) = &self.oidc {
            out.push(("oidc", oidc.name().to_owned()));
        }
        if self.github.is_some() {
            out.push(("github", "GitHub".to_owned()));
        }
        out
    }

    fn provider(&self, id: &str) -> Result<Provider, SsoFailure> {
        match id {
            "oidc" => self.oidc.clone().map(Provider::Oidc),
            "github" => self.github.clone().map(Provider::Github),
            _ => None,
        }
        .ok_or(SsoFailure::UnknownProvider)
    }

    /// Where the provider sends the browser back.
    pub fn sso_redirect_uri(&self, provider: &str) -> String {
        format!("{}/api/v0/auth/sso/{provider}/callback", self.web_base)
    }

    /// Starts a sign-in: the provider's URL to send the browser to, and the
    /// reference for the cookie.
    pub async fn sso_start(
        &self,
        provider: &str,
        next: Option<&str>,
        client: &crate::cli_login::ClientInfo,
    ) -> Result<(String, FlowReference), SsoFailure> {
        let chosen = self.provider(provider)?;
        self.starts.take(client.ip, std::time::Instant::now()).map_err(|_| SsoFailure::TooMany)?;
        let reference = FlowReference::generate();
        let now = self.clock.now();
        self.flows
            .park_sso_flow(NewSsoFlow {
                key_hash: reference.key_hash(),
                provider: provider.to_owned(),
                next: local_next(next),
                created_at: now,
                expires_at: now + millis(FLOW_TTL),
            })
            .await?;
        let redirect_uri = self.sso_redirect_uri(provider);
        let url = match chosen {
            Provider::Oidc(oidc) => oidc.authorization_url(
                &redirect_uri,
                &reference.state(),
                &reference.nonce(),
                &reference.code_challenge(),
            ),
            Provider::Github(github) => {
                github.authorization_url(&redirect_uri, &reference.state(), &reference.code_challenge())
            }
        };
        Ok((url, reference))
    }

    /// Finishes a sign-in: the `/login?next=…#link=…` to send the browser to.
    pub async fn sso_callback(
        &self,
        provider: &str,
        reference: Option<FlowReference>,
        query: CallbackQuery,
    ) -> Result<String, SsoFailure> {
        let chosen = self.provider(provider)?;
        let reference = reference.ok_or(SsoFailure::NoFlow)?;
        // Taken first, so that whatever happens next the flow is spent.
        let flow = self.flows.take_sso_flow(&reference.key_hash(), self.clock.now()).await?;
        let flow = flow.filter(|f| f.provider == provider).ok_or(SsoFailure::NoFlow)?;
        let state_ok = query.state.as_deref().is_some_and(|s| {
            use subtle::ConstantTimeEq;
            bool::from(s.as_bytes().ct_eq(reference.state().as_bytes()))
        });
        if !state_ok {
            return Err(SsoFailure::StateMismatch);
        }
        if let Some(error) = query.error {
            return Err(if error == "access_denied" { SsoFailure::Denied } else { SsoFailure::ProviderRefused(error) });
        }
        let code = query.code.filter(|c| !c.is_empty()).ok_or(SsoFailure::NoCode)?;
        let redirect_uri = self.sso_redirect_uri(provider);
        let identity = match chosen {
            Provider::Oidc(oidc) => {
                // RFC 9207: a provider that names itself must be ours.
                if query.iss.as_deref().is_some_and(|iss| iss != oidc.issuer()) {
                    let why = "the callback names another issuer".to_owned();
                    return Err(SsoFailure::Provider(ProviderError::BadIdToken(why)));
                }
                oidc.identify(&code, &reference.code_verifier(), &redirect_uri, &reference.nonce()).await
            }
            Provider::Github(github) => github.identify(&code, &reference.code_verifier(), &redirect_uri).await,
        }
        .map_err(SsoFailure::Provider)?;
        let user_id = self.user_for_identity(&identity).await?;
        let link = self.links.issue(user_id, SSO_LINK_TTL).await.map_err(|_| SsoFailure::Unavailable)?;
        let secret = link.split_once("#link=").map_or("", |(_, s)| s);
        let next = url::form_urlencoded::byte_serialize(flow.next.as_bytes()).collect::<String>();
        Ok(format!("/login?next={next}#link={secret}"))
    }

    /// Which user the identity signs in as, linking or creating as the rules say.
    pub async fn user_for_identity(&self, identity: &ProviderIdentity) -> Result<Uuid, SsoFailure> {
        let now = self.clock.now();
        let verified_email = identity.email.as_deref().filter(|_| identity.email_verified);
        if let Some(linked) = self.identities.identity_by_subject(&identity.issuer, &identity.subject).await? {
            self.identities.touch_identity(linked.id, verified_email, now).await?;
            return Ok(linked.user_id);
        }
        let email = verified_email.filter(|e| crate::users::looks_like_email(e)).ok_or(SsoFailure::EmailNotVerified)?;
        let existing = self.users.user_by_email(email).await?;
        let (user_id, new_user) = match existing {
            Some(user) => (user.id, None),
            None => {
                match &self.signup {
                    crate::providers::SignupPolicy::Invite => return Err(SsoFailure::SignupClosed),
                    policy if !policy.admits(email) => return Err(SsoFailure::DomainNotAllowed),
                    _ => {}
                }
                let id = Uuid::new_v4();
                let slug = email.split('@').next().map(crate::users::slug_of);
                let user = NewUser {
                    id,
                    email: email.to_owned(),
                    name: identity.name.clone(),
                    personal_org_slug: slug,
                    created_at: now,
                };
                (id, Some(user))
            }
        };
        let created = NewIdentity {
            id: Uuid::new_v4(),
            user_id,
            provider: identity.provider.to_owned(),
            issuer: identity.issuer.clone(),
            subject: identity.subject.clone(),
            email: Some(email.to_owned()),
            created_at: now,
        };
        let created_user = new_user.is_some();
        match self.identities.create_identity(created, new_user).await {
            Ok(_) => {
                tracing::info!(user = %user_id, provider = identity.provider, created_user, "linked a sign-in identity");
                Ok(user_id)
            }
            // Two first sign-ins at once: the other one linked it.
            Err(StoreError::Conflict(_)) => {
                let linked = self.identities.identity_by_subject(&identity.issuer, &identity.subject).await?;
                linked.map(|l| l.user_id).ok_or(SsoFailure::Unavailable)
            }
            Err(err) => Err(err.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(local_next(Some("/cli-login?x=1")), "/cli-login?x=1");
        for bad in
            ["https://evil.example", "//evil.example", "/\\evil.example", "javascript:alert(1)", "settings", "/a\nb"]
        {
            assert_eq!(local_next(Some(bad)), "/settings", "{bad}");
        }
        assert_eq!(local_next(None), "/settings");
    }

    #[test]
    fn flow_secrets_derive_from_the_reference_and_stay_hidden() {
        let reference = FlowReference::generate();
        assert_eq!(FlowReference::parse(reference.expose()).map(|r| r.state()), Some(reference.state()));
        assert_ne!(reference.state(), reference.nonce());
        assert_eq!(reference.code_verifier().len(), 43);
        assert_eq!(format!("{reference:?}"), "FlowReference(redacted)");
        assert!(FlowReference::parse("short").is_none());
    }

    /// What a flow is stored under and sends to the provider, for a known
    /// reference (bytes 32 to 63 in base64url), computed outside this crate
    /// (Python's `hashlib`): a change would lose the flows under way.
    #[test]
    fn flow_derivations_are_pinned() {
        let reference = FlowReference::parse("ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8").unwrap();
        let key: String = reference.key_hash().as_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(key, "6cbde79098fafeb952a03bd89c50c82d85132a304cb79a14baef141f5ed9a16e");
        assert_eq!(reference.state(), "z6-hCWbvZtzZYJniEt1L1wm1TvHMwdFSFi5t7ugGIA4");
        assert_eq!(reference.nonce(), "DCnw4lV37L5P54qAgsBV24qLIhGEUiBFah0kEujOHC0");
        assert_eq!(reference.code_verifier(), "57XISBf5RjaP3JLOOg46L10NA8m-KZNxkAtIMtgIGk0");
        assert_eq!(reference.code_challenge(), "lGQsJizGQPBcqtnrCmnzBc6Dk5BLJfiEVyKEJQHLBTg");
        assert_eq!(format!("{reference:?}"), "FlowReference(redacted)");
        assert_ne!(FlowReference::generate().expose(), FlowReference::generate().expose());
    }
}

/// A linked identity, as the settings page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentitySummary {
    pub id: Uuid,
    /// `oidc` or `github`.
    pub provider: String,
    /// The provider's label (the OpenID provider's button name, or "GitHub").
    pub provider_name: String,
    pub email: Option<String>,
    pub created_at: harmont_store::Millis,
    pub last_used_at: Option<harmont_store::Millis>,
}

impl SingleSignOn {
    /// The signed-in user's linked identities, oldest first.
    pub async fn list_identities(
        &self,
        auth: &harmont_store::Authenticated,
    ) -> Result<Vec<IdentitySummary>, crate::error::ApiError> {
        let identities = self.identities.list_identities(auth.user.id).await?;
        Ok(identities
            .into_iter()
            .map(|i| IdentitySummary {
                provider_name: match (i.provider.as_str(), &self.oidc) {
                    ("github", _) => "GitHub".to_owned(),
                    ("oidc", Some(oidc)) if oidc.issuer() == i.issuer => oidc.name().to_owned(),
                    _ => i.issuer.clone(),
                },
                id: i.id,
                provider: i.provider,
                email: i.email,
                created_at: i.created_at,
                last_used_at: i.last_used_at,
            })
            .collect())
    }

    /// Unlinks one of the signed-in user's identities: after a recent
    /// browser sign-in, and never the last way to sign in (where this server
    /// mails no links, a user with no passkey and no other identity keeps it).
    pub async fn unlink_identity(
        &self,
        auth: &harmont_store::Authenticated,
        id: Uuid,
    ) -> Result<(), crate::error::ApiError> {
        use crate::error::ApiError;
        use harmont_store::IdentityRemoval;
        use harmont_wire::ErrorCode;
        crate::access::require_recent_sign_in(auth, self.clock.now())?;
        let keep_last = !self.email_links;
        match self.identities.delete_identity(auth.user.id, id, keep_last).await? {
            IdentityRemoval::Removed => {
                tracing::info!(user_id = %auth.user.id, identity_id = %id, "sign-in identity unlinked");
                Ok(())
            }
            IdentityRemoval::NotFound => Err(ApiError::new(ErrorCode::IdentityNotFound)),
            IdentityRemoval::LastWay => Err(ApiError::new(ErrorCode::LastSignInMethod)),
        }
    }
}
