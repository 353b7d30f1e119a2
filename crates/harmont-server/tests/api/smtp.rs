//! A real SMTP server for the emailed-link tests: Python's aiosmtpd (from
//! PyPI, in `.venv-mail/`, which scripts/test.sh makes), on port 0
//! (scripts/mail/smtp_server.py says which port it got), storing what it
//! receives in a Maildir the test reads.

use harmont_testkit::{eventually, PATIENCE};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// The Python with aiosmtpd: `HARMONT_TEST_AIOSMTPD_PYTHON`, or the repo's `.venv-mail/`.
fn python() -> PathBuf {
    if let Ok(path) = std::env::var("HARMONT_TEST_AIOSMTPD_PYTHON") {
        return path.into();
    }
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv-mail/bin/python");
    assert!(
        path.exists(),
        "no aiosmtpd: run `. scripts/lib.sh && python_venv .venv-mail scripts/mail/requirements.txt` \
         (scripts/test.sh does), or set HARMONT_TEST_AIOSMTPD_PYTHON"
    );
    path
}

/// One received mail.
#[derive(Debug, Clone)]
pub struct Mail {
    pub raw: String,
}

impl Mail {
    /// A header's value (the first one of that name).
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.raw.split("\n\n").next().unwrap_or("");
        let prefix = format!("{}:", name.to_ascii_lowercase());
        head.lines().find(|l| l.to_ascii_lowercase().starts_with(&prefix)).map(|l| l[prefix.len()..].trim().to_owned())
    }

    /// The `hml_…` secret of the `/login#link=` URL in the body.
    pub fn link_secret(&self) -> Option<String> {
        let at = self.raw.find("#link=")? + "#link=".len();
        Some(self.raw[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-').collect())
    }

    pub fn link_url(&self) -> Option<String> {
        let secret = self.link_secret()?;
        let end = self.raw.find(&secret)? + secret.len();
        let start = self.raw[..end].rfind(char::is_whitespace).map_or(0, |i| i + 1);
        Some(self.raw[start..end].to_owned())
    }
}

#[derive(Debug)]
pub struct SmtpServer {
    child: Child,
    pub port: u16,
    maildir: tempfile::TempDir,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SmtpServer {
    pub fn start() -> Self {
        let maildir = tempfile::tempdir().expect("temp dir");
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/mail/smtp_server.py");
        let mut child = Command::new(python())
            .arg(script)
            .arg(maildir.path().join("mail"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        // Its first line says where it listens; the pipe stays read so that it never fills.
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead as _;
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut server = Self { child, port: 0, maildir };
        let line = rx.recv_timeout(PATIENCE).unwrap_or_else(|e| panic!("aiosmtpd did not say where it listens: {e}"));
        server.port = line
            .strip_prefix("aiosmtpd listening on 127.0.0.1:")
            .and_then(|port| port.trim().parse().ok())
            .unwrap_or_else(|| panic!("not the listening line: {line:?}"));
        server
    }

    /// `smtp://127.0.0.1:PORT` (STARTTLS if offered: aiosmtpd offers none).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every mail received so far, in no particular order.
    pub fn mails(&self) -> Vec<Mail> {
        let Ok(entries) = std::fs::read_dir(self.maildir.path().join("mail/new")) else { return Vec::new() };
        entries
            .filter_map(|e| std::fs::read(e.ok()?.path()).ok())
            .map(|bytes| Mail { raw: String::from_utf8_lossy(&bytes).replace("\r\n", "\n") })
            .collect()
    }

    /// The mails to `to`.
    pub fn mails_to(&self, to: &str) -> Vec<Mail> {
        self.mails().into_iter().filter(|m| m.header("To").is_some_and(|t| t.contains(to))).collect()
    }

    /// Waits for a mail to `to`, and returns the first.
    pub async fn wait_for(&self, to: &str) -> Mail {
        eventually(&format!("a mail to {to}"), async || self.mails_to(to).into_iter().next()).await
    }
}

/// The mail settings of a server that sends through `smtp`.
pub fn mail_settings(url: &str) -> harmont_server::mail::MailSettings {
    harmont_server::mail::MailSettings {
        smtp: harmont_server::mail::SmtpUrl::parse(url).expect("an SMTP URL"),
        from: harmont_server::mail::parse_mail_from("Harmont <auth@example.com>").unwrap(),
    }
}
