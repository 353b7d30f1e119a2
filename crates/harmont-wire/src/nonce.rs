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
/// Fewest different characters a nonce may use. A random 22-character
/// base64url nonce has about 19; fewer than 8 happens by chance practically
/// never, while `aaaa…` or `abab…` fall well short.
pub const MIN_DISTINCT: usize = 8;
/// Longest run of one repeated character allowed. In a random 43-character
/// base64url nonce a run of 8 has odds of about 1 in 10^11.
pub const MAX_RUN: usize = 7;

#[derive(Clone)]
pub struct Nonce(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NonceError {
    #[error("the nonce must be at least {MIN_LEN} characters (128 bits of base64url)")]
    TooShort,
    #[error("the nonce must be at most {MAX_LEN} characters")]
    TooLong,
    #[error("the nonce may only contain the URL-safe characters A-Z a-z 0-9 - _")]
    Alphabet,
    #[error(
        "the nonce must be random: it needs at least {MIN_DISTINCT} different characters and may not repeat one \
         character more than {MAX_RUN} times in a row"
    )]
    LowVariety,
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
        if !has_variety(raw.as_bytes()) {
            return Err(NonceError::LowVariety);
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

/// At least [`MIN_DISTINCT`] different bytes and no run longer than [`MAX_RUN`].
fn has_variety(raw: &[u8]) -> bool {
    let mut seen = [false; 256];
    let mut distinct = 0;
    for &b in raw {
        if !seen[usize::from(b)] {
            seen[usize::from(b)] = true;
            distinct += 1;
        }
    }
    let longest_run = raw.chunk_by(|a, b| a == b).map(<[u8]>::len).max().unwrap_or(0);
    distinct >= MIN_DISTINCT && longest_run <= MAX_RUN
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
        assert_eq!(Nonce::parse(nonce.expose()).ok().map(|t| t.expose().to_owned()), Some(nonce.expose().to_owned()));
    }

    /// Varied enough: 8 different characters, no run over 7.
    const VARIED_22: &str = "abcdefghABCDEFGH012345";

    #[test]
    fn length_and_alphabet_are_enforced() {
        assert_eq!(Nonce::parse(&"a".repeat(21)).err(), Some(NonceError::TooShort));
        assert!(Nonce::parse(VARIED_22).is_ok());
        assert!(Nonce::parse(&"a_-Z9bcX".repeat(32)).is_ok());
        assert_eq!(Nonce::parse(&"a_-Z9bcX".repeat(33)[..257]).err(), Some(NonceError::TooLong));
        assert_eq!(Nonce::parse(&format!("{VARIED_22}+/")).err(), Some(NonceError::Alphabet));
        assert_eq!(Nonce::parse(&format!("{VARIED_22}é")).err(), Some(NonceError::Alphabet));
    }

    #[test]
    fn nonces_of_trivially_low_variety_are_refused() {
        for weak in [
            "a".repeat(22),
            "a".repeat(256),
            "ab".repeat(11),
            "abcdefg".repeat(4),                   // 7 different characters
            format!("abcdefgh{}", "x".repeat(14)), // a run of 14
            format!("{}aaaaaaaa", VARIED_22),      // a run of 8
        ] {
            assert_eq!(Nonce::parse(&weak).err(), Some(NonceError::LowVariety), "{weak}");
        }
        assert!(Nonce::parse(&format!("{VARIED_22}aaaaaaa")).is_ok(), "a run of 7 is allowed");
        let message = NonceError::LowVariety.to_string();
        assert!(message.contains("at least 8 different characters") && message.contains("7 times"), "{message}");
    }

    /// The published CLI's nonces (32 random bytes, base64url) always pass.
    #[test]
    fn random_nonces_always_pass() {
        for _ in 0..10_000 {
            let nonce = Nonce::generate();
            assert_eq!(
                Nonce::parse(nonce.expose()).ok().map(|t| t.expose().to_owned()),
                Some(nonce.expose().to_owned()),
                "{}",
                nonce.expose()
            );
        }
        // And the shortest random ones do too: 16 random bytes, 22 characters.
        for _ in 0..10_000 {
            let mut bytes = [0u8; 16];
            random::fill(&mut bytes);
            let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
            assert!(Nonce::parse(&raw).is_ok(), "{raw}");
        }
    }
}
