//! Paste codes: 16 characters of Crockford base32 (80 bits) that a person
//! reads off the web page and types into a terminal. With only 80 bits they
//! are stored as an HMAC under a server secret, never as a plain hash.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

use crate::random;

pub const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
pub const LEN: usize = 16;

#[derive(Clone)]
pub struct PasteCode(String);

impl PasteCode {
    pub fn generate() -> Self {
        Self(random::string_from(ALPHABET, LEN))
    }

    /// Reads what a person typed: case, spaces and dashes do not matter, and
    /// Crockford's confusables are mapped (O to 0, I and L to 1). Anything that
    /// is not then 16 alphabet characters is not a code.
    pub fn parse_lenient(typed: &str) -> Option<Self> {
        let mut code = String::with_capacity(LEN);
        for c in typed.chars() {
            let c = match c.to_ascii_uppercase() {
                ' ' | '-' | '\t' => continue,
                'O' => '0',
                'I' | 'L' => '1',
                c => c,
            };
            if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) || code.len() == LEN {
                return None;
            }
            code.push(c);
        }
        (code.len() == LEN).then_some(Self(code))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// HMAC-SHA256 of the canonical code under the server's secret.
    pub fn keyed_hash(&self, key: &[u8]) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
        mac.update(self.0.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

impl fmt::Debug for PasteCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasteCode(redacted)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_use_the_alphabet() {
        let code = PasteCode::generate();
        assert_eq!(code.expose().len(), LEN);
        assert!(code.expose().bytes().all(|b| ALPHABET.contains(&b)));
        assert_ne!(code.expose(), PasteCode::generate().expose());
    }

    #[test]
    fn typing_is_forgiven() {
        let canonical = PasteCode::parse_lenient("K7P2QR9MX3WZ4NTV").unwrap();
        for typed in ["k7p2qr9mx3wz4ntv", " K7P2-QR9M-X3WZ-4NTV ", "k7p2 qr9m x3wz 4ntv"] {
            assert_eq!(
                PasteCode::parse_lenient(typed).map(|c| c.expose().to_owned()),
                Some(canonical.expose().to_owned()),
                "{typed}"
            );
        }
        assert_eq!(PasteCode::parse_lenient("OIL0000000000000").unwrap().expose(), "0110000000000000");
    }

    #[test]
    fn wrong_length_or_letters_are_refused() {
        for typed in ["", "K7P2QR9MX3WZ4NT", "K7P2QR9MX3WZ4NTVV", "K7P2QR9MX3WZ4NTU", "K7P2QR9MX3WZ4NT!"] {
            assert!(PasteCode::parse_lenient(typed).is_none(), "{typed}");
        }
    }

    #[test]
    fn keyed_hash_depends_on_the_key() {
        let code = PasteCode::parse_lenient("K7P2QR9MX3WZ4NTV").unwrap();
        assert_ne!(code.keyed_hash(b"one"), code.keyed_hash(b"two"));
        assert_eq!(code.keyed_hash(b"one"), code.keyed_hash(b"one"));
    }
}
