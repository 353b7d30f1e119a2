//! Proof of possession for the CLI handoff (RFC 7636, S256 only): the CLI
//! keeps a random verifier and sends its SHA-256 as the challenge through the
//! browser; only a caller holding the verifier can then claim or redeem.

use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::fmt;

use crate::random;

/// A base64url SHA-256 is always 43 characters.
pub const CHALLENGE_LEN: usize = 43;
/// RFC 7636 §4.1: a verifier is 43 to 128 characters.
pub const VERIFIER_LEN: std::ops::RangeInclusive<usize> = 43..=128;

#[derive(Clone)]
pub struct CodeVerifier(String);

impl CodeVerifier {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        random::fill(&mut bytes);
        Self(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn from_raw(raw: impl Into<String>) -> Self {
        Self(raw.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `BASE64URL(SHA256(verifier))`, the S256 challenge.
    pub fn challenge(&self) -> String {
        challenge_of(&self.0)
    }
}

impl fmt::Debug for CodeVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CodeVerifier(redacted)")
    }
}

pub fn challenge_of(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Whether a string can be a PKCE verifier (RFC 7636 §4.1): 43 to 128
/// unreserved characters, `A-Z a-z 0-9 - . _ ~`.
pub fn is_valid_verifier(verifier: &str) -> bool {
    VERIFIER_LEN.contains(&verifier.len())
        && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Whether a string can be an S256 challenge: 43 base64url characters.
pub fn is_valid_challenge(challenge: &str) -> bool {
    challenge.len() == CHALLENGE_LEN && challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_7636_appendix_b_vector() {
        let verifier = CodeVerifier::from_raw("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert_eq!(verifier.challenge(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert!(is_valid_challenge(&verifier.challenge()));
    }

    #[test]
    fn verifiers_follow_rfc_7636() {
        assert!(is_valid_verifier(CodeVerifier::generate().expose()));
        assert!(is_valid_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"));
        assert!(is_valid_verifier(&"a.~_-".repeat(26)[..128]));
        assert!(!is_valid_verifier(&"a".repeat(42)));
        assert!(!is_valid_verifier(&"a".repeat(129)));
        assert!(!is_valid_verifier(&format!("{}+", "a".repeat(43))));
    }

    #[test]
    fn malformed_challenges_are_refused() {
        assert!(!is_valid_challenge("short"));
        assert!(!is_valid_challenge(&"a+".repeat(22)[..43]));
        assert!(is_valid_challenge(&CodeVerifier::generate().challenge()));
    }
}
