//! The keys the store finds short-lived records by, one type per kind of
//! record, so that a link's hash cannot be passed where a grant key is
//! expected. Each is the 32 bytes of a hash (SHA-256 or HMAC-SHA-256) of a
//! secret the client holds, never the secret itself.
//!
//! A key is made with `from_hash` only where the server derives it (see each
//! type), and read back as bytes with `as_bytes` only by the backends, to
//! bind it in a statement or to rebuild one from a stored row. Their `Debug`
//! prints the type and the first four bytes in hex, enough to tell keys
//! apart in a log line.

use std::fmt;

macro_rules! store_key {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name([u8; 32]);

        impl $name {
            /// The key whose bytes are this hash.
            pub const fn from_hash(hash: [u8; 32]) -> Self {
                Self(hash)
            }

            /// The bytes as stored: for the backends.
            pub const fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                short_hex(f, stringify!($name), &self.0)
            }
        }
    };
}

fn short_hex(f: &mut fmt::Formatter<'_>, name: &str, bytes: &[u8; 32]) -> fmt::Result {
    write!(f, "{name}(")?;
    for byte in &bytes[..4] {
        write!(f, "{byte:02x}")?;
    }
    write!(f, "…)")
}

store_key! {
    /// A CLI login grant's key: the SHA-256 of the terminal's nonce (a
    /// transfer grant) or the server-keyed HMAC of a paste code (a paste grant).
    GrantKey
}

store_key! {
    /// A device request's key: the server-keyed HMAC of its verification code.
    DeviceKey
}

store_key! {
    /// A one-time sign-in link's key: the SHA-256 of the link's secret.
    LinkKey
}

store_key! {
    /// A WebAuthn ceremony's key: the SHA-256 of the ceremony id the browser holds.
    CeremonyKey
}

store_key! {
    /// A single sign-on flow's key: the SHA-256 of the reference in the browser's cookie.
    SsoFlowKey
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_prints_the_type_and_a_short_prefix_only() {
        let bytes: [u8; 32] = std::array::from_fn(|i| 0xa0 + i as u8);
        assert_eq!(format!("{:?}", GrantKey::from_hash(bytes)), "GrantKey(a0a1a2a3…)");
        assert_eq!(format!("{:?}", DeviceKey::from_hash(bytes)), "DeviceKey(a0a1a2a3…)");
        assert_eq!(format!("{:?}", LinkKey::from_hash(bytes)), "LinkKey(a0a1a2a3…)");
        assert_eq!(format!("{:?}", CeremonyKey::from_hash(bytes)), "CeremonyKey(a0a1a2a3…)");
        assert_eq!(format!("{:?}", SsoFlowKey::from_hash(bytes)), "SsoFlowKey(a0a1a2a3…)");
        assert_eq!(format!("{:?}", GrantKey::from_hash([0; 32])), "GrantKey(00000000…)");
    }

    #[test]
    fn the_bytes_come_back_as_given() {
        let bytes: [u8; 32] = std::array::from_fn(|i| i as u8);
        assert_eq!(GrantKey::from_hash(bytes).as_bytes(), &bytes);
        assert_eq!(SsoFlowKey::from_hash(bytes).as_bytes(), &bytes);
        assert_ne!(GrantKey::from_hash(bytes), GrantKey::from_hash([0; 32]));
    }
}
