//! A one-line spinner on stderr while waiting, only when a person is
//! watching; otherwise the message is printed once.
//!
//! Drawn by hand rather than with a progress-bar crate, which pads the line to
//! the terminal's right edge: the terminal's own `^C` echo then wraps to the
//! next line and clearing leaves the spinner's last frame on screen. Here the
//! line stays shorter than the terminal, so clearing it takes any echo along.

use std::io::{IsTerminal as _, Write as _};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::style::{self, Stream};

const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const TICK: Duration = Duration::from_millis(100);

#[derive(Debug)]
pub struct Spinner {
    message: Arc<Mutex<String>>,
    task: Option<JoinHandle<()>>,
}

impl Spinner {
    pub fn start(message: String) -> Self {
        if !std::io::stderr().is_terminal() {
            eprintln!("{message}…");
            return Self { message: Arc::new(Mutex::new(message)), task: None };
        }
        let shared = Arc::new(Mutex::new(message));
        let message = shared.clone();
        let started = Instant::now();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(TICK);
            for frame in FRAMES.iter().cycle() {
                tick.tick().await;
                let text = format!("{} [{}]", message.lock().unwrap_or_else(|p| p.into_inner()), elapsed(started));
                let line = fit(&text, width());
                let mut err = std::io::stderr().lock();
                let _ = write!(err, "\r{} {line}\x1b[K", style::cyan(Stream::Stderr, &frame.to_string()));
                let _ = err.flush();
            }
        });
        Self { message: shared, task: Some(task) }
    }

    /// Changes the message: on the spinner line, or printed once more.
    pub fn set_message(&self, message: String) {
        let mut current = self.message.lock().unwrap_or_else(|p| p.into_inner());
        if *current == message {
            return;
        }
        if self.task.is_none() {
            eprintln!("{message}…");
        }
        *current = message;
    }

    /// Stops and wipes the line (with a `^C` the terminal echoed onto it).
    pub fn finish(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[K");
            let _ = err.flush();
        }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The terminal's width, leaving room for the frame, its space and a `^C`.
fn width() -> usize {
    #[cfg(unix)]
    if let Ok(size) = rustix::termios::tcgetwinsize(std::io::stderr()) {
        if size.ws_col > 0 {
            return usize::from(size.ws_col);
        }
    }
    80
}

fn fit(text: &str, columns: usize) -> String {
    let room = columns.saturating_sub(5).max(10);
    if text.chars().count() <= room {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(room - 1).collect();
    cut.push('…');
    cut
}

/// `42s`, `3m 05s`.
fn elapsed(since: Instant) -> String {
    let secs = since.elapsed().as_secs();
    if secs < 60 {
        format!("{secs}s")
    } else {
        format!("{}m {:02}s", secs / 60, secs % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_cut_to_leave_room_for_an_echo() {
        assert_eq!(fit("short", 80), "short");
        let long = "x".repeat(100);
        let cut = fit(&long, 40);
        assert_eq!(cut.chars().count(), 35);
        assert!(cut.ends_with('…'));
    }
}
