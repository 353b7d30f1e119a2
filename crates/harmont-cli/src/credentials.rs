//! The credentials file: session tokens keyed by API base, so one machine can
//! be logged in to several servers at once, the server of the last login (the
//! default), and tokens logged out of while their server was unreachable,
//! kept until their revocation goes through. It holds secrets, so it is
//! written atomically (temp file, fsync, rename) with mode 0600, in a folder
//! created 0700. A file that others can read, or that belongs to someone else,
//! is refused, not used; so is a folder that others can write to (they could
//! swap the file). A folder others may only read (a 0755 `~/.config/harmont`
//! made for `config.toml`) is fine: the file itself stays private.

use std::collections::BTreeMap;

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use harmont_client::BearerToken;
use serde::{Deserialize, Serialize};

pub const FILE_NAME: &str = "credentials.toml";

const HEADER: &str = "# Harmont CLI credentials, written by `harmont login`. Keep this file private.\n\n";

/// How a stored token was obtained. Only a session this CLI started itself
/// (through `login`) is revoked when a new login replaces it.
pub const OBTAINED_BY_LOGIN: &str = "login";

/// One server's credential.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Credential {
    pub token: BearerToken,
    /// The account's email when the token was stored, for display only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logged_in_at: Option<String>,
    /// [`OBTAINED_BY_LOGIN`] for a session `harmont login` started; absent
    /// for anything else (a token handed to the CLI, an older file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub obtained: Option<String>,
}

impl Credential {
    pub fn obtained_by_login(&self) -> bool {
        self.obtained.as_deref() == Some(OBTAINED_BY_LOGIN)
    }
}

/// A token logged out of while its server could not be reached: forgotten
/// as a login, kept only to revoke it once the server answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingRevocation {
    pub api_url: String,
    pub token: BearerToken,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logged_out_at: Option<String>,
}

/// The whole file: `default_server`, `[servers."<api base>"]` tables and
/// `[[pending_revocation]]` entries.
#[derive(Debug, Default, Serialize, Deserialize)]
struct CredentialsFile {
    /// The API base of the last successful login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    default_server: Option<String>,
    #[serde(default)]
    servers: BTreeMap<String, Credential>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pending_revocation: Vec<PendingRevocation>,
}

#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error(
        "{kind} {path} can be {what} by other users (mode {mode:04o}), so it will not be used.\n\
         Fix it with: chmod {fix:o} {path}",
        path = path.display()
    )]
    Permissions { kind: &'static str, path: PathBuf, mode: u32, fix: u32, what: &'static str },
    #[error("{kind} {path} belongs to another user, so it will not be used.", path = path.display())]
    Owner { kind: &'static str, path: PathBuf },
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
    #[cfg(test)]
    pub fn set(&self, api_url: &str, credential: Credential) -> Result<(), CredentialsError> {
        let mut file = self.load()?;
        file.servers.insert(api_url.to_owned(), credential);
        self.save(&file)
    }

    /// Stores a fresh login's credential and makes its server the default;
    /// returns the credential it replaced.
    pub fn store_login(&self, api_url: &str, credential: Credential) -> Result<Option<Credential>, CredentialsError> {
        let mut file = self.load()?;
        let replaced = file.servers.insert(api_url.to_owned(), credential);
        file.default_server = Some(api_url.to_owned());
        self.save(&file)?;
        Ok(replaced)
    }

    /// The server of the last login, read leniently: this only picks a
    /// default, and any problem with the file shows up when it is used.
    pub fn default_server(&self) -> Option<String> {
        let text = fs::read_to_string(&self.path).ok()?;
        toml::from_str::<CredentialsFile>(&text).ok()?.default_server
    }

    /// Whether a login could be stored: the file (if any) is private and
    /// readable, and a file can be created in the folder (made if missing).
    /// Run before a login starts, so that nobody approves a session that
    /// would then have nowhere to go.
    pub fn check_writable(&self) -> Result<(), CredentialsError> {
        self.load()?;
        let write_err = |source| CredentialsError::Write { path: self.path.clone(), source };
        create_private_dir(&self.dir).map_err(write_err)?;
        check_folder(&self.dir)?;
        let probe = tempfile::Builder::new()
            .prefix(".credentials.")
            .suffix(".tmp")
            .tempfile_in(&self.dir)
            .map_err(write_err)?;
        drop(probe);
        Ok(())
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

    /// Forgets the credential for `api_url` as a login but keeps its token,
    /// to be revoked once the server answers. Returns whether there was one.
    pub fn mark_pending_revocation(
        &self,
        api_url: &str,
        logged_out_at: Option<String>,
    ) -> Result<bool, CredentialsError> {
        let mut file = self.load()?;
        let Some(credential) = file.servers.remove(api_url) else { return Ok(false) };
        file.pending_revocation.push(PendingRevocation {
            api_url: api_url.to_owned(),
            token: credential.token,
            logged_out_at,
        });
        self.save(&file)?;
        Ok(true)
    }

    /// Keeps `token` to be revoked on `api_url` once it answers.
    pub fn add_pending_revocation(
        &self,
        api_url: &str,
        token: BearerToken,
        logged_out_at: Option<String>,
    ) -> Result<(), CredentialsError> {
        let mut file = self.load()?;
        file.pending_revocation.push(PendingRevocation { api_url: api_url.to_owned(), token, logged_out_at });
        self.save(&file)
    }

    /// The tokens waiting to be revoked on `api_url`.
    pub fn pending_revocations(&self, api_url: &str) -> Result<Vec<PendingRevocation>, CredentialsError> {
        Ok(self.load()?.pending_revocation.into_iter().filter(|p| p.api_url == api_url).collect())
    }

    /// Drops a pending revocation that went through.
    pub fn revoked(&self, api_url: &str, token: &BearerToken) -> Result<(), CredentialsError> {
        let mut file = self.load()?;
        let before = file.pending_revocation.len();
        file.pending_revocation.retain(|p| !(p.api_url == api_url && p.token.same_as(token)));
        if file.pending_revocation.len() != before {
            self.save(&file)?;
        }
        Ok(())
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
        check_folder(&self.dir)?;
        check_file(&self.path)?;
        toml::from_str(&text)
            .map_err(|source| CredentialsError::Parse { path: self.path.clone(), source: source.into() })
    }

    fn save(&self, file: &CredentialsFile) -> Result<(), CredentialsError> {
        let write_err = |source| CredentialsError::Write { path: self.path.clone(), source };
        create_private_dir(&self.dir).map_err(write_err)?;
        check_folder(&self.dir)?;
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

/// The file: ours, and nothing for group or others.
#[cfg(unix)]
fn check_file(path: &Path) -> Result<(), CredentialsError> {
    check_mode(path, "The credentials file", 0o077, "read", 0o600)
}

/// The folder: ours, and nobody else may add, remove or rename files in it.
#[cfg(unix)]
fn check_folder(path: &Path) -> Result<(), CredentialsError> {
    check_mode(path, "The folder", 0o022, "written", 0o700)
}

#[cfg(unix)]
fn check_mode(
    path: &Path,
    kind: &'static str,
    forbidden: u32,
    what: &'static str,
    fix: u32,
) -> Result<(), CredentialsError> {
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
    let metadata = fs::metadata(path).map_err(|source| CredentialsError::Read { path: path.to_owned(), source })?;
    if metadata.uid() != rustix::process::geteuid().as_raw() {
        return Err(CredentialsError::Owner { kind, path: path.to_owned() });
    }
    let mode = metadata.permissions().mode() & 0o777;
    if mode & forbidden != 0 {
        return Err(CredentialsError::Permissions { kind, path: path.to_owned(), mode, fix, what });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_file(_: &Path) -> Result<(), CredentialsError> {
    Ok(())
}

#[cfg(not(unix))]
fn check_folder(_: &Path) -> Result<(), CredentialsError> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::io::Read as _;
    use std::os::unix::fs::PermissionsExt as _;

    fn credential(token: &str) -> Credential {
        Credential { token: token.into(), email: Some("a@example.com".into()), logged_in_at: None, obtained: None }
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_missing_file_holds_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = CredentialStore::in_dir(dir.path().join("harmont"));
        assert!(store.get("http://a").unwrap().is_none());
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
        assert_eq!(store.get("http://a").unwrap().map(|c| c.token.expose().to_owned()).as_deref(), Some("t1"));
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
        assert_eq!(store.get("http://a").unwrap().unwrap().token.expose(), "ta2");
        assert!(store.remove("http://a").unwrap());
        assert!(store.get("http://a").unwrap().is_none());
        assert_eq!(store.get("https://b.example").unwrap().unwrap().token.expose(), "tb");

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
        assert_eq!(store.get("http://a").unwrap().unwrap().token.expose(), "new");
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
    fn a_folder_others_can_read_is_fine_but_not_one_they_can_write() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("harmont");
        let store = CredentialStore::in_dir(&folder);
        store.set("http://a", credential("t")).unwrap();
        // A newcomer's `mkdir ~/.config/harmont` for config.toml: 0755.
        fs::set_permissions(&folder, fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(store.get("http://a").unwrap().unwrap().token.expose(), "t");
        store.check_writable().unwrap();
        // Group-writable: someone else could replace the file.
        fs::set_permissions(&folder, fs::Permissions::from_mode(0o775)).unwrap();
        let message = store.get("http://a").unwrap_err().to_string();
        assert!(message.contains("can be written by other users (mode 0775)"), "{message}");
        assert!(message.contains(&format!("chmod 700 {}", folder.display())), "{message}");
        assert!(store.check_writable().is_err());
        // A loose folder that exists before the first login is refused as well.
        let loose = dir.path().join("loose");
        fs::create_dir(&loose).unwrap();
        fs::set_permissions(&loose, fs::Permissions::from_mode(0o777)).unwrap();
        let err = CredentialStore::in_dir(&loose).set("http://a", credential("t")).unwrap_err();
        assert!(matches!(err, CredentialsError::Permissions { fix: 0o700, .. }), "{err:?}");
        assert!(CredentialStore::in_dir(&loose).check_writable().is_err());
        assert!(!loose.join(FILE_NAME).exists());
        // A fresh 0755 folder takes a first login, and the file is 0600.
        let fresh = dir.path().join("fresh");
        fs::create_dir(&fresh).unwrap();
        fs::set_permissions(&fresh, fs::Permissions::from_mode(0o755)).unwrap();
        let store = CredentialStore::in_dir(&fresh);
        store.check_writable().unwrap();
        assert_eq!(fs::read_dir(&fresh).unwrap().count(), 0, "the check leaves nothing behind");
        store.set("http://a", credential("t")).unwrap();
        assert_eq!(mode(store.path()), 0o600);
    }

    #[test]
    fn the_last_login_is_the_default_and_logouts_can_wait_for_the_server() {
        let dir = tempfile::tempdir().unwrap();
        let store = CredentialStore::in_dir(dir.path().join("harmont"));
        assert_eq!(store.default_server(), None);
        assert!(store.store_login("http://a", credential("ta")).unwrap().is_none());
        assert!(store.store_login("http://b", credential("tb")).unwrap().is_none());
        assert_eq!(store.default_server().as_deref(), Some("http://b"));
        assert_eq!(store.store_login("http://a", credential("ta2")).unwrap().unwrap().token.expose(), "ta");
        assert_eq!(store.default_server().as_deref(), Some("http://a"));

        assert!(store.mark_pending_revocation("http://a", None).unwrap());
        assert!(store.get("http://a").unwrap().is_none(), "no longer a login");
        let pending = store.pending_revocations("http://a").unwrap();
        assert_eq!(pending.iter().map(|p| p.token.expose()).collect::<Vec<_>>(), ["ta2"]);
        assert!(store.pending_revocations("http://b").unwrap().is_empty());
        store.revoked("http://a", &"ta2".into()).unwrap();
        assert!(store.pending_revocations("http://a").unwrap().is_empty());
        assert!(!store.mark_pending_revocation("http://a", None).unwrap());
    }

    #[test]
    fn debug_hides_the_token() {
        assert!(!format!("{:?}", credential("hms_secret")).contains("secret"));
    }
}
