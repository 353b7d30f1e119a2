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
    let path = home.dir.path().join("run.sh");
    let text = format!(
        "trap 'true' INT\nexport HOME='{home}' XDG_CONFIG_HOME='{home}/config' HARMONT_API_URL='{api_url}'\n\
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
    // The spinner's last frame stays above: indicatif keeps the cursor at the
    // right edge, so the terminal's own `^C` echo wraps to the next line,
    // which is the one cleared and reused for the message.
    assert!(screen.contains("Login cancelled; nothing was stored.\n[exit 130]"), "{screen}");
    assert!(!screen.contains("^C"), "no stray echo is left: {screen}");
    assert!(!home.credentials_path().exists());
}
