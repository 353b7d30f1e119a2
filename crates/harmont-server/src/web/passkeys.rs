//! Passkeys over WebAuthn (webauthn-rs): register one while signed in, sign
//! in with one (discoverable credentials, so no email is asked for), list and
//! remove. The relying-party id and origin come from the public URL.
//!
//! A ceremony's server state is stored between its start and its finish
//! (keyed by the SHA-256 of an id the browser holds, taken back in one
//! statement), so any replica can finish it and it finishes at most once.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use harmont_store::{Authenticated, CeremonyKey, CeremonyKind, NewCeremony, NewPasskey, StoreError};
use harmont_wire::token::SessionToken;
use harmont_wire::ErrorCode;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::time::Duration;
use uuid::Uuid;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, DiscoverableKey, Passkey, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Webauthn, WebauthnBuilder,
};

use super::WebSignIn;
use crate::access::{require_recent_sign_in, ClientInfo, SignIn};
use crate::auth_cache::Revocation;
use crate::clock::millis;
use crate::error::ApiError;

/// How long the browser has to answer a ceremony.
pub const CEREMONY_TTL: Duration = Duration::from_secs(5 * 60);
/// The longest passkey name, in characters.
pub const MAX_NAME: usize = 64;

/// A started ceremony: the id to send back with the answer, and the options
/// for `navigator.credentials.create()` / `.get()`.
#[derive(Debug)]
pub struct Started {
    pub ceremony: String,
    pub options: Value,
}

/// A passkey as the settings page lists it.
#[derive(Debug, Clone)]
pub struct PasskeySummary {
    pub id: Uuid,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

fn invalid(cause: impl std::fmt::Display) -> ApiError {
    tracing::info!(cause = %cause, "passkey ceremony refused");
    ApiError::new(ErrorCode::PasskeyInvalid)
}

fn ceremony_id() -> (String, CeremonyKey) {
    let id = URL_SAFE_NO_PAD.encode(harmont_wire::random::bytes::<32>());
    let key = ceremony_key(&id);
    (id, key)
}

fn ceremony_key(id: &str) -> CeremonyKey {
    CeremonyKey::from_hash(Sha256::digest(id.as_bytes()).into())
}

/// The name to store: trimmed, "Passkey" when empty; `422 validation_failed`
/// naming the field when it is too long or holds control characters.
fn passkey_name(name: Option<&str>) -> Result<String, ApiError> {
    let name = name.map(str::trim).unwrap_or_default();
    harmont_wire::text::validate_display_text("name", name, MAX_NAME)
        .map_err(|err| ApiError::new(ErrorCode::ValidationFailed).with_message(err.to_string()))?;
    Ok(if name.is_empty() { "Passkey".to_owned() } else { name.to_owned() })
}

/// The WebAuthn relying party of the pages' origin (see [`super::web_origin`]),
/// built once at start.
pub(crate) fn relying_party(public_url: &str) -> Result<Webauthn, String> {
    let origin = super::web_origin(public_url);
    let rp_id = origin.host_str().unwrap_or("localhost").to_owned();
    WebauthnBuilder::new(&rp_id, &origin)
        .and_then(|b| b.rp_name("Harmont").build())
        .map_err(|e| format!("WebAuthn relying party from {origin}: {e}"))
}

impl WebSignIn {
    async fn park(&self, kind: CeremonyKind, user_id: Option<Uuid>, state: String) -> Result<String, ApiError> {
        let (id, key_hash) = ceremony_id();
        let now = self.clock.now();
        let ceremony =
            NewCeremony { kind, key_hash, user_id, state, created_at: now, expires_at: now + millis(CEREMONY_TTL) };
        self.ceremonies.park_ceremony(ceremony).await?;
        Ok(id)
    }

    /// Starts registering a passkey for the signed-in user. Their existing
    /// passkeys are excluded, so one authenticator is not registered twice.
    /// Needs a recent browser sign-in.
    pub async fn start_passkey_registration(&self, auth: &Authenticated) -> Result<Started, ApiError> {
        require_recent_sign_in(auth, self.clock.now())?;
        let webauthn = &self.webauthn;
        let existing = self.passkeys.list_passkeys(auth.user.id).await?;
        let exclude = existing.iter().map(|p| p.credential_id.clone().into()).collect::<Vec<_>>();
        let display = auth.user.name.clone().unwrap_or_else(|| auth.user.email.clone());
        let (challenge, state) = webauthn
            .start_passkey_registration(auth.user.id, &auth.user.email, &display, Some(exclude))
            .map_err(ApiError::internal)?;
        let mut options = serde_json::to_value(&challenge).map_err(ApiError::internal)?;
        // A passkey must be discoverable, so that signing in needs no email.
        // webauthn-rs asks for "discouraged" and does not check it on finish.
        if let Some(selection) = options.pointer_mut("/publicKey/authenticatorSelection").and_then(Value::as_object_mut)
        {
            selection.insert("residentKey".into(), "required".into());
            selection.insert("requireResidentKey".into(), true.into());
        }
        let state = serde_json::to_string(&state).map_err(ApiError::internal)?;
        let ceremony = self.park(CeremonyKind::Register, Some(auth.user.id), state).await?;
        Ok(Started { ceremony, options })
    }

    /// Needs a recent browser sign-in, checked (with the name) before the
    /// ceremony is used up, so a refusal leaves it to finish with a fix.
    pub async fn finish_passkey_registration(
        &self,
        auth: &Authenticated,
        ceremony: &str,
        credential: Value,
        name: Option<String>,
    ) -> Result<PasskeySummary, ApiError> {
        let now = self.clock.now();
        require_recent_sign_in(auth, now)?;
        let name = passkey_name(name.as_deref())?;
        let taken = self.ceremonies.take_ceremony(CeremonyKind::Register, &ceremony_key(ceremony), now).await?;
        let taken = taken.ok_or_else(|| invalid("unknown or expired registration"))?;
        if taken.user_id != Some(auth.user.id) {
            return Err(invalid("registration started by another user"));
        }
        let state: PasskeyRegistration = serde_json::from_str(&taken.state).map_err(ApiError::internal)?;
        let credential: RegisterPublicKeyCredential = serde_json::from_value(credential).map_err(invalid)?;
        let passkey = self.webauthn.finish_passkey_registration(&credential, &state).map_err(invalid)?;
        let stored = NewPasskey {
            id: Uuid::new_v4(),
            user_id: auth.user.id,
            credential_id: passkey.cred_id().to_vec(),
            name,
            data: serde_json::to_string(&passkey).map_err(ApiError::internal)?,
            created_at: now,
        };
        match self.passkeys.create_passkey(stored).await {
            Ok(p) => {
                tracing::info!(user_id = %auth.user.id, passkey_id = %p.id, session_id = %auth.session.id, "passkey added");
                crate::audit::Event::success("passkey_added").subject(p.id).emit();
                Ok(PasskeySummary { id: p.id, name: p.name, created_at: p.created_at, last_used_at: None })
            }
            Err(StoreError::Conflict(_)) => Err(invalid("credential already registered")),
            Err(e) => Err(e.into()),
        }
    }

    /// Starts a sign-in with any passkey the browser can offer for this site.
    /// Unauthenticated, and each start stores a ceremony row: limited per client.
    pub async fn start_passkey_sign_in(&self, client: &ClientInfo) -> Result<Started, ApiError> {
        let now = std::time::Instant::now();
        self.starts.check(client.ip, now).map_err(ApiError::rate_limited)?;
        self.starts.record_failure(client.ip, now);
        let (challenge, state) = self.webauthn.start_discoverable_authentication().map_err(ApiError::internal)?;
        let mut options = serde_json::to_value(&challenge).map_err(ApiError::internal)?;
        // The page asks on a click, not through autofill.
        if let Some(map) = options.as_object_mut() {
            map.remove("mediation");
        }
        let state = serde_json::to_string(&state).map_err(ApiError::internal)?;
        let ceremony = self.park(CeremonyKind::Authenticate, None, state).await?;
        Ok(Started { ceremony, options })
    }

    /// Verifies the browser's answer and mints a session for the passkey's user.
    pub async fn finish_passkey_sign_in(
        &self,
        ceremony: &str,
        credential: Value,
        client: &ClientInfo,
    ) -> Result<SessionToken, ApiError> {
        let signed_in = self.verify_passkey_sign_in(ceremony, credential, client).await;
        super::links::signed_in("passkey", &signed_in);
        signed_in.map(|(token, _)| token)
    }

    async fn verify_passkey_sign_in(
        &self,
        ceremony: &str,
        credential: Value,
        client: &ClientInfo,
    ) -> Result<(SessionToken, harmont_store::Session), ApiError> {
        let now = self.clock.now();
        let taken = self.ceremonies.take_ceremony(CeremonyKind::Authenticate, &ceremony_key(ceremony), now).await?;
        let taken = taken.ok_or_else(|| invalid("unknown or expired sign-in"))?;
        let state: DiscoverableAuthentication = serde_json::from_str(&taken.state).map_err(ApiError::internal)?;
        let credential: PublicKeyCredential = serde_json::from_value(credential).map_err(invalid)?;
        let webauthn = &self.webauthn;
        let (user_id, credential_id) = webauthn.identify_discoverable_authentication(&credential).map_err(invalid)?;
        let stored = self.passkeys.passkey_by_credential_id(credential_id).await?;
        let stored = stored.filter(|p| p.user_id == user_id).ok_or_else(|| invalid("passkey not registered here"))?;
        let mut passkey: Passkey = serde_json::from_str(&stored.data).map_err(ApiError::internal)?;
        let result = webauthn
            .finish_discoverable_authentication(&credential, state, &[DiscoverableKey::from(&passkey)])
            .map_err(invalid)?;
        passkey.update_credential(&result);
        let data = serde_json::to_string(&passkey).map_err(ApiError::internal)?;
        let (token, draft) = self.drafts.draft(client, now, SignIn::passkey(stored.id));
        match self.passkeys.record_passkey_sign_in(stored.id, data, now, draft).await? {
            Some(session) => Ok((token, session)),
            None => Err(invalid("passkey removed during the sign-in")),
        }
    }

    pub async fn list_passkeys(&self, auth: &Authenticated) -> Result<Vec<PasskeySummary>, ApiError> {
        let passkeys = self.passkeys.list_passkeys(auth.user.id).await?;
        Ok(passkeys
            .into_iter()
            .map(|p| PasskeySummary { id: p.id, name: p.name, created_at: p.created_at, last_used_at: p.last_used_at })
            .collect())
    }

    /// Removes a passkey and ends the sessions it signed in. Needs a recent
    /// browser sign-in. Someone else's passkey answers exactly as a missing
    /// one does.
    pub async fn delete_passkey(&self, auth: &Authenticated, id: Uuid) -> Result<(), ApiError> {
        let now = self.clock.now();
        require_recent_sign_in(auth, now)?;
        let Some(revoked) = self.passkeys.delete_passkey(auth.user.id, id, now).await? else {
            return Err(ApiError::new(ErrorCode::PasskeyNotFound));
        };
        for session_id in &revoked {
            self.revocations.revoked(Revocation::Session(*session_id));
        }
        crate::metrics::sessions_revoked("passkey_removed", revoked.len() as u64);
        crate::audit::Event::success("passkey_removed").subject(id).count(revoked.len() as u64).emit();
        tracing::info!(
            user_id = %auth.user.id,
            passkey_id = %id,
            session_id = %auth.session.id,
            sessions_ended = revoked.len(),
            "passkey removed",
        );
        Ok(())
    }
}
