//! `footfall backup FILE` and `footfall restore FILE` for the embedded
//! store. A backup is a consistent copy of the live store, made while the
//! server counts; a restore checks the copy and puts it in place of the
//! store, keeping the replaced one beside it, with the server stopped.
//! PostgreSQL is backed up with its own tools (`pg_dump`, see README.md).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use crate::config::{Config, StoreConfig};
use crate::store::SqliteStore;
use crate::telemetry::chain;

fn sqlite_file<'c>(config: &'c Config, command: &str) -> Result<&'c Path, ExitCode> {
    match &config.store {
        StoreConfig::Sqlite { file } => Ok(file),
        StoreConfig::Postgres(_) => {
            eprintln!(
                "footfall: {command}: the store is PostgreSQL; use pg_dump and pg_restore (see README.md, Backup)"
            );
            Err(ExitCode::from(2))
        }
    }
}

/// Copies the live store to `to`, which must not exist.
pub fn backup(config: &Config, to: &Path) -> ExitCode {
    let file = match sqlite_file(config, "backup") {
        Ok(file) => file,
        Err(code) => return code,
    };
    if !file.exists() {
        eprintln!("footfall: backup: there is no store at {}", file.display());
        return ExitCode::from(2);
    }
    if to.exists() {
        eprintln!("footfall: backup: {} exists; choose a new file", to.display());
        return ExitCode::from(2);
    }
    match SqliteStore::backup(file, to) {
        Ok(()) => {
            println!("backed up {} to {}", file.display(), to.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("footfall: backup failed: {}", chain(&error));
            ExitCode::FAILURE
        }
    }
}

/// Whether something answers on the configured address: a running server.
fn server_answers(address: SocketAddr) -> bool {
    let target = match address.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => SocketAddr::new(Ipv4Addr::LOCALHOST.into(), address.port()),
        IpAddr::V6(ip) if ip.is_unspecified() => SocketAddr::new(Ipv6Addr::LOCALHOST.into(), address.port()),
        _ => address,
    };
    address.port() != 0 && TcpStream::connect_timeout(&target, Duration::from_secs(1)).is_ok()
}

/// Puts the backup `from` in place of the store, which is kept as
/// `footfall.sqlite3.replaced`.
pub fn restore(config: &Config, from: &Path) -> ExitCode {
    let file = match sqlite_file(config, "restore") {
        Ok(file) => file,
        Err(code) => return code,
    };
    if server_answers(config.socket_address) {
        eprintln!(
            "footfall: restore: a server answers on {}; stop footfall first (it would go on writing to the old store)",
            config.socket_address
        );
        return ExitCode::from(2);
    }
    let version = match SqliteStore::check_backup(from) {
        Ok(version) => version,
        Err(error) => {
            eprintln!(
                "footfall: restore: {} cannot be restored: {}",
                from.display(),
                chain(&error)
            );
            return ExitCode::from(2);
        }
    };
    match put_in_place(file, from) {
        Ok(replaced) => {
            let kept = replaced
                .map(|r| format!("; the replaced store is {}", r.display()))
                .unwrap_or_default();
            println!(
                "restored {} (schema version {version}) to {}{kept}",
                from.display(),
                file.display()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("footfall: restore failed: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Copies `from` next to `file`, then renames it over `file`: a crash
/// midway leaves either the old store or the new one, never half of one.
fn put_in_place(file: &Path, from: &Path) -> Result<Option<PathBuf>, String> {
    let sibling = |suffix: &str| {
        let mut name = file.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    let incoming = sibling(".restoring");
    std::fs::copy(from, &incoming).map_err(|e| format!("cannot copy to {}: {e}", incoming.display()))?;
    std::fs::File::open(&incoming)
        .and_then(|f| f.sync_all())
        .map_err(|e| format!("cannot sync {}: {e}", incoming.display()))?;
    let mut replaced = None;
    if file.exists() {
        // The old store moves aside with its log, which SQLite finds by name
        // beside it (`<file>-wal`): nothing it committed is lost.
        let old = sibling(".replaced");
        for suffix in ["", "-wal", "-shm"] {
            let (from, to) = (sibling(suffix), sibling(&format!(".replaced{suffix}")));
            remove_if_there(&to)?;
            if from.exists() {
                std::fs::rename(&from, &to).map_err(|e| format!("cannot move {} aside: {e}", from.display()))?;
            }
        }
        replaced = Some(old);
    }
    // A log left beside the new file would be applied to it as if it were its own.
    for stale in [sibling("-wal"), sibling("-shm")] {
        remove_if_there(&stale)?;
    }
    std::fs::rename(&incoming, file).map_err(|e| format!("cannot put the backup in place: {e}"))?;
    if let Some(dir) = file.parent() {
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(replaced)
}

fn remove_if_there(file: &Path) -> Result<(), String> {
    match std::fs::remove_file(file) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(format!("cannot remove {}: {e}", file.display())),
        _ => Ok(()),
    }
}
