//! The server secret that keys paste-code HMACs. Replicas must share it, so it
//! comes from `HARMONT_SECRET`; the embedded SQLite default generates one on
//! first start into a 0600 file beside the database.

use anyhow::{bail, Context};
use std::fmt;
use std::path::Path;

pub struct ServerSecret(Vec<u8>);

impl ServerSecret {
    /// At least 32 bytes, and not of trivially low variety (`aaaa…`,
    /// `abab…`), so a paste code's HMAC cannot be brute-forced offline.
    pub fn from_configured(value: &str) -> anyhow::Result<Self> {
        let hint = "generate one with `openssl rand -hex 32`";
        if value.len() < MIN_LEN {
            bail!("HARMONT_SECRET must be at least {MIN_LEN} bytes ({} given); {hint}", value.len());
        }
        let mut seen = [false; 256];
        for byte in value.bytes() {
            seen[usize::from(byte)] = true;
        }
        let distinct = seen.iter().filter(|s| **s).count();
        if distinct < MIN_DISTINCT {
            bail!(
                "HARMONT_SECRET has only {distinct} different characters, at least {MIN_DISTINCT} are needed; {hint}"
            );
        }
        Ok(Self(value.as_bytes().to_vec()))
    }

    /// Reads the secret file, creating it with a fresh random secret if
    /// missing. A file that others than its owner may read or write is refused.
    pub fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(existing) => {
                check_private(path)?;
                Self::from_configured(existing.trim())
                    .with_context(|| format!("reading the secret in {}", path.display()))
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                let bytes = harmont_wire::random::bytes::<32>();
                let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                write_private(path, &hex).with_context(|| format!("writing {}", path.display()))?;
                Ok(Self(hex.into_bytes()))
            }
            Err(err) => Err(err).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// A fresh random secret, for tests.
    pub fn random() -> Self {
        Self(harmont_wire::random::bytes::<32>().to_vec())
    }

    pub(crate) fn expose(&self) -> &[u8] {
        &self.0
    }
}

const MIN_LEN: usize = 32;
const MIN_DISTINCT: usize = 8;

#[cfg(unix)]
fn check_private(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?.permissions().mode();
    if mode & 0o077 != 0 {
        bail!(
            "the secret file {path} can be read or changed by other users (mode {mode:03o}); \
             run `chmod 600 {path}` and start again",
            path = path.display(),
            mode = mode & 0o777,
        );
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_: &Path) -> anyhow::Result<()> {
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_or_monotonous_secrets_are_refused() {
        let short = ServerSecret::from_configured("0123456789abcdef").unwrap_err().to_string();
        assert!(short.contains("at least 32 bytes (16 given)") && short.contains("openssl rand -hex 32"), "{short}");
        let dull = ServerSecret::from_configured(&"ab".repeat(40)).unwrap_err().to_string();
        assert!(dull.contains("only 2 different characters"), "{dull}");
        assert!(ServerSecret::from_configured(&"abcdefg".repeat(6)).is_err(), "7 different is too few");
        assert!(ServerSecret::from_configured(&"abcdefgh".repeat(4)).is_ok());
        assert!(ServerSecret::from_configured("a-test-secret-that-is-long-enough-0123456789").is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn a_secret_file_others_can_read_is_refused_with_the_fix() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        let first = ServerSecret::load_or_create(&path).unwrap();
        assert_eq!(ServerSecret::load_or_create(&path).unwrap().expose(), first.expose());
        for loose in [0o644, 0o640, 0o604, 0o620] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(loose)).unwrap();
            let err = ServerSecret::load_or_create(&path).unwrap_err().to_string();
            assert!(err.contains(&format!("run `chmod 600 {}`", path.display())), "{err}");
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert!(ServerSecret::load_or_create(&path).is_ok());
    }
}
