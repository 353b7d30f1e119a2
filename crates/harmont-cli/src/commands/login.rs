//! `harmont login`: the browser handoff, and `--paste` for when the browser
//! cannot reach this machine.
//!
//! Short approval: the server also registers the login under its
//! verification code (`device`), so a person without a browser here opens
//! `<app>/cli-login/device` anywhere and types the code (RFC 8628 style); the
//! grant it parks is bound to this run's PKCE challenge like any other.
//!
//! Handoff: a fresh nonce and PKCE verifier; the approval page gets the nonce,
//! the S256 challenge and (when a browser is opened here) the loopback port and
//! a `state`; it calls `transfer`, and this end collects the token with `claim`
//! and the verifier. The claim long-polls (`Prefer: wait=25`); a server that
//! answers at once is polled every 750 ms instead.
//!
//! Paste: the page calls `code` with the challenge and shows the code; the
//! person types it here and it is redeemed with the verifier.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::time::Duration;

use harmont_client::{BearerToken, Claim, Client};
use harmont_wire::nonce::Nonce;
use harmont_wire::paste_code::PasteCode;
use harmont_wire::pkce::CodeVerifier;
use harmont_wire::verification::verification_code;
use harmont_wire::ErrorCode;
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::time::Instant;

use crate::browser::{self, Launch};
use crate::cli::LoginArgs;
use crate::context::{hostname, Context};
use crate::credentials::{Credential, OBTAINED_BY_LOGIN};
use crate::error::{api_message, CliError};
use crate::interrupt::Interrupt;
use crate::loopback::Loopback;
use crate::output::Outcome;
use crate::spinner::Spinner;
use crate::style::{self, Stream};

/// How long each claim asks the server to hold it.
const CLAIM_WAIT: Duration = Duration::from_secs(25);
/// The pace of plain polling, and the least time between two claims.
const POLL_INTERVAL: Duration = Duration::from_millis(750);
/// After this the login gives up.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// When a rate-limited server sends no `Retry-After`.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);
/// The first pause after a transient failure (server restarting, network
/// blip, a gateway's 502/503/504); it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How many codes a person may type at a terminal before the login ends.
const PASTE_TRIES: u32 = 3;

const CANCELLED: &str = "Login cancelled; nothing was stored.";

pub async fn run(ctx: &Context, args: LoginArgs) -> Result<Outcome, CliError> {
    if ctx.settings.env_token.is_some() {
        return Err(CliError::Usage(
            "HARMONT_API_TOKEN is set, and it would take precedence over the credential a login stores. \
             Unset it to log in: `unset HARMONT_API_TOKEN`."
                .into(),
        ));
    }
    // Before anyone is sent to a browser: can the credential be stored, and
    // is a harmont-auth server there at all?
    ctx.store.check_writable()?;
    if args.with_token {
        return with_token(ctx, args.keep_old).await;
    }
    let mut interrupt = Interrupt::listen().map_err(|e| CliError::Failed(format!("cannot watch for Ctrl-C: {e}")))?;
    let client = ctx.client();
    client.ping().await?;
    // Nobody to approve: no browser here, and nobody at the keyboard (CI, or
    // stdin not a terminal). An explicit --no-browser outside CI may still
    // have a person opening the URL elsewhere, so it goes on.
    if !args.paste {
        if let Err(reason) = browser::can_try(args.no_browser) {
            let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
            if ci || (!args.no_browser && !std::io::stdin().is_terminal()) {
                return Err(nobody_at_the_keyboard(reason));
            }
        }
    }

    let deadline = Instant::now() + LOGIN_TIMEOUT;
    let (token, loopback) = if args.paste {
        (paste(ctx, &client, &args, &mut interrupt, deadline).await?, None)
    } else {
        handoff(ctx, &client, &args, &mut interrupt, deadline).await?
    };
    let outcome = store(ctx, &client, token, args.keep_old, OBTAINED_BY_LOGIN).await?;
    // The browser's redirect to the loopback comes right after its `transfer`;
    // if it has not come yet, the listener stays up a moment after the result
    // is printed, never longer.
    Ok(match loopback {
        Some(loopback) => outcome.lingering(loopback),
        None => outcome,
    })
}

/// The loopback handoff. Returns the token, and the listener if there is one
/// (still serving, for the browser's redirect).
async fn handoff(
    ctx: &Context,
    client: &Client,
    args: &LoginArgs,
    interrupt: &mut Interrupt,
    deadline: Instant,
) -> Result<(BearerToken, Option<Loopback>), CliError> {
    let nonce = Nonce::generate();
    let verifier = CodeVerifier::generate();
    let challenge = verifier.challenge();
    let code = verification_code(nonce.expose());
    let host = hostname();

    let loopback = match browser::can_try(args.no_browser) {
        Ok(()) => {
            let state = Nonce::generate().expose().to_owned();
            let loopback = Loopback::start(state.clone())
                .await
                .map_err(|e| CliError::Failed(format!("cannot listen on the loopback for the browser: {e}")))?;
            Some((loopback, state))
        }
        Err(_) => None,
    };
    let mut params = vec![];
    let port;
    if let Some((loopback, state)) = &loopback {
        port = loopback.port().to_string();
        params.extend([("port", port.as_str()), ("nonce", nonce.expose()), ("state", state.as_str())]);
    } else {
        params.push(("nonce", nonce.expose()));
    }
    params.extend([("code_challenge", challenge.as_str()), ("host", host.as_str())]);
    let url = approval_url(&ctx.settings.app_url, &params);
    // The short approval: the same login, by its code on a short page. A
    // server without it (or any failure) leaves the long URL alone.
    let short = client.device(nonce.expose(), &challenge, &host).await.ok().filter(|d| d.user_code == code);

    match (&short, &loopback) {
        (Some(device), None) => {
            // On a line of its own, so a narrow terminal never splits the code.
            eprintln!(
                "To log in to {}:\n\n    Open {} and enter {}\n",
                ctx.api_url(),
                style::bold(Stream::Stderr, &device.verification_uri),
                style::bold(Stream::Stderr, &code)
            );
            eprintln!("Or open this page and approve:\n\n    {url}\n");
        }
        _ => {
            eprintln!("To log in to {}, open this page and approve:\n\n    {url}\n", ctx.api_url());
            eprintln!(
                "Verification code: {}  (the page must show the same code)\n",
                style::bold(Stream::Stderr, &code)
            );
            if let Some(device) = &short {
                eprintln!("On another device: open {} and enter {code}\n", device.verification_uri);
            }
        }
    }
    match browser::open(&url, args.no_browser).await {
        Launch::Opened => eprintln!("Opened your browser."),
        Launch::Skipped(reason) => eprintln!(
            "Not opening a browser here ({reason}): open the page on any device where you can sign in.\n\
             If the approval cannot get back to this machine, use `harmont login --paste` instead."
        ),
        Launch::Failed(e) => eprintln!(
            "Could not open a browser ({e}): open the page above yourself, on this machine or any device \
             where you can sign in.\nIf the approval cannot get back to this machine, use `harmont login --paste` \
             instead."
        ),
    }

    let loopback = loopback.map(|(loopback, _)| loopback);
    let spinner = Spinner::start(waiting(&code, None));
    let result = tokio::select! {
        token = poll_claim(client, &nonce, &verifier, loopback.as_ref(), &spinner, &code) => token,
        _ = interrupt.recv() => Err(CliError::Interrupted(CANCELLED)),
        _ = tokio::time::sleep_until(deadline) => Err(gave_up()),
    };
    spinner.finish();
    Ok((result?, loopback))
}

/// Claims until the token comes. Each claim long-polls; no two claims start
/// less than [`POLL_INTERVAL`] apart, which is plain polling at that pace
/// against a server that answers at once. The browser's callback cuts one
/// pause short, since the token is parked by then. A transient failure (the
/// server restarting, a blip, a gateway's 502/503/504) is retried with
/// backoff until the login's own deadline.
async fn poll_claim(
    client: &Client,
    nonce: &Nonce,
    verifier: &CodeVerifier,
    loopback: Option<&Loopback>,
    spinner: &Spinner,
    code: &str,
) -> Result<BearerToken, CliError> {
    let mut callback_seen = false;
    let mut backoff = FIRST_BACKOFF;
    let mut failing = false;
    loop {
        let started = Instant::now();
        // Right after a failure, a claim the server answers at once: it
        // tells that the server is back without holding the news for 25 s.
        let wait = if failing { None } else { Some(CLAIM_WAIT) };
        let pause = match client.claim(nonce.expose(), Some(verifier.expose()), wait).await {
            Ok(Claim::Token(token)) => return Ok(token),
            Ok(Claim::NotYet { .. }) => {
                backoff = FIRST_BACKOFF;
                failing = false;
                spinner.set_message(waiting(code, None));
                POLL_INTERVAL
            }
            Err(err) if err.is(ErrorCode::RateLimited) => err.retry_after().unwrap_or(DEFAULT_RETRY_AFTER),
            Err(err) if err.is_transient() => {
                failing = true;
                spinner.set_message(waiting(code, Some(&err.reason())));
                let pause = backoff;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                pause
            }
            Err(err) => return Err(CliError::api("the login failed", err)),
        };
        let next = started + pause;
        match loopback {
            Some(loopback) if !callback_seen => tokio::select! {
                _ = tokio::time::sleep_until(next) => {}
                _ = loopback.called_back() => callback_seen = true,
            },
            _ => tokio::time::sleep_until(next).await,
        }
    }
}

/// The spinner's line: waiting, or retrying after a transient failure.
fn waiting(code: &str, failure: Option<&str>) -> String {
    match failure {
        None => format!("Waiting for the approval (code {code}); Ctrl-C to cancel"),
        Some(reason) => {
            format!("The server is not answering ({reason}); retrying. Code {code}; Ctrl-C to cancel")
        }
    }
}

/// `--paste`: the page shows a code bound to our challenge; we redeem it.
/// At a terminal a mistyped code is asked for again (up to [`PASTE_TRIES`]
/// codes in all), with the same verifier, so the code on the page still
/// works; from a pipe one line is all there is.
async fn paste(
    ctx: &Context,
    client: &Client,
    args: &LoginArgs,
    interrupt: &mut Interrupt,
    deadline: Instant,
) -> Result<BearerToken, CliError> {
    let verifier = CodeVerifier::generate();
    let challenge = verifier.challenge();
    let url = approval_url(&ctx.settings.app_url, &[("paste", "true"), ("code_challenge", &challenge)]);
    eprintln!("To log in to {}, open this page, approve, and copy the code it shows:\n\n    {url}\n", ctx.api_url());
    match browser::open(&url, args.no_browser).await {
        Launch::Opened => eprintln!("Opened your browser."),
        Launch::Skipped(_) => {}
        Launch::Failed(e) => eprintln!("Could not open a browser ({e}): open the page above yourself."),
    }

    let tries = if std::io::stdin().is_terminal() { PASTE_TRIES } else { 1 };
    for attempt in 1..=tries {
        let last = attempt == tries;
        let again = |problem: &str| {
            let left = tries - attempt;
            eprintln!(
                "{problem} Try again ({left} {} left), or Ctrl-C to cancel.",
                if left == 1 { "try" } else { "tries" }
            );
        };
        let typed = tokio::select! {
            line = read_line("Paste the code: ") => line?,
            _ = interrupt.recv() => {
                if std::io::stdin().is_terminal() {
                    eprintln!();
                }
                return Err(CliError::Interrupted(CANCELLED));
            }
            _ = tokio::time::sleep_until(deadline) => return Err(gave_up()),
        };
        let typed = typed.trim();
        if typed.is_empty() {
            if last {
                return Err(CliError::Failed("No code was entered.".into()));
            }
            again("No code was entered.");
            continue;
        }
        let Some(code) = PasteCode::parse_lenient(typed) else {
            const NOT_A_CODE: &str =
                "That is not a paste code: a code is 16 letters and digits, like K7P2-QR9M-X3WZ-4NTV.";
            if last {
                return Err(CliError::Failed(NOT_A_CODE.into()));
            }
            again(NOT_A_CODE);
            continue;
        };
        match client.redeem(code.expose(), Some(verifier.expose())).await {
            Ok(token) => return Ok(token),
            Err(err) if err.is(ErrorCode::CliCodeInvalid) && !last => {
                again("That code was not accepted: it may have been mistyped, used already, or have expired.");
            }
            Err(err) if err.is(ErrorCode::CliCodeInvalid) => {
                return Err(CliError::ApiExplained {
                    message: "That code was not accepted: it may have been mistyped, used already, or have expired \
                              (a code works only for the time the page shows). Run `harmont login --paste` for a new \
                              one"
                    .into(),
                    source: Box::new(err),
                })
            }
            Err(err) => return Err(err.into()),
        }
    }
    unreachable!("the last try returns")
}

/// One line from stdin: prompted when it is a terminal, read silently from a
/// pipe (for scripts).
async fn read_line(prompt: &'static str) -> Result<String, CliError> {
    let read = tokio::task::spawn_blocking(move || {
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            eprint!("{prompt}");
            let _ = std::io::stderr().flush();
        }
        let mut line = String::new();
        let n = stdin.lock().read_line(&mut line)?;
        Ok::<_, std::io::Error>((n, line))
    });
    match read.await {
        Ok(Ok((0, _))) => Err(CliError::Failed("No code was entered (standard input is closed).".into())),
        Ok(Ok((_, line))) => Ok(line),
        Ok(Err(e)) => Err(CliError::Failed(format!("could not read the code: {e}"))),
        Err(e) => Err(CliError::Failed(format!("could not read the code: {e}"))),
    }
}

/// Stores the token and says who it belongs to. If it cannot be stored, the
/// new session is revoked rather than left live with nobody holding it. The
/// session this login replaced is revoked (unless `--keep-old`), but only if
/// this CLI started it through `login`: a token handed to it is not ours to end.
async fn store(
    ctx: &Context,
    client: &Client,
    token: BearerToken,
    keep_old: bool,
    obtained: &str,
) -> Result<Outcome, CliError> {
    let api = ctx.api_url();
    let user = client.clone().with_token(&token).current_user().await;
    let credential = Credential {
        token: token.clone(),
        email: user.as_ref().ok().map(|u| u.email.clone()),
        logged_in_at: OffsetDateTime::now_utc().format(&Rfc3339).ok(),
        obtained: Some(obtained.to_owned()),
    };
    // Stored even if the user lookup failed: the session exists either way,
    // and dropping its only copy would leave it live and unrevocable from here.
    let replaced = match ctx.store.store_login(api, credential) {
        Ok(replaced) => replaced,
        // A token handed in is not ours to revoke.
        Err(err) if obtained != OBTAINED_BY_LOGIN => return Err(err.into()),
        Err(err) => {
            let revoked = client.clone().with_token(&token).logout().await;
            let what = match revoked {
                Ok(()) => "The new session could not be stored, so it was revoked on the server again.".to_owned(),
                Err(e) => format!(
                    "The new session could not be stored, and revoking it failed too ({}): \
                     it stays valid until it expires; end it from `harmont sessions` on another login.",
                    api_message(&e)
                ),
            };
            return Err(CliError::Failed(format!("{err}\n{what}")));
        }
    };
    let path = ctx.store.path().display().to_string();

    let (previous, note) = match replaced.filter(|old| !old.token.same_as(&token)) {
        None => (json!(null), None),
        Some(old) if !old.obtained_by_login() => (
            json!("kept"),
            Some(
                "The credential this login replaced is not marked as one from `harmont login`, so its session was left \
                 alone (end it with `harmont sessions revoke` if it was yours)."
                    .to_owned(),
            ),
        ),
        Some(_) if keep_old => (
            json!("kept"),
            Some(
                "The session this login replaced is still live (--keep-old); end it with `harmont sessions revoke`."
                    .to_owned(),
            ),
        ),
        Some(old) => match client.clone().with_token(&old.token).logout().await {
            Ok(()) => (json!("revoked"), Some("Revoked the session this login replaced.".to_owned())),
            Err(e) if e.is_unauthorized() => (json!("already_ended"), None),
            Err(e) => {
                let now = OffsetDateTime::now_utc().format(&Rfc3339).ok();
                let kept = ctx.store.add_pending_revocation(api, old.token, now).is_ok();
                let later = if kept { "; it will be retried at the next command" } else { "" };
                (
                    json!("revocation_pending"),
                    Some(format!("Could not revoke the session this login replaced ({}){later}.", api_message(&e))),
                )
            }
        },
    };
    let mut outcome = match user {
        Ok(user) => {
            let who = match &user.name {
                Some(name) if !name.is_empty() => format!("{} ({name})", user.email),
                _ => user.email.clone(),
            };
            Outcome::ok(
                format!("{} to {api} as {who}.", style::green(Stream::Stdout, "Logged in")),
                json!({"api_url": api, "user": user, "credentials_path": path, "previous_session": previous}),
            )
        }
        Err(err) => Outcome::ok(
            format!("Logged in to {api}, but could not look up your account: {}", api_message(&err)),
            json!({"api_url": api, "user": null, "credentials_path": path, "previous_session": previous,
                   "warning": api_message(&err)}),
        ),
    };
    if let Some(note) = note {
        outcome.text = format!("{}\n{note}", outcome.text);
    }
    Ok(outcome)
}

/// What a token handed to `--with-token` is recorded as: never revoked by a
/// later login that replaces it (only [`OBTAINED_BY_LOGIN`] ones are).
pub const OBTAINED_WITH_TOKEN: &str = "with-token";

/// `login --with-token`: one token (a session token or an API key) from
/// stdin, checked with getCurrentUser; a refused token stores nothing.
async fn with_token(ctx: &Context, keep_old: bool) -> Result<Outcome, CliError> {
    let mut input = String::new();
    std::io::Read::read_to_string(&mut std::io::Read::take(std::io::stdin(), 64 * 1024), &mut input)
        .map_err(|e| CliError::Failed(format!("could not read the token from standard input: {e}")))?;
    let raw = input.trim();
    if raw.is_empty() {
        return Err(CliError::Usage(
            "No token on standard input. Pipe one in: `echo \"$HARMONT_KEY\" | harmont login --with-token`.".into(),
        ));
    }
    if raw.contains(char::is_whitespace) {
        return Err(CliError::Usage("Standard input holds more than one token; give exactly one.".into()));
    }
    let token = BearerToken::new(raw);
    let client = ctx.client();
    client.clone().with_token(&token).current_user().await.map_err(|err| {
        if err.is_unauthorized() {
            CliError::api("The server refused this token (nothing was stored)", err)
        } else {
            CliError::from(err)
        }
    })?;
    store(ctx, &client, token, keep_old, OBTAINED_WITH_TOKEN).await
}

fn nobody_at_the_keyboard(reason: &str) -> CliError {
    CliError::Usage(format!(
        "Cannot log in here: no browser can be opened ({reason}) and nobody is at the keyboard to approve. \
         In CI, pipe a token in with `harmont login --with-token` (create one with `harmont api-keys create`), \
         or set HARMONT_API_TOKEN; on a machine without a browser, use `harmont login --paste` from a terminal."
    ))
}

fn approval_url(app_url: &str, params: &[(&str, &str)]) -> String {
    let mut url =
        url::Url::parse(&format!("{app_url}/cli-login")).expect("the app URL was validated with the settings");
    url.query_pairs_mut().extend_pairs(params);
    url.into()
}

fn gave_up() -> CliError {
    CliError::Failed(format!(
        "Gave up waiting for the approval after {} minutes. Run `harmont login` to try again.",
        LOGIN_TIMEOUT.as_secs() / 60
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approval_urls_carry_the_parameters_encoded() {
        let url = approval_url("https://app.example/base", &[("paste", "true"), ("host", "my host")]);
        assert_eq!(url, "https://app.example/base/cli-login?paste=true&host=my+host");
    }
}
