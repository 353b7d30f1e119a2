//! The nonce a CLI generates for the loopback handoff: whoever knows it can
//! claim the token parked under it, so it is a secret with a floor on its
//! strength. Storage keeps only its SHA-256.

use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::fmt;

use crate::random;

/// 22 base64url characters carry 128 bits: the least we accept.
pub const MIN_LEN: usize = 22;
pub const MAX_LEN: usize = 256;

#[derive(Clone, PartialEq, Eq)]
pub struct Nonce(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NonceError {
    #[error("the nonce must be at least {MIN_LEN} characters (128 bits of base64url)")]
    TooShort,
    #[error("the nonce must be at most {MAX_LEN} characters")]
    TooLong,
    #[error("the nonce may only contain the URL-safe characters A-Z a-z 0-9 - _")]
    Alphabet,
}

impl Nonce {
    /// 32 bytes from the OS CSPRNG, base64url without padding (43 characters),
    /// exactly as the published CLI makes them.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        random::fill(&mut bytes);
        Self(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The strict check `transfer` applies before parking anything.
    pub fn parse(raw: &str) -> Result<Self, NonceError> {
        if raw.len() < MIN_LEN {
            return Err(NonceError::TooShort);
        }
        if raw.len() > MAX_LEN {
            return Err(NonceError::TooLong);
        }
        if !raw.bytes().all(is_url_safe) {
            return Err(NonceError::Alphabet);
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What storage keys a parked grant by.
    pub fn hash(&self) -> [u8; 32] {
        hash(&self.0)
    }
}

/// SHA-256 of any string offered as a nonce. `claim` hashes what it is given
/// without judging it, so that every unknown nonce answers the same way.
pub fn hash(raw: &str) -> [u8; 32] {
    Sha256::digest(raw.as_bytes()).into()
}

fn is_url_safe(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

impl fmt::Debug for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Nonce(redacted)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_nonces_are_43_url_safe_characters() {
        let nonce = Nonce::generate();
        assert_eq!(nonce.expose().len(), 43);
        assert_eq!(Nonce::parse(nonce.expose()), Ok(nonce));
    }

    #[test]
    fn length_and_alphabet_are_enforced() {
        assert_eq!(Nonce::parse(&"a".repeat(21)), Err(NonceError::TooShort));
        assert!(Nonce::parse(&"a".repeat(22)).is_ok());
        assert!(Nonce::parse(&"a".repeat(256)).is_ok());
        assert_eq!(Nonce::parse(&"a".repeat(257)), Err(NonceError::TooLong));
        assert_eq!(Nonce::parse(&format!("{}+/", "a".repeat(22))), Err(NonceError::Alphabet));
        assert_eq!(Nonce::parse(&format!("{}é", "a".repeat(22))), Err(NonceError::Alphabet));
    }
}
