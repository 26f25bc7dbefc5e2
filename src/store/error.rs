//! [`StoreError`]: why a store call failed, written so that a log line made
//! with `telemetry::chain` names the whole cause once — PostgreSQL's message
//! and SQLSTATE, the server's host and port when no connection could be
//! had, SQLite's own message — and whether a failed commit certainly left
//! nothing behind.
//!
//! Each variant has a short message of its own and its cause as `source`,
//! never both (the chain would repeat it). Holds no I/O.

use std::fmt;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No connection was had, so nothing was sent.
    #[error("cannot connect to PostgreSQL at {server}")]
    Connect {
        server: String,
        #[source]
        source: ConnectError,
    },
    #[error("PostgreSQL")]
    Postgres(#[source] PgError),
    #[error("SQLite")]
    Sqlite(#[source] SqliteError),
    #[error("the database schema is at version {found}, newer than this footfall knows ({known}); upgrade footfall")]
    SchemaTooNew { found: i64, known: i64 },
    #[error("the store did not answer within {0:?}")]
    Timeout(Duration),
    /// A stored value this footfall cannot decode: shown as an error, never
    /// replaced by a made-up value.
    #[error("stored data cannot be read: {what}")]
    Corrupt { what: String },
    #[error("a storage task failed: {0}")]
    Task(String),
}

impl StoreError {
    /// Whether a write that failed with this error certainly did not commit:
    /// no connection was had, the server reported an error (so it rolled the
    /// transaction back), or SQLite's transaction returned one. A deadline
    /// that passed or a connection lost mid-commit leaves the outcome unknown.
    pub fn rolled_back(&self) -> bool {
        match self {
            Self::Connect { .. } | Self::Sqlite(_) | Self::SchemaTooNew { .. } | Self::Corrupt { .. } => true,
            Self::Postgres(error) => error.0.as_db_error().is_some(),
            Self::Timeout(_) | Self::Task(_) => false,
        }
    }

    pub(crate) fn corrupt(what: impl Into<String>) -> Self {
        Self::Corrupt { what: what.into() }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        Self::Sqlite(SqliteError(error))
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(error: tokio_postgres::Error) -> Self {
        Self::Postgres(PgError(error))
    }
}

/// Why no PostgreSQL connection was had.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("no connection within {0:?}")]
    Timeout(Duration),
    #[error(transparent)]
    Postgres(#[from] PgError),
    #[error("{0}")]
    Pool(String),
}

/// A `tokio_postgres::Error` that shows what the server said. Its own
/// Display is only "db error"; the server's severity, SQLSTATE, message,
/// detail and hint are in the `DbError` behind it, and are written here.
#[derive(Debug)]
pub struct PgError(pub tokio_postgres::Error);

impl PgError {
    /// The SQLSTATE the server reported, if it reported an error.
    pub fn code(&self) -> Option<&str> {
        self.0.as_db_error().map(|e| e.code().code())
    }

    pub fn constraint(&self) -> Option<&str> {
        self.0.as_db_error().and_then(|e| e.constraint())
    }
}

impl fmt::Display for PgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(db) = self.0.as_db_error() else {
            return self.0.fmt(f);
        };
        write!(f, "{} {}: {}", db.severity(), db.code().code(), db.message())?;
        if let Some(detail) = db.detail() {
            write!(f, " (detail: {detail})")?;
        }
        if let Some(hint) = db.hint() {
            write!(f, " (hint: {hint})")?;
        }
        Ok(())
    }
}

impl std::error::Error for PgError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self.0.as_db_error() {
            // Everything the `DbError` holds is already in the message above.
            Some(_) => None,
            None => std::error::Error::source(&self.0),
        }
    }
}

/// A `rusqlite::Error` with SQLite's message and its extended result code,
/// said once (rusqlite's own Display and source each repeat the message).
#[derive(Debug)]
pub struct SqliteError(pub rusqlite::Error);

impl SqliteError {
    pub fn code(&self) -> Option<rusqlite::ErrorCode> {
        self.0.sqlite_error_code()
    }
}

impl fmt::Display for SqliteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            rusqlite::Error::SqliteFailure(error, message) => {
                let message = message
                    .as_deref()
                    .unwrap_or_else(|| rusqlite::ffi::code_to_str(error.extended_code));
                write!(f, "{message} (SQLite code {})", error.extended_code)
            }
            other => other.fmt(f),
        }
    }
}

impl std::error::Error for SqliteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.0 {
            rusqlite::Error::SqliteFailure(..) => None,
            other => std::error::Error::source(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::chain;

    #[test]
    fn a_timeout_leaves_the_outcome_unknown_and_a_refused_connection_does_not() {
        assert!(!StoreError::Timeout(Duration::from_secs(2)).rolled_back());
        let refused = StoreError::Connect {
            server: "db:5432".into(),
            source: ConnectError::Timeout(Duration::from_secs(1)),
        };
        assert!(refused.rolled_back());
        assert_eq!(
            chain(&refused),
            "cannot connect to PostgreSQL at db:5432: no connection within 1s"
        );
    }

    #[test]
    fn sqlite_errors_are_named_once() {
        let full = StoreError::from(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
            Some("database or disk is full".into()),
        ));
        assert_eq!(chain(&full), "SQLite: database or disk is full (SQLite code 13)");
        assert!(full.rolled_back());
    }
}
