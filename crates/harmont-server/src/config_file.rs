//! `--config PATH` (`HARMONT_CONFIG`): every setting of `serve` from a TOML
//! file, keyed by the flag's name with underscores (`transfer_ttl = "60s"`,
//! `database = "postgres://…"`, `trusted_proxies = ["10.0.0.1"]`).
//!
//! Precedence, highest first: a flag, its environment variable, the file,
//! the built-in default. clap reads no file, so the file's values become
//! the defaults of the parsed command (clap consults the environment before
//! a default): nothing is written into the process environment, and the
//! same file serves every subcommand that shares a setting (`user add`
//! takes `database` and `secret` from it too). `--help` then shows the
//! file's values as the defaults.

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::config::Cli;

/// The settings a file held, as the text clap parses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigFile {
    pub path: PathBuf,
    /// Key (the flag with underscores) to its values: one, or several for a list.
    pub values: BTreeMap<String, Vec<String>>,
}

/// What is wrong with a config file, all of it at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:\n{}", path.display(), problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
pub struct ConfigFileError {
    pub path: PathBuf,
    pub problems: Vec<String>,
}

/// The flags of `serve`, by key (the long name with underscores).
pub fn serve_keys() -> BTreeMap<String, clap::Arg> {
    let command = Cli::command();
    let serve = command.find_subcommand("serve").expect("serve is a subcommand");
    serve
        .get_arguments()
        .filter_map(|arg| {
            arg.get_long().filter(|long| *long != "config").map(|long| (long.replace('-', "_"), arg.clone()))
        })
        .collect()
}

/// Reads and checks `path`: TOML, only keys `serve` has, values of a type a
/// flag can take (text, number, boolean; a list where the flag takes several).
pub fn load(path: &Path) -> Result<ConfigFile, ConfigFileError> {
    let fail = |problem: String| ConfigFileError { path: path.to_owned(), problems: vec![problem] };
    let text = std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read it: {e}")))?;
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| fail(format!("not valid TOML: {e}")))?;
    let keys = serve_keys();
    let mut problems = Vec::new();
    let mut values = BTreeMap::new();
    for (key, value) in table {
        let Some(arg) = keys.get(&key) else {
            let hint = if keys.contains_key(&key.replace('-', "_")) {
                format!(" (write it with underscores: `{}`)", key.replace('-', "_"))
            } else {
                String::new()
            };
            problems.push(format!("`{key}` is not a setting of `serve`{hint}"));
            continue;
        };
        let many = arg.get_value_delimiter().is_some() || matches!(arg.get_action(), clap::ArgAction::Append);
        match (value, many) {
            (toml::Value::Array(items), true) => {
                let mut texts = Vec::new();
                for item in items {
                    match scalar(&item) {
                        Some(text) => texts.push(text),
                        None => problems.push(format!("`{key}`: every item must be text or a number")),
                    }
                }
                values.insert(key, texts);
            }
            (toml::Value::Array(_), false) => problems.push(format!("`{key}` takes one value, not a list")),
            (value, _) => match scalar(&value) {
                Some(text) => {
                    values.insert(key, vec![text]);
                }
                None => problems.push(format!("`{key}` must be text, a number or true/false")),
            },
        }
    }
    if problems.is_empty() {
        Ok(ConfigFile { path: path.to_owned(), values })
    } else {
        Err(ConfigFileError { path: path.to_owned(), problems })
    }
}

fn scalar(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(text) => Some(text.clone()),
        toml::Value::Integer(n) => Some(n.to_string()),
        toml::Value::Float(x) => Some(x.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `command` with the file's values as the defaults of every flag of that
/// name, in every subcommand.
pub fn with_defaults(command: clap::Command, file: &ConfigFile) -> clap::Command {
    let ids: Vec<(String, Vec<String>)> = command
        .get_arguments()
        .filter_map(|arg| {
            let key = arg.get_long()?.replace('-', "_");
            file.values.get(&key).map(|values| (arg.get_id().as_str().to_owned(), values.clone()))
        })
        .collect();
    let mut command = command;
    for (id, values) in ids {
        command = command.mut_arg(id, |arg| arg.default_values(values));
    }
    let names: Vec<String> = command.get_subcommands().map(|s| s.get_name().to_owned()).collect();
    for name in names {
        command = command.mut_subcommand(name, |sub| with_defaults(sub, file));
    }
    command
}

/// The command line parsed with the config file, if one is named (by
/// `--config` or `HARMONT_CONFIG`): the [`Cli`], its matches (where each
/// value came from), and the file. Exits as clap does on a usage error.
pub fn parse() -> Result<(Cli, ArgMatches, Option<ConfigFile>), ConfigFileError> {
    parse_from(std::env::args_os().collect())
}

pub fn parse_from(args: Vec<OsString>) -> Result<(Cli, ArgMatches, Option<ConfigFile>), ConfigFileError> {
    let first = Cli::command().get_matches_from(args.clone());
    let Some(path) = config_path(&first) else {
        let cli = Cli::from_arg_matches(&first).unwrap_or_else(|e| e.exit());
        return Ok((cli, first, None));
    };
    let file = load(&path)?;
    let matches = with_defaults(Cli::command(), &file).get_matches_from(args);
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    Ok((cli, matches, Some(file)))
}

/// `--config` wherever it was given (it is global).
fn config_path(matches: &ArgMatches) -> Option<PathBuf> {
    if let Ok(Some(path)) = matches.try_get_one::<PathBuf>("config") {
        return Some(path.clone());
    }
    let (_, sub) = matches.subcommand()?;
    config_path(sub)
}

/// Where a setting's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Flag,
    Environment,
    File,
    Default,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Flag => "flag",
            Source::Environment => "environment",
            Source::File => "config file",
            Source::Default => "default",
        }
    }
}

/// One effective setting of `serve`, as `config check` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effective {
    pub key: String,
    /// `None`: unset.
    pub values: Option<Vec<String>>,
    pub source: Source,
    pub many: bool,
}

/// Every setting of `serve` in `matches` (the matches of `serve` or of
/// `config check`), with where it came from, secrets redacted.
pub fn effective(matches: &ArgMatches, file: Option<&ConfigFile>) -> Vec<Effective> {
    serve_keys()
        .into_iter()
        .map(|(key, arg)| {
            let id = arg.get_id().as_str();
            let values =
                matches.get_raw(id).map(|raw| raw.map(|v| redact(&key, &v.to_string_lossy())).collect::<Vec<_>>());
            let source = match matches.value_source(id) {
                Some(ValueSource::CommandLine) => Source::Flag,
                Some(ValueSource::EnvVariable) => Source::Environment,
                _ if file.is_some_and(|f| f.values.contains_key(&key)) => Source::File,
                _ => Source::Default,
            };
            let many = arg.get_value_delimiter().is_some() || matches!(arg.get_action(), clap::ArgAction::Append);
            Effective { key, values, source, many }
        })
        .collect()
}

/// Settings whose value is (or may hold) a secret.
const SECRET_KEYS: &[&str] = &["secret"];

/// A value as it may be shown: secrets hidden, passwords out of URLs.
pub fn redact(key: &str, value: &str) -> String {
    if SECRET_KEYS.contains(&key) || key.ends_with("_secret") || key.ends_with("_password") {
        return "<redacted>".to_owned();
    }
    match url::Url::parse(value) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("redacted"));
            url.to_string()
        }
        _ => value.to_owned(),
    }
}

/// The effective settings as a TOML file (that `--config` would read back),
/// each with where it came from.
pub fn render(settings: &[Effective]) -> String {
    let mut out = String::new();
    for setting in settings {
        // Numbers and booleans bare, everything else as a TOML string.
        let quoted = |v: &String| match v.parse::<i64>() {
            Ok(n) => n.to_string(),
            Err(_) if v == "true" || v == "false" => v.clone(),
            Err(_) => toml::Value::String(v.clone()).to_string(),
        };
        match &setting.values {
            None => out.push_str(&format!("# {} is unset\n", setting.key)),
            Some(values) => {
                let value = if setting.many {
                    format!("[{}]", values.iter().map(quoted).collect::<Vec<_>>().join(", "))
                } else {
                    values.first().map(quoted).unwrap_or_default()
                };
                out.push_str(&format!("{} = {value}  # {}\n", setting.key, setting.source.as_str()));
            }
        }
    }
    out
}

/// What `config check` found: fatal problems, and warnings that `serve`
/// would also log but start anyway.
#[derive(Debug, Default)]
pub struct Findings {
    pub problems: Vec<String>,
    pub warnings: Vec<String>,
    /// What was checked and is fine, one line each.
    pub fine: Vec<String>,
}

/// Checks the settings `serve` would run with, without changing anything:
/// the database answers (an SQLite file is not created), the secret and the
/// public URL are usable, the log filter parses, the audit file can be
/// written privately, and a config file holding a secret is private.
/// The sign-in settings where given: each provider configured whole, the
/// OpenID Connect provider discovered as `serve` does, GitHub's URL usable,
/// and the SMTP server answering with our TLS and credentials.
async fn check_sign_in(found: &mut Findings, sign_in: &crate::config::SignInArgs, public_url: &str) {
    let oidc = [&sign_in.oidc_issuer, &sign_in.oidc_client_id, &sign_in.oidc_client_secret];
    match sign_in.oidc() {
        Some(config) => match crate::providers::oidc::OidcProvider::discover(config).await {
            Ok(provider) => found.fine.push(format!("single sign-on: discovered {}", provider.issuer())),
            Err(err) => found.problems.push(format!("oidc_issuer: {err}")),
        },
        None if oidc.iter().any(|v| v.is_some()) => found
            .problems
            .push("single sign-on needs all three of oidc_issuer, oidc_client_id and oidc_client_secret".into()),
        None => {}
    }
    match sign_in.github() {
        Some(config) => match crate::providers::github::GithubProvider::new(config) {
            Ok(_) => found.fine.push(format!("GitHub sign-in: {}", sign_in.github_url)),
            Err(err) => found.problems.push(format!("github_url: {err}")),
        },
        None if sign_in.github_client_id.is_some() || sign_in.github_client_secret.is_some() => {
            found.problems.push("GitHub sign-in needs both github_client_id and github_client_secret".into())
        }
        None => {}
    }
    match sign_in.mail() {
        Some(settings) => {
            let mailer = crate::mail::Mailer::new(&settings, crate::mail::hello_name(public_url));
            match mailer.test_connection().await {
                Ok(()) => found.fine.push(format!("smtp_url: answers ({:?})", settings.smtp)),
                Err(err) => found.problems.push(format!("smtp_url: {err}")),
            }
        }
        None if sign_in.smtp_url.is_some() || sign_in.mail_from.is_some() => {
            found.problems.push("emailed sign-in links need both smtp_url and mail_from".into())
        }
        None => {}
    }
}

pub async fn check(args: &crate::config::ServeArgs, file: Option<&ConfigFile>) -> Findings {
    let mut found = Findings::default();
    let service = &args.service;
    let url = &service.database.url;

    // The database, read only.
    match crate::store::sqlite_path(url) {
        Some(path) if url.starts_with("sqlite:") && !path.exists() => found
            .warnings
            .push(format!("the SQLite database {} does not exist yet: `serve` creates it", path.display())),
        _ => match crate::store::open_with(url, service.database.timeout).await {
            Ok(store) => match store.ping().await {
                Ok(()) => found.fine.push(format!("database: answers ({})", redact("database", url))),
                Err(err) => found.problems.push(format!("the database does not answer: {err}")),
            },
            Err(err) => found.problems.push(format!("cannot open the database: {err:#}")),
        },
    }
    if crate::store::postgres_without_tls(url) {
        found.warnings.push(
            "the Postgres server is not on this machine and the URL does not require TLS: add sslmode=verify-full"
                .into(),
        );
    }

    // The secret.
    match (&service.secret, url.starts_with("sqlite:")) {
        (Some(secret), _) => match crate::secret::ServerSecret::from_configured(secret) {
            Ok(_) => found.fine.push("secret: long and varied enough".into()),
            Err(err) => found.problems.push(format!("secret: {err:#}")),
        },
        (None, true) => found.fine.push("secret: generated into a 0600 file beside the database".into()),
        (None, false) => {
            found.problems.push("secret: required with Postgres (HARMONT_SECRET), the same on every replica".into())
        }
    }

    // The public URL.
    match &args.public_url {
        None => found.warnings.push(format!(
            "public_url is unset: links and pages are built on http://{}, which only this machine may reach",
            args.listen
        )),
        Some(public) => match url::Url::parse(public) {
            Ok(parsed) if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() => {
                found.problems.push(format!("public_url `{public}` must be an http:// or https:// URL with a host"))
            }
            Ok(parsed) if parsed.query().is_some() || parsed.fragment().is_some() => {
                found.problems.push(format!("public_url `{public}` must not have a query or a fragment"))
            }
            Ok(parsed) => {
                let local = matches!(parsed.host(), Some(url::Host::Domain("localhost")))
                    || matches!(parsed.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
                    || matches!(parsed.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback());
                if parsed.scheme() == "http" && !local {
                    found.warnings.push(format!(
                        "public_url `{public}` is plain HTTP on another host: browsers allow passkeys only over HTTPS there"
                    ));
                } else {
                    found.fine.push(format!("public_url: {public}"));
                }
            }
            Err(err) => found.problems.push(format!("public_url `{public}` is not a URL: {err}")),
        },
    }

    check_sign_in(&mut found, &args.sign_in, args.public_url.as_deref().unwrap_or("http://localhost")).await;

    if let Err(err) = crate::config::log_filter(&args.log) {
        found.problems.push(format!("log `{}` is not a tracing filter: {err}", args.log));
    }
    if args.metrics_listen.is_some_and(|m| m == args.listen) {
        found.problems.push("metrics_listen must differ from listen: the metrics are never served with the API".into());
    }
    if let crate::config::AuditLog::File(path) = &service.audit_log {
        check_private_file(&mut found, "audit_log", path, true);
    }
    if let Some(file) = file {
        let holds_secret = file.values.contains_key("secret")
            || file.values.get("database").is_some_and(|v| v.iter().any(|url| redact("database", url) != *url));
        if holds_secret {
            check_private_file(&mut found, "the config file", &file.path, false);
        }
    }
    found
}

/// A file that holds secrets or personal data: others may not read it (and,
/// for one to be created, its folder must exist).
fn check_private_file(found: &mut Findings, what: &str, path: &Path, may_be_created: bool) {
    match std::fs::metadata(path) {
        Ok(meta) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = meta.permissions().mode() & 0o777;
                if mode & 0o007 != 0 {
                    found.problems.push(format!(
                        "{what} {} can be read by anyone (mode {mode:o}): run `chmod 600 {}`",
                        path.display(),
                        path.display()
                    ));
                    return;
                }
            }
            let _ = meta;
            found.fine.push(format!("{what}: {} is private", path.display()));
        }
        Err(_) if may_be_created => match path.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(folder) if !folder.is_dir() => found.problems.push(format!(
                "{what} {}: the folder {} does not exist",
                path.display(),
                folder.display()
            )),
            _ => found.fine.push(format!("{what}: {} will be created 0600", path.display())),
        },
        Err(err) => found.problems.push(format!("{what} {}: {err}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Command;
    use std::io::Write;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn every_key_is_a_serve_flag_with_underscores() {
        let keys = serve_keys();
        for key in ["database", "db_timeout", "secret", "transfer_ttl", "trusted_proxies", "listen", "log_format"] {
            assert!(keys.contains_key(key), "{key}");
        }
        assert!(!keys.contains_key("config"));
    }

    #[test]
    fn a_file_lists_every_problem_at_once() {
        let f = file("transfer-ttl = \"5s\"\nnope = 1\nlisten = [\"a\"]\ntrusted_proxies = [{x = 1}]\n");
        let err = load(f.path()).unwrap_err();
        assert_eq!(err.problems.len(), 4, "{err}");
        assert!(err.to_string().contains("write it with underscores: `transfer_ttl`"), "{err}");
        assert!(err.to_string().contains("`nope` is not a setting of `serve`"));
        assert!(err.to_string().contains("`listen` takes one value, not a list"));
        let bad = file("listen = ");
        assert!(load(bad.path()).unwrap_err().to_string().contains("not valid TOML"));
    }

    #[test]
    fn flags_beat_the_environment_which_beats_the_file() {
        let f = file("transfer_ttl = \"7s\"\npaste_ttl = \"8m\"\nsession_ttl = \"9d\"\ntrusted_proxies = [\"10.0.0.1\", \"10.0.0.0/8\"]\n");
        let loaded = load(f.path()).unwrap();
        // The environment is read by clap at parse time; this test names no
        // variable that the environment of the test run sets.
        let command = with_defaults(Cli::command(), &loaded);
        let matches = command.try_get_matches_from(["harmont-auth", "serve", "--transfer-ttl", "3s"]).unwrap();
        let cli = Cli::from_arg_matches(&matches).unwrap();
        let Command::Serve(args) = cli.command else { panic!("serve") };
        assert_eq!(args.service.transfer_ttl, std::time::Duration::from_secs(3), "the flag");
        assert_eq!(args.service.paste_ttl, std::time::Duration::from_secs(8 * 60), "the file");
        assert_eq!(args.trusted_proxies.len(), 2, "a list");
        let (_, serve) = matches.subcommand().unwrap();
        let shown = effective(serve, Some(&loaded));
        let source = |key: &str| shown.iter().find(|s| s.key == key).unwrap().source;
        assert_eq!(source("transfer_ttl"), Source::Flag);
        assert_eq!(source("paste_ttl"), Source::File);
        assert_eq!(source("header_timeout"), Source::Default);
    }

    #[test]
    fn secrets_and_passwords_are_redacted() {
        assert_eq!(redact("secret", "hunter2hunter2"), "<redacted>");
        assert_eq!(redact("database", "postgres://u:pw@db/h"), "postgres://u:redacted@db/h");
        assert_eq!(redact("database", "sqlite://x.db"), "sqlite://x.db");
        let rendered = render(&[Effective {
            key: "secret".into(),
            values: Some(vec!["<redacted>".into()]),
            source: Source::Environment,
            many: false,
        }]);
        assert_eq!(rendered, "secret = \"<redacted>\"  # environment\n");
    }
}
