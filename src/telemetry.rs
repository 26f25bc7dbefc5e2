//! Logging: one subscriber, set up once by the process, writing to any
//! writer (stderr in production, a buffer in tests that check what is never
//! logged); and [`chain`], which writes an error with all its causes.
//!
//! Never given a client address or user agent: no module passes one to
//! `tracing`, and a test drives hits through a proxy at the most verbose
//! level to prove it.

use std::error::Error;
use std::io::IsTerminal;

use tracing::Subscriber;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// A subscriber at `level` (a directive such as `info` or `footfall=debug`,
/// validated by the config; `FOOTFALL_LOG_LEVEL` overrides it like every
/// key) writing to `writer`. `RUST_LOG` is not read: an unchecked filter
/// could silence every line.
pub fn subscriber<W>(level: &str, writer: W, ansi: bool) -> impl Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let mut filter = EnvFilter::new(level);
    // deadpool logs each failed connection attempt as "Connection error: db
    // error", without the cause, once per attempt; Footfall logs the whole
    // cause once per outage instead. Its errors still show.
    if !level.contains("deadpool") {
        if let Ok(quiet) = "deadpool=error".parse() {
            filter = filter.add_directive(quiet);
        }
    }
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(ansi)
        .finish()
}

/// Installs the process-wide subscriber, writing to stderr.
pub fn init(level: &str) {
    let ansi = std::io::stderr().is_terminal();
    // Fails only when a subscriber is already installed, which is then kept.
    let _ = tracing::subscriber::set_global_default(subscriber(level, std::io::stderr, ansi));
}

/// `error` with every cause behind it: `a: b: c`. A cause whose text the
/// message already ends with is not repeated.
pub fn chain(error: &(dyn Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let inner_text = inner.to_string();
        if !inner_text.is_empty() && !text.ends_with(&inner_text) {
            text.push_str(": ");
            text.push_str(&inner_text);
        }
        cause = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Middle);

    #[derive(Debug, thiserror::Error)]
    #[error("middle: {0}")]
    struct Middle(#[source] std::io::Error);

    #[test]
    fn the_chain_names_every_cause_once() {
        let error = Outer(Middle(std::io::Error::other("disk full")));
        assert_eq!(chain(&error), "outer: middle: disk full");
    }
}
