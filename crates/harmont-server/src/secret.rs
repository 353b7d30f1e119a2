//! The server secret that keys paste-code HMACs. Replicas must share it, so it
//! comes from `HARMONT_SECRET`; the embedded SQLite default generates one on
//! first start into a 0600 file beside the database.

use anyhow::{bail, Context};
use std::fmt;
use std::path::Path;

pub struct ServerSecret(Vec<u8>);

impl ServerSecret {
    /// At least 32 bytes, so a paste code's HMAC cannot be brute-forced offline.
    pub fn from_configured(value: &str) -> anyhow::Result<Self> {
        if value.len() < 32 {
            bail!("HARMONT_SECRET must be at least 32 characters");
        }
        Ok(Self(value.as_bytes().to_vec()))
    }

    /// Reads the secret file, creating it with a fresh random secret if missing.
    pub fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(existing) => Self::from_configured(existing.trim())
                .with_context(|| format!("reading the secret in {}", path.display())),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; 32];
                getrandom::fill(&mut bytes)
                    .map_err(|e| anyhow::anyhow!("the OS random number generator failed: {e}"))?;
                let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                write_private(path, &hex).with_context(|| format!("writing {}", path.display()))?;
                Ok(Self(hex.into_bytes()))
            }
            Err(err) => Err(err).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// A fresh random secret, for tests.
    pub fn random() -> Self {
        let mut bytes = vec![0u8; 32];
        getrandom::fill(&mut bytes).expect("the OS random number generator failed");
        Self(bytes)
    }

    pub(crate) fn expose(&self) -> &[u8] {
        &self.0
    }
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

impl fmt::Debug for ServerSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerSecret(redacted)")
    }
}
