//! Colour in our own output, only for a person: the stream is a terminal,
//! `NO_COLOR` is unset or empty (<https://no-color.org>) and `TERM` is not
//! `dumb`. Scripts, pipes and files get plain text.

use std::io::IsTerminal as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

pub fn enabled(stream: Stream) -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
    let terminal = match stream {
        Stream::Stdout => std::io::stdout().is_terminal(),
        Stream::Stderr => std::io::stderr().is_terminal(),
    };
    terminal && !no_color && !dumb
}

fn paint(stream: Stream, sgr: &str, text: &str) -> String {
    if enabled(stream) {
        format!("\x1b[{sgr}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

pub fn bold(stream: Stream, text: &str) -> String {
    paint(stream, "1", text)
}

pub fn red(stream: Stream, text: &str) -> String {
    paint(stream, "1;31", text)
}

pub fn yellow(stream: Stream, text: &str) -> String {
    paint(stream, "1;33", text)
}

pub fn green(stream: Stream, text: &str) -> String {
    paint(stream, "32", text)
}

pub fn cyan(stream: Stream, text: &str) -> String {
    paint(stream, "36", text)
}
