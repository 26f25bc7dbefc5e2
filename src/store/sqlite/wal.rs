//! The size of the SQLite WAL: how far it grows before it is checkpointed
//! into the database, chosen when the store opens from the disk's free
//! space, and made small after a write that failed for lack of space, whose
//! WAL it also truncates. Part of the SQLite store; runs on its blocking
//! threads and must not decide anything else about a write.

use std::path::Path;

use rusqlite::Connection;

/// How far the WAL grows before it is checkpointed into the database, and
/// the size it is truncated to after: the space the store takes beyond its
/// data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct WalSize {
    pages: i64,
    bytes: i64,
}

/// 16 MiB of 4 KiB pages (SQLite's default is 4 MiB). A checkpoint writes
/// each page the WAL holds back once, however many batches changed it, and
/// new visitors to many pages change a page or two each. At 1 MiB, with a
/// million calls stored, the writer checkpointed every fourth batch (64 WAL
/// pages a batch), inside the commit the hits wait for.
const WAL_NORMAL: WalSize = WalSize {
    pages: 4096,
    bytes: 16 * 1024 * 1024,
};
/// On a disk with less than [`ROOM_FOR_NORMAL_WAL`] free, and after a
/// write failed for lack of space (see [`reclaim_wal`]) for as long as the
/// process runs: 1 MiB, small enough that a nearly full disk can hold it.
const WAL_SMALL: WalSize = WalSize {
    pages: 256,
    bytes: 1024 * 1024,
};
/// Free space from which the WAL may take [`WAL_NORMAL`]: 64 times that.
const ROOM_FOR_NORMAL_WAL: u64 = 1 << 30;

impl WalSize {
    /// The size for the disk holding `file`: small when the disk is nearly
    /// full or its free space cannot be read.
    pub(super) fn for_disk_of(file: &Path) -> Self {
        let dir = match file.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        match rustix::fs::statvfs(dir) {
            Ok(disk) if disk.f_bavail.saturating_mul(disk.f_frsize) >= ROOM_FOR_NORMAL_WAL => WAL_NORMAL,
            _ => WAL_SMALL,
        }
    }

    pub(super) fn apply(self, conn: &Connection) -> Result<(), rusqlite::Error> {
        conn.pragma_update(None, "journal_size_limit", self.bytes)?;
        conn.pragma_update(None, "wal_autocheckpoint", self.pages)
    }
}

/// Moves the WAL's committed pages into the database and truncates it, and
/// keeps it to [`WAL_SMALL`] from now on. After a failed write the WAL may
/// hold many pages; without this it keeps its size, and the space the next
/// commit needs may be gone for good.
pub(super) fn reclaim_wal(conn: &Connection) {
    if let Err(error) = WAL_SMALL.apply(conn) {
        tracing::warn!(
            error = %crate::telemetry::chain(&error),
            "after a failed write, the SQLite WAL could not be made smaller"
        );
    }
    match conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get::<_, i64>(0)) {
        Ok(0) => tracing::info!(
            "after a failed write, the SQLite WAL was checkpointed and truncated, and is kept to 1 MiB from now on"
        ),
        Ok(_) => tracing::warn!("after a failed write, the SQLite WAL could not be fully checkpointed (busy)"),
        Err(error) => tracing::warn!(
            error = %crate::telemetry::chain(&error),
            "after a failed write, the SQLite WAL could not be checkpointed"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disk_whose_free_space_cannot_be_read_gets_the_small_wal() {
        let file = Path::new("/no/such/directory/footfall.sqlite3");
        assert_eq!(WalSize::for_disk_of(file), WAL_SMALL);
    }

    #[test]
    fn the_small_wal_is_what_the_reclaim_log_says() {
        assert_eq!(WAL_SMALL.bytes, 1024 * 1024);
        assert_eq!(WAL_SMALL.pages * 4096, WAL_SMALL.bytes);
        assert_eq!(WAL_NORMAL.pages * 4096, WAL_NORMAL.bytes);
        assert!(ROOM_FOR_NORMAL_WAL >= 64 * WAL_NORMAL.bytes as u64);
    }
}
