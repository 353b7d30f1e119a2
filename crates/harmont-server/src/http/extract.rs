//! Extractors that turn a request into typed input or an [`ApiError`], so
//! every rejection (bad JSON, wrong content type, oversized body, bad bearer)
//! leaves in the envelope.

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, USER_AGENT};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use harmont_store::Authenticated;
use harmont_wire::ErrorCode;
use serde::de::DeserializeOwned;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use crate::cli_login::ClientInfo;
use crate::error::ApiError;
use crate::service::Service;

/// The Auth API takes small bodies; anything larger is refused with 413.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// A required JSON body.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

/// A JSON body that may be left out entirely (then `T::default()`). Left out
/// means no bytes at all: whitespace is a body, and not JSON.
#[derive(Debug)]
pub struct OptionalJsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &S) -> Result<Self, ApiError> {
        let (is_json, bytes) = read_body(req).await?;
        if bytes.is_empty() {
            return Err(invalid("a JSON body is required"));
        }
        parse(is_json, &bytes).map(JsonBody)
    }
}

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for OptionalJsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &S) -> Result<Self, ApiError> {
        let (is_json, bytes) = read_body(req).await?;
        if bytes.is_empty() {
            return Ok(OptionalJsonBody(T::default()));
        }
        parse(is_json, &bytes).map(OptionalJsonBody)
    }
}

/// A form-encoded body (`application/x-www-form-urlencoded`): its
/// name-value pairs, in order, repeats kept. Anything else is `415`.
#[derive(Debug)]
pub struct FormBody(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequest<S> for FormBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &S) -> Result<Self, ApiError> {
        let is_form = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(ApiError::new(ErrorCode::UnsupportedMediaType)
                .with_message("The request body must be application/x-www-form-urlencoded."));
        }
        let (_, bytes) = read_body(req).await?;
        Ok(FormBody(url::form_urlencoded::parse(&bytes).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()))
    }
}

/// A resource-server client authenticated with HTTP Basic (its id), for
/// token introspection; `401 invalid_client` otherwise.
#[derive(Debug)]
pub struct ResourceServer(pub uuid::Uuid);

impl FromRequestParts<Arc<Service>> for ResourceServer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, service: &Arc<Service>) -> Result<Self, ApiError> {
        let Client(client) = Client::from_request_parts(parts, service).await?;
        let header = parts.headers.get(AUTHORIZATION).map(|v| v.to_str().unwrap_or(""));
        service.introspection().authenticate_client(header, client.ip).await.map(ResourceServer)
    }
}

async fn read_body(req: Request) -> Result<(bool, Bytes), ApiError> {
    let headers = req.headers();
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
        .unwrap_or(false);
    let declared = headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_BODY_BYTES as u64) {
        return Err(ApiError::new(ErrorCode::PayloadTooLarge));
    }
    let deadline = req.extensions().get::<BodyDeadline>().copied();
    // Short of the limit and the deadline, a body read fails only when the
    // client goes away, and then nobody reads the answer.
    let read = axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES);
    let bytes = match deadline {
        Some(BodyDeadline(at)) => {
            tokio::time::timeout_at(at, read).await.map_err(|_| ApiError::new(ErrorCode::RequestTimeout))?
        }
        None => read.await,
    }
    .map_err(|_| ApiError::new(ErrorCode::PayloadTooLarge))?;
    Ok((is_json, bytes))
}

/// When the request's body must have arrived by: set by the server for each
/// request (its headers' arrival plus the body timeout).
#[derive(Debug, Clone, Copy)]
pub struct BodyDeadline(pub tokio::time::Instant);

/// Reads a JSON object into `T`. Anything else (malformed JSON, another kind
/// of value at the top, a missing field, a field of the wrong type) is a `400
/// invalid_request` whose message says what is wrong in the API's terms: the
/// field and the JSON type it should have, never the server's own type names.
pub(crate) fn parse<T: DeserializeOwned>(is_json: bool, bytes: &[u8]) -> Result<T, ApiError> {
    if !is_json {
        return Err(ApiError::new(ErrorCode::UnsupportedMediaType));
    }
    // Well-formedness first, so a syntax error further on is not reported as
    // a field problem found before it.
    if serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_err() {
        return Err(invalid("the body is not well-formed JSON"));
    }
    // serde reads a JSON array as a struct (fields in order), so the kind of
    // value is checked before any field is.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(invalid("the body must be a JSON object"));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|err| invalid(describe(&err)))
}

/// A serde error in the API's words. serde reports only a message, so its
/// fixed shapes (`missing field`, `invalid type`, `unknown field`, `duplicate
/// field`) are recognised; the input's values and Rust's type names are never
/// repeated.
fn describe(err: &serde_path_to_error::Error<serde_json::Error>) -> String {
    let raw = err.inner().to_string();
    // serde_json appends the position: " at line 1 column 13".
    let message = raw.rsplit_once(" at line ").map_or(raw.as_str(), |(message, _)| message);
    let path = err.path().to_string();
    // For a missing field the path ends at the object that lacks it; for an
    // unknown or repeated one it already ends with the field.
    let field = |name: &str| {
        if path == "." {
            name.to_owned()
        } else if path == name || path.ends_with(&format!(".{name}")) {
            path.clone()
        } else {
            format!("{path}.{name}")
        }
    };
    let quoted = |s: &str| s.split('`').nth(1).map(str::to_owned);
    if let Some(rest) = message.strip_prefix("missing field ") {
        if let Some(name) = quoted(rest) {
            return format!("field \"{}\" is required", field(&name));
        }
    }
    if let Some(rest) = message.strip_prefix("unknown field ") {
        if let Some(name) = quoted(rest) {
            return format!("unknown field \"{}\"", field(&name));
        }
    }
    if let Some(rest) = message.strip_prefix("duplicate field ") {
        if let Some(name) = quoted(rest) {
            return format!("field \"{}\" is given more than once", field(&name));
        }
    }
    let subject = if path == "." { "the body".to_owned() } else { format!("field \"{path}\"") };
    if message.starts_with("invalid type: ") || message.starts_with("invalid length ") {
        if let Some((_, expected)) = message.rsplit_once(", expected ") {
            if let Some(kind) = json_kind(expected) {
                return format!("{subject} must be {kind}");
            }
        }
        return format!("{subject} has the wrong type");
    }
    format!("{subject} is not valid")
}

/// The JSON kind serde's `expected …` text describes, if it is one.
fn json_kind(expected: &str) -> Option<&'static str> {
    let expected = expected.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| expected.contains(w));
    if has(&["string", "char"]) {
        Some("a string")
    } else if has(&["bool"]) {
        Some("true or false")
    } else if has(&["u8", "u16", "u32", "u64", "u128", "i8", "i16", "i32", "i64", "i128", "integer"]) {
        Some("an integer")
    } else if has(&["f32", "f64", "number", "float"]) {
        Some("a number")
    } else if has(&["struct", "map"]) {
        Some("a JSON object")
    } else if has(&["sequence", "tuple", "array"]) {
        Some("an array")
    } else {
        None
    }
}

fn invalid(message: impl Into<std::borrow::Cow<'static, str>>) -> ApiError {
    ApiError::new(ErrorCode::InvalidRequest).with_message(message)
}

/// The caller's live session and user, from `Authorization: Bearer`.
#[derive(Debug)]
pub struct Bearer(pub Authenticated);

impl FromRequestParts<Arc<Service>> for Bearer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, service: &Arc<Service>) -> Result<Self, ApiError> {
        let header = parts.headers.get(AUTHORIZATION).map(|v| v.to_str().unwrap_or(""));
        service.sessions().authenticate(header).await.map(Bearer)
    }
}

/// As [`Bearer`], but a personal API key is refused with `403
/// api_key_forbidden`: for what mints credentials or changes the account.
#[derive(Debug)]
pub struct SessionBearer(pub Authenticated);

impl FromRequestParts<Arc<Service>> for SessionBearer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, service: &Arc<Service>) -> Result<Self, ApiError> {
        let Bearer(auth) = Bearer::from_request_parts(parts, service).await?;
        crate::api_keys::forbid_api_key(&auth)?;
        Ok(SessionBearer(auth))
    }
}

/// Who is calling: their address (through trusted proxies only) and user agent.
#[derive(Debug)]
pub struct Client(pub ClientInfo);

impl FromRequestParts<Arc<Service>> for Client {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, service: &Arc<Service>) -> Result<Self, ApiError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |ConnectInfo(addr)| addr.ip());
        let ip = client_ip(peer, &parts.headers, &service.settings().trusted_proxies);
        let user_agent = parts.headers.get(USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned);
        Ok(Client(ClientInfo { ip, user_agent }))
    }
}

/// The client's address, canonical (an IPv4 peer of a dual-stack listener,
/// `::ffff:a.b.c.d`, is `a.b.c.d`), as every limit, log and session sees it.
///
/// Walks `X-Forwarded-For` from the right while the hop is a trusted proxy;
/// the first untrusted hop is the client. An entry that doesn't parse ends the
/// walk at the last trusted hop: what lies left of it is whatever the client
/// wrote. Without a trusted peer the header is ignored, since anyone can send it.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[ipnet::IpNet]) -> IpAddr {
    let peer = peer.to_canonical();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<Option<IpAddr>> = headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|value| match value.to_str() {
            Ok(value) => value.split(',').map(parse_forwarded_hop).collect::<Vec<_>>(),
            Err(_) => vec![None],
        })
        .collect();
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        let Some(hop) = hop else { break };
        client = hop;
        if !is_trusted(&hop) {
            break;
        }
    }
    client
}

/// One `X-Forwarded-For` entry: `ip`, `ip:port`, `[v6]:port` or `[v6]`, canonical.
pub fn parse_forwarded_hop(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    let ip =
        entry.parse::<IpAddr>().ok().or_else(|| entry.parse::<SocketAddr>().ok().map(|addr| addr.ip())).or_else(
            || entry.strip_prefix('[')?.strip_suffix(']')?.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6),
        )?;
    Some(ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", value.parse().unwrap());
        }
        headers
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let headers = forwarded(&["6.6.6.6, 1.2.3.4, 10.0.0.2"]);
        let proxy = ip("10.0.0.1");
        let stranger = ip("9.9.9.9");
        assert_eq!(client_ip(proxy, &headers, &trusted), ip("1.2.3.4"));
        assert_eq!(client_ip(stranger, &headers, &trusted), stranger);
        assert_eq!(client_ip(proxy, &HeaderMap::new(), &trusted), proxy);
    }

    #[test]
    fn forwarded_entries_take_ports_and_brackets() {
        for (entry, expected) in [
            ("203.0.113.7", Some("203.0.113.7")),
            (" 203.0.113.7:4431 ", Some("203.0.113.7")),
            ("2001:db8::7", Some("2001:db8::7")),
            ("[2001:db8::7]:4431", Some("2001:db8::7")),
            ("[2001:db8::7]", Some("2001:db8::7")),
            ("::ffff:203.0.113.7", Some("203.0.113.7")),
            ("[::ffff:203.0.113.7]:80", Some("203.0.113.7")),
            ("", None),
            ("unknown", None),
            ("_hidden", None),
            ("203.0.113.7:", None),
            ("203.0.113.7:99999", None),
            ("[203.0.113.7]", None),
            ("[2001:db8::7", None),
            ("2001:db8::7:80:1:2:3:4:5", None),
            ("example.com:80", None),
        ] {
            assert_eq!(parse_forwarded_hop(entry), expected.map(ip), "{entry:?}");
        }
    }

    /// Peer, trusted proxies, `X-Forwarded-For` values, the client the server must see.
    #[test]
    fn the_walk_stops_at_the_first_entry_that_does_not_parse() {
        let loopback = "127.0.0.1";
        for (peer, trusted, values, expected) in [
            // The issue's case: a port on the proxy's entry no longer hides it.
            (loopback, "127.0.0.1", &["6.6.6.6, 203.0.113.7:4431"][..], "203.0.113.7"),
            (loopback, "127.0.0.1", &["6.6.6.6, [2001:db8::7]:4431"], "2001:db8::7"),
            (loopback, "127.0.0.1", &["6.6.6.6, [2001:db8::7]"], "2001:db8::7"),
            // Garbage right of the real client: the last trusted hop, never the entry left of it.
            (loopback, "127.0.0.1", &["6.6.6.6, garbage"], loopback),
            (loopback, "127.0.0.0/8", &["6.6.6.6, garbage, 127.0.0.2"], "127.0.0.2"),
            (loopback, "127.0.0.1", &["6.6.6.6, 203.0.113.7:bad"], loopback),
            // Several headers read as one list, in order.
            (loopback, "127.0.0.0/8", &["6.6.6.6", "203.0.113.7, 127.0.0.2"], "203.0.113.7"),
            (loopback, "127.0.0.0/8", &["6.6.6.6", "nope", "127.0.0.2"], "127.0.0.2"),
            // Every hop trusted: the leftmost.
            (loopback, "127.0.0.0/8", &["127.0.0.3, 127.0.0.2"], "127.0.0.3"),
            // An IPv4-mapped peer is its IPv4 address, trusted as such.
            ("::ffff:127.0.0.1", "127.0.0.1", &["203.0.113.7"], "203.0.113.7"),
            ("::ffff:192.0.2.9", "127.0.0.1", &["203.0.113.7"], "192.0.2.9"),
            // An untrusted peer's header means nothing.
            ("192.0.2.9", "127.0.0.1", &["203.0.113.7"], "192.0.2.9"),
            (loopback, "127.0.0.1", &[], loopback),
        ] {
            let trusted = vec![crate::config::parse_trusted_proxy(trusted).unwrap()];
            let got = client_ip(ip(peer), &forwarded(values), &trusted);
            assert_eq!(got, ip(expected), "peer {peer}, trusted {trusted:?}, {values:?}");
        }
    }

    #[test]
    fn a_header_that_is_not_text_ends_the_walk() {
        let trusted = vec![crate::config::parse_trusted_proxy("127.0.0.1").unwrap()];
        let mut headers = HeaderMap::new();
        headers.append("x-forwarded-for", "6.6.6.6".parse().unwrap());
        headers.append("x-forwarded-for", axum::http::HeaderValue::from_bytes(b"\xff1.2.3.4").unwrap());
        assert_eq!(client_ip(ip("127.0.0.1"), &headers, &trusted), ip("127.0.0.1"));
    }
}

#[cfg(test)]
mod body_tests {
    use super::*;
    use harmont_wire::api::{CliClaimRequest, CliCodeRequest, CliTransferRequest};
    use proptest::prelude::*;

    fn message(err: ApiError) -> String {
        assert_eq!(err.code, ErrorCode::InvalidRequest);
        err.message.into_owned()
    }

    /// Any JSON value, a few levels deep.
    fn json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(serde_json::Value::from),
            any::<String>().prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                proptest::collection::btree_map(
                    prop_oneof!["nonce|code_challenge|code_verifier|code".prop_map(String::from), any::<String>()],
                    inner,
                    0..4
                )
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Strict {
        n: u32,
        inner: Option<Inner>,
        list: Option<Vec<String>>,
        flag: Option<bool>,
        ratio: Option<f64>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        name: String,
    }

    #[test]
    fn errors_name_the_field_and_its_json_type() {
        for (body, expected) in [
            (r#"{"n": 1, "x": 2}"#, r#"unknown field "x""#),
            (r#"{"n": "1"}"#, r#"field "n" must be an integer"#),
            (r#"{"n": -1}"#, r#"field "n" is not valid"#),
            (r#"{"n": 1, "inner": {}}"#, r#"field "inner.name" is required"#),
            (r#"{"n": 1, "inner": {"name": 7}}"#, r#"field "inner.name" must be a string"#),
            (r#"{"n": 1, "inner": []}"#, r#"field "inner" must be a JSON object"#),
            (r#"{"n": 1, "inner": "x"}"#, r#"field "inner" must be a JSON object"#),
            (r#"{"n": 1, "list": {}}"#, r#"field "list" must be an array"#),
            (r#"{"n": 1, "list": [1]}"#, r#"field "list[0]" must be a string"#),
            (r#"{"n": 1, "flag": "yes"}"#, r#"field "flag" must be true or false"#),
            (r#"{"n": 1, "ratio": "half"}"#, r#"field "ratio" must be a number"#),
            (r#"{"n": 1, "n": 2}"#, r#"field "n" is given more than once"#),
            ("[1]", "the body must be a JSON object"),
            ("{\"n\": 1", "the body is not well-formed JSON"),
        ] {
            assert_eq!(message(parse::<Strict>(true, body.as_bytes()).unwrap_err()), expected, "{body}");
        }
        let err = parse::<Strict>(false, br#"{"n": 1}"#).unwrap_err();
        assert_eq!(err.code, ErrorCode::UnsupportedMediaType);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

        /// Any bytes, and any JSON, give a body or an `invalid_request` in the
        /// API's words: never a panic, never a Rust type name.
        #[test]
        fn any_body_is_read_without_panicking(raw in proptest::collection::vec(any::<u8>(), 0..200), value in json()) {
            let encoded = serde_json::to_vec(&value).unwrap();
            for bytes in [&raw, &encoded] {
                if let Err(err) = parse::<CliTransferRequest>(true, bytes) {
                    let message = message(err);
                    for leak in ["Cli", "Request", "struct", "expected", "invalid type", "`"] {
                        prop_assert!(!message.contains(leak), "{}", message);
                    }
                }
                let _ = parse::<CliClaimRequest>(true, bytes);
                let _ = parse::<CliCodeRequest>(true, bytes);
            }
            if !value.is_object() {
                prop_assert_eq!(message(parse::<CliCodeRequest>(true, &encoded).unwrap_err()), "the body must be a JSON object");
            }
        }

        /// A well-formed body reads back as what was sent.
        #[test]
        fn well_formed_bodies_round_trip(nonce in any::<String>(), verifier in proptest::option::of(any::<String>())) {
            let sent = CliClaimRequest { nonce, code_verifier: verifier };
            let read: CliClaimRequest = parse(true, &serde_json::to_vec(&sent).unwrap()).unwrap();
            prop_assert_eq!((read.nonce, read.code_verifier), (sent.nonce, sent.code_verifier));
        }
    }
}
