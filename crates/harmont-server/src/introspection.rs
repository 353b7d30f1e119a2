//! Token introspection (RFC 7662) for resource servers: who may ask (clients
//! the operator registers with `harmont-auth client add`, each with a 256-bit
//! secret stored as SHA-256 and compared in constant time), and what they are
//! told about a token. A leaf beside `sessions.rs`, whose bearer check it uses.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use harmont_store::{ClientStore, Millis, NewResourceClient, ResourceClient, Store, StoreError};
use harmont_wire::api::{IntrospectionResponse, TokenKind};
use harmont_wire::token::{ClientSecret, TokenHash};
use harmont_wire::ErrorCode;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;
use uuid::Uuid;

use crate::error::ApiError;
use crate::rate_limit::{FailureLimiter, Rate};
use crate::sessions::Sessions;

/// The longest client name `client add` takes.
pub const MAX_CLIENT_NAME: usize = 100;

/// What a client sent with HTTP Basic, before it is checked.
#[derive(Debug)]
enum Presented {
    /// No `Authorization: Basic` at all: nothing was guessed.
    Nothing,
    /// Basic credentials that are not a client id and a client secret.
    Malformed,
    Credentials(Uuid, ClientSecret),
}

/// Reads `Authorization: Basic base64(client_id:client_secret)`, each part
/// form-urlencoded first as RFC 6749 (2.3.1) has it.
fn presented(authorization: Option<&str>) -> Presented {
    let Some((scheme, encoded)) = authorization.and_then(|header| header.split_once(' ')) else {
        return Presented::Nothing;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Presented::Nothing;
    }
    let Some(decoded) = STANDARD.decode(encoded.trim()).ok().and_then(|bytes| String::from_utf8(bytes).ok()) else {
        return Presented::Malformed;
    };
    let Some((id, secret)) = decoded.split_once(':') else { return Presented::Malformed };
    let form_decoded = |part: &str| -> String {
        url::form_urlencoded::parse(format!("x={part}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    match (Uuid::try_parse(&form_decoded(id)), ClientSecret::parse(&form_decoded(secret))) {
        (Ok(id), Ok(secret)) => Presented::Credentials(id, secret),
        _ => Presented::Malformed,
    }
}

/// Compared against when the client id is unknown, so an unknown id costs
/// what a wrong secret does.
const NO_CLIENT: TokenHash = TokenHash([0; 32]);

/// Resource-server clients: their rows (secrets as hashes only), and the
/// limit on failed client authentications per address.
#[derive(Debug)]
pub struct Introspection {
    clients: Arc<dyn ClientStore>,
    client_auth_limiter: FailureLimiter,
}

impl Introspection {
    pub(crate) fn new(store: &Arc<dyn Store>, client_auth_failures: Rate) -> Self {
        Self { clients: store.clone(), client_auth_limiter: FailureLimiter::new(client_auth_failures) }
    }

    /// Forgets failure counts that have run out.
    pub(crate) fn forget_idle(&self, now: Instant) {
        self.client_auth_limiter.forget_idle(now);
    }

    /// The resource-server client behind an `Authorization` header, or `401
    /// invalid_client` (with `WWW-Authenticate: Basic`). Wrong credentials
    /// count against the caller's address, as failed redeems do: past the
    /// limit, `429` before anything is checked.
    pub async fn authenticate_client(&self, authorization: Option<&str>, ip: IpAddr) -> Result<Uuid, ApiError> {
        self.client_auth_limiter.check(ip, Instant::now()).map_err(|retry_after| {
            ApiError::rate_limited(retry_after)
                .with_message("Too many failed client authentications from your address. Retry later.")
        })?;
        let (id, secret) = match presented(authorization) {
            Presented::Credentials(id, secret) => (id, secret),
            Presented::Nothing => return Err(ApiError::new(ErrorCode::InvalidClient)),
            Presented::Malformed => {
                self.client_auth_limiter.record_failure(ip, Instant::now());
                return Err(ApiError::new(ErrorCode::InvalidClient));
            }
        };
        let stored = self.clients.resource_client_secret_hash(id).await?;
        let matches = secret.matches(stored.as_ref().unwrap_or(&NO_CLIENT));
        if matches && stored.is_some() {
            Ok(id)
        } else {
            self.client_auth_limiter.record_failure(ip, Instant::now());
            Err(ApiError::new(ErrorCode::InvalidClient))
        }
    }

    /// What RFC 7662 says about `token`: who it is while it is live, through
    /// the same bearer check (and cache) as every request; exactly
    /// `{"active": false}` for anything else. Only a store that does not
    /// answer is an error.
    pub async fn introspect(&self, sessions: &Sessions, token: &str) -> Result<IntrospectionResponse, ApiError> {
        let auth = match sessions.authenticate_token(token).await {
            Ok(auth) => auth,
            Err(err) if err.code == ErrorCode::Unauthorized => return Ok(IntrospectionResponse::inactive()),
            Err(err) => return Err(err),
        };
        let session = &auth.session;
        Ok(IntrospectionResponse {
            active: true,
            sub: Some(auth.user.id),
            username: Some(auth.user.email.clone()),
            token_type: Some(if auth.is_api_key() { TokenKind::ApiKey } else { TokenKind::Session }),
            iat: Some(session.created_at.div_euclid(1000)),
            // Rounded down: a resource server never keeps it past its end.
            exp: (session.expires_at != Millis::MAX).then(|| session.expires_at.div_euclid(1000)),
        })
    }
}

/// Why `client add` refused.
#[derive(Debug, thiserror::Error)]
pub enum AddClientError {
    #[error("a client name is 1 to {MAX_CLIENT_NAME} characters without control characters or surrounding spaces")]
    InvalidName,
    #[error("a client named {0:?} already exists")]
    Exists(String),
    #[error(transparent)]
    Store(StoreError),
}

/// Registers a resource server: its id, and its secret, which is shown
/// only now (only the SHA-256 is stored).
pub async fn add_client(
    store: &dyn ClientStore,
    name: &str,
    now: Millis,
) -> Result<(ResourceClient, ClientSecret), AddClientError> {
    let valid = !name.is_empty()
        && name.chars().count() <= MAX_CLIENT_NAME
        && name.trim() == name
        && !name.chars().any(char::is_control);
    if !valid {
        return Err(AddClientError::InvalidName);
    }
    let secret = ClientSecret::generate();
    let client =
        NewResourceClient { id: Uuid::new_v4(), name: name.to_owned(), secret_hash: secret.hash(), created_at: now };
    match store.create_resource_client(client).await {
        Ok(client) => Ok((client, secret)),
        Err(StoreError::Conflict(_)) => Err(AddClientError::Exists(name.to_owned())),
        Err(err) => Err(AddClientError::Store(err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(credentials: &str) -> String {
        format!("Basic {}", STANDARD.encode(credentials))
    }

    #[test]
    fn basic_credentials_are_read_as_rfc_6749_has_them() {
        let id = Uuid::new_v4();
        let secret = ClientSecret::generate();
        let good = basic(&format!("{id}:{}", secret.expose()));
        assert!(matches!(presented(Some(&good)), Presented::Credentials(i, s) if i == id && s.matches(&secret.hash())));
        let lower = good.replacen("Basic", "basic", 1);
        assert!(matches!(presented(Some(&lower)), Presented::Credentials(..)));
        // Form-encoded parts decode (ours never need it, other clients encode anyway).
        let encoded = basic(&format!("{}:{}", id.to_string().replace('-', "%2D"), secret.expose()));
        assert!(matches!(presented(Some(&encoded)), Presented::Credentials(i, _) if i == id));

        assert!(matches!(presented(None), Presented::Nothing));
        assert!(matches!(presented(Some("Bearer hms_x")), Presented::Nothing));
        assert!(matches!(presented(Some("Basic")), Presented::Nothing));
        for bad in [
            "Basic !!!".to_owned(),
            basic("no-colon"),
            basic(&format!("not-a-uuid:{}", secret.expose())),
            basic(&format!("{id}:hmc_wrong")),
            basic(&format!("{id}:{}", harmont_wire::token::ApiKey::generate().expose())),
            basic(&format!("{id}:")),
        ] {
            assert!(matches!(presented(Some(&bad)), Presented::Malformed), "{bad}");
        }
    }
}
