//! End-to-end harness: the real `harmont-auth` server on port 0 (its address
//! read from its log, see `harmont_testkit::ServerProcess`) with a temporary
//! SQLite database, and the real `harmont` binary run against it
//! with a private home folder and a scrubbed environment.
//!
//! The server binary is found next to `harmont` (both land in
//! `target/<profile>/`). `cargo nextest run --workspace` and `cargo test
//! --workspace` build it first; for `cargo test -p harmont-cli`, build it with
//! `cargo build -p harmont-server --bin harmont-auth` beforehand.

#![allow(dead_code)] // each test file uses its own part of the harness

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use harmont_client::Client;
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;

pub const EMAIL: &str = "alice@example.com";
pub const NAME: &str = "Alice";

pub use harmont_testkit::PATIENCE;
use harmont_testkit::{eventually, within, ServerProcess};

/// The `harmont` under test; `HARMONT_TEST_BIN` points the tests at another
/// build (an older one, to see a new test fail against it).
pub fn harmont_bin() -> PathBuf {
    std::env::var_os("HARMONT_TEST_BIN").map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_harmont")), PathBuf::from)
}

pub fn server_bin() -> PathBuf {
    harmont_testkit::workspace_bin("harmont-auth")
}

/// A running `harmont-auth serve`, killed on drop.
pub struct Server {
    pub url: String,
    database: String,
    process: Option<ServerProcess>,
    /// The logs of the processes stopped so far.
    past_logs: String,
    _dir: TempDir,
}

impl Server {
    /// Starts a server with one user, [`EMAIL`].
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let database = format!("sqlite://{}/auth.db", dir.path().display());
        let mut server = Server { url: String::new(), database, process: None, past_logs: String::new(), _dir: dir };
        server.admin(&["migrate"]).await;
        server.admin(&["user", "add", EMAIL, "--name", NAME]).await;
        server.spawn_on("127.0.0.1:0");
        server
    }

    /// Starts the stopped server again on the same address (the port it was
    /// given the first time), with the same database.
    pub async fn restart(&mut self) {
        let addr = self.url.strip_prefix("http://").unwrap().to_owned();
        self.spawn_on(&addr);
        assert_eq!(self.url, format!("http://{addr}"), "back on the same address");
    }

    fn spawn_on(&mut self, listen: &str) {
        let mut command = std::process::Command::new(server_bin());
        command
            .args(["serve", "--listen", listen, "--database", &self.database])
            .env("HARMONT_LOG", harmont_testkit::QUIET_LOG)
            .env_remove("HARMONT_LISTEN");
        let process = ServerProcess::start(command);
        self.url = process.base.clone();
        self.process = Some(process);
    }

    /// Stops the server (the database stays), e.g. to make it unreachable.
    pub async fn stop(&mut self) {
        if let Some(process) = self.process.take() {
            let (_, log) = process.kill();
            self.past_logs.push_str(&log);
        }
    }

    /// What the server processes wrote to stderr (warnings and worse).
    pub fn log(&self) -> String {
        let current = self.process.as_ref().map(ServerProcess::log).unwrap_or_default();
        format!("{}{current}", self.past_logs)
    }

    /// Runs `harmont-auth ARGS --database DB`; returns its stdout.
    pub async fn admin(&self, args: &[&str]) -> String {
        let output = Command::new(server_bin()).args(args).args(["--database", &self.database]).output().await.unwrap();
        assert!(output.status.success(), "harmont-auth {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    }

    /// A fresh session token for [`EMAIL`], as the signed-in web page holds.
    pub async fn mint(&self) -> String {
        self.admin(&["token", "mint", EMAIL]).await.trim().to_owned()
    }

    pub fn client(&self) -> Client {
        Client::new(&self.url)
    }
}

/// A private home for one `harmont` user: `$HOME` and `$XDG_CONFIG_HOME`.
pub struct Home {
    pub dir: TempDir,
}

impl Home {
    pub fn new() -> Self {
        Self { dir: tempfile::tempdir().unwrap() }
    }

    pub fn config_dir(&self) -> PathBuf {
        self.dir.path().join("config/harmont")
    }

    pub fn credentials_path(&self) -> PathBuf {
        self.config_dir().join("credentials.toml")
    }

    pub fn credentials(&self) -> String {
        std::fs::read_to_string(self.credentials_path()).unwrap_or_default()
    }

    /// `harmont` with only this home, the given API base, and `PATH` in its
    /// environment: no display, no `$BROWSER`, no CI or SSH markers.
    pub fn harmont(&self, api_url: &str) -> Command {
        let mut command = Command::new(harmont_bin());
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"))
            .env("HARMONT_API_URL", api_url)
            .stdin(Stdio::null())
            .kill_on_drop(true);
        command
    }

    /// Runs `harmont ARGS` to the end.
    pub async fn run(&self, api_url: &str, args: &[&str]) -> Finished {
        let output = tokio::time::timeout(PATIENCE, self.harmont(api_url).args(args).output())
            .await
            .expect("harmont did not finish")
            .unwrap();
        Finished::from(output)
    }
}

/// How a `harmont` run ended.
#[derive(Debug)]
pub struct Finished {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<std::process::Output> for Finished {
    fn from(output: std::process::Output) -> Self {
        Finished {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    }
}

impl Finished {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }
}

/// A `harmont` still running, whose stderr is read line by line as it comes.
pub struct Running {
    child: Child,
    pub stdin: Option<ChildStdin>,
    lines: mpsc::UnboundedReceiver<String>,
    stderr: Arc<Mutex<String>>,
    stdout: tokio::task::JoinHandle<String>,
}

impl Running {
    pub fn spawn(mut command: Command) -> Self {
        let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let stdin = child.stdin.take();
        let mut stdout = child.stdout.take().unwrap();
        let stdout = tokio::spawn(async move {
            let mut text = String::new();
            stdout.read_to_string(&mut text).await.unwrap();
            text
        });
        let (tx, lines) = mpsc::unbounded_channel();
        let stderr = Arc::new(Mutex::new(String::new()));
        let collected = stderr.clone();
        let mut reader = BufReader::new(child.stderr.take().unwrap()).lines();
        tokio::spawn(async move {
            while let Ok(Some(line)) = reader.next_line().await {
                collected.lock().unwrap().push_str(&format!("{line}\n"));
                let _ = tx.send(line);
            }
        });
        Running { child, stdin, lines, stderr, stdout }
    }

    pub fn id(&self) -> u32 {
        self.child.id().unwrap()
    }

    /// Waits for a stderr line containing `needle`, and returns it.
    pub async fn line_containing(&mut self, needle: &str) -> String {
        let found = tokio::time::timeout(PATIENCE, async {
            while let Some(line) = self.lines.recv().await {
                if line.contains(needle) {
                    return Some(line);
                }
            }
            None
        })
        .await;
        match found {
            Ok(Some(line)) => line,
            _ => panic!("no stderr line with {needle:?}; stderr so far:\n{}", self.stderr.lock().unwrap()),
        }
    }

    /// Waits for the approval URL on stderr and parses it.
    pub async fn approval_url(&mut self) -> ApprovalUrl {
        ApprovalUrl::parse(self.line_containing("/cli-login?").await.trim())
    }

    pub async fn type_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(format!("{line}\n").as_bytes()).await.unwrap();
        stdin.flush().await.unwrap();
    }

    pub async fn finish(mut self) -> Finished {
        drop(self.stdin.take());
        let status = within("harmont to finish", self.child.wait()).await.unwrap();
        let stdout = within("harmont's stdout to close", self.stdout).await.unwrap();
        // The stderr reader ends with the pipe, which closed with the process.
        within("harmont's stderr to close", async { while self.lines.recv().await.is_some() {} }).await;
        let stderr = self.stderr.lock().unwrap().clone();
        Finished { code: status.code().unwrap_or(-1), stdout, stderr }
    }
}

/// `<app>/cli-login?…` as the CLI printed or opened it.
#[derive(Debug, Clone)]
pub struct ApprovalUrl {
    pub url: url::Url,
    pub params: HashMap<String, String>,
}

impl ApprovalUrl {
    pub fn parse(raw: &str) -> Self {
        let url = url::Url::parse(raw).unwrap_or_else(|e| panic!("{raw:?} is not a URL: {e}"));
        let params = url.query_pairs().into_owned().collect();
        ApprovalUrl { url, params }
    }

    pub fn get(&self, name: &str) -> &str {
        self.params.get(name).unwrap_or_else(|| panic!("{} has no {name}", self.url))
    }

    pub fn has(&self, name: &str) -> bool {
        self.params.contains_key(name)
    }
}

/// A stand-in for `$BROWSER`: a script that appends the URL it is given to a
/// file, so that the test can play the approval page with it.
pub struct FakeBrowser {
    pub script: PathBuf,
    log: PathBuf,
}

impl FakeBrowser {
    pub fn install(dir: &Path) -> Self {
        use std::os::unix::fs::PermissionsExt as _;
        let script = dir.join("fake-browser");
        let log = dir.join("fake-browser.log");
        std::fs::write(&script, format!("#!/bin/sh\nprintf '%s\\n' \"$1\" >> '{}'\n", log.display())).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        FakeBrowser { script, log }
    }

    /// Waits until the CLI has "opened" a page, and returns its URL.
    pub async fn opened(&self) -> ApprovalUrl {
        let line = eventually("the CLI to open the browser", async || {
            std::fs::read_to_string(&self.log).ok().and_then(|t| t.lines().next().map(str::to_owned))
        })
        .await;
        ApprovalUrl::parse(&line)
    }
}

/// Logs `home` in to `server` through `login --paste`, playing the web page.
pub async fn login(server: &Server, home: &Home) {
    let mut command = home.harmont(&server.url);
    command.args(["login", "--paste"]);
    let done = paste_login(server, command).await;
    assert_eq!(done.code, 0, "{done:?}");
}

/// Runs `command` (a `login --paste`), plays the web page, types the code.
pub async fn paste_login(server: &Server, command: Command) -> Finished {
    let mut cli = Running::spawn(command);
    let page = cli.approval_url().await;
    let code = server.client().with_token(server.mint().await).code(Some(page.get("code_challenge"))).await.unwrap();
    cli.type_line(&code).await;
    cli.finish().await
}

/// The token `harmont` stored for `server`.
pub async fn stored_token(server: &Server, home: &Home) -> String {
    let done = home.run(&server.url, &["token"]).await;
    assert_eq!(done.code, 0, "{done:?}");
    done.stdout.trim().to_owned()
}
