//! `harmont login`: the browser handoff, and `--paste` for when the browser
//! cannot reach this machine.
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

use harmont_client::{Claim, Client};
use harmont_wire::nonce::Nonce;
use harmont_wire::paste_code::PasteCode;
use harmont_wire::pkce::CodeVerifier;
use harmont_wire::verification::verification_code;
use harmont_wire::ErrorCode;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::time::Instant;

use crate::browser::{self, Launch};
use crate::cli::LoginArgs;
use crate::context::{hostname, Context};
use crate::credentials::Credential;
use crate::error::CliError;
use crate::interrupt::Interrupt;
use crate::loopback::Loopback;
use crate::output::Outcome;

/// How long each claim asks the server to hold it.
const CLAIM_WAIT: Duration = Duration::from_secs(25);
/// The pace of plain polling, and the least time between two claims.
const POLL_INTERVAL: Duration = Duration::from_millis(750);
/// After this the login gives up.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// How long to keep the loopback listener up after the token has arrived, so
/// that the browser's redirect (sent right after `transfer`) finds it.
const CALLBACK_GRACE: Duration = Duration::from_secs(5);
/// When a rate-limited server sends no `Retry-After`.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);

const CANCELLED: &str = "Login cancelled; nothing was stored.";

pub async fn run(ctx: &Context, args: LoginArgs) -> Result<Outcome, CliError> {
    if ctx.settings.env_token.is_some() {
        return Err(CliError::Usage(
            "HARMONT_API_TOKEN is set, and it would take precedence over the credential a login stores. \
             Unset it to log in."
                .into(),
        ));
    }
    let mut interrupt = Interrupt::listen().map_err(|e| CliError::Failed(format!("cannot watch for Ctrl-C: {e}")))?;
    let client = ctx.client();
    // Before anyone is sent to a browser: is the server there at all? Any
    // HTTP answer will do; only an unreachable server stops the login here.
    if let Err(err) = client.ping().await {
        if err.is_transport() {
            return Err(err.into());
        }
    }

    let deadline = Instant::now() + LOGIN_TIMEOUT;
    let (token, loopback) = if args.paste {
        (paste(ctx, &client, &args, &mut interrupt, deadline).await?, None)
    } else {
        handoff(ctx, &client, &args, &mut interrupt, deadline).await?
    };
    let outcome = store(ctx, &client, token).await;
    if let Some(loopback) = loopback {
        tokio::select! {
            _ = tokio::time::timeout(CALLBACK_GRACE, loopback.called_back()) => {}
            _ = interrupt.recv() => {}
        }
    }
    outcome
}

/// The loopback handoff. Returns the token, and the listener if there is one
/// (still serving, for the browser's redirect).
async fn handoff(
    ctx: &Context,
    client: &Client,
    args: &LoginArgs,
    interrupt: &mut Interrupt,
    deadline: Instant,
) -> Result<(String, Option<Loopback>), CliError> {
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
                .map_err(|e| CliError::Failed(format!("cannot listen on 127.0.0.1 for the browser: {e}")))?;
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

    eprintln!("To log in to {}, open this page and approve:\n\n    {url}\n", ctx.api_url());
    eprintln!("Verification code: {code}  (the page must show the same code)\n");
    match browser::open(&url, args.no_browser).await {
        Launch::Opened => eprintln!("Opened your browser."),
        Launch::Skipped(reason) => eprintln!(
            "Not opening a browser here ({reason}): open the page on any device where you can sign in.\n\
             If the approval cannot get back to this machine, use `harmont login --paste` instead."
        ),
        Launch::Failed(e) => eprintln!("Could not open a browser ({e}); open the page above yourself."),
    }

    let loopback = loopback.map(|(loopback, _)| loopback);
    let spinner = Spinner::start(format!("Waiting for the approval (code {code}); Ctrl-C to cancel"));
    let result = tokio::select! {
        token = poll_claim(client, &nonce, &verifier, loopback.as_ref()) => token,
        _ = interrupt.recv() => Err(CliError::Interrupted(CANCELLED)),
        _ = tokio::time::sleep_until(deadline) => Err(gave_up()),
    };
    spinner.finish();
    Ok((result?, loopback))
}

/// Claims until the token comes. Each claim long-polls; no two claims start
/// less than [`POLL_INTERVAL`] apart, which is plain polling at that pace
/// against a server that answers at once. The browser's callback cuts one
/// pause short, since the token is parked by then.
async fn poll_claim(
    client: &Client,
    nonce: &Nonce,
    verifier: &CodeVerifier,
    loopback: Option<&Loopback>,
) -> Result<String, CliError> {
    let mut callback_seen = false;
    loop {
        let started = Instant::now();
        let pause = match client.claim(nonce.expose(), Some(verifier.expose()), Some(CLAIM_WAIT)).await {
            Ok(Claim::Token(token)) => return Ok(token),
            Ok(Claim::NotYet { .. }) => POLL_INTERVAL,
            Err(err) if err.is(ErrorCode::RateLimited) => err.retry_after().unwrap_or(DEFAULT_RETRY_AFTER),
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

/// `--paste`: the page shows a code bound to our challenge; we redeem it.
async fn paste(
    ctx: &Context,
    client: &Client,
    args: &LoginArgs,
    interrupt: &mut Interrupt,
    deadline: Instant,
) -> Result<String, CliError> {
    let verifier = CodeVerifier::generate();
    let challenge = verifier.challenge();
    let url = approval_url(&ctx.settings.app_url, &[("paste", "true"), ("code_challenge", &challenge)]);
    eprintln!("To log in to {}, open this page, approve, and copy the code it shows:\n\n    {url}\n", ctx.api_url());
    match browser::open(&url, args.no_browser).await {
        Launch::Opened => eprintln!("Opened your browser."),
        Launch::Skipped(_) => {}
        Launch::Failed(e) => {
            eprintln!("Could not open a browser ({e}); open the page above yourself.")
        }
    }

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
        return Err(CliError::Failed("No code was entered.".into()));
    }
    let code = PasteCode::parse_lenient(typed).ok_or_else(|| {
        CliError::Failed("That is not a paste code: a code is 16 letters and digits, like K7P2-QR9M-X3WZ-4NTV.".into())
    })?;
    client.redeem(code.expose(), Some(verifier.expose())).await.map_err(|err| {
        if err.is(ErrorCode::CliCodeInvalid) {
            CliError::api(
                "That code was not accepted: it may have been mistyped, used already, or be older than 5 minutes. \
                 Run `harmont login --paste` for a new one",
                err,
            )
        } else {
            err.into()
        }
    })
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

/// Stores the token and says who it belongs to.
async fn store(ctx: &Context, client: &Client, token: String) -> Result<Outcome, CliError> {
    let user = client.clone().with_token(&token).current_user().await;
    let credential = Credential {
        token,
        email: user.as_ref().ok().map(|u| u.email.clone()),
        logged_in_at: OffsetDateTime::now_utc().format(&Rfc3339).ok(),
    };
    // Stored even if the user lookup failed: the session exists either way,
    // and dropping its only copy would leave it live and unrevocable from here.
    ctx.store.set(ctx.api_url(), credential)?;
    let path = ctx.store.path().display().to_string();
    match user {
        Ok(user) => {
            let who = match &user.name {
                Some(name) if !name.is_empty() => format!("{} ({name})", user.email),
                _ => user.email.clone(),
            };
            Ok(Outcome::ok(
                format!("Logged in to {} as {who}.", ctx.api_url()),
                json!({"api_url": ctx.api_url(), "user": user, "credentials_path": path}),
            ))
        }
        Err(err) => Ok(Outcome::ok(
            format!("Logged in to {}, but could not look up your account: {err}", ctx.api_url()),
            json!({"api_url": ctx.api_url(), "user": null, "credentials_path": path, "warning": err.to_string()}),
        )),
    }
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

/// A spinner on stderr while waiting, only when a person is watching.
struct Spinner(Option<ProgressBar>);

impl Spinner {
    fn start(message: String) -> Self {
        if !std::io::stderr().is_terminal() {
            eprintln!("{message}…");
            return Self(None);
        }
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} [{elapsed}]").expect("the spinner template is valid"),
        );
        bar.set_message(message);
        bar.enable_steady_tick(Duration::from_millis(100));
        Self(Some(bar))
    }

    fn finish(self) {
        if let Some(bar) = self.0 {
            bar.finish_and_clear();
        }
    }
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
