//! Test-only helpers shared by every crate's tests (a dev-dependency, never
//! published): one way to start the `harmont-auth` binary, and one way to wait.
//!
//! - [`ServerProcess`] runs `harmont-auth serve` told to listen on port 0 and
//!   learns the address from the server's own `harmont-auth listening` log
//!   line, so no test picks a "free" port that someone else may take before
//!   the server binds it.
//! - [`wait_for`] and [`eventually`] poll with a deadline ([`PATIENCE`]) and
//!   panic naming what they waited for, so that no test hangs.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The longest a test waits for anything before failing: a safety net against
/// hangs, never a measurement.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// How often a poll looks again.
const STEP: Duration = Duration::from_millis(20);

/// The message of the log line with which `serve` announces its bound address.
pub const LISTENING: &str = "harmont-auth listening";

/// A log filter that shows [`LISTENING`] and otherwise only warnings, for
/// tests that do not read the log.
pub const QUIET_LOG: &str = "warn,harmont_auth=info";

/// Calls `probe` until it gives a value, and returns it; panics naming `what`
/// after [`PATIENCE`].
pub fn wait_for<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(Instant::now() < deadline, "gave up after {PATIENCE:?} waiting for {what}");
        std::thread::sleep(STEP);
    }
}

/// [`wait_for`] for async probes, sleeping on the runtime between tries.
pub async fn eventually<T>(what: &str, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "gave up after {PATIENCE:?} waiting for {what}");
        tokio::time::sleep(STEP).await;
    }
}

/// `future`'s output, or a panic naming `what` after [`PATIENCE`].
pub async fn within<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    match tokio::time::timeout(PATIENCE, future).await {
        Ok(value) => value,
        Err(_) => panic!("gave up after {PATIENCE:?} waiting for {what}"),
    }
}

/// A binary of this workspace's target folder that the running test's crate
/// does not build itself (`CARGO_BIN_EXE_*` names only its own): the file
/// `name` in the profile folder above the test executable's `deps/`.
pub fn workspace_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    let profile = exe.parent().and_then(|deps| deps.parent()).expect("a test executable lives in <profile>/deps");
    let path = profile.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: build it first (`cargo nextest run --workspace` does; for one crate, \
         `cargo build -p harmont-server --bin harmont-auth`)",
        path.display()
    );
    path
}

/// An address where nothing listens, for as long as this value lives: a
/// socket bound to a port the system chose, that never listens, so that a
/// connection is refused and nobody else can take the port meanwhile (unlike
/// a port bound, read and let go).
#[derive(Debug)]
pub struct ClosedPort {
    _socket: tokio::net::TcpSocket,
    pub addr: SocketAddr,
}

impl ClosedPort {
    pub fn new() -> Self {
        let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
        socket.bind(([127, 0, 0, 1], 0).into()).expect("bind 127.0.0.1:0");
        let addr = socket.local_addr().expect("its address");
        Self { _socket: socket, addr }
    }

    /// `http://{addr}`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Default for ClosedPort {
    fn default() -> Self {
        Self::new()
    }
}

/// The address in a `harmont-auth listening` line, in the text or the JSON
/// log format; `None` for any other line.
pub fn listening_addr(line: &str) -> Option<SocketAddr> {
    if !line.contains(LISTENING) {
        return None;
    }
    if line.trim_start().starts_with('{') {
        let event: serde_json::Value = serde_json::from_str(line).ok()?;
        return event["addr"].as_str()?.parse().ok();
    }
    line.split(" addr=").nth(1)?.split_whitespace().next()?.parse().ok()
}

/// A running `harmont-auth serve`, its stderr collected as it comes; killed
/// (SIGKILL) when dropped, so that a test that fails midway leaves nothing
/// running.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    /// Where it listens, as its log said.
    pub addr: SocketAddr,
    /// `http://{addr}`.
    pub base: String,
    log: Arc<Mutex<String>>,
    lines: Receiver<String>,
    reader: Option<JoinHandle<()>>,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ServerProcess {
    /// Spawns `command` (a `harmont-auth serve` with `--listen HOST:0`, or a
    /// fixed port to come back on, and a log filter that lets [`LISTENING`]
    /// through, such as [`QUIET_LOG`]) and waits for its address. Panics with
    /// the log if the server exits first or says nothing within [`PATIENCE`].
    pub fn start(mut command: Command) -> Self {
        let mut child = command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, lines) = std::sync::mpsc::channel();
        let sink = log.clone();
        let reader = std::thread::spawn(move || {
            use std::io::BufRead as _;
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                {
                    let mut log = sink.lock().unwrap();
                    log.push_str(&line);
                    log.push('\n');
                }
                let _ = tx.send(line);
            }
        });
        let mut server =
            Self { child, addr: ([0, 0, 0, 0], 0).into(), base: String::new(), log, lines, reader: Some(reader) };
        let line = server.wait_for_line(LISTENING);
        server.addr = listening_addr(&line).unwrap_or_else(|| panic!("no address in {line:?}"));
        server.base = format!("http://{}", server.addr);
        server
    }

    /// Everything the server wrote to stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the next stderr line (after those already waited for)
    /// containing `needle`, and returns it; panics with the log if the server
    /// exits first or after [`PATIENCE`].
    pub fn wait_for_line(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            match self.lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().unwrap();
                    panic!("harmont-auth exited ({status}) before logging {needle:?}:\n{}", self.log());
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!("gave up after {PATIENCE:?} waiting for a log line with {needle:?}:\n{}", self.log())
                }
            }
        }
    }

    /// SIGTERM, then the exit status once the process has exited.
    pub fn terminate(self) -> ExitStatus {
        self.terminate_and_log().0
    }

    /// SIGTERM, then the exit status and the whole log, once the process has
    /// exited and its stderr has closed.
    pub fn terminate_and_log(mut self) -> (ExitStatus, String) {
        self.signal("-TERM");
        let status = self.wait();
        (status, self.log())
    }

    /// SIGKILL: no graceful anything. The exit status and the whole log.
    pub fn kill(mut self) -> (ExitStatus, String) {
        self.signal("-KILL");
        let status = self.wait();
        (status, self.log())
    }

    fn signal(&self, signal: &str) {
        let sent = Command::new("kill").args([signal, &self.child.id().to_string()]).status().unwrap();
        assert!(sent.success(), "kill {signal} {}", self.child.id());
    }

    /// The exit status, once stderr has reached its end too.
    fn wait(&mut self) -> ExitStatus {
        let status = wait_for("harmont-auth to exit", || self.child.try_wait().unwrap());
        if let Some(reader) = self.reader.take() {
            // The pipe closes with the process (and any child it left holding it).
            wait_for("harmont-auth's stderr to close", || reader.is_finished().then_some(()));
            reader.join().unwrap();
        }
        status
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_address_from_either_log_format() {
        let text = "2026-01-01T00:00:00.000000Z  INFO harmont_auth: harmont-auth listening addr=127.0.0.1:41234 \
                    public_url=http://127.0.0.1:41234";
        assert_eq!(listening_addr(text), Some("127.0.0.1:41234".parse().unwrap()));
        let json = r#"{"timestamp":"2026-01-01T00:00:00Z","level":"INFO","message":"harmont-auth listening","addr":"[::1]:8080","public_url":"http://[::1]:8080","target":"harmont_auth"}"#;
        assert_eq!(listening_addr(json), Some("[::1]:8080".parse().unwrap()));
        assert_eq!(listening_addr("INFO harmont_auth: serving Prometheus metrics metrics_listen=127.0.0.1:1"), None);
        assert_eq!(listening_addr("WARN something addr=127.0.0.1:1"), None, "only the announcing line counts");
    }

    #[test]
    fn a_closed_port_refuses_connections() {
        let closed = ClosedPort::new();
        let refused = std::net::TcpStream::connect(closed.addr).unwrap_err();
        assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
        assert!(std::net::TcpListener::bind(closed.addr).is_err(), "the port stays taken");
    }

    #[test]
    fn wait_for_returns_the_first_value() {
        let mut tries = 0;
        assert_eq!(
            wait_for("the third try", || {
                tries += 1;
                (tries == 3).then_some(tries)
            }),
            3
        );
    }
}
