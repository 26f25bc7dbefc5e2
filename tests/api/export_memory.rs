//! An export's memory stays flat: a million calls go out through
//! `footfall export --calls` while its peak resident memory stays far below
//! the size of the output, on both stores.

use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::helpers::{both_stores, sqlite, Store, TestStore};
use crate::lifecycle::footfall;

const CALLS: i64 = 1_000_000;
/// A debug build of footfall starts at about 15 MB; an export that held
/// its output would need well over 100 MB for a million calls.
const PEAK_LIMIT_KB: u64 = 60 * 1024;

/// The peak resident memory (VmHWM) of a running process, in KiB.
fn peak_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

async fn a_million_calls_export_in_flat_memory(store: Store) {
    let s = TestStore::open(store, "").await;
    // One page with a million calls, a second apart from 2026-01-01, with
    // its per-day counts and total, written straight into the tables of the
    // release before compact history, then converted.
    crate::compact::previous_release(&s).await;
    match store {
        Store::Sqlite => sqlite(s.dir.path())
            .execute_batch(&format!(
                "INSERT INTO paths (site_id, path, total, registered_at) VALUES (1, '/big', {CALLS}, 0);
                 WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {CALLS} - 1)
                 INSERT INTO calls (path_id, called_at) SELECT 1, 1767225600000000 + i * 1000000 FROM n;
                 INSERT INTO daily_counts (path_id, day, count)
                   SELECT 1, called_at / 86400000000, count(*) FROM calls GROUP BY 2;"
            ))
            .expect("seed"),
        Store::Postgres => {
            s.execute(
                &format!(
                    "INSERT INTO paths (site_id, path, total) VALUES (1, '/big', {CALLS});
                     INSERT INTO calls (path_id, called_at)
                       SELECT 1, TIMESTAMPTZ '2026-01-01 00:00:00+00' + i * INTERVAL '1 second'
                       FROM generate_series(0, {CALLS} - 1) AS i;
                     INSERT INTO daily_counts (path_id, day, count)
                       SELECT 1, (called_at AT TIME ZONE 'UTC')::date, count(*) FROM calls GROUP BY 2;"
                ),
                "",
            )
            .await
        }
    }
    s.store.migrate().await.expect("migrate and convert");
    let started = Instant::now();
    let mut child = footfall(s.dir.path())
        .args(["export", "--calls"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run footfall");
    let pid = child.id();
    let mut stdout = child.stdout.take().expect("stdout");
    let reading = std::thread::spawn(move || {
        let (mut bytes, mut lines, mut buffer) = (0usize, 0usize, vec![0u8; 1 << 16]);
        while let Ok(n) = stdout.read(&mut buffer) {
            if n == 0 {
                break;
            }
            bytes += n;
            lines += buffer[..n].iter().filter(|&&b| b == b'\n').count();
        }
        (bytes, lines)
    });
    let mut peak = 0;
    while child.try_wait().expect("wait").is_none() {
        peak = peak_kb(pid).unwrap_or(0).max(peak);
        std::thread::sleep(Duration::from_millis(20));
    }
    let (bytes, lines) = reading.join().expect("reader");
    assert!(child.wait().expect("exit").success());
    let days = (CALLS as usize).div_ceil(86_400);
    assert_eq!(
        lines,
        3 + days + CALLS as usize,
        "header, site, page, days and every call"
    );
    eprintln!(
        "{store:?}: exported {CALLS} calls ({} MB) in {:.1} s with a peak of {} MB resident",
        bytes / 1_000_000,
        started.elapsed().as_secs_f64(),
        peak / 1024
    );
    assert!(peak > 0, "the peak was measured");
    assert!(peak < PEAK_LIMIT_KB, "peak {peak} KiB for a {bytes}-byte export");
}

both_stores!(a_million_calls_export_in_flat_memory);
