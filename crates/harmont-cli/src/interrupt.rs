//! Ctrl-C while a command waits on a person (approving in the browser, typing
//! a code). The handler is installed when [`Interrupt::listen`] is called, so
//! a Ctrl-C that arrives before the wait starts is not lost.

use std::io;

#[derive(Debug)]
pub struct Interrupt {
    #[cfg(unix)]
    signal: tokio::signal::unix::Signal,
}

impl Interrupt {
    #[cfg(unix)]
    pub fn listen() -> io::Result<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Self { signal: signal(SignalKind::interrupt())? })
    }

    #[cfg(not(unix))]
    pub fn listen() -> io::Result<Self> {
        Ok(Self {})
    }

    /// Resolves at the next Ctrl-C.
    #[cfg(unix)]
    pub async fn recv(&mut self) {
        self.signal.recv().await;
    }

    #[cfg(not(unix))]
    pub async fn recv(&mut self) {
        let _ = tokio::signal::ctrl_c().await;
    }
}
