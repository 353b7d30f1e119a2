//! The audit trail: one structured line per security event (a login
//! approved, a token claimed, a session revoked, a sign-in that failed, a
//! rate limit hit, …), as a `tracing` event with the target `audit`, which
//! `main.rs` writes as JSON lines to `HARMONT_AUDIT_LOG` (stderr or a file)
//! apart from the request log. A leaf.
//!
//! Every line carries who and where: the user concerned, the session (or
//! API key) that made the request, the client's address and user agent,
//! and the request id, taken from the request's context (set by the
//! middleware, and by the bearer check for the caller). Never a secret: no
//! token, key, nonce, code, link or ceremony id is ever a field; the ids
//! here are row ids, useless to an attacker.

use std::cell::RefCell;
use std::net::IpAddr;
use uuid::Uuid;

/// The target audit events are logged under.
pub const TARGET: &str = "audit";

/// What the middleware knows about the request being served.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    pub request_id: String,
    pub client_ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    /// The caller, once the bearer check has resolved them.
    pub caller: Option<Caller>,
}

/// Who a bearer token resolved to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub user_id: Uuid,
    /// The session, or the API key, that authenticated the request.
    pub session_id: Uuid,
}

tokio::task_local! {
    static CONTEXT: RefCell<RequestContext>;
}

/// Runs `future` (a request being served) with `context` as the audit context.
pub async fn scope<F: std::future::Future>(context: RequestContext, future: F) -> F::Output {
    CONTEXT.scope(RefCell::new(context), future).await
}

/// Records who the bearer token of the current request belongs to.
pub fn set_caller(user_id: Uuid, session_id: Uuid) {
    let _ = CONTEXT.try_with(|context| context.borrow_mut().caller = Some(Caller { user_id, session_id }));
}

fn context() -> Option<RequestContext> {
    CONTEXT.try_with(|context| context.borrow().clone()).ok()
}

/// One audit line, built up and then [`Event::emit`]ted.
#[derive(Debug, Clone)]
#[must_use = "an audit event does nothing until emitted"]
pub struct Event {
    event: &'static str,
    outcome: &'static str,
    user_id: Option<Uuid>,
    subject_id: Option<Uuid>,
    method: Option<&'static str>,
    kind: Option<&'static str>,
    reason: Option<&'static str>,
    count: Option<u64>,
    route: Option<String>,
}

impl Event {
    /// `event` names what happened (`token_claimed`, `sign_in`, …);
    /// `outcome` is `success` or `failure`.
    pub fn new(event: &'static str, outcome: &'static str) -> Self {
        Self {
            event,
            outcome,
            user_id: None,
            subject_id: None,
            method: None,
            kind: None,
            reason: None,
            count: None,
            route: None,
        }
    }

    pub fn success(event: &'static str) -> Self {
        Self::new(event, "success")
    }

    pub fn failure(event: &'static str) -> Self {
        Self::new(event, "failure")
    }

    /// The user concerned, when it is not (only) the caller: the user a
    /// sign-in signed in, say. Defaults to the caller.
    pub fn user(mut self, id: Uuid) -> Self {
        self.user_id = Some(id);
        self
    }

    /// The session, API key or passkey the event created or ended.
    pub fn subject(mut self, id: Uuid) -> Self {
        self.subject_id = Some(id);
        self
    }

    /// How: a sign-in method (`passkey`, `link`, `cli`, `operator`), or how a
    /// session ended (`logout`, `revoke`, …).
    pub fn method(mut self, method: &'static str) -> Self {
        self.method = Some(method);
        self
    }

    /// Of what sort: `transfer` or `code` for a login approved.
    pub fn kind(mut self, kind: &'static str) -> Self {
        self.kind = Some(kind);
        self
    }

    /// Why it failed: the error code answered.
    pub fn reason(mut self, reason: &'static str) -> Self {
        self.reason = Some(reason);
        self
    }

    /// How many (sessions ended at once).
    pub fn count(mut self, count: u64) -> Self {
        self.count = Some(count);
        self
    }

    /// The route template of the request (for a rate limit hit).
    pub fn route(mut self, route: &str) -> Self {
        self.route = Some(route.to_owned());
        self
    }

    /// Writes the line, with the request's context.
    pub fn emit(self) {
        let context = context().unwrap_or_default();
        let caller = context.caller;
        let user_id = self.user_id.or(caller.map(|c| c.user_id)).map(|id| id.to_string());
        let session_id = caller.map(|c| c.session_id.to_string());
        let subject_id = self.subject_id.map(|id| id.to_string());
        let client_ip = context.client_ip.map(|ip| ip.to_string());
        let user_agent = context.user_agent.as_deref().map(crate::access::kept_user_agent);
        let request_id = (!context.request_id.is_empty()).then_some(context.request_id.as_str());
        tracing::info!(
            target: TARGET,
            event = self.event,
            outcome = self.outcome,
            user_id = user_id.as_deref(),
            session_id = session_id.as_deref(),
            subject_id = subject_id.as_deref(),
            method = self.method,
            kind = self.kind,
            reason = self.reason,
            count = self.count,
            route = self.route.as_deref(),
            client_ip = client_ip.as_deref(),
            user_agent,
            request_id,
            "audit"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::layer::SubscriberExt;

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_line_carries_the_request_context_and_the_caller() {
        let sink = Sink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::fmt::layer().json().flatten_event(true).with_writer(move || writer.clone()));
        let _guard = tracing::subscriber::set_default(subscriber);
        let (user, session, subject) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let context = RequestContext {
            request_id: "r1".into(),
            client_ip: Some("203.0.113.9".parse().unwrap()),
            user_agent: Some("x".repeat(300)),
            caller: None,
        };
        scope(context, async {
            set_caller(user, session);
            Event::success("session_revoked").subject(subject).method("revoke").emit();
        })
        .await;
        Event::failure("sign_in").method("passkey").reason("passkey_invalid").emit();
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines[0]["event"], "session_revoked");
        assert_eq!(lines[0]["user_id"], user.to_string());
        assert_eq!(lines[0]["session_id"], session.to_string());
        assert_eq!(lines[0]["subject_id"], subject.to_string());
        assert_eq!(lines[0]["client_ip"], "203.0.113.9");
        assert_eq!(lines[0]["request_id"], "r1");
        assert_eq!(lines[0]["user_agent"].as_str().unwrap().len(), crate::access::MAX_USER_AGENT);
        assert_eq!(lines[1]["outcome"], "failure");
        assert!(lines[1].get("user_id").is_none() && lines[1].get("request_id").is_none(), "no context: no fields");
    }
}
