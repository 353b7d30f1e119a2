//! Emailed sign-in links: anyone may ask for a link to an address, and the
//! address's owner, if it is a user's, gets a one-time `/login#link=…` valid
//! 15 minutes. The answer is the same whether or not the address is known,
//! and the lookup and the mail happen off the request path, in one worker
//! task, so neither the body nor the timing tells who has an account.
//!
//! Limits: 20 requests an hour from one client address (then `429`), and 5
//! mails an hour to one address (then nothing is sent, silently). Both are
//! per process: with N replicas an address may get up to 5·N.

use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

use super::WebSignIn;
use crate::access::ClientInfo;
use crate::error::ApiError;
use crate::mail::MailRequest;
use harmont_wire::ErrorCode;

/// How long an emailed link works.
pub const EMAIL_LINK_TTL: Duration = Duration::from_secs(15 * 60);

impl WebSignIn {
    /// Whether emailed sign-in links are on (SMTP configured).
    pub fn email_links_enabled(&self) -> bool {
        self.mail.is_some()
    }

    /// Queues a sign-in link for `email`. `404` without SMTP, `422` for
    /// something that is not an address, `429` past the client's limit;
    /// otherwise `Ok` whatever becomes of it.
    pub fn request_email_link(&self, email: &str, client: &ClientInfo) -> Result<(), ApiError> {
        let Some(mail) = &self.mail else { return Err(ApiError::new(ErrorCode::NotFound)) };
        let email = email.trim().to_lowercase();
        if !crate::users::looks_like_email(&email) {
            return Err(ApiError::new(ErrorCode::ValidationFailed).with_message("`email` is not an email address."));
        }
        self.email_link_limiter.take(client.ip, Instant::now()).map_err(|retry_after| {
            ApiError::rate_limited(retry_after)
                .with_message("Too many sign-in links asked for from your address. Retry later.")
        })?;
        if mail.queue.try_send(MailRequest { email }).is_err() {
            tracing::warn!("the sign-in mail queue is full; one request was dropped");
        }
        Ok(())
    }

    /// The worker's end of the mail queue, once (`None` without SMTP).
    pub fn take_mail_queue(&self) -> Option<mpsc::Receiver<MailRequest>> {
        self.mail.as_ref()?.take_queue()
    }

    /// Sends the queued links one at a time, until shutdown. Started by
    /// [`crate::serve`] when SMTP is configured.
    pub async fn send_email_links_forever(&self, mut queue: mpsc::Receiver<MailRequest>) {
        loop {
            let request = tokio::select! {
                request = queue.recv() => match request {
                    Some(request) => request,
                    None => return,
                },
                () = self.shutdown.cancelled() => return,
            };
            self.send_email_link(request).await;
        }
    }

    async fn send_email_link(&self, request: MailRequest) {
        let Some(mail) = &self.mail else { return };
        let address_key: [u8; 32] = Sha256::digest(request.email.as_bytes()).into();
        if self.mail_limiter.take(address_key, Instant::now()).is_err() {
            tracing::info!("sign-in mail not sent: this address had its 5 this hour");
            return;
        }
        let user = match self.users.user_by_email(&request.email).await {
            Ok(Some(user)) => user,
            Ok(None) => return,
            Err(err) => {
                tracing::warn!(error = %err, "sign-in mail not sent: cannot read the store");
                return;
            }
        };
        let link = match self.create_login_link_valid_for(user.id, EMAIL_LINK_TTL).await {
            Ok(link) => link,
            Err(err) => {
                tracing::warn!(user = %user.id, error = err.cause_chain().as_deref().unwrap_or(""), "sign-in mail not sent: cannot store the link");
                return;
            }
        };
        let body = format!(
            "Someone, hopefully you, asked to sign in to Harmont ({base}) with this address.\n\n\
             Open this link within 15 minutes to sign in. It works once:\n\n{link}\n\n\
             If you did not ask for it, ignore this mail: nobody can sign in without the link.\n",
            base = self.web_base,
        );
        match mail.mailer.send(&user.email, "Your Harmont sign-in link", body).await {
            Ok(()) => tracing::info!(user = %user.id, "sent a sign-in link by mail"),
            Err(err) => tracing::warn!(user = %user.id, error = %err, "could not send a sign-in mail"),
        }
    }
}
