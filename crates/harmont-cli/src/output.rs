//! What a command hands back: text for people on stdout, or one JSON document
//! with `--json`. Progress and instructions go to stderr either way, so that
//! stdout stays clean for scripts.

use serde_json::Value;

use crate::error::exit;
use crate::loopback::Loopback;

#[derive(Debug)]
pub struct Outcome {
    pub text: String,
    pub json: Value,
    pub exit_code: i32,
    /// A loopback listener to keep up briefly after the outcome is printed,
    /// for a browser redirect that may still be on its way.
    pub linger: Option<Loopback>,
}

impl Outcome {
    pub fn ok(text: impl Into<String>, json: Value) -> Self {
        Self { text: text.into(), json, exit_code: exit::OK, linger: None }
    }

    /// A result that is still worth printing in full but ends non-zero
    /// (`status` when not logged in).
    pub fn with_exit_code(mut self, exit_code: i32) -> Self {
        self.exit_code = exit_code;
        self
    }

    pub fn lingering(mut self, loopback: Loopback) -> Self {
        self.linger = Some(loopback);
        self
    }
}
