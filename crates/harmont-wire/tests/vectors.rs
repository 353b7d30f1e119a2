//! Known answers for every format and hash in harmont-wire, computed outside
//! this crate (Python's `zlib.crc32`, `hashlib` and `hmac`; RFC 7636
//! appendix B), and the exact text of every secret type's redacting `Debug`.
//!
//! Sessions, parked grants and paste codes are stored and looked up by these
//! hashes, and the checksum decides which tokens are read at all: a change to
//! any of them would invalidate what is stored on upgrade, so none may change
//! unnoticed. `scripts/mutants.sh` checks that these tests notice.

use harmont_wire::api::CliTokenResponse;
use harmont_wire::nonce::{self, Nonce};
use harmont_wire::paste_code::PasteCode;
use harmont_wire::pkce::{self, CodeVerifier};
use harmont_wire::token::{ApiKey, BearerToken, LinkSecret, SessionToken, TokenFormatError, TOKEN_LEN};
use harmont_wire::verification::verification_code;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Tokens: the body, its checksum (the body's CRC32 as six base62 digits,
/// most significant first), that CRC32, and the SHA-256 of the whole token.
const TOKENS: &[(&str, &str, u32, &str)] = &[
    (
        "hms_0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefg",
        "3cZhrr",
        3_318_409_375,
        "18978e2dc3dede6d5cf31350e35e476d4566775bf5d450ae89c09cc18d19a71e",
    ),
    (
        "hms_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "2rERQv",
        2_618_853_521,
        "af1c8d4436954313809fcf526ddb47f9a7110eee60eeae837beb7e27e1841298",
    ),
    (
        "hms_ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ",
        "2XpKVl",
        2_332_118_329,
        "b52db1a69d973ad4c033ccff8e50de173a1184b79f80a2c2db33a1b10abd8d72",
    ),
    (
        "hms_x7Kp2mQ9vR4tY8wL3nB6cF1hJ5gD0sA7eU2iO9zX4qW",
        "34VeUt",
        2_815_047_683,
        "3784817a468ebc7015854ca44c46b71306d133b11b3e5c92cc0670f7741e8d4f",
    ),
    // A small CRC, so leading zero digits.
    (
        "hms_0000000000000000000000000000000000000000018",
        "00sHZn",
        12_937_279,
        "943db4a8c6556094109a85b1c5d34ae455784541004a47561703e5bab5dffb64",
    ),
];

#[test]
fn the_token_vectors_spell_their_crc() {
    for &(body, checksum, crc, _) in TOKENS {
        let value =
            checksum.bytes().fold(0u64, |acc, c| acc * 62 + BASE62.iter().position(|&d| d == c).unwrap() as u64);
        assert_eq!(value, u64::from(crc), "{body}");
    }
}

#[test]
fn token_checksums_are_pinned() {
    for &(body, checksum, _, _) in TOKENS {
        let raw = format!("{body}{checksum}");
        assert_eq!(raw.len(), TOKEN_LEN);
        let token = SessionToken::parse(&raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
        assert_eq!(token.expose(), raw);
        // Each of the six digits counts: changing any one is refused.
        for at in body.len()..raw.len() {
            for other in ["0", "Z", "z"] {
                let mut changed = raw.clone();
                changed.replace_range(at..=at, other);
                if changed != raw {
                    assert_eq!(SessionToken::parse(&changed).err(), Some(TokenFormatError::Checksum), "{changed}");
                }
            }
        }
    }
}

#[test]
fn token_hashes_are_pinned() {
    for &(body, checksum, _, sha256) in TOKENS {
        let token = SessionToken::parse(&format!("{body}{checksum}")).unwrap();
        assert_eq!(hex(&token.hash().0), sha256, "{body}");
    }
}

#[test]
fn generated_tokens_have_the_format() {
    for _ in 0..100 {
        let token = SessionToken::generate();
        let raw = token.expose();
        assert_eq!(raw.len(), TOKEN_LEN);
        assert!(raw.starts_with("hms_"), "{raw}");
        assert!(raw[4..].bytes().all(|b| BASE62.contains(&b)), "{raw}");
        assert!(SessionToken::parse(raw).is_ok(), "{raw}");
    }
}

/// Personal API keys: the token format under `hmk_` (body, checksum, CRC32,
/// SHA-256 of the whole key), computed the same way outside this crate.
const API_KEYS: &[(&str, &str, u32, &str)] = &[
    (
        "hmk_0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefg",
        "47KDGI",
        3_772_783_222,
        "85db5a8fdd225d1dc2a0c930b7eaec41238f07daa3a1ea5e6d9c93d2263975bd",
    ),
    (
        "hmk_x7Kp2mQ9vR4tY8wL3nB6cF1hJ5gD0sA7eU2iO9zX4qW",
        "2ObE6c",
        2_195_770_090,
        "dbb81bf44f50842acb63f17c26d048caf3c995aa6fb7bb935a9225af98abf155",
    ),
];

#[test]
fn api_key_checksums_and_hashes_are_pinned() {
    for &(body, checksum, crc, sha256) in API_KEYS {
        let value =
            checksum.bytes().fold(0u64, |acc, c| acc * 62 + BASE62.iter().position(|&d| d == c).unwrap() as u64);
        assert_eq!(value, u64::from(crc), "{body}");
        let raw = format!("{body}{checksum}");
        let key = ApiKey::parse(&raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
        assert_eq!((key.expose(), hex(&key.hash().0).as_str()), (raw.as_str(), sha256));
        assert_eq!(SessionToken::parse(&raw).err(), Some(TokenFormatError::Malformed), "a key is no session token");
        let mut changed = raw.clone();
        changed.replace_range(raw.len() - 1.., if raw.ends_with('0') { "1" } else { "0" });
        assert_eq!(ApiKey::parse(&changed).err(), Some(TokenFormatError::Checksum), "{changed}");
    }
    let generated = ApiKey::generate();
    assert!(generated.expose().starts_with("hmk_") && generated.expose().len() == TOKEN_LEN);
    assert_eq!(format!("{generated:?}"), "ApiKey(hmk_…redacted)");
}

/// A login link's secret (`hml_` + bytes 0 to 31 in base64url) and the
/// SHA-256 of the whole secret, which the link's row is stored under.
const LINK: &str = "hml_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
const LINK_SHA256: &str = "67432f0c8f6a2af8fe0a02494d2ef5fc7d449ab53fc936a8adf0fd12a65b2fcb";

#[test]
fn link_secret_hashes_are_pinned() {
    let secret = LinkSecret::parse(LINK).unwrap();
    assert_eq!((secret.expose(), hex(&secret.hash()).as_str()), (LINK, LINK_SHA256));
}

#[test]
fn generated_link_secrets_have_the_format() {
    let mut seen = std::collections::HashSet::new();
    for _ in 0..100 {
        let secret = LinkSecret::generate();
        let raw = secret.expose();
        assert_eq!(raw.len(), LINK.len(), "{raw}");
        assert!(raw.starts_with("hml_"), "{raw}");
        assert!(raw[4..].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{raw}");
        assert!(LinkSecret::parse(raw).is_some(), "{raw}");
        assert!(seen.insert(raw.to_owned()), "{raw} drawn twice");
    }
}

/// The RFC 7636 appendix B verifier, used as a nonce.
const NONCE: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const NONCE_SHA256: &str = "13d31e961a1ad8ec2f16b10c4c982e0876a878ad6df144566ee1894acb70f9c3";

#[test]
fn nonce_hashes_are_pinned() {
    assert_eq!(hex(&nonce::hash(NONCE)), NONCE_SHA256);
    assert_eq!(hex(&Nonce::parse(NONCE).unwrap().hash()), NONCE_SHA256);
    // `claim` hashes what it is given, valid or not.
    assert_eq!(hex(&nonce::hash("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

#[test]
fn paste_code_hmacs_are_pinned() {
    let code = PasteCode::parse_lenient("k7p2-qr9m-x3wz-4ntv").unwrap();
    assert_eq!(code.expose(), "K7P2QR9MX3WZ4NTV");
    // HMAC-SHA256(key, canonical code).
    assert_eq!(
        hex(&code.keyed_hash(b"harmont test key")),
        "d91c1a2121ebc4d3d43b254fda5ffc36ea6aac5eefcbb43eef19351068a8a8c1"
    );
}

#[test]
fn pkce_challenges_are_pinned() {
    // RFC 7636 appendix B.
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    assert_eq!(pkce::challenge_of(NONCE), challenge);
    assert_eq!(CodeVerifier::from_raw(NONCE).challenge(), challenge);
}

#[test]
fn verification_codes_are_pinned() {
    // The web page's tests pin the same vector.
    assert_eq!(verification_code(NONCE), "57BY-26FF");
}

/// The exact text each secret type's `Debug` prints: a label and never the value.
#[test]
fn secrets_debug_as_redacted_text() {
    let (body, checksum, _, sha256) = TOKENS[0];
    let token = SessionToken::parse(&format!("{body}{checksum}")).unwrap();
    assert_eq!(format!("{token:?}"), "SessionToken(hms_…redacted)");
    assert_eq!(format!("{:?}", SessionToken::generate()), "SessionToken(hms_…redacted)");
    // A token's hash shows its first four bytes, enough to correlate log lines.
    assert_eq!(format!("{:?}", token.hash()), format!("TokenHash({}…)", &sha256[..8]));
    assert_eq!(format!("{:?}", Nonce::parse(NONCE).unwrap()), "Nonce(redacted)");
    assert_eq!(format!("{:?}", Nonce::generate()), "Nonce(redacted)");
    assert_eq!(format!("{:?}", PasteCode::generate()), "PasteCode(redacted)");
    assert_eq!(format!("{:?}", CodeVerifier::from_raw(NONCE)), "CodeVerifier(redacted)");
    assert_eq!(format!("{:?}", CodeVerifier::generate()), "CodeVerifier(redacted)");
    assert_eq!(format!("{:?}", LinkSecret::parse(LINK).unwrap()), "LinkSecret(hml_…redacted)");
    assert_eq!(format!("{:?}", LinkSecret::generate()), "LinkSecret(hml_…redacted)");
    // Inside other values' `Debug` too.
    assert_eq!(format!("{:?}", Some(&token)), "Some(SessionToken(hms_…redacted))");
    // What a client holds: any token the server gave, never shown either.
    let held = BearerToken::from(token.clone());
    assert_eq!(format!("{held:?}"), "BearerToken(…redacted)");
    let response: CliTokenResponse = serde_json::from_str(r#"{"token": "opaque-from-another-server"}"#).unwrap();
    assert_eq!(format!("{response:?}"), "CliTokenResponse { token: BearerToken(…redacted) }");
}

/// A held token is read and written as the plain string (credential files
/// and response bodies keep their shape), tells a key from a session, and is
/// compared through `same_as`, never `==`.
#[test]
fn bearer_tokens_round_trip_as_plain_strings() {
    let (body, checksum, _, _) = TOKENS[0];
    let raw = format!("{body}{checksum}");
    let held = BearerToken::from(SessionToken::parse(&raw).unwrap());
    assert_eq!(serde_json::to_string(&held).unwrap(), format!("\"{raw}\""));
    let read: BearerToken = serde_json::from_str(&format!("\"{raw}\"")).unwrap();
    assert!(read.same_as(&held));
    assert!(!read.same_as(&BearerToken::new(&raw[..raw.len() - 1])), "a prefix is another token");
    assert!(!read.same_as(&BearerToken::new(format!("{}x", &raw[..raw.len() - 1]))));
    assert!(!held.is_api_key());
    assert!(BearerToken::from(ApiKey::generate()).is_api_key());
}
