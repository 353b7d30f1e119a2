//! Prometheus metrics: what the server counts, named in one place. A leaf:
//! the rest of the crate calls these functions where things happen, and
//! `http/metrics.rs` serves the rendering on `--metrics-listen`.
//!
//! Recording goes through the `metrics` crate's global recorder, which
//! [`install`] sets (only when metrics are served); until then every call is
//! a no-op. Labels are bounded: route templates (never raw paths), status
//! codes, and small fixed sets of outcomes. README.md lists every metric and
//! what to alert on.

use harmont_store::SignInMethod;
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram, Unit};
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Whether [`install`] ran: the per-request work (labels are owned strings)
/// is skipped until then.
static INSTALLED: AtomicBool = AtomicBool::new(false);

pub const HTTP_REQUESTS: &str = "harmont_http_requests_total";
pub const HTTP_DURATION: &str = "harmont_http_request_duration_seconds";
pub const RATE_LIMITED: &str = "harmont_rate_limited_total";
pub const TRANSFERS: &str = "harmont_login_transfers_total";
pub const CODES: &str = "harmont_login_codes_total";
pub const CLAIMS: &str = "harmont_login_claims_total";
pub const LONG_POLLS_HELD: &str = "harmont_login_long_polls_held";
pub const LONG_POLLS: &str = "harmont_login_long_polls_total";
pub const REDEEMS: &str = "harmont_login_redeems_total";
pub const SESSIONS_CREATED: &str = "harmont_sessions_created_total";
pub const SESSIONS_REVOKED: &str = "harmont_sessions_revoked_total";
pub const API_KEYS_CREATED: &str = "harmont_api_keys_created_total";
pub const API_KEYS_REVOKED: &str = "harmont_api_keys_revoked_total";
pub const SIGN_INS: &str = "harmont_sign_ins_total";
pub const BEARER_CACHE: &str = "harmont_bearer_cache_lookups_total";
pub const STORE_ERRORS: &str = "harmont_store_errors_total";
pub const DB_POOL: &str = "harmont_db_pool_connections";
pub const DB_POOL_MAX: &str = "harmont_db_pool_max_connections";
pub const LISTENER_UP: &str = "harmont_store_listener_up";

/// Latency buckets, in seconds: a cache hit takes tens of microseconds, a
/// store round trip a millisecond or so, a held long poll up to 30 s.
const LATENCY_BUCKETS: &[f64] =
    &[0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// Installs the global recorder (once per process) and describes every metric.
pub fn install() -> Result<PrometheusHandle, BuildError> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.to_owned()), LATENCY_BUCKETS)?
        .install_recorder()?;
    describe();
    zeroes();
    INSTALLED.store(true, Ordering::Relaxed);
    Ok(handle)
}

/// Series that alerts watch start at 0, so a rate over them exists before
/// the first event (an absent series would hide a broken alert).
fn zeroes() {
    for counter in [TRANSFERS, CODES, API_KEYS_CREATED, API_KEYS_REVOKED] {
        counter!(counter).increment(0);
    }
    for kind in ["timeout", "unavailable", "backend"] {
        counter!(STORE_ERRORS, "kind" => kind).increment(0);
    }
    for outcome in ["won", "not_yet", "user_disabled"] {
        counter!(CLAIMS, "outcome" => outcome).increment(0);
    }
    for outcome in ["won", "failed", "user_disabled"] {
        counter!(REDEEMS, "outcome" => outcome).increment(0);
    }
    for outcome in ["won", "timed_out", "shut_down", "failed"] {
        counter!(LONG_POLLS, "outcome" => outcome).increment(0);
    }
    for method in ["passkey", "link", "cli"] {
        for result in ["success", "failure", "user_disabled", "error"] {
            counter!(SIGN_INS, "method" => method, "result" => result).increment(0);
        }
    }
    for result in ["hit", "miss"] {
        counter!(BEARER_CACHE, "result" => result).increment(0);
    }
}

fn describe() {
    describe_counter!(HTTP_REQUESTS, "HTTP requests answered, by route template, method and status.");
    describe_histogram!(HTTP_DURATION, Unit::Seconds, "Time to answer a request, by route template and method.");
    describe_counter!(RATE_LIMITED, "Requests answered 429 rate_limited, by route template.");
    describe_counter!(TRANSFERS, "CLI logins approved in a browser (transfer grants parked).");
    describe_counter!(CODES, "Paste codes minted for `harmont login --paste`.");
    describe_counter!(CLAIMS, "Claims answered, by outcome: won (a token), not_yet, user_disabled.");
    describe_gauge!(LONG_POLLS_HELD, "Claims held open (Prefer: wait) in this process right now.");
    describe_counter!(LONG_POLLS, "Held claims ended, by outcome: won, timed_out, shut_down, failed.");
    describe_counter!(REDEEMS, "Paste-code redeems, by outcome: won, failed, user_disabled.");
    describe_counter!(SESSIONS_CREATED, "Sessions created, by sign-in method (cli, passkey, link, sso, operator).");
    describe_counter!(SESSIONS_REVOKED, "Sessions revoked, by how (logout, revoke, revoke_others, passkey_removed).");
    describe_counter!(API_KEYS_CREATED, "Personal API keys created.");
    describe_counter!(API_KEYS_REVOKED, "Personal API keys revoked (by DELETE or by a logout with the key).");
    describe_counter!(SIGN_INS, "Browser and CLI sign-ins, by method and result (success, failure, user_disabled).");
    describe_counter!(
        BEARER_CACHE,
        "Bearer checks, by whether the in-memory cache answered (hit) or the store (miss)."
    );
    describe_counter!(STORE_ERRORS, "Store calls that failed, by kind: timeout, unavailable, backend.");
    describe_gauge!(DB_POOL, "Database pool connections, by state (in_use, idle), at the last scrape.");
    describe_gauge!(DB_POOL_MAX, "The most connections the database pool opens.");
    describe_gauge!(LISTENER_UP, "1 while the Postgres revocation listener is connected, 0 while not (Postgres only).");
}

/// One answered request. `route` is the matched template, or `unmatched`.
pub fn request(route: &str, method: &str, status: u16, elapsed: Duration) {
    if !INSTALLED.load(Ordering::Relaxed) {
        return;
    }
    let route = route.to_owned();
    let method = method.to_owned();
    counter!(HTTP_REQUESTS, "route" => route.clone(), "method" => method.clone(), "status" => status.to_string())
        .increment(1);
    histogram!(HTTP_DURATION, "route" => route.clone(), "method" => method).record(elapsed.as_secs_f64());
    if status == 429 {
        counter!(RATE_LIMITED, "route" => route).increment(1);
    }
}

pub fn transfer_parked() {
    counter!(TRANSFERS).increment(1);
}

pub fn code_minted() {
    counter!(CODES).increment(1);
}

/// How a claim was answered.
pub fn claim(outcome: &'static str) {
    counter!(CLAIMS, "outcome" => outcome).increment(1);
}

/// How a held claim ended: `won`, `timed_out`, `shut_down`, `failed`.
pub fn long_poll_ended(outcome: &'static str) {
    counter!(LONG_POLLS, "outcome" => outcome).increment(1);
}

pub fn redeem(outcome: &'static str) {
    counter!(REDEEMS, "outcome" => outcome).increment(1);
}

pub fn session_created(method: SignInMethod) {
    counter!(SESSIONS_CREATED, "method" => method.as_str()).increment(1);
}

pub fn sessions_revoked(how: &'static str, count: u64) {
    counter!(SESSIONS_REVOKED, "how" => how).increment(count);
}

pub fn api_key_created() {
    counter!(API_KEYS_CREATED).increment(1);
}

pub fn api_key_revoked() {
    counter!(API_KEYS_REVOKED).increment(1);
}

/// A sign-in by `method` (`passkey`, `link`, `cli`, …) ended with `result`.
pub fn sign_in(method: &'static str, result: &'static str) {
    counter!(SIGN_INS, "method" => method, "result" => result).increment(1);
}

pub fn bearer_cache(hit: bool) {
    counter!(BEARER_CACHE, "result" => if hit { "hit" } else { "miss" }).increment(1);
}

/// A store call failed: `timeout` (no answer within --db-timeout),
/// `unavailable` (the database refused or is away), `backend` (anything else).
pub fn store_error(kind: &'static str) {
    counter!(STORE_ERRORS, "kind" => kind).increment(1);
}

/// The state read at scrape time.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot {
    pub long_polls_held: usize,
    pub pool: Option<harmont_store::PoolStats>,
    /// `None` where the store announces nothing (SQLite).
    pub listener_up: Option<bool>,
}

pub fn observe(snapshot: Snapshot) {
    gauge!(LONG_POLLS_HELD).set(snapshot.long_polls_held as f64);
    if let Some(pool) = snapshot.pool {
        gauge!(DB_POOL, "state" => "in_use").set(f64::from(pool.in_use));
        gauge!(DB_POOL, "state" => "idle").set(f64::from(pool.idle));
        gauge!(DB_POOL_MAX).set(f64::from(pool.max));
    }
    if let Some(up) = snapshot.listener_up {
        gauge!(LISTENER_UP).set(if up { 1.0 } else { 0.0 });
    }
}
