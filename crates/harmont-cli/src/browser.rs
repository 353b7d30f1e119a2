//! Opening the approval page, or knowing better than to try.
//!
//! `$BROWSER` is honoured as the `webbrowser` crate (and Python's `webbrowser`,
//! and git) do: a `:`-separated list of commands, `%s` standing for the URL.
//! An explicit `$BROWSER` is always tried, since it is how SSH sessions and
//! dev containers forward pages to a real browser. Without it, a machine with
//! no way to show a browser (CI, an SSH session, no display) is not tried.
//!
//! "Opened" is claimed only when the opener says so: it exited with status 0,
//! or it is still running a moment later (a browser that stays in the
//! foreground of its own process). `BROWSER=false`, a missing command, or
//! `xdg-open` failing for want of an X server are failures, and the person is
//! told to open the printed URL themselves.

use std::ffi::OsString;
use std::process::Stdio;
use std::time::Duration;

/// How long an opener may take to report before it counts as a running browser.
const OPENER_GRACE: Duration = Duration::from_secs(3);

/// Browsers that need the terminal: run in the foreground, waited for.
const TEXT_BROWSERS: [&str; 8] = ["lynx", "links", "links2", "elinks", "w3m", "www-browser", "browsh", "carbonyl"];

/// What became of the attempt to open a page.
#[derive(Debug)]
pub enum Launch {
    Opened,
    /// Not tried, and why.
    Skipped(&'static str),
    /// Tried and failed.
    Failed(String),
}

/// Why this machine cannot show a browser, from the environment.
pub fn headless_reason() -> Option<&'static str> {
    headless_reason_in(|name| std::env::var_os(name))
}

fn headless_reason_in(var: impl Fn(&str) -> Option<OsString>) -> Option<&'static str> {
    let set = |name: &str| var(name).is_some_and(|v| !v.is_empty());
    if set("CI") {
        return Some("this looks like CI");
    }
    if set("SSH_CONNECTION") || set("SSH_TTY") {
        return Some("this is an SSH session");
    }
    // macOS and Windows always have a desktop; other Unixes need X11 or Wayland.
    if cfg!(all(unix, not(target_os = "macos"))) && !set("DISPLAY") && !set("WAYLAND_DISPLAY") {
        return Some("there is no display");
    }
    None
}

/// Whether `open` would try at all (see the module docs).
pub fn can_try(no_browser_flag: bool) -> Result<(), &'static str> {
    if no_browser_flag {
        return Err("--no-browser was given");
    }
    if std::env::var_os("BROWSER").is_some_and(|v| !v.is_empty()) {
        return Ok(());
    }
    headless_reason().map_or(Ok(()), Err)
}

/// Opens `url` unless [`can_try`] says not to. Graphical browsers are started
/// in the background; a text browser named in `$BROWSER` runs in the
/// foreground, so this may block until it exits.
pub async fn open(url: &str, no_browser_flag: bool) -> Launch {
    if let Err(reason) = can_try(no_browser_flag) {
        return Launch::Skipped(reason);
    }
    let candidates = match std::env::var("BROWSER") {
        Ok(list) if !list.is_empty() => {
            list.split(':').filter(|c| !c.trim().is_empty()).map(|c| command_line(c, url)).collect::<Vec<_>>().into()
        }
        _ => platform_openers(url),
    };
    let Some(candidates) = candidates else {
        // Not Linux/BSD or macOS: the webbrowser crate knows the platform's way.
        let url = url.to_owned();
        return match tokio::task::spawn_blocking(move || webbrowser::open(&url)).await {
            Ok(Ok(())) => Launch::Opened,
            Ok(Err(e)) => Launch::Failed(e.to_string()),
            Err(e) => Launch::Failed(e.to_string()),
        };
    };
    let mut failures = vec![];
    for argv in candidates {
        match run_opener(&argv).await {
            Ok(()) => return Launch::Opened,
            Err(why) => failures.push(why),
        }
    }
    Launch::Failed(if failures.is_empty() { "no browser command to run".to_owned() } else { failures.join("; ") })
}

/// `Some(commands)` to try in turn, or `None` to leave it to the webbrowser crate.
fn platform_openers(url: &str) -> Option<Vec<Vec<String>>> {
    if cfg!(target_os = "macos") {
        Some(vec![vec!["open".into(), url.into()]])
    } else if cfg!(unix) {
        Some(vec![vec!["xdg-open".into(), url.into()], vec!["x-www-browser".into(), url.into()]])
    } else {
        None
    }
}

/// One `$BROWSER` entry as argv: split on whitespace, `%s` replaced by the
/// URL (appended when there is none), `%%` a percent sign.
fn command_line(entry: &str, url: &str) -> Vec<String> {
    let mut has_url = false;
    let mut argv: Vec<String> = entry
        .split_whitespace()
        .map(|word| {
            if word.contains("%s") {
                has_url = true;
            }
            word.replace("%s", url).replace("%%", "%")
        })
        .collect();
    if !has_url {
        argv.push(url.to_owned());
    }
    argv
}

/// Runs one opener; `Ok` when it reported success or is still running after
/// [`OPENER_GRACE`].
async fn run_opener(argv: &[String]) -> Result<(), String> {
    let (program, args) = argv.split_first().ok_or("an empty command")?;
    let name = std::path::Path::new(program).file_name().and_then(|n| n.to_str()).unwrap_or(program);
    let text_browser = TEXT_BROWSERS.contains(&name);
    let mut command = tokio::process::Command::new(program);
    command.args(args);
    if !text_browser {
        command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    }
    let mut child = command.spawn().map_err(|e| format!("`{program}`: {e}"))?;
    let status = if text_browser {
        child.wait().await
    } else {
        match tokio::time::timeout(OPENER_GRACE, child.wait()).await {
            Ok(status) => status,
            // Still running: a browser in the foreground of its own process.
            Err(_) => return Ok(()),
        }
    };
    match status {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(format!("`{program}` {}", exit_text(status))),
        Err(e) => Err(format!("`{program}`: {e}")),
    }
}

fn exit_text(status: std::process::ExitStatus) -> String {
    match status.code() {
        Some(code) => format!("exited with status {code}"),
        None => "was killed by a signal".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(vars: &[(&str, &str)]) -> Option<&'static str> {
        headless_reason_in(|name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| OsString::from(v)))
    }

    #[test]
    fn ci_ssh_and_missing_displays_are_headless() {
        assert_eq!(reason(&[("CI", "true"), ("DISPLAY", ":0")]), Some("this looks like CI"));
        assert_eq!(reason(&[("SSH_CONNECTION", "1 2 3 4"), ("DISPLAY", ":0")]), Some("this is an SSH session"));
        assert_eq!(reason(&[("SSH_TTY", "/dev/pts/1"), ("DISPLAY", ":0")]), Some("this is an SSH session"));
        assert_eq!(reason(&[("DISPLAY", ":0")]), None);
        assert_eq!(reason(&[("CI", ""), ("DISPLAY", ":0")]), None, "an empty variable is unset");
    }

    #[test]
    fn browser_entries_become_command_lines() {
        assert_eq!(command_line("firefox", "http://u"), ["firefox", "http://u"]);
        assert_eq!(command_line("  open -a Safari %s ", "http://u"), ["open", "-a", "Safari", "http://u"]);
        assert_eq!(command_line("echo 100%% %s", "http://u"), ["echo", "100%", "http://u"]);
    }

    #[tokio::test]
    async fn only_a_successful_opener_counts() {
        assert_eq!(run_opener(&["true".into()]).await, Ok(()));
        assert_eq!(run_opener(&["false".into()]).await, Err("`false` exited with status 1".into()));
        let missing = run_opener(&["/nonexistent/browser".into()]).await.unwrap_err();
        assert!(missing.starts_with("`/nonexistent/browser`: "), "{missing}");
    }

    #[cfg(all(unix, not(target_os = "macos")))]
    #[test]
    fn linux_needs_x11_or_wayland() {
        assert_eq!(reason(&[]), Some("there is no display"));
        assert_eq!(reason(&[("DISPLAY", "")]), Some("there is no display"));
        assert_eq!(reason(&[("WAYLAND_DISPLAY", "wayland-0")]), None);
    }
}
