//! The credentials file: session tokens keyed by API base, so one machine can
//! be logged in to several servers at once. It holds secrets, so it is
//! written atomically (temp file, fsync, rename) with mode 0600 in a 0700
//! folder, and a file or folder others can read is refused, not used.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const FILE_NAME: &str = "credentials.toml";

const HEADER: &str = "# Harmont CLI credentials, written by `harmont login`. Keep this file private.\n\n";

/// One server's credential.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    pub token: String,
    /// The account's email when the token was stored, for display only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logged_in_at: Option<String>,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("token", &"redacted")
            .field("email", &self.email)
            .field("logged_in_at", &self.logged_in_at)
            .finish()
    }
}

/// The whole file: `[servers."<api base>"]` tables.
#[derive(Debug, Default, Serialize, Deserialize)]
struct CredentialsFile {
    #[serde(default)]
    servers: BTreeMap<String, Credential>,
}

#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error(
        "{kind} {path} can be read by other users (mode {mode:04o}), so it will not be used.\n\
         Fix it with: chmod {fix:o} {path}",
        path = path.display()
    )]
    Permissions { kind: &'static str, path: PathBuf, mode: u32, fix: u32 },
    #[error("could not read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("{} is not a valid credentials file: {source}", path.display())]
    Parse { path: PathBuf, source: Box<toml::de::Error> },
    #[error("could not write {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
}

/// The credentials file at a known path.
#[derive(Debug, Clone)]
pub struct CredentialStore {
    dir: PathBuf,
    path: PathBuf,
}

impl CredentialStore {
    /// The store in `dir` (normally `~/.config/harmont`).
    pub fn in_dir(dir: impl Into<PathBuf>) -> Self {
        let dir = dir.into();
        let path = dir.join(FILE_NAME);
        Self { dir, path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The credential for `api_url`, if any.
    pub fn get(&self, api_url: &str) -> Result<Option<Credential>, CredentialsError> {
        Ok(self.load()?.servers.remove(api_url))
    }

    /// Stores (or replaces) the credential for `api_url`, keeping the others.
    pub fn set(&self, api_url: &str, credential: Credential) -> Result<(), CredentialsError> {
        let mut file = self.load()?;
        file.servers.insert(api_url.to_owned(), credential);
        self.save(&file)
    }

    /// Forgets the credential for `api_url`; returns whether there was one.
    pub fn remove(&self, api_url: &str) -> Result<bool, CredentialsError> {
        let mut file = self.load()?;
        if file.servers.remove(api_url).is_none() {
            return Ok(false);
        }
        self.save(&file)?;
        Ok(true)
    }

    /// The API bases with a stored credential.
    pub fn servers(&self) -> Result<Vec<String>, CredentialsError> {
        Ok(self.load()?.servers.into_keys().collect())
    }

    fn load(&self) -> Result<CredentialsFile, CredentialsError> {
        let text = match fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(CredentialsFile::default()),
            Err(source) => return Err(CredentialsError::Read { path: self.path.clone(), source }),
        };
        check_private(&self.dir, "The folder", 0o700)?;
        check_private(&self.path, "The credentials file", 0o600)?;
        toml::from_str(&text)
            .map_err(|source| CredentialsError::Parse { path: self.path.clone(), source: source.into() })
    }

    fn save(&self, file: &CredentialsFile) -> Result<(), CredentialsError> {
        let write_err = |source| CredentialsError::Write { path: self.path.clone(), source };
        create_private_dir(&self.dir).map_err(write_err)?;
        check_private(&self.dir, "The folder", 0o700)?;
        let body = toml::to_string(file).expect("credentials always serialize to TOML");
        // NamedTempFile creates the file with mode 0600 before anything is written to it.
        let mut temp = tempfile::Builder::new()
            .prefix(".credentials.")
            .suffix(".tmp")
            .tempfile_in(&self.dir)
            .map_err(write_err)?;
        temp.write_all(HEADER.as_bytes()).map_err(write_err)?;
        temp.write_all(body.as_bytes()).map_err(write_err)?;
        temp.as_file().sync_all().map_err(write_err)?;
        temp.persist(&self.path).map_err(|e| write_err(e.error))?;
        // Make the rename itself durable.
        if let Ok(dir) = fs::File::open(&self.dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

/// Refuses a path that grants anything to group or others.
#[cfg(unix)]
fn check_private(path: &Path, kind: &'static str, fix: u32) -> Result<(), CredentialsError> {
    use std::os::unix::fs::PermissionsExt as _;
    let metadata = fs::metadata(path).map_err(|source| CredentialsError::Read { path: path.to_owned(), source })?;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(CredentialsError::Permissions { kind, path: path.to_owned(), mode, fix });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_: &Path, _: &'static str, _: u32) -> Result<(), CredentialsError> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::io::Read as _;
    use std::os::unix::fs::PermissionsExt as _;

    fn credential(token: &str) -> Credential {
        Credential { token: token.to_owned(), email: Some("a@example.com".into()), logged_in_at: None }
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_missing_file_holds_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = CredentialStore::in_dir(dir.path().join("harmont"));
        assert_eq!(store.get("http://a").unwrap(), None);
        assert!(!store.remove("http://a").unwrap());
        assert!(!dir.path().join("harmont").exists(), "reading must not create anything");
    }

    #[test]
    fn writes_create_a_private_folder_and_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = CredentialStore::in_dir(dir.path().join("nested/harmont"));
        store.set("http://a", credential("t1")).unwrap();
        assert_eq!(mode(&dir.path().join("nested/harmont")), 0o700);
        assert_eq!(mode(store.path()), 0o600);
        assert_eq!(store.get("http://a").unwrap(), Some(credential("t1")));
    }

    #[test]
    fn several_servers_are_kept_apart() {
        let dir = tempfile::tempdir().unwrap();
        let store = CredentialStore::in_dir(dir.path());
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
        store.set("http://a", credential("ta")).unwrap();
        store.set("https://b.example", credential("tb")).unwrap();
        store.set("http://a", credential("ta2")).unwrap();
        assert_eq!(store.servers().unwrap(), ["http://a", "https://b.example"]);
        assert_eq!(store.get("http://a").unwrap().unwrap().token, "ta2");
        assert!(store.remove("http://a").unwrap());
        assert_eq!(store.get("http://a").unwrap(), None);
        assert_eq!(store.get("https://b.example").unwrap().unwrap().token, "tb");

        let text = fs::read_to_string(store.path()).unwrap();
        assert!(text.starts_with("# Harmont CLI credentials"), "{text}");
        assert!(text.contains("[servers.\"https://b.example\"]\ntoken = \"tb\""), "{text}");
    }

    #[test]
    fn writes_replace_the_file_rather_than_rewrite_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = CredentialStore::in_dir(dir.path().join("harmont"));
        store.set("http://a", credential("old")).unwrap();
        // A reader holding the old file keeps seeing a whole old file: the new
        // one arrived by rename, never by truncating and rewriting in place.
        let mut reader = fs::File::open(store.path()).unwrap();
        store.set("http://a", credential("new")).unwrap();
        let mut seen = String::new();
        reader.read_to_string(&mut seen).unwrap();
        assert!(seen.contains("token = \"old\""), "{seen}");
        assert_eq!(store.get("http://a").unwrap().unwrap().token, "new");
        let leftovers: Vec<_> = fs::read_dir(dir.path().join("harmont"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(leftovers, [FILE_NAME], "no temp files are left behind");
    }

    #[test]
    fn a_file_others_can_read_is_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let store = CredentialStore::in_dir(dir.path().join("harmont"));
        store.set("http://a", credential("t")).unwrap();
        fs::set_permissions(store.path(), fs::Permissions::from_mode(0o644)).unwrap();
        let err = store.get("http://a").unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, CredentialsError::Permissions { mode: 0o644, .. }), "{err:?}");
        assert!(message.contains(&format!("chmod 600 {}", store.path().display())), "{message}");
        // Writing is refused too, and leaves the file alone.
        assert!(store.set("http://a", credential("u")).is_err());
        assert!(store.remove("http://a").is_err());
        assert_eq!(mode(store.path()), 0o644);
    }

    #[test]
    fn a_folder_others_can_read_is_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("harmont");
        let store = CredentialStore::in_dir(&folder);
        store.set("http://a", credential("t")).unwrap();
        fs::set_permissions(&folder, fs::Permissions::from_mode(0o755)).unwrap();
        let message = store.get("http://a").unwrap_err().to_string();
        assert!(message.contains(&format!("chmod 700 {}", folder.display())), "{message}");
        // A loose folder that exists before the first login is refused as well.
        let loose = dir.path().join("loose");
        fs::create_dir(&loose).unwrap();
        fs::set_permissions(&loose, fs::Permissions::from_mode(0o755)).unwrap();
        let err = CredentialStore::in_dir(&loose).set("http://a", credential("t")).unwrap_err();
        assert!(matches!(err, CredentialsError::Permissions { fix: 0o700, .. }), "{err:?}");
        assert!(!loose.join(FILE_NAME).exists());
    }

    #[test]
    fn debug_hides_the_token() {
        assert!(!format!("{:?}", credential("hms_secret")).contains("secret"));
    }
}
