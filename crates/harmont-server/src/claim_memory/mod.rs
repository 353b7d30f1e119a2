//! What one process remembers about waiting CLIs between requests: the
//! claims held open on a nonce (`waiters`), and where the claims for a nonce
//! came from (`seen`). Plain in-memory state with no rules of its own; the
//! rules that fill and read it live in `cli_login/`, and [`crate::Service`]
//! owns one of each.

pub mod seen;
pub mod waiters;
