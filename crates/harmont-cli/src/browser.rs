//! Opening the approval page, or knowing better than to try.
//!
//! `$BROWSER` is honoured as the `webbrowser` crate (and Python's `webbrowser`,
//! and git) do: a `:`-separated list of commands, `%s` standing for the URL.
//! An explicit `$BROWSER` is always tried, since it is how SSH sessions and
//! dev containers forward pages to a real browser. Without it, a machine with
//! no way to show a browser (CI, an SSH session, no display) is not tried.

use std::ffi::OsString;

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
    let url = url.to_owned();
    match tokio::task::spawn_blocking(move || webbrowser::open(&url)).await {
        Ok(Ok(())) => Launch::Opened,
        Ok(Err(e)) => Launch::Failed(e.to_string()),
        Err(e) => Launch::Failed(e.to_string()),
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

    #[cfg(all(unix, not(target_os = "macos")))]
    #[test]
    fn linux_needs_x11_or_wayland() {
        assert_eq!(reason(&[]), Some("there is no display"));
        assert_eq!(reason(&[("DISPLAY", "")]), Some("there is no display"));
        assert_eq!(reason(&[("WAYLAND_DISPLAY", "wayland-0")]), None);
    }
}
