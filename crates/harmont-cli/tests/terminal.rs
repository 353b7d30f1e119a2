//! `harmont login` as a person sees it in a terminal, under tmux: the paste
//! prompt, the spinner while waiting, and Ctrl-C. Needs `tmux` on the PATH
//! (`apt-get install -y tmux`).

mod common;

use std::path::Path;
use std::process::Command as StdCommand;
use std::time::Duration;

use common::{ApprovalUrl, Home, Server, EMAIL, PATIENCE};

/// A detached tmux session on its own server socket, killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// Runs `script` (a shell script) in a 200×30 terminal.
    fn start(name: &str, script: &Path) -> Self {
        let version = StdCommand::new("tmux").arg("-V").output();
        assert!(version.is_ok_and(|v| v.status.success()), "these tests need tmux: apt-get install -y tmux");
        let socket = format!("harmont-test-{}-{name}", std::process::id());
        let tmux = Tmux { socket };
        let status = tmux
            .command()
            .args(["new-session", "-d", "-x", "200", "-y", "30", "-s", "t"])
            .arg(format!("sh {}", script.display()))
            .status()
            .unwrap();
        assert!(status.success());
        tmux
    }

    fn command(&self) -> StdCommand {
        let mut command = StdCommand::new("tmux");
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("TERM", "xterm-256color")
            .args(["-L", &self.socket, "-f", "/dev/null"]);
        command
    }

    /// The screen as text, wrapped lines joined.
    fn screen(&self) -> String {
        let output = self.command().args(["capture-pane", "-p", "-J", "-t", "t"]).output().unwrap();
        String::from_utf8(output.stdout).unwrap()
    }

    /// The screen with its colours, as escape sequences.
    fn screen_with_colours(&self) -> String {
        let output = self.command().args(["capture-pane", "-p", "-e", "-J", "-t", "t"]).output().unwrap();
        String::from_utf8(output.stdout).unwrap()
    }

    /// Polls the screen until `ready` says so; returns that screen.
    async fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            assert!(tokio::time::Instant::now() < deadline, "never saw {what}; the screen:\n{screen}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn keys(&self, keys: &[&str]) {
        assert!(self.command().args(["send-keys", "-t", "t"]).args(keys).status().unwrap().success());
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.command().arg("kill-server").status();
    }
}

/// A script that runs `harmont ARGS` in `home` against `api_url`, then
/// prints its exit code and stays, so that the screen can be read. Ctrl-C
/// reaches the whole foreground group, so the script traps it (and
/// carries on) while `harmont` gets the default disposition.
fn script(home: &Home, api_url: &str, args: &str) -> std::path::PathBuf {
    script_with(home, api_url, args, "")
}

/// [`script`] with more `NAME=value` exports.
fn script_with(home: &Home, api_url: &str, args: &str, exports: &str) -> std::path::PathBuf {
    let path = home.dir.path().join("run.sh");
    let text = format!(
        "trap 'true' INT\nexport HOME='{home}' XDG_CONFIG_HOME='{home}/config' HARMONT_API_URL='{api_url}' {exports}\n\
         '{bin}' {args}\necho \"[exit $?]\"\nsleep 600\n",
        home = home.dir.path().display(),
        bin = common::harmont_bin().display(),
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn approval_url(screen: &str) -> ApprovalUrl {
    let line = screen.lines().find(|l| l.contains("/cli-login?")).expect("the URL is on screen");
    ApprovalUrl::parse(line.trim())
}

#[tokio::test]
async fn the_paste_prompt_in_a_terminal() {
    let server = Server::start().await;
    let home = Home::new();
    let tmux = Tmux::start("paste", &script(&home, &server.url, "login --paste"));

    let screen = tmux.wait_for("the prompt", |s| s.contains("Paste the code: ")).await;
    eprintln!("--- the screen at the prompt ---\n{screen}");
    assert!(screen.contains("open this page, approve, and copy the code it shows"), "{screen}");
    let page = approval_url(&screen);

    let code = server.client().with_token(server.mint().await).code(Some(page.get("code_challenge"))).await.unwrap();
    tmux.keys(&[&code, "Enter"]);
    let screen = tmux.wait_for("the exit", |s| s.contains("[exit ")).await;
    eprintln!("--- the screen after pasting ---\n{screen}");
    assert!(screen.contains(&format!("Paste the code: {code}")), "the code is echoed as typed: {screen}");
    assert!(screen.contains(&format!("Logged in to {} as {EMAIL} (Alice).", server.url)), "{screen}");
    assert!(screen.contains("[exit 0]"), "{screen}");
}

const WAITING: &str = "Waiting for the approval (code ";

/// Waits for the spinner and checks it: a braille frame, the verification
/// code, the way out, the elapsed time. Returns the approval URL.
async fn spinner(tmux: &Tmux) -> ApprovalUrl {
    let screen = tmux.wait_for("the spinner", |s| s.contains(WAITING)).await;
    eprintln!("--- the screen while waiting ---\n{screen}");
    let line = screen.lines().find(|l| l.contains(WAITING)).unwrap();
    let frame = line.chars().next().unwrap();
    assert!(('\u{2800}'..='\u{28ff}').contains(&frame), "a braille spinner leads the line: {line:?}");
    assert!(line.contains("); Ctrl-C to cancel ["), "{line:?}");
    let page = approval_url(&screen);
    let code = harmont_wire::verification::verification_code(page.get("nonce"));
    assert!(line.contains(&code), "the spinner repeats the verification code: {line:?}");
    page
}

#[tokio::test]
async fn the_spinner_while_waiting_for_the_approval() {
    let server = Server::start().await;
    let home = Home::new();
    let tmux = Tmux::start("spinner", &script(&home, &server.url, "login"));
    let page = spinner(&tmux).await;

    let web_session = server.client().with_token(server.mint().await);
    web_session.transfer(page.get("nonce"), Some(page.get("code_challenge"))).await.unwrap();
    let screen = tmux.wait_for("the exit", |s| s.contains("[exit ")).await;
    eprintln!("--- the screen after the approval ---\n{screen}");
    assert!(!screen.contains(WAITING), "the spinner is cleared: {screen}");
    assert!(screen.contains(&format!("Logged in to {} as {EMAIL} (Alice).\n[exit 0]", server.url)), "{screen}");
}

#[tokio::test]
async fn ctrl_c_while_the_spinner_runs() {
    let server = Server::start().await;
    let home = Home::new();
    let tmux = Tmux::start("ctrl-c", &script(&home, &server.url, "login"));
    spinner(&tmux).await;

    tmux.keys(&["C-c"]);
    let screen = tmux.wait_for("the exit", |s| s.contains("[exit ")).await;
    eprintln!("--- the screen after Ctrl-C ---\n{screen}");
    // Issue 11, item 16: the spinner line goes, with the terminal's own `^C`
    // echo (it used to stay above the message: the line was padded to the
    // right edge, so the echo wrapped to the next line and only that was
    // cleared).
    assert!(screen.contains("Login cancelled; nothing was stored.\n[exit 130]"), "{screen}");
    assert!(!screen.contains("^C"), "no stray echo is left: {screen}");
    assert!(!screen.contains(WAITING), "the spinner line is cleared: {screen}");
    assert!(!home.credentials_path().exists());
}

/// Issue 11, item 5: a mistyped code at a terminal is asked for again, and
/// the code from the page still works (the same PKCE verifier throughout).
/// Nothing says "nonce" or a fixed "5 minutes".
#[tokio::test]
async fn a_mistyped_paste_code_is_asked_for_again() {
    let server = Server::start().await;
    let home = Home::new();
    let tmux = Tmux::start("retype", &script(&home, &server.url, "login --paste"));
    let screen = tmux.wait_for("the prompt", |s| s.contains("Paste the code: ")).await;
    let page = approval_url(&screen);
    let code = server.client().with_token(server.mint().await).code(Some(page.get("code_challenge"))).await.unwrap();

    tmux.keys(&["hello", "Enter"]);
    tmux.wait_for("the second prompt", |s| s.matches("Paste the code: ").count() == 2).await;
    // One character off: well formed, but not the code.
    let typo = format!("{}{}", &code[..15], if code.ends_with('A') { 'B' } else { 'A' });
    tmux.keys(&[&typo, "Enter"]);
    let screen = tmux.wait_for("the third prompt", |s| s.matches("Paste the code: ").count() == 3).await;
    eprintln!("--- the screen after two mistakes ---\n{screen}");
    assert!(screen.contains("That is not a paste code"), "{screen}");
    assert!(screen.contains("Try again (2 tries left), or Ctrl-C to cancel."), "{screen}");
    assert!(
        screen.contains("That code was not accepted: it may have been mistyped, used already, or have expired."),
        "{screen}"
    );
    assert!(screen.contains("Try again (1 try left), or Ctrl-C to cancel."), "{screen}");

    tmux.keys(&[&code, "Enter"]);
    let screen = tmux.wait_for("the exit", |s| s.contains("[exit ")).await;
    eprintln!("--- the screen after the right code ---\n{screen}");
    assert!(screen.contains(&format!("Logged in to {} as {EMAIL} (Alice).\n[exit 0]", server.url)), "{screen}");
    assert!(!screen.to_lowercase().contains("nonce"), "{screen}");
    assert!(!screen.contains("5 minutes"), "{screen}");
}

#[tokio::test]
async fn three_wrong_codes_end_the_login_without_a_fixed_window() {
    let server = Server::start().await;
    let home = Home::new();
    let tmux = Tmux::start("three", &script(&home, &server.url, "login --paste"));
    tmux.wait_for("the prompt", |s| s.contains("Paste the code: ")).await;
    for n in 1..=3 {
        tmux.keys(&["K7P2-QR9M-X3WZ-4NTV", "Enter"]);
        if n < 3 {
            tmux.wait_for("the next prompt", |s| s.matches("Paste the code: ").count() == n + 1).await;
        }
    }
    let screen = tmux.wait_for("the exit", |s| s.contains("[exit ")).await;
    eprintln!("--- the screen after three wrong codes ---\n{screen}");
    assert!(screen.contains("(a code works only for the time the page shows)"), "{screen}");
    assert!(screen.contains("[exit 1]"), "{screen}");
    assert!(!screen.to_lowercase().contains("nonce") && !screen.contains("5 minutes"), "{screen}");
}

/// Issue 11, item 16: colour in our own output at a terminal, none with
/// `NO_COLOR`.
#[tokio::test]
async fn colour_at_a_terminal_and_none_with_no_color() {
    let home = Home::new();
    let url = "http://127.0.0.1:1";
    let tmux = Tmux::start("colour", &script(&home, url, "whoami"));
    tmux.wait_for("the exit", |s| s.contains("[exit ")).await;
    let screen = tmux.screen_with_colours();
    assert!(screen.contains("\x1b[1m\x1b[31merror:") || screen.contains("\x1b[1;31merror:"), "{screen:?}");
    drop(tmux);

    let tmux = Tmux::start("no-colour", &script_with(&home, url, "whoami", "NO_COLOR=1"));
    tmux.wait_for("the exit", |s| s.contains("[exit ")).await;
    let screen = tmux.screen_with_colours();
    assert!(screen.contains("error: You are not logged in"), "{screen:?}");
    assert!(!screen.contains("\x1b["), "{screen:?}");
}
