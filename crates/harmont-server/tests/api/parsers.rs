//! Property tests of the server's parsers of outside input that the public
//! API reaches: login link secrets, durations in the configuration (as the
//! config reads them, with `humantime::parse_duration`), `X-Forwarded-For`
//! through `client_ip`, and the ids in paths. Arbitrary text gives an error
//! and never a panic; valid values round-trip. And the request schemas of the
//! OpenAPI document are never looser than these parsers: every value a
//! schema's pattern admits passes the parser behind it.
//! (`Prefer` and JSON bodies have theirs beside the private code they test.)

use axum::http::{HeaderMap, HeaderValue};
use harmont_server::http::extract::client_ip;
use harmont_wire::nonce::Nonce;
use harmont_wire::paste_code::PasteCode;
use harmont_wire::pkce;
use harmont_wire::token::LinkSecret;
use proptest::prelude::*;
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

fn config() -> ProptestConfig {
    ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() }
}

/// Any text: arbitrary strings, and arbitrary bytes as a lenient reader sees them.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        proptest::collection::vec(any::<u8>(), 0..300).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        "[ -~]{0,120}",
    ]
}

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|b| IpAddr::V4(Ipv4Addr::from(b))),
        any::<[u8; 16]>().prop_map(|b| IpAddr::V6(Ipv6Addr::from(b))),
        // IPv4 as a dual-stack listener sees it.
        any::<[u8; 4]>().prop_map(|b| IpAddr::V6(Ipv4Addr::from(b).to_ipv6_mapped())),
        Just(IpAddr::V4(Ipv4Addr::LOCALHOST)),
    ]
}

/// One `X-Forwarded-For` entry: an address, an address with a port, or junk.
fn hop() -> impl Strategy<Value = String> {
    prop_oneof![
        ip().prop_map(|ip| ip.to_string()),
        (ip(), any::<u16>()).prop_map(|(ip, port)| match ip {
            IpAddr::V4(v4) => format!("{v4}:{port}"),
            IpAddr::V6(v6) => format!("[{v6}]:{port}"),
        }),
        "[ -+\\--~]{0,20}",
        Just("unknown".to_owned()),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn link_secrets_parse_without_panicking(raw in text()) {
        if let Some(secret) = LinkSecret::parse(&raw) {
            prop_assert_eq!(secret.expose(), raw.as_str());
            prop_assert!(raw.starts_with("hml_") && raw.len() == 47);
        }
    }

    #[test]
    fn link_secrets_round_trip(body in "[A-Za-z0-9_-]{43}") {
        let generated = LinkSecret::generate();
        prop_assert_eq!(LinkSecret::parse(generated.expose()).map(|s| s.expose().to_owned()), Some(generated.expose().to_owned()));
        let raw = format!("hml_{body}");
        prop_assert_eq!(LinkSecret::parse(&raw).map(|s| s.expose().to_owned()), Some(raw));
    }

    /// `--transfer-ttl`, `--session-ttl` and the other durations.
    #[test]
    fn configured_durations_parse_without_panicking(raw in prop_oneof![text(), "[0-9]{1,30} ?[a-z]{0,8}( [0-9]{1,30}[a-z]{0,8}){0,3}"]) {
        let _ = humantime::parse_duration(&raw);
    }

    #[test]
    fn configured_durations_round_trip(secs in 0u64..100 * 365 * 86_400, nanos in 0u32..1_000_000_000) {
        let duration = Duration::new(secs, nanos);
        let shown = humantime::format_duration(duration).to_string();
        prop_assert_eq!(humantime::parse_duration(&shown), Ok(duration), "{}", shown);
        prop_assert_eq!(humantime::parse_duration(&format!("{secs}s")), Ok(Duration::from_secs(secs)));
    }

    /// Whatever the header holds, the client is the peer or one of the
    /// header's addresses; behind an untrusted peer the header is ignored.
    #[test]
    fn forwarded_for_never_panics(
        peer in ip(),
        hops in proptest::collection::vec(hop(), 0..6),
        raw in proptest::collection::vec(any::<u8>(), 0..80),
        trusted in proptest::collection::vec((ip(), 0u8..=128), 0..3),
    ) {
        let trusted: Vec<ipnet::IpNet> =
            trusted.into_iter().filter_map(|(ip, len)| ipnet::IpNet::new(ip, len.min(if ip.is_ipv4() { 32 } else { 128 })).ok()).collect();
        let mut headers = HeaderMap::new();
        headers.append("x-forwarded-for", HeaderValue::from_str(&hops.join(", ")).unwrap());
        if let Ok(value) = HeaderValue::from_bytes(&raw) {
            headers.append("x-forwarded-for", value);
        }
        let client = client_ip(peer, &headers, &trusted);
        let peer_trusted = trusted.iter().any(|net| net.contains(&peer) || net.contains(&peer.to_canonical()));
        if !peer_trusted {
            prop_assert_eq!(client.to_canonical(), peer.to_canonical());
        }
        let text = headers.get_all("x-forwarded-for").iter().map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()).collect::<Vec<_>>().join(",");
        let named = text.split(',').filter_map(|hop| {
            let hop = hop.trim();
            let bare = hop.trim_start_matches('[').trim_end_matches(']');
            bare.parse::<IpAddr>().ok().or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
        }).any(|ip| ip.to_canonical() == client.to_canonical());
        prop_assert!(client.to_canonical() == peer.to_canonical() || named, "{client} from {text:?}");
    }

    /// A client behind one trusted proxy is the address the proxy reports.
    #[test]
    fn forwarded_for_round_trips_through_a_trusted_proxy(client in any::<[u8; 4]>()) {
        let client = IpAddr::V4(Ipv4Addr::from(client));
        let proxy = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        prop_assume!(!trusted[0].contains(&client));
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_str(&client.to_string()).unwrap());
        prop_assert_eq!(client_ip(proxy, &headers, &trusted), client);
    }

    /// Passkey and session ids in paths.
    #[test]
    fn path_ids_parse_without_panicking(raw in text(), id in any::<u128>()) {
        let _ = uuid::Uuid::parse_str(&raw);
        let id = uuid::Uuid::from_u128(id);
        prop_assert_eq!(uuid::Uuid::parse_str(&id.to_string()), Ok(id));
    }
}

/// The pattern of a request field in our OpenAPI document, without its
/// anchors (proptest generates from the rest).
fn pattern(schema: &str, field: &str) -> String {
    let doc = serde_json::to_value(<harmont_server::http::openapi::ApiDoc as utoipa::OpenApi>::openapi()).unwrap();
    let pattern = &doc["components"]["schemas"][schema]["properties"][field]["pattern"];
    let pattern = pattern.as_str().unwrap_or_else(|| panic!("{schema}.{field} has no pattern"));
    pattern.strip_prefix('^').and_then(|p| p.strip_suffix('$')).expect("anchored pattern").to_owned()
}

fn schema_admits(pattern: &str) -> proptest::string::RegexGeneratorStrategy<String> {
    proptest::string::string_regex(pattern).expect("a pattern proptest can generate from")
}

/// A value a request schema calls valid is never refused for its shape.
#[test]
fn the_documents_patterns_are_no_looser_than_the_parsers() {
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig { cases: 500, ..config() });
    for schema in ["CliTransferRequest", "CliClaimRequest"] {
        runner
            .run(&schema_admits(&pattern(schema, "nonce")), |raw| {
                // Shape only: the nonce module may refuse low variety on top.
                let refused_for_shape = matches!(
                    Nonce::parse(&raw),
                    Err(harmont_wire::nonce::NonceError::TooShort
                        | harmont_wire::nonce::NonceError::TooLong
                        | harmont_wire::nonce::NonceError::Alphabet)
                );
                prop_assert!(!refused_for_shape, "{}", raw);
                Ok(())
            })
            .unwrap();
    }
    for schema in ["CliTransferRequest", "CliCodeRequest"] {
        runner
            .run(&schema_admits(&pattern(schema, "code_challenge")), |raw| {
                prop_assert!(pkce::is_valid_challenge(&raw), "{}", raw);
                Ok(())
            })
            .unwrap();
    }
    for schema in ["CliClaimRequest", "CliRedeemRequest"] {
        runner
            .run(&schema_admits(&pattern(schema, "code_verifier")), |raw| {
                prop_assert!(pkce::is_valid_verifier(&raw), "{}", raw);
                Ok(())
            })
            .unwrap();
    }
    runner
        .run(&schema_admits(&pattern("CliRedeemRequest", "code")), |raw| {
            prop_assert!(PasteCode::parse_lenient(&raw).is_some(), "{:?}", raw);
            Ok(())
        })
        .unwrap();
    runner
        .run(&schema_admits(&pattern("LinkRedeemRequest", "link")), |raw| {
            prop_assert!(LinkSecret::parse(&raw).is_some(), "{}", raw);
            Ok(())
        })
        .unwrap();
    // And what the server makes is what the document describes.
    let doc = serde_json::to_value(<harmont_server::http::openapi::ApiDoc as utoipa::OpenApi>::openapi()).unwrap();
    let code_body = &doc["paths"]["/api/v0/auth/cli/code"]["post"]["requestBody"];
    assert_eq!(code_body["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/CliCodeRequest");
    assert_ne!(code_body["required"], Value::Bool(true), "code's body is optional");
}
