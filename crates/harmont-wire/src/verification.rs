//! The verification code that ties an approval page to a terminal: both derive
//! it from the nonce, so a user approves only the login their terminal shows.
//!
//! Derivation (the web page implements the same in JavaScript):
//! `SHA-256("harmont-verify:" ‖ nonce)`, its first 40 bits as 8 Crockford
//! base32 characters, shown as `XXXX-XXXX`.

use sha2::{Digest, Sha256};

use crate::paste_code::ALPHABET;

pub fn verification_code(nonce: &str) -> String {
    let digest = Sha256::new().chain_update(b"harmont-verify:").chain_update(nonce.as_bytes()).finalize();
    // mutants: equivalent because `acc << 8` has its low 8 bits clear, so
    // `| u64::from(b)` and `^ u64::from(b)` (and `+`) give the same value.
    let bits = digest[..5].iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    let chars: String = (0..8).rev().map(|i| ALPHABET[((bits >> (i * 5)) & 31) as usize] as char).collect();
    format!("{}-{}", &chars[..4], &chars[4..])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector the web page's tests pin as well.
    #[test]
    fn test_vector() {
        assert_eq!(verification_code("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"), VECTOR);
    }

    const VECTOR: &str = "57BY-26FF";
}
