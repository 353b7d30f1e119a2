//! The web pages `harmont-auth serve` serves itself, and the sign-in behind
//! them ([`WebSignIn`]): one-time login links (`links.rs`), emailed ones
//! (`email_links.rs`), passkeys over WebAuthn (`passkeys.rs`) and the pages
//! with their embedded assets and security headers (`pages.rs`). Their JSON
//! endpoints are HTTP handlers, in `http/web_sign_in.rs`.

pub mod email_links;
pub mod links;
pub mod pages;
pub mod passkeys;

use harmont_store::{CeremonyStore, PasskeyStore, Store, UserStore};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;
use tokio_util::sync::CancellationToken;
use url::Url;
use webauthn_rs::prelude::Webauthn;

use crate::access::SessionDrafts;
use crate::auth_cache::Revocations;
use crate::clock::Clock;
use crate::rate_limit::{FailureLimiter, Rate};

/// Signing in through the pages: login links (the operator's and emailed
/// ones) and passkeys. It reads users (to mail a link to an address), keeps
/// passkeys and their ceremonies, mints sessions only by spending a link or
/// a ceremony, and may end the sessions a removed passkey signed in.
#[derive(Debug)]
pub struct WebSignIn {
    users: Arc<dyn UserStore>,
    passkeys: Arc<dyn PasskeyStore>,
    ceremonies: Arc<dyn CeremonyStore>,
    links: links::Links,
    clock: Arc<dyn Clock>,
    drafts: SessionDrafts,
    revocations: Revocations,
    /// Built once at start, from the public URL.
    webauthn: Webauthn,
    web_base: String,
    /// Unauthenticated starts that store a row (shared with the CLI's device
    /// requests and single sign-on starts).
    starts: Arc<FailureLimiter>,
    mail: Option<crate::mail::Outbox>,
    email_link_limiter: FailureLimiter,
    mail_limiter: FailureLimiter<[u8; 32]>,
    shutdown: CancellationToken,
}

/// What [`WebSignIn::new`] is built from, besides the store and the clock.
#[derive(Debug)]
pub(crate) struct WebSignInParts<'a> {
    pub public_url: &'a str,
    pub drafts: SessionDrafts,
    pub revocations: Revocations,
    pub starts: Arc<FailureLimiter>,
    pub mail: Option<&'a crate::mail::MailSettings>,
    pub email_link_requests: Rate,
    pub mails_per_address: Rate,
    pub shutdown: CancellationToken,
}

impl WebSignIn {
    /// Fails only when WebAuthn cannot take the public URL's origin.
    pub(crate) fn new(
        store: &Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        parts: WebSignInParts<'_>,
    ) -> Result<Self, String> {
        Ok(Self {
            users: store.clone(),
            passkeys: store.clone(),
            ceremonies: store.clone(),
            links: links::Links::new(store, clock.clone(), parts.public_url),
            clock,
            drafts: parts.drafts,
            revocations: parts.revocations,
            webauthn: passkeys::relying_party(parts.public_url)?,
            web_base: web_base(parts.public_url),
            starts: parts.starts,
            mail: parts.mail.map(|mail| crate::mail::Outbox::new(mail, parts.public_url)),
            email_link_limiter: FailureLimiter::new(parts.email_link_requests),
            mail_limiter: FailureLimiter::new(parts.mails_per_address),
            shutdown: parts.shutdown,
        })
    }

    /// What issues login links, for single sign-on to end on one.
    pub(crate) fn links(&self) -> &links::Links {
        &self.links
    }

    /// Forgets limits that have run out.
    pub(crate) fn forget_idle(&self, now: Instant) {
        self.email_link_limiter.forget_idle(now);
        self.mail_limiter.forget_idle(now);
    }
}

/// The origin the pages live at, derived from the public URL. Browsers refuse
/// an IP address as a WebAuthn relying-party id, so a loopback IP becomes
/// `localhost` (which browsers also treat as a secure context); pages asked
/// for at the IP redirect there. So does `0.0.0.0` (`serve --listen
/// 0.0.0.0:…` without `--public-url`), which no browser can open anyway.
pub fn web_origin(public_url: &str) -> Url {
    let mut url = Url::parse(public_url).unwrap_or_else(|_| Url::parse("http://localhost:8080").expect("static URL"));
    let loopback_ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback() || ip.is_unspecified(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback() || ip.is_unspecified(),
        _ => false,
    };
    if loopback_ip {
        let _ = url.set_host(Some("localhost"));
    }
    url.set_path("");
    url.set_query(None);
    url.set_fragment(None);
    url
}

/// `web_origin` as text, without the trailing slash `Url` puts on an empty path.
pub fn web_base(public_url: &str) -> String {
    web_origin(public_url).as_str().trim_end_matches('/').to_owned()
}

/// Whether the public URL's host had to be rewritten (see [`web_origin`]).
pub fn origin_rewritten(public_url: &str) -> bool {
    Url::parse(public_url).ok().and_then(|u| u.host_str().map(str::to_owned))
        != web_origin(public_url).host_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_ips_become_localhost() {
        assert_eq!(web_base("http://127.0.0.1:8080"), "http://localhost:8080");
        assert_eq!(web_base("http://[::1]:9000/"), "http://localhost:9000");
        assert_eq!(web_base("https://auth.example.com"), "https://auth.example.com");
        assert_eq!(web_base("http://localhost:3000"), "http://localhost:3000");
        assert_eq!(web_base("http://0.0.0.0:8080"), "http://localhost:8080");
        assert!(origin_rewritten("http://127.0.0.1:8080"));
        assert!(!origin_rewritten("https://auth.example.com"));
    }
}
