//! The web pages `harmont-auth serve` serves itself, and the sign-in behind
//! them: one-time login links (`links.rs`), emailed ones (`email_links.rs`), passkeys over WebAuthn
//! (`passkeys.rs`) and the pages with their embedded assets and security
//! headers (`pages.rs`). Their JSON endpoints are HTTP handlers, in
//! `http/web_sign_in.rs`.

pub mod email_links;
pub mod links;
pub mod pages;
pub mod passkeys;

use std::net::IpAddr;
use url::Url;

/// The origin the pages live at, derived from the public URL. Browsers refuse
/// an IP address as a WebAuthn relying-party id, so a loopback IP becomes
/// `localhost` (which browsers also treat as a secure context); pages asked
/// for at the IP redirect there. So does `0.0.0.0` (`serve --listen
/// 0.0.0.0:…` without `--public-url`), which no browser can open anyway.
pub fn web_origin(public_url: &str) -> Url {
    let mut url = Url::parse(public_url).unwrap_or_else(|_| Url::parse("http://localhost:8080").expect("static URL"));
    let loopback_ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback() || ip.is_unspecified(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback() || ip.is_unspecified(),
        _ => false,
    };
    if loopback_ip {
        let _ = url.set_host(Some("localhost"));
    }
    url.set_path("");
    url.set_query(None);
    url.set_fragment(None);
    url
}

/// `web_origin` as text, without the trailing slash `Url` puts on an empty path.
pub fn web_base(public_url: &str) -> String {
    web_origin(public_url).as_str().trim_end_matches('/').to_owned()
}

/// Whether the public URL's host had to be rewritten (see [`web_origin`]).
pub fn origin_rewritten(public_url: &str) -> bool {
    Url::parse(public_url).ok().and_then(|u| u.host_str().map(str::to_owned))
        != web_origin(public_url).host_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_ips_become_localhost() {
        assert_eq!(web_base("http://127.0.0.1:8080"), "http://localhost:8080");
        assert_eq!(web_base("http://[::1]:9000/"), "http://localhost:9000");
        assert_eq!(web_base("https://auth.example.com"), "https://auth.example.com");
        assert_eq!(web_base("http://localhost:3000"), "http://localhost:3000");
        assert_eq!(web_base("http://0.0.0.0:8080"), "http://localhost:8080");
        assert!(origin_rewritten("http://127.0.0.1:8080"));
        assert!(!origin_rewritten("https://auth.example.com"));
    }
}
