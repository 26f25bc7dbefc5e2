//! Backing up and restoring the SQLite store: a consistent copy of a live
//! database (`VACUUM INTO`, which reads one snapshot and holds no writer
//! back), and the checks a copy passes before it replaces a store.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use super::super::migrations;
use super::super::StoreError;
use super::SqliteStore;

impl SqliteStore {
    /// Writes a consistent copy of the store `from` to the new file `to`,
    /// while the server keeps counting.
    ///
    /// # Errors
    /// When `from` cannot be read or `to` already exists or cannot be written.
    pub fn backup(from: &Path, to: &Path) -> Result<(), StoreError> {
        let conn =
            Connection::open_with_flags(from, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let target = to
            .to_str()
            .ok_or_else(|| StoreError::Task(format!("{} is not a UTF-8 path", to.display())))?;
        conn.execute("VACUUM INTO ?1", [target])?;
        Ok(())
    }

    /// Checks that `file` is a sound Footfall store this footfall can run
    /// on; returns its schema version.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when the integrity check fails or it is not a
    /// Footfall store; [`StoreError::SchemaTooNew`]; SQLite's own errors.
    pub fn check_backup(file: &Path) -> Result<i64, StoreError> {
        let conn =
            Connection::open_with_flags(file, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        if integrity != "ok" {
            return Err(StoreError::corrupt(format!("{}: {integrity}", file.display())));
        }
        let footfall: bool = conn.query_row(
            "SELECT count(*) = 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
            [],
            |r| r.get(0),
        )?;
        if !footfall {
            return Err(StoreError::corrupt(format!(
                "{} is not a Footfall store",
                file.display()
            )));
        }
        let version: i64 = conn.query_row("SELECT coalesce(max(version), 0) FROM schema_migrations", [], |r| {
            r.get(0)
        })?;
        migrations::plan(version, migrations::SQLITE)?;
        Ok(version)
    }
}
