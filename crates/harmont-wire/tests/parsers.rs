//! Property tests of every parser of outside input in harmont-wire, through
//! its public API only: session tokens, nonces, paste codes (as typed), PKCE
//! verifiers and challenges. Arbitrary strings, and arbitrary bytes read as
//! text, give an error and never a panic; valid values round-trip
//! (generate → expose → parse gives the original).

use harmont_wire::nonce::{self, Nonce, NonceError};
use harmont_wire::paste_code::{self, PasteCode};
use harmont_wire::pkce::{self, CodeVerifier};
use harmont_wire::token::{SessionToken, TokenFormatError, TOKEN_LEN};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() }
}

/// Any text: arbitrary strings, and arbitrary bytes as a lenient reader sees them.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        proptest::collection::vec(any::<u8>(), 0..300).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        // Long inputs around the length limits.
        "[ -~]{0,600}",
    ]
}

fn is_base64url(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn session_tokens_parse_without_panicking(raw in text()) {
        if let Ok(token) = SessionToken::parse(&raw) {
            prop_assert_eq!(token.expose(), raw.as_str());
            prop_assert_eq!(raw.len(), TOKEN_LEN);
            prop_assert!(raw.starts_with("hms_"));
        }
    }

    /// Right prefix, length and alphabet: only the checksum decides.
    #[test]
    fn well_shaped_tokens_fail_only_on_the_checksum(raw in "hms_[0-9A-Za-z]{49}") {
        match SessionToken::parse(&raw) {
            Ok(token) => prop_assert_eq!(token.expose(), raw.as_str()),
            Err(err) => prop_assert_eq!(err, TokenFormatError::Checksum),
        }
    }

    #[test]
    fn session_tokens_round_trip_and_any_changed_character_is_caught(at in 4..TOKEN_LEN, with in "[0-9A-Za-z]") {
        let token = SessionToken::generate();
        prop_assert_eq!(SessionToken::parse(token.expose()).ok().map(|t| t.expose().to_owned()), Some(token.expose().to_owned()));
        let mut changed = token.expose().to_owned();
        changed.replace_range(at..at + 1, &with);
        if changed != token.expose() {
            prop_assert_eq!(SessionToken::parse(&changed).err(), Some(TokenFormatError::Checksum));
        }
    }

    #[test]
    fn nonces_parse_without_panicking(raw in text()) {
        match Nonce::parse(&raw) {
            Ok(nonce) => {
                prop_assert_eq!(nonce.expose(), raw.as_str());
                prop_assert!((nonce::MIN_LEN..=nonce::MAX_LEN).contains(&raw.len()));
                prop_assert!(is_base64url(&raw));
            }
            Err(NonceError::TooShort) => prop_assert!(raw.len() < nonce::MIN_LEN),
            Err(NonceError::TooLong) => prop_assert!(raw.len() > nonce::MAX_LEN),
            Err(_) => {}
        }
        // `claim` hashes whatever it is given.
        prop_assert_eq!(nonce::hash(&raw), nonce::hash(&raw.clone()));
    }

    /// A nonce of the wrong length or alphabet is never accepted.
    #[test]
    fn misshapen_nonces_are_refused(raw in prop_oneof!["[A-Za-z0-9_-]{0,21}", "[A-Za-z0-9_-]{257,400}", "[A-Za-z0-9_-]{10,30}[^A-Za-z0-9_-][A-Za-z0-9_-]{11,30}"]) {
        prop_assert!(Nonce::parse(&raw).is_err());
    }

    #[test]
    fn generated_nonces_round_trip(_case in 0..1u8) {
        let nonce = Nonce::generate();
        prop_assert_eq!(Nonce::parse(nonce.expose()).ok().map(|t| t.expose().to_owned()), Some(nonce.expose().to_owned()));
        prop_assert_eq!(nonce.hash(), nonce::hash(nonce.expose()));
    }

    #[test]
    fn paste_codes_parse_without_panicking(raw in text()) {
        if let Some(code) = PasteCode::parse_lenient(&raw) {
            prop_assert_eq!(code.expose().len(), paste_code::LEN);
            prop_assert!(code.expose().bytes().all(|b| paste_code::ALPHABET.contains(&b)));
        }
    }

    /// However a person types a code (case, spaces, tabs, dashes, O for 0,
    /// I or L for 1), it reads back as the code.
    #[test]
    fn typed_paste_codes_round_trip(
        separators in proptest::collection::vec("[ \t-]{0,2}", paste_code::LEN + 1),
        lower in proptest::collection::vec(any::<bool>(), paste_code::LEN),
        confusable in proptest::collection::vec(0..3u8, paste_code::LEN),
    ) {
        let code = PasteCode::generate();
        prop_assert_eq!(PasteCode::parse_lenient(code.expose()).map(|c| c.expose().to_owned()), Some(code.expose().to_owned()));
        let mut typed = separators[0].clone();
        for (i, c) in code.expose().chars().enumerate() {
            let c = match (c, confusable[i]) {
                ('0', 1) => 'O',
                ('1', 1) => 'I',
                ('1', 2) => 'L',
                (c, _) => c,
            };
            typed.push(if lower[i] { c.to_ascii_lowercase() } else { c });
            typed.push_str(&separators[i + 1]);
        }
        prop_assert_eq!(PasteCode::parse_lenient(&typed).map(|c| c.expose().to_owned()), Some(code.expose().to_owned()));
    }

    #[test]
    fn challenges_and_verifiers_are_checked_without_panicking(raw in text()) {
        let challenge_ok = pkce::is_valid_challenge(&raw);
        prop_assert_eq!(challenge_ok, raw.len() == pkce::CHALLENGE_LEN && is_base64url(&raw));
        let verifier_ok = pkce::is_valid_verifier(&raw);
        let unreserved = raw.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
        prop_assert_eq!(verifier_ok, pkce::VERIFIER_LEN.contains(&raw.len()) && unreserved);
        // Any string has an S256 challenge, and it is a valid one.
        prop_assert!(pkce::is_valid_challenge(&pkce::challenge_of(&raw)));
    }

    #[test]
    fn verifiers_round_trip_to_their_challenge(raw in "[A-Za-z0-9._~-]{43,128}") {
        prop_assert!(pkce::is_valid_verifier(&raw));
        let verifier = CodeVerifier::from_raw(raw.clone());
        prop_assert_eq!(verifier.expose(), raw.as_str());
        prop_assert_eq!(verifier.challenge(), pkce::challenge_of(&raw));
        let generated = CodeVerifier::generate();
        prop_assert!(pkce::is_valid_verifier(generated.expose()));
        prop_assert!(pkce::is_valid_challenge(&generated.challenge()));
    }
}
