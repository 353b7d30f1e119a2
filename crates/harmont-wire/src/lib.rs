//! The Harmont Auth API as both ends see it: request and response bodies (the
//! CLI handoff and the account in [`api`], our pages' sign-in in
//! [`web_sign_in`]), the error envelope and its codes, and the formats of the
//! secrets that cross the wire (session tokens and API keys, login-link
//! secrets, nonces, paste codes, PKCE verifiers).
//!
//! Nothing here touches a database or an HTTP framework, so the CLI depends on
//! it without pulling in the server.

pub mod api;
pub mod error;
pub mod nonce;
pub mod paste_code;
pub mod pkce;
pub mod random;
pub mod text;
pub mod token;
pub mod verification;
pub mod web_sign_in;

pub use error::{ErrorBody, ErrorCode, ErrorDetail};
