//! The short approval (the device style of RFC 8628): a terminal without a
//! browser registers its login under its verification code (`device`), and
//! prints `Open <app>/cli-login/device and enter ABCD-EFGH`; a signed-in
//! user types the code there, sees which terminal asks (`device/inspect`)
//! and approves it (`device/approve`), which parks the usual transfer grant
//! under the terminal's nonce, bound to its PKCE challenge. The terminal
//! collects it with `claim` as after any approval.
//!
//! The code is the verification code the terminal derives from its nonce,
//! so the long URL and the short code name the same login. The store keeps
//! an HMAC of the code (keyed with the server secret) and the nonce's
//! SHA-256 only; a code works until the terminal's login gives up.

use harmont_store::{DeviceKey, DeviceRequest, GrantKey, GrantKind, NewGrant, User};
use harmont_wire::api::{CliDeviceInspectResponse, CliDeviceResponse};
use harmont_wire::nonce::Nonce;
use harmont_wire::paste_code::ALPHABET;
use harmont_wire::verification::verification_code;
use harmont_wire::ErrorCode;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::check_challenge;
use super::CliLogin;
use super::ClientInfo;
use crate::clock::millis;
use crate::error::ApiError;

/// How long a short code can be typed: as long as the harmont CLI waits.
pub const DEVICE_TTL: Duration = Duration::from_secs(10 * 60);

/// A typed code in the form the terminal shows it, or `None` if it cannot be one.
fn normalize(typed: &str) -> Option<String> {
    let chars: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect();
    (chars.len() == 8 && chars.bytes().all(|b| ALPHABET.contains(&b)))
        .then(|| format!("{}-{}", &chars[..4], &chars[4..]))
}

impl CliLogin {
    fn device_key(&self, user_code: &str) -> DeviceKey {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.secret.expose()).expect("HMAC takes keys of any length");
        mac.update(b"harmont-device:");
        mac.update(user_code.as_bytes());
        DeviceKey::from_hash(mac.finalize().into_bytes().into())
    }

    /// Registers a terminal's login under its verification code. A code
    /// that a live request holds already (40 bits collide rarely) answers
    /// `nonce_in_use`: the terminal keeps the long URL.
    pub async fn device_start(
        &self,
        nonce: &str,
        code_challenge: &str,
        host: Option<String>,
        client: &ClientInfo,
        verification_uri: String,
    ) -> Result<CliDeviceResponse, ApiError> {
        let parsed =
            Nonce::parse(nonce).map_err(|err| ApiError::new(ErrorCode::NonceInvalid).with_message(err.to_string()))?;
        check_challenge(Some(code_challenge))?;
        // Each start stores a row: limited per address like unauthenticated sign-ins.
        self.starts.check(client.ip, Instant::now()).map_err(ApiError::rate_limited)?;
        self.starts.record_failure(client.ip, Instant::now());
        let user_code = verification_code(parsed.expose());
        let host = host.map(|h| h.chars().filter(|c| !c.is_control()).take(255).collect::<String>());
        let now = self.clock.now();
        let parked = self
            .grants
            .park_device_request(DeviceRequest {
                key_hash: self.device_key(&user_code),
                nonce_hash: GrantKey::from_hash(parsed.hash()),
                code_challenge: code_challenge.to_owned(),
                host: host.filter(|h| !h.is_empty()),
                ip: Some(client.ip.to_canonical().to_string()),
                created_at: now,
                expires_at: now + millis(DEVICE_TTL),
            })
            .await?;
        if !parked {
            return Err(ApiError::new(ErrorCode::NonceInUse)
                .with_message("Another login holds this code right now. Start a new login."));
        }
        Ok(CliDeviceResponse { user_code, verification_uri, expires_in: DEVICE_TTL.as_secs() })
    }

    async fn live_device_request(&self, typed: &str) -> Result<(String, DeviceRequest), ApiError> {
        let not_found = || {
            ApiError::new(ErrorCode::CliCodeInvalid).with_message(
                "No login waits under this code: check it against your terminal, or run `harmont login` again.",
            )
        };
        let code = normalize(typed).ok_or_else(not_found)?;
        let request = self.grants.device_request(&self.device_key(&code), self.clock.now()).await?;
        request.map(|r| (code, r)).ok_or_else(not_found)
    }

    /// Which terminal waits under a typed code.
    pub async fn device_inspect(&self, typed: &str, caller: IpAddr) -> Result<CliDeviceInspectResponse, ApiError> {
        let (user_code, request) = self.live_device_request(typed).await?;
        let state = self.login_state(&request.nonce_hash).await?;
        let left = (request.expires_at - self.clock.now()).max(0) / 1000;
        Ok(CliDeviceInspectResponse {
            user_code,
            host: request.host,
            requested_from: request.ip,
            your_address: caller.to_canonical().to_string(),
            state,
            expires_in: u64::try_from(left).unwrap_or_default(),
        })
    }

    /// Approves the login under a typed code for `user`: its transfer grant
    /// is parked under the terminal's nonce, bound to its challenge.
    pub async fn device_approve(&self, user: &User, typed: &str) -> Result<(), ApiError> {
        let code = normalize(typed).ok_or_else(|| ApiError::new(ErrorCode::CliCodeInvalid))?;
        let now = self.clock.now();
        let request = self.grants.take_device_request(&self.device_key(&code), now).await?.ok_or_else(|| {
            ApiError::new(ErrorCode::CliCodeInvalid)
                .with_message("No login waits under this code any more: run `harmont login` again.")
        })?;
        let window = millis(self.windows.transfer_ttl);
        let parked = self
            .grants
            .park_grant(NewGrant {
                kind: GrantKind::Transfer,
                key_hash: request.nonce_hash,
                user_id: user.id,
                code_challenge: Some(request.code_challenge),
                created_at: now,
                expires_at: now + window,
                reserved_until: now + 2 * window,
            })
            .await?;
        if !parked {
            return Err(ApiError::new(ErrorCode::NonceInUse)
                .with_message("This login was already approved. Return to your terminal."));
        }
        self.waiters.wake(&request.nonce_hash);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_codes_are_read_leniently() {
        assert_eq!(normalize("57BY-26FF").as_deref(), Some("57BY-26FF"));
        assert_eq!(normalize(" 57by 26ff ").as_deref(), Some("57BY-26FF"));
        assert_eq!(normalize("57BY26FF").as_deref(), Some("57BY-26FF"));
        assert_eq!(normalize("O1IL-0000").as_deref(), Some("0111-0000"), "look-alikes as Crockford reads them");
        assert_eq!(normalize("57BY-26F"), None);
        assert_eq!(normalize("57BY-26FFF"), None);
        assert_eq!(normalize("57BY-26FU"), None, "U is not in the alphabet");
        assert_eq!(normalize(""), None);
    }
}
