//! Session tokens: `hms_` + 43 base62 characters (256 bits from the OS CSPRNG)
//! + a 6-character base62 CRC32 of everything before it.
//!
//! Personal API keys ([`ApiKey`]) have the same shape under the prefix
//! `hmk_`, and resource-server client secrets ([`ClientSecret`], for token
//! introspection) under `hmc_`, so a secret scanner (and the server) tells
//! them apart. The secrets of one-time login links ([`LinkSecret`], `hml_`)
//! are 256 bits in base64url with no checksum: they travel in a URL that is
//! opened, never typed.
//!
//! The prefix makes a leaked token recognisable to secret scanners; the
//! checksum lets the server refuse a mistyped or made-up token before any
//! database call. Only the SHA-256 of a token is ever stored.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::fmt;

use crate::random;

const PREFIX: &str = "hms_";
const KEY_PREFIX: &str = "hmk_";
const CLIENT_SECRET_PREFIX: &str = "hmc_";
const LINK_PREFIX: &str = "hml_";
/// A link secret's body: 32 random bytes, base64url without padding.
const LINK_SECRET_LEN: usize = 43;
const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const SECRET_LEN: usize = 43; // 43 * log2(62) = 256.03 bits
const CHECKSUM_LEN: usize = 6; // 62^6 > 2^32
/// Length of every well-formed token.
pub const TOKEN_LEN: usize = PREFIX.len() + SECRET_LEN + CHECKSUM_LEN;

/// A plaintext session token. Its `Debug` never shows the value; use
/// [`SessionToken::expose`] where the raw value must leave (a response body,
/// the CLI's credential file). Not `PartialEq`: a secret is compared as its
/// hash, or in constant time, never with `==`.
#[derive(Clone)]
pub struct SessionToken(String);

/// The SHA-256 of a session token: what storage keeps and looks up by.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash(pub [u8; 32]);

/// Why a string is not a session token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenFormatError {
    #[error("the token does not have the Harmont session token format")]
    Malformed,
    #[error("the token's checksum does not match")]
    Checksum,
}

fn generate_with(prefix: &str) -> String {
    let body = format!("{prefix}{}", random::string_from(BASE62, SECRET_LEN));
    let checksum = checksum(&body);
    body + &checksum
}

/// Checks prefix, length, alphabet and checksum. No I/O.
fn parse_with(prefix: &str, raw: &str) -> Result<String, TokenFormatError> {
    let well_formed = raw.len() == TOKEN_LEN
        && raw.starts_with(prefix)
        && raw[prefix.len()..].bytes().all(|b| b.is_ascii_alphanumeric());
    if !well_formed {
        return Err(TokenFormatError::Malformed);
    }
    let (body, sum) = raw.split_at(TOKEN_LEN - CHECKSUM_LEN);
    if checksum(body) != sum {
        return Err(TokenFormatError::Checksum);
    }
    Ok(raw.to_owned())
}

impl SessionToken {
    /// Mints a fresh token from the OS CSPRNG.
    pub fn generate() -> Self {
        Self(generate_with(PREFIX))
    }

    /// Checks prefix, length, alphabet and checksum. No I/O.
    pub fn parse(raw: &str) -> Result<Self, TokenFormatError> {
        parse_with(PREFIX, raw).map(Self)
    }

    /// The raw token, for the one place it is meant to go.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash(Sha256::digest(self.0.as_bytes()).into())
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken(hms_…redacted)")
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A prefix of the hash is enough to correlate, and reveals nothing.
        write!(f, "TokenHash({:02x}{:02x}{:02x}{:02x}…)", self.0[0], self.0[1], self.0[2], self.0[3])
    }
}

/// A plaintext personal API key: `hmk_` + 256 bits + checksum. Like a
/// session token, only its SHA-256 is stored, and `Debug` never shows it.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    /// Mints a fresh key from the OS CSPRNG.
    pub fn generate() -> Self {
        Self(generate_with(KEY_PREFIX))
    }

    /// Checks prefix, length, alphabet and checksum. No I/O.
    pub fn parse(raw: &str) -> Result<Self, TokenFormatError> {
        parse_with(KEY_PREFIX, raw).map(Self)
    }

    /// The raw key, for the one response that shows it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash(Sha256::digest(self.0.as_bytes()).into())
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(hmk_…redacted)")
    }
}

/// A plaintext resource-server client secret: `hmc_` + 256 bits + checksum.
/// The client sends it with HTTP Basic to introspect tokens; only its SHA-256
/// is stored, and `Debug` never shows it.
#[derive(Clone)]
pub struct ClientSecret(String);

impl ClientSecret {
    /// Mints a fresh secret from the OS CSPRNG.
    pub fn generate() -> Self {
        Self(generate_with(CLIENT_SECRET_PREFIX))
    }

    /// Checks prefix, length, alphabet and checksum. No I/O.
    pub fn parse(raw: &str) -> Result<Self, TokenFormatError> {
        parse_with(CLIENT_SECRET_PREFIX, raw).map(Self)
    }

    /// The raw secret, for the one time it is shown.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash(Sha256::digest(self.0.as_bytes()).into())
    }

    /// Whether this secret's SHA-256 is `stored`, compared in constant time.
    pub fn matches(&self, stored: &TokenHash) -> bool {
        use subtle::ConstantTimeEq;
        self.hash().0.ct_eq(&stored.0).into()
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret(hmc_…redacted)")
    }
}

/// The secret of a one-time login link: `hml_` + 32 random bytes in
/// base64url, carried in the link's URL fragment. Only its SHA-256 is
/// stored, and `Debug` never shows it.
#[derive(Clone)]
pub struct LinkSecret(String);

impl LinkSecret {
    /// Draws a fresh secret from the OS CSPRNG.
    pub fn generate() -> Self {
        Self(format!("{LINK_PREFIX}{}", URL_SAFE_NO_PAD.encode(random::bytes::<32>())))
    }

    /// Checks the shape only (prefix, length, base64url alphabet); no I/O.
    pub fn parse(raw: &str) -> Option<Self> {
        let body = raw.strip_prefix(LINK_PREFIX)?;
        let ok =
            body.len() == LINK_SECRET_LEN && body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| Self(raw.to_owned()))
    }

    /// The raw secret, for the link that carries it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The SHA-256 of the whole secret: what storage keeps and looks up by.
    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.0.as_bytes()).into()
    }
}

impl fmt::Debug for LinkSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LinkSecret(hml_…redacted)")
    }
}

/// A bearer credential as a client holds it: a session token or a personal
/// API key, taken as the server gave it (the published service's tokens
/// need not have this crate's format, so it is not parsed). `Debug` never
/// shows it; the raw value leaves only through [`BearerToken::expose`], and
/// serde reads and writes it as the plain string (a credential file, a
/// response body).
#[derive(Clone, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct BearerToken(String);

impl BearerToken {
    /// Wraps a token read from outside (stdin, the environment).
    pub fn new(raw: impl Into<String>) -> Self {
        Self(raw.into())
    }

    /// The raw token, for the `Authorization` header and the credential file.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether this is a personal API key rather than a session.
    pub fn is_api_key(&self) -> bool {
        self.0.starts_with(KEY_PREFIX)
    }

    /// Whether both are the same credential, in constant time.
    pub fn same_as(&self, other: &BearerToken) -> bool {
        use subtle::ConstantTimeEq;
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(…redacted)")
    }
}

impl From<SessionToken> for BearerToken {
    fn from(token: SessionToken) -> Self {
        Self(token.0)
    }
}

impl From<ApiKey> for BearerToken {
    fn from(key: ApiKey) -> Self {
        Self(key.0)
    }
}

impl From<&BearerToken> for BearerToken {
    fn from(token: &BearerToken) -> Self {
        token.clone()
    }
}

/// A token read from outside as text (a test's, a script's) is wrapped as it is.
impl From<&str> for BearerToken {
    fn from(raw: &str) -> Self {
        Self::new(raw)
    }
}

impl From<String> for BearerToken {
    fn from(raw: String) -> Self {
        Self(raw)
    }
}

impl From<&String> for BearerToken {
    fn from(raw: &String) -> Self {
        Self::new(raw.as_str())
    }
}

fn checksum(body: &str) -> String {
    let mut n = u64::from(crc32fast::hash(body.as_bytes()));
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    out.iter().map(|&b| b as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_parse_and_differ() {
        let a = SessionToken::generate();
        let b = SessionToken::generate();
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.expose().len(), TOKEN_LEN);
        assert!(a.expose().starts_with("hms_"));
        assert_eq!(SessionToken::parse(a.expose()).ok().map(|t| t.expose().to_owned()), Some(a.expose().to_owned()));
    }

    #[test]
    fn a_changed_character_fails_the_checksum() {
        let token = SessionToken::generate();
        let mut raw = token.expose().to_owned().into_bytes();
        raw[10] = if raw[10] == b'a' { b'b' } else { b'a' };
        let raw = String::from_utf8(raw).unwrap();
        assert_eq!(SessionToken::parse(&raw).err(), Some(TokenFormatError::Checksum));
    }

    #[test]
    fn wrong_prefix_length_or_alphabet_is_malformed() {
        let token = SessionToken::generate();
        let raw = token.expose();
        for bad in [
            format!("hmx_{}", &raw[4..]),
            raw[..raw.len() - 1].to_owned(),
            format!("{raw}0"),
            format!("{}-{}", &raw[..20], &raw[21..]),
            String::new(),
        ] {
            assert_eq!(SessionToken::parse(&bad).err(), Some(TokenFormatError::Malformed), "{bad}");
        }
    }

    #[test]
    fn keys_and_session_tokens_are_told_apart() {
        let key = ApiKey::generate();
        assert!(key.expose().starts_with("hmk_"));
        assert_eq!(key.expose().len(), TOKEN_LEN);
        assert_eq!(ApiKey::parse(key.expose()).ok().map(|t| t.expose().to_owned()), Some(key.expose().to_owned()));
        assert_eq!(SessionToken::parse(key.expose()).err(), Some(TokenFormatError::Malformed));
        let session = SessionToken::generate();
        assert_eq!(ApiKey::parse(session.expose()).err(), Some(TokenFormatError::Malformed));
        // Same body, other prefix: the checksum covers the prefix too.
        let renamed = format!("hms_{}", &key.expose()[4..]);
        assert_eq!(SessionToken::parse(&renamed).err(), Some(TokenFormatError::Checksum));
        assert!(!format!("{key:?}").contains(&key.expose()[4..12]));
    }

    #[test]
    fn client_secrets_are_their_own_kind_and_match_only_their_hash() {
        let secret = ClientSecret::generate();
        assert!(secret.expose().starts_with("hmc_"));
        assert_eq!(ClientSecret::parse(secret.expose()).ok().map(|s| s.hash()), Some(secret.hash()));
        assert_eq!(SessionToken::parse(secret.expose()).err(), Some(TokenFormatError::Malformed));
        assert_eq!(ApiKey::parse(secret.expose()).err(), Some(TokenFormatError::Malformed));
        assert_eq!(ClientSecret::parse(ApiKey::generate().expose()).err(), Some(TokenFormatError::Malformed));
        assert!(secret.matches(&secret.hash()));
        assert!(!secret.matches(&ClientSecret::generate().hash()));
        assert!(!format!("{secret:?}").contains(&secret.expose()[4..12]));
    }

    #[test]
    fn link_secrets_parse_and_stay_hidden() {
        let secret = LinkSecret::generate();
        assert_eq!(secret.expose().len(), LINK_PREFIX.len() + LINK_SECRET_LEN);
        assert_eq!(LinkSecret::parse(secret.expose()).map(|s| s.expose().to_owned()).as_deref(), Some(secret.expose()));
        assert_ne!(secret.expose(), LinkSecret::generate().expose());
        assert_eq!(format!("{secret:?}"), "LinkSecret(hml_…redacted)");
        for bad in [
            "",
            "hml_",
            "hms_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "hml_AAAA",
            "hml_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=A",
            "hml_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ] {
            assert!(LinkSecret::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn debug_never_shows_the_token() {
        let token = SessionToken::generate();
        let shown = format!("{token:?} {:?}", token.hash());
        assert!(!shown.contains(&token.expose()[4..12]));
    }
}
