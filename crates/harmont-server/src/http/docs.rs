//! `/docs/errors/<code>`: the page each error's `doc_url` points at, and
//! `/docs/api`, the API reference (a page of ours that renders the OpenAPI
//! document; see `web/api-docs.js`).
//!
//! An error page speaks first to the person sent there (what happened, what
//! to do), then to developers (status, type, the envelope). Every window it
//! names is the one this server runs with, not a default.

use axum::extract::{Path, State};
use axum::response::Html;
use harmont_wire::ErrorCode;
use std::sync::Arc;
use std::time::Duration;

use crate::error::ApiError;
use crate::service::Service;
use crate::web::pages::{escape, layout};

pub async fn error_index() -> Html<String> {
    let items: String = ErrorCode::ALL
        .iter()
        .map(|c| {
            format!(
                "<li><a href=\"/docs/errors/{0}\"><code>{0}</code></a> ({1}): {2}</li>",
                c.as_str(),
                c.status(),
                escape(for_people(*c).title),
            )
        })
        .collect();
    Html(layout(
        "Error codes",
        &format!(
            "<h1>Error codes</h1><p>Every error the Auth API returns carries one of these codes. \
             The <a href=\"/docs/api\">API reference</a> says which operation answers which.</p>\
             <ul class=\"codes\">{items}</ul>"
        ),
        None,
    ))
}

pub async fn error_page(
    State(service): State<Arc<Service>>,
    Path(code): Path<String>,
) -> Result<Html<String>, ApiError> {
    let code = ErrorCode::from_code(&code).ok_or_else(|| ApiError::new(ErrorCode::NotFound))?;
    let windows = Windows::of(service.settings());
    let person = for_people(code);
    let envelope = format!(
        "{{\n  \"error\": {{\n    \"type\": \"{kind}\",\n    \"code\": \"{code}\",\n    \"message\": \"{message}\",\n    \
         \"doc_url\": \"{base}/docs/errors/{code}\",\n    \"request_id\": \"…\"\n  }}\n}}",
        kind = code.kind(),
        code = code.as_str(),
        message = code.message().replace('"', "\\\""),
        base = service.settings().public_url,
    );
    let body = format!(
        "<p class=\"status\">Error <code>{code}</code> · HTTP {status}</p>\
         <h1>{title}</h1>\
         <h2>What happened</h2><p>{what}</p>\
         <h2>What to do</h2><p>{todo}</p>\
         <section class=\"developers\" aria-labelledby=\"dev-title\">\
         <h2 id=\"dev-title\">For developers</h2>\
         <p>HTTP {status} · type <code>{kind}</code> · code <code>{code}</code></p><p>{explain}</p>\
         <p>The response body (the <code>x-request-id</code> header carries the same <code>request_id</code>):</p>\
         <pre class=\"wrap\"><code>{envelope}</code></pre></section>\
         <p><a href=\"/docs/errors\">All error codes</a> · <a href=\"/docs/api\">API reference</a></p>",
        code = code.as_str(),
        status = code.status(),
        kind = code.kind(),
        title = escape(person.title),
        what = prose(&windows.fill(person.what)),
        todo = prose(&windows.fill(person.todo)),
        explain = prose(&windows.fill(code.explanation())),
        envelope = escape(&envelope),
    );
    Ok(Html(layout(person.title, &body, None)))
}

/// The windows this server runs with, in words.
struct Windows {
    transfer_ttl: String,
    paste_ttl: String,
    session_ttl: String,
    link_ttl: String,
    ceremony_ttl: String,
    reauth_window: String,
    body_timeout: String,
}

impl Windows {
    fn of(settings: &crate::service::Settings) -> Self {
        Self {
            transfer_ttl: human(settings.transfer_ttl),
            paste_ttl: human(settings.paste_ttl),
            session_ttl: human(settings.session_ttl),
            link_ttl: human(crate::web::links::LINK_TTL),
            ceremony_ttl: human(crate::web::passkeys::CEREMONY_TTL),
            reauth_window: human(Duration::from_millis(
                u64::try_from(crate::access::REAUTHENTICATION_WINDOW).unwrap_or_default(),
            )),
            body_timeout: human(settings.body_timeout),
        }
    }

    /// `text` with every `{window}` placeholder replaced.
    fn fill(&self, text: &str) -> String {
        text.replace("{transfer_ttl}", &self.transfer_ttl)
            .replace("{paste_ttl}", &self.paste_ttl)
            .replace("{session_ttl}", &self.session_ttl)
            .replace("{link_ttl}", &self.link_ttl)
            .replace("{ceremony_ttl}", &self.ceremony_ttl)
            .replace("{reauth_window}", &self.reauth_window)
            .replace("{body_timeout}", &self.body_timeout)
    }
}

/// A duration as a person says it: "60 seconds", "5 minutes", "24 hours", "30 days".
pub fn human(duration: Duration) -> String {
    let secs = duration.as_secs();
    let (n, unit) = match secs {
        0 => return format!("{} milliseconds", duration.as_millis()),
        s if s % 86_400 == 0 && s >= 2 * 86_400 => (s / 86_400, "day"),
        s if s % 3_600 == 0 && s >= 2 * 3_600 => (s / 3_600, "hour"),
        s if s % 60 == 0 && s >= 2 * 60 => (s / 60, "minute"),
        s => (s, "second"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// Escapes `text` for HTML, with `code spans` in backticks as `<code>`.
fn prose(text: &str) -> String {
    escape(text)
        .split('`')
        .enumerate()
        .map(|(i, part)| if i % 2 == 1 { format!("<code>{part}</code>") } else { part.to_owned() })
        .collect()
}

/// What the person sent to an error's page reads first.
struct ForPeople {
    title: &'static str,
    what: &'static str,
    todo: &'static str,
}

const fn people(title: &'static str, what: &'static str, todo: &'static str) -> ForPeople {
    ForPeople { title, what, todo }
}

fn for_people(code: ErrorCode) -> ForPeople {
    use ErrorCode as C;
    match code {
        C::InvalidRequest => people(
            "The request could not be read",
            "A program sent the server a request it could not make sense of. Nothing was changed.",
            "If a tool showed you this, update it or report it to whoever maintains it, with the message it printed.",
        ),
        C::NonceInvalid | C::CodeChallengeInvalid => people(
            "This login request is damaged",
            "The login your terminal started carries a value the server refuses: the link may have been cut short \
             when it was copied. Nothing was approved.",
            "Run `harmont login` again and open the new link it prints, in full.",
        ),
        C::CliCodeInvalid => people(
            "This login is not available",
            "There is nothing to collect for this login or code: it was not approved yet, it was already used, or \
             its time ran out (a browser approval waits {transfer_ttl} for the terminal, a paste code works for \
             {paste_ttl}).",
            "If your terminal is still waiting, approve the login in the browser. Otherwise run `harmont login` \
             again (or `harmont login --paste` and type the new code within {paste_ttl}).",
        ),
        C::LinkInvalid => people(
            "This sign-in link no longer works",
            "A sign-in link works once, within {link_ttl}. This one was already used, has expired, or was \
             copied incompletely.",
            "Ask the person who runs this server for a new link (they run `harmont-auth user link` with your \
             email). If you already have a passkey, sign in with it instead.",
        ),
        C::PasskeyInvalid => people(
            "Your passkey could not be checked",
            "The passkey step took longer than {ceremony_ttl}, was already finished in another tab, or used a \
             passkey this site does not know.",
            "Start again from the sign-in page. If it keeps failing, ask the operator for a sign-in link.",
        ),
        C::Unauthorized => people(
            "You are not signed in",
            "The request came without a valid session: it expired (sessions last {session_ttl}), was revoked, \
             or the token was mistyped.",
            "Sign in again: `harmont login` in a terminal, or the sign-in page in a browser.",
        ),
        C::ReauthenticationRequired => people(
            "Sign in again to do this",
            "Changing your passkeys or sign-in methods, or deleting your account, needs a browser sign-in from \
             the last {reauth_window}. Yours is older, or this is a CLI session.",
            "Sign in again in the browser, then do it again.",
        ),
        C::ApiKeyForbidden => people(
            "An API key cannot do this",
            "API keys let scripts use Harmont as you, but they cannot create keys, start logins or change your \
             account.",
            "Use a browser, or a CLI logged in with `harmont login`.",
        ),
        C::NotFound => people(
            "There is nothing here",
            "The address does not lead to a page or an API operation.",
            "Check the address. The API reference lists every operation.",
        ),
        C::SessionNotFound => people(
            "That session is gone",
            "The session was already revoked or has expired.",
            "Nothing to do: it can no longer be used. Your settings page lists the sessions that are still live.",
        ),
        C::PasskeyNotFound => people(
            "That passkey is gone",
            "The passkey was already removed.",
            "Nothing to do. Your settings page lists the passkeys you have.",
        ),
        C::ApiTokenNotFound => people(
            "That API key is gone",
            "The API key was already revoked or has expired.",
            "Nothing to do: it can no longer be used. Create a new one in your settings if you need one.",
        ),
        C::MethodNotAllowed => people(
            "This address does not take that kind of request",
            "A program used the wrong HTTP method for this address.",
            "If a tool showed you this, report it to whoever maintains it.",
        ),
        C::RequestTimeout => people(
            "The request arrived too slowly",
            "The server waits {body_timeout} for a request to arrive in full; this one did not.",
            "Check your connection and try again.",
        ),
        C::NonceInUse => people(
            "This login was already approved",
            "Someone (most likely you, a moment ago) already approved this login.",
            "Go back to your terminal. If it is not logged in, run `harmont login` again.",
        ),
        C::PayloadTooLarge => people(
            "The request is too large",
            "A program sent more data than this server accepts.",
            "If a tool showed you this, report it to whoever maintains it.",
        ),
        C::UnsupportedMediaType => people(
            "The request is in the wrong format",
            "A program sent data that is not JSON.",
            "If a tool showed you this, report it to whoever maintains it.",
        ),
        C::ValidationFailed => people(
            "A value was not accepted",
            "Something you entered breaks a rule: a name that is empty or too long, or a date in the past.",
            "Read the message next to the field, change the value, and try again.",
        ),
        C::RateLimited => people(
            "Too many attempts",
            "Too many attempts came from your address or your session in a short time, so the server is \
             pausing them.",
            "Wait a little (the response says how many seconds) and try again.",
        ),
        C::Internal => people(
            "Something went wrong on the server",
            "The server failed to answer. It was not something you did.",
            "Try again. If it keeps happening, tell the operator the request id the error showed.",
        ),
        C::Unavailable => people(
            "The service is unavailable",
            "The server cannot reach its database right now.",
            "Try again in a few seconds.",
        ),
        #[allow(unreachable_patterns)]
        _ => people(
            "Something went wrong",
            "The server refused the request; the message that came with it says why.",
            "Try again, or tell the operator what you were doing and the request id the error showed.",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(human(Duration::from_secs(60)), "60 seconds");
        assert_eq!(human(Duration::from_secs(1)), "1 second");
        assert_eq!(human(Duration::from_secs(300)), "5 minutes");
        assert_eq!(human(Duration::from_secs(90)), "90 seconds");
        assert_eq!(human(Duration::from_secs(86_400)), "24 hours");
        assert_eq!(human(Duration::from_secs(30 * 86_400)), "30 days");
        assert_eq!(human(Duration::from_secs(7_200)), "2 hours");
        assert_eq!(human(Duration::from_millis(500)), "500 milliseconds");
    }

    #[test]
    fn every_placeholder_is_filled() {
        let windows = Windows::of(&crate::service::Settings::new("http://localhost:8080"));
        for &code in ErrorCode::ALL {
            let p = for_people(code);
            for text in [p.what, p.todo, code.explanation()] {
                let filled = windows.fill(text);
                assert!(!filled.contains('{') && !filled.contains('}'), "{}: {filled}", code.as_str());
            }
        }
    }

    #[test]
    fn backticks_become_code() {
        assert_eq!(prose("run `a <b>` now"), "run <code>a &lt;b&gt;</code> now");
    }
}
