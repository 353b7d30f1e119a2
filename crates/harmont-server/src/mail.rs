//! Outgoing mail over SMTP (`lettre`), for emailed sign-in links.
//! `HARMONT_SMTP_URL` says where: `smtp://[user:pass@]host[:port]` upgrades
//! with STARTTLS when the server offers it (`?tls=required` insists on it),
//! `smtps://` speaks TLS from the first byte. Credentials ride in the URL and
//! never reach a log line: [`SmtpUrl`]'s `Debug` leaves them out.

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::mpsc;

/// How long one SMTP conversation may take before the send counts as failed.
const SMTP_TIMEOUT: Duration = Duration::from_secs(15);

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// `smtp://`: STARTTLS when the server offers it, plain otherwise.
    Opportunistic,
    /// `smtp://…?tls=required`: STARTTLS or no mail.
    Required,
    /// `smtps://`: TLS from the start.
    Wrapper,
}

/// A checked `HARMONT_SMTP_URL`.
#[derive(Clone)]
pub struct SmtpUrl {
    host: String,
    port: u16,
    security: SmtpSecurity,
    credentials: Option<(String, String)>,
}

impl SmtpUrl {
    /// `smtp://` defaults to port 587 (submission), `smtps://` to 465.
    pub fn parse(text: &str) -> Result<Self, String> {
        let shape = "expected smtp://[user:password@]host[:port][?tls=required] or smtps://[user:password@]host[:port]";
        let url = url::Url::parse(text.trim()).map_err(|e| format!("not a URL ({e}); {shape}"))?;
        let host = url.host_str().filter(|h| !h.is_empty()).ok_or_else(|| format!("no host; {shape}"))?;
        // `Url` keeps brackets around IPv6 literals; a TLS server name has none.
        let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        let mut tls = None;
        for (key, value) in url.query_pairs() {
            match (key.as_ref(), value.as_ref()) {
                ("tls", "required" | "opportunistic") if tls.is_none() => tls = Some(value.into_owned()),
                _ => return Err(format!("unknown query `{key}={value}`; {shape}")),
            }
        }
        let security = match (url.scheme(), tls.as_deref()) {
            ("smtp", None | Some("opportunistic")) => SmtpSecurity::Opportunistic,
            ("smtp", Some(_)) => SmtpSecurity::Required,
            ("smtps", None) => SmtpSecurity::Wrapper,
            ("smtps", Some(_)) => return Err(format!("smtps:// is always TLS: drop `?tls=`; {shape}")),
            (scheme, _) => return Err(format!("unknown scheme `{scheme}`; {shape}")),
        };
        let port = url.port().unwrap_or(if security == SmtpSecurity::Wrapper { 465 } else { 587 });
        let decode = |s: &str| percent_decode(s).ok_or_else(|| format!("the credentials are not valid UTF-8; {shape}"));
        let credentials = match (url.username(), url.password()) {
            ("", None) => None,
            (user, password) => Some((decode(user)?, decode(password.unwrap_or(""))?)),
        };
        TlsParameters::new(host.clone()).map_err(|e| format!("`{host}` cannot be a TLS server name ({e})"))?;
        Ok(Self { host, port, security, credentials })
    }

    pub fn security(&self) -> SmtpSecurity {
        self.security
    }

    /// Whether a password could travel unencrypted: credentials over
    /// opportunistic STARTTLS to a server that is not this machine.
    pub fn credentials_may_travel_in_clear(&self) -> bool {
        let local = self.host == "localhost" || self.host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
        self.credentials.is_some() && self.security == SmtpSecurity::Opportunistic && !local
    }
}

impl fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpUrl")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("credentials", &self.credentials.as_ref().map(|_| "redacted"))
            .finish()
    }
}

fn percent_decode(text: &str) -> Option<String> {
    percent_encoding::percent_decode_str(text).decode_utf8().ok().map(|s| s.into_owned())
}

/// A checked `HARMONT_MAIL_FROM`: `harmont@example.com` or `Harmont <harmont@example.com>`.
pub fn parse_mail_from(text: &str) -> Result<Mailbox, String> {
    text.trim().parse::<Mailbox>().map_err(|e| format!("not a mail address ({e}), such as Harmont <auth@example.com>"))
}

/// Where mail goes and whom it is from.
#[derive(Debug, Clone)]
pub struct MailSettings {
    pub smtp: SmtpUrl,
    pub from: Mailbox,
}

/// Requests waiting for the mail worker; past this they are dropped (and logged).
pub const MAIL_QUEUE: usize = 256;

/// An address to send a sign-in link to, queued for the worker
/// (`web/email_links.rs`).
#[derive(Debug)]
pub struct MailRequest {
    pub email: String,
}

/// The mailer and the queue in front of it.
#[derive(Debug)]
pub struct Outbox {
    pub mailer: Mailer,
    pub queue: mpsc::Sender<MailRequest>,
    /// The worker's end, until [`Outbox::take_queue`] hands it out.
    pending: Mutex<Option<mpsc::Receiver<MailRequest>>>,
}

impl Outbox {
    pub fn new(settings: &MailSettings, public_url: &str) -> Self {
        let mailer = Mailer::new(settings, hello_name(public_url));
        let (queue, pending) = mpsc::channel(MAIL_QUEUE);
        Self { mailer, queue, pending: Mutex::new(Some(pending)) }
    }

    /// The worker's end of the queue, once.
    pub fn take_queue(&self) -> Option<mpsc::Receiver<MailRequest>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// What we call ourselves in `EHLO`: the public URL's host, an address
/// literal for an IP.
pub fn hello_name(public_url: &str) -> ClientId {
    match url::Url::parse(public_url).ok().and_then(|url| url.host().map(|h| h.to_owned())) {
        Some(url::Host::Domain(domain)) => ClientId::Domain(domain),
        Some(url::Host::Ipv4(ip)) => ClientId::Ipv4(ip),
        Some(url::Host::Ipv6(ip)) => ClientId::Ipv6(ip),
        None => ClientId::Domain("localhost".to_owned()),
    }
}

/// Sends mail. One SMTP connection per message: sign-in mails are rare.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailer").field("from", &self.from).finish_non_exhaustive()
    }
}

/// Why a mail was not sent. Its text carries the SMTP server's answer, never
/// the message.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("cannot build the message: {0}")]
    Message(#[from] lettre::error::Error),
    #[error("not a mail address: {0}")]
    Address(#[from] lettre::address::AddressError),
    #[error("the SMTP server did not take the message: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
}

impl Mailer {
    /// `hello_name` is what we call ourselves in `EHLO`.
    pub fn new(settings: &MailSettings, hello_name: ClientId) -> Self {
        let smtp = &settings.smtp;
        let tls = || TlsParameters::new(smtp.host.clone()).expect("checked by SmtpUrl::parse");
        let security = match smtp.security {
            SmtpSecurity::Opportunistic => Tls::Opportunistic(tls()),
            SmtpSecurity::Required => Tls::Required(tls()),
            SmtpSecurity::Wrapper => Tls::Wrapper(tls()),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.as_str())
            .port(smtp.port)
            .tls(security)
            .timeout(Some(SMTP_TIMEOUT))
            .hello_name(hello_name);
        if let Some((user, password)) = &smtp.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Self { transport: builder.build(), from: settings.from.clone() }
    }

    /// Whether the SMTP server answers and takes our TLS and credentials
    /// (`config check`), without sending anything.
    pub async fn test_connection(&self) -> Result<(), String> {
        match self.transport.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err("the SMTP server did not answer NOOP".to_owned()),
            Err(err) => Err(format!("cannot talk to the SMTP server: {err}")),
        }
    }

    /// Sends a plain-text message to one address.
    pub async fn send(&self, to: &str, subject: &str, body: String) -> Result<(), MailError> {
        let to: Mailbox = to.parse()?;
        let body = seven_bit(&body).unwrap_or_else(|| Body::new(body));
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)?;
        self.transport.send(message).await?;
        Ok(())
    }
}

/// An ASCII body with lines under SMTP's 998 characters, as 7bit: unencoded,
/// so that a link longer than 76 characters is not cut by quoted-printable
/// soft breaks and reads the same in any client and in the raw message.
fn seven_bit(text: &str) -> Option<Body> {
    let ascii = text.bytes().all(|b| b.is_ascii() && (b >= b' ' || b == b'\n') && b != 0x7f);
    if !ascii || text.lines().any(|line| line.len() > 998) {
        return None;
    }
    let crlf = text.lines().collect::<Vec<_>>().join("\r\n") + "\r\n";
    Some(Body::dangerous_pre_encoded(crlf.into_bytes(), ContentTransferEncoding::SevenBit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_choose_security_and_ports() {
        let plain = SmtpUrl::parse("smtp://mail.example.com").unwrap();
        assert_eq!((plain.security, plain.port, plain.credentials.clone()), (SmtpSecurity::Opportunistic, 587, None));
        let required = SmtpUrl::parse("smtp://mail.example.com:2525?tls=required").unwrap();
        assert_eq!((required.security, required.port), (SmtpSecurity::Required, 2525));
        let wrapped = SmtpUrl::parse("smtps://ada:p%40ss%2Fw@mail.example.com").unwrap();
        assert_eq!((wrapped.security, wrapped.port), (SmtpSecurity::Wrapper, 465));
        assert_eq!(wrapped.credentials, Some(("ada".into(), "p@ss/w".into())));
        assert!(!format!("{wrapped:?}").contains("p@ss"), "{wrapped:?}");
        let v6 = SmtpUrl::parse("smtp://[::1]:25").unwrap();
        assert_eq!(v6.host, "::1");
        for bad in [
            "mail.example.com",
            "http://mail.example.com",
            "smtp://",
            "smtp://h?tls=maybe",
            "smtps://h?tls=required",
            "smtp://h?x=1",
        ] {
            assert!(SmtpUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords_over_opportunistic_tls_are_flagged_unless_local() {
        assert!(SmtpUrl::parse("smtp://u:p@mail.example.com").unwrap().credentials_may_travel_in_clear());
        assert!(!SmtpUrl::parse("smtp://u:p@127.0.0.1:25").unwrap().credentials_may_travel_in_clear());
        assert!(!SmtpUrl::parse("smtp://u:p@mail.example.com?tls=required").unwrap().credentials_may_travel_in_clear());
        assert!(!SmtpUrl::parse("smtp://mail.example.com").unwrap().credentials_may_travel_in_clear());
    }

    #[test]
    fn plain_ascii_bodies_go_unencoded() {
        let link = format!("https://auth.example.com/login#link=hml_{}", "A".repeat(43));
        let body = seven_bit(&format!("Open it:\n\n{link}\n")).unwrap();
        assert_eq!(body.encoding(), ContentTransferEncoding::SevenBit);
        assert_eq!(std::str::from_utf8(body.as_ref()).unwrap(), format!("Open it:\r\n\r\n{link}\r\n"));
        assert!(seven_bit("caf\u{e9}").is_none());
        assert!(seven_bit(&"x".repeat(999)).is_none());
    }

    #[test]
    fn mail_from_takes_an_address_with_or_without_a_name() {
        assert_eq!(parse_mail_from("auth@example.com").unwrap().email.to_string(), "auth@example.com");
        assert_eq!(parse_mail_from("Harmont <auth@example.com>").unwrap().name.as_deref(), Some("Harmont"));
        assert!(parse_mail_from("not an address").is_err());
    }
}
