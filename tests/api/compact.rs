//! Compact call history: a store written by the release before it (one row
//! per call) converts at start with counts and history unchanged, on both
//! stores; `compact_history` holds the tests of the new layout itself.

use std::time::Instant;

use footfall::store::{Hit, PathId};
use jiff::Timestamp;

use crate::helpers::{batch, both_stores, sqlite, Store, TestStore};

/// The schema of the release before compact history, with its version
/// recorded, as that release left it.
pub async fn previous_release(s: &TestStore) {
    let postgres = [
        "CREATE SCHEMA IF NOT EXISTS footfall;",
        include_str!("../../sql/postgres/0001_init.sql"),
        include_str!("../../sql/postgres/0002_daily_counts_by_day.sql"),
        include_str!("../../sql/postgres/0003_recorded_batches.sql"),
        include_str!("../../sql/postgres/0004_sites.sql"),
        include_str!("../../sql/postgres/0005_daily_tallies.sql"),
        include_str!("../../sql/postgres/0006_page_management.sql"),
        include_str!("../../sql/postgres/0007_retention.sql"),
        "CREATE TABLE schema_migrations (version bigint PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
         INSERT INTO schema_migrations (version) SELECT generate_series(1, 7);",
    ]
    .join("\n");
    let sqlite = [
        include_str!("../../sql/sqlite/0001_init.sql"),
        include_str!("../../sql/sqlite/0002_recorded_batches.sql"),
        include_str!("../../sql/sqlite/0003_sites.sql"),
        include_str!("../../sql/sqlite/0004_daily_tallies.sql"),
        include_str!("../../sql/sqlite/0005_page_management.sql"),
        include_str!("../../sql/sqlite/0006_retention.sql"),
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT;
         INSERT INTO schema_migrations VALUES (1, 0), (2, 0), (3, 0), (4, 0), (5, 0), (6, 0);",
    ]
    .join("\n");
    s.execute(&postgres, &sqlite).await;
}

/// `calls` calls in the old layout on three pages of the site `default`
/// (/big 80%, /a and /b 10% each), two by two at the same microsecond, over
/// 30 days from 2026-01-01, not on a grid; with the per-day counts, totals
/// and first and last calls the previous release kept.
pub async fn seed_calls(s: &TestStore, calls: i64) {
    // Call i: pair k = i / 2 at 2026-01-01 + k × 2.592 s + (k × 7919 mod 10^6) µs.
    let micros = "1767225600000000 + (i / 2) * 2592000 + ((i / 2) * 7919) % 1000000";
    let page = "CASE WHEN (i / 2) % 10 < 8 THEN 1 WHEN (i / 2) % 10 = 8 THEN 2 ELSE 3 END";
    let postgres = format!(
        "INSERT INTO paths (site_id, path) VALUES (1, '/big'), (1, '/a'), (1, '/b');
         INSERT INTO calls (path_id, called_at)
           SELECT {page}, TIMESTAMPTZ 'epoch' + ({micros}) * INTERVAL '1 microsecond'
           FROM generate_series(0::bigint, {calls} - 1) AS i;
         INSERT INTO daily_counts (path_id, day, count)
           SELECT path_id, (called_at AT TIME ZONE 'UTC')::date, count(*) FROM calls GROUP BY 1, 2;
         UPDATE paths SET total = t.n, first_call = t.f, last_call = t.l
           FROM (SELECT path_id, count(*) AS n, min(called_at) AS f, max(called_at) AS l FROM calls GROUP BY 1) t
           WHERE paths.id = t.path_id;"
    );
    let sqlite = format!(
        "INSERT INTO paths (site_id, path, registered_at) VALUES (1, '/big', 0), (1, '/a', 0), (1, '/b', 0);
         WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < {calls} - 1)
           INSERT INTO calls (path_id, called_at) SELECT {page}, {micros} FROM s;
         INSERT INTO daily_counts (path_id, day, count)
           SELECT path_id, called_at / 86400000000, count(*) FROM calls GROUP BY 1, 2;
         UPDATE paths SET total = t.n, first_call = t.f, last_call = t.l
           FROM (SELECT path_id, count(*) AS n, min(called_at) AS f, max(called_at) AS l FROM calls GROUP BY 1) t
           WHERE paths.id = t.path_id;"
    );
    s.execute(&postgres, &sqlite).await;
}

/// Every call time of page `id` in the old table, oldest first (µs).
async fn old_calls(s: &TestStore, id: PathId) -> Vec<i64> {
    match &s.db {
        Some(db) => db
            .connect()
            .await
            .query(
                "SELECT (extract(epoch FROM called_at) * 1000000)::bigint FROM calls WHERE path_id = $1 \
                 ORDER BY called_at",
                &[&id],
            )
            .await
            .expect("old calls")
            .iter()
            .map(|r| r.get(0))
            .collect(),
        None => {
            let conn = sqlite(s.dir.path());
            let mut statement = conn
                .prepare("SELECT called_at FROM calls WHERE path_id = ?1 ORDER BY called_at")
                .expect("prepare");
            let rows = statement.query_map([id], |r| r.get(0)).expect("query");
            rows.collect::<Result<_, _>>().expect("old calls")
        }
    }
}

pub fn at(micros: i64) -> Timestamp {
    Timestamp::from_microsecond(micros).expect("time")
}

/// Every call of page `id` through the history contract, 10,000 at a time
/// as the API pages; the slowest page's time.
async fn history(store: &dyn footfall::store::Store, id: PathId) -> (Vec<i64>, std::time::Duration) {
    let (mut all, mut after, mut slowest) = (Vec::new(), at(0), std::time::Duration::ZERO);
    let until: Timestamp = "2100-01-01T00:00:00Z".parse().expect("time");
    loop {
        let started = Instant::now();
        let page = store.calls(id, after, until, 10_000).await.expect("calls");
        slowest = slowest.max(started.elapsed());
        let Some(&last) = page.last() else {
            return (all, slowest);
        };
        // A cursor at a time shared by two calls would skip the second: the
        // API pages the same way, so the seed's pairs show whether it does.
        all.extend(page.iter().map(|t| t.as_microsecond()));
        after = last;
        if page.len() < 10_000 {
            return (all, slowest);
        }
    }
}

/// A store of the previous release with `calls` calls, and each page's
/// calls as it holds them.
async fn previous_store(store: Store, overrides: &str, calls: i64) -> (TestStore, Vec<Vec<i64>>) {
    let s = TestStore::open(store, overrides).await;
    previous_release(&s).await;
    seed_calls(&s, calls).await;
    let mut before = Vec::new();
    for id in 1..=3 {
        before.push(old_calls(&s, id).await);
    }
    (s, before)
}

/// After conversion: every call once, the old table gone, and history,
/// totals, slots, first and last calls and rebuilt per-day counts as the
/// old rows gave them.
/// The UTC day of a time in microseconds.
fn old_day(micros: i64) -> i32 {
    i32::try_from(micros.div_euclid(86_400_000_000)).expect("a day")
}

async fn check_converted(s: &mut TestStore, store: Store, before: &[Vec<i64>]) {
    s.ensure_default_site().await;
    let calls: usize = before.iter().map(Vec::len).sum();
    let stored = s
        .query_i64("SELECT CAST(coalesce(sum(calls), 0) AS bigint) FROM call_rows")
        .await;
    assert_eq!(stored, calls as i64, "every call converted once");
    let gone = match store {
        Store::Postgres => {
            s.query_i64("SELECT count(*) FROM pg_tables WHERE schemaname = 'footfall' AND tablename = 'calls'")
                .await
        }
        Store::Sqlite => {
            s.query_i64("SELECT count(*) FROM sqlite_master WHERE name = 'calls'")
                .await
        }
    };
    assert_eq!(gone, 0, "the old table is dropped");
    for (index, old) in before.iter().enumerate() {
        let id = index as PathId + 1;
        let summary = s.store.summary(id).await.expect("summary");
        assert_eq!(summary.total, old.len() as u64);
        // Pairs share a time: paging by an exclusive cursor drops the
        // second of a pair that straddles two pages, as it did before.
        let (paged, slowest) = history(s.store.as_ref(), id).await;
        let mut expected = Vec::new();
        let (mut after, mut rest) = (0i64, old.as_slice());
        while !rest.is_empty() {
            let page: Vec<i64> = rest.iter().copied().filter(|&t| t > after).take(10_000).collect();
            let Some(&last) = page.last() else { break };
            let full = page.len() == 10_000;
            expected.extend(page);
            after = last;
            rest = &rest[rest.partition_point(|&t| t <= last)..];
            if !full {
                break;
            }
        }
        assert_eq!(paged.len(), expected.len(), "page {id}");
        assert!(paged == expected, "page {id}: the same calls in the same order");
        eprintln!(
            "{store:?}: page {id} ({} calls): slowest 10,000-call page {slowest:?}",
            old.len()
        );
        let first_last = s
            .store
            .first_and_last(id, at(old[10] + 1), at(old[old.len() - 10]))
            .await
            .expect("first and last");
        let inside: Vec<i64> = old
            .iter()
            .copied()
            .filter(|&t| t > old[10] && t < old[old.len() - 10])
            .collect();
        assert_eq!(first_last, Some((at(inside[0]), at(inside[inside.len() - 1]))));
        let slots = s
            .store
            .slots(id, at(old[1000] + 1), at(old[old.len() / 2]))
            .await
            .expect("slots");
        let counted: u64 = slots.iter().map(|c| c.calls).sum();
        let expected = old.iter().filter(|&&t| t > old[1000] && t < old[old.len() / 2]).count() as u64;
        assert_eq!(counted, expected, "page {id}: slot counts");
    }
    // New hits on page 1's latest day and the day after: the latest day
    // was counted before the upgrade, so it takes them where it is.
    let last = old_day(*before[0].iter().max().expect("calls"));
    let mut want = s.store.daily(1).await.expect("daily");
    let on_last = want.last().map_or(0, |&(day, n)| if day == last { n } else { 0 });
    assert!(on_last > 0, "page 1's latest day has calls: {:?}", want.last());
    let hit = |day: i32| Hit {
        path: 1,
        at: at(i64::from(day) * 86_400_000_000 + 1),
        day,
    };
    s.store.record(batch(&[hit(last)])).await.expect("record");
    if let Some(day) = want.last_mut() {
        *day = (last, on_last + 1);
    }
    assert_eq!(s.store.daily(1).await.expect("daily"), want, "the latest day once");
    s.store.record(batch(&[hit(last + 1)])).await.expect("record");
    want.push((last + 1, 1));
    assert_eq!(s.store.daily(1).await.expect("daily"), want, "and the next one");
    let daily_sum = "SELECT CAST(coalesce(sum(count), 0) AS bigint) FROM day_counts";
    let days_before = s.query_i64(daily_sum).await;
    let rebuilt = s
        .store
        .rebuild_daily(s.site, s.config.sites[0].zone.clone())
        .await
        .expect("rebuild");
    assert!(rebuilt > 0);
    assert_eq!(
        s.query_i64(daily_sum).await,
        days_before,
        "per-day counts rebuild to the same"
    );
}

async fn a_million_calls_of_the_previous_layout_convert_with_identical_history(store: Store) {
    let (mut s, before) = previous_store(store, "", 1_000_000).await;
    let started = Instant::now();
    s.store.migrate().await.expect("migrate and convert");
    eprintln!("{store:?}: converted 1,000,000 calls in {:?}", started.elapsed());
    check_converted(&mut s, store, &before).await;
}
both_stores!(a_million_calls_of_the_previous_layout_convert_with_identical_history);

/// The server is killed (SIGKILL) in the middle of converting: the calls
/// are then each in exactly one of the two tables, and the next start
/// finishes the job with nothing lost or doubled.
async fn a_conversion_killed_midway_resumes_with_nothing_lost_or_doubled(store: Store) {
    const CALLS: i64 = 400_000;
    let (mut s, before) = previous_store(store, "socket_address: \"127.0.0.1:0\"\n", CALLS).await;
    let mut child = crate::lifecycle::footfall(s.dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run footfall");
    let stderr = child.stderr.take().expect("stderr");
    // Reads the log until the first chunk has been moved, then kills.
    let moved = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .find(|line| line.contains("converting call history") && line.contains("moved="))
    })
    .await
    .expect("log reader");
    child.kill().expect("SIGKILL");
    child.wait().expect("wait");
    assert!(moved.is_some(), "the log shows progress");
    let packed = s
        .query_i64("SELECT CAST(coalesce(sum(calls), 0) AS bigint) FROM call_rows")
        .await;
    let left = s.query_i64("SELECT count(*) FROM calls").await;
    assert!(packed > 0 && left > 0, "killed midway: {packed} converted, {left} left");
    assert_eq!(packed + left, CALLS, "each call in exactly one table");
    s.store.migrate().await.expect("resume");
    check_converted(&mut s, store, &before).await;
}
both_stores!(a_conversion_killed_midway_resumes_with_nothing_lost_or_doubled);

/// SQLite: a store whose call history is in schema 12's table, kept in key
/// order (converted from the release before, then put back the way schema
/// 12 left it), moves to the table kept in write order at its next start,
/// with history, totals, slots and per-day counts unchanged.
#[tokio::test]
async fn sqlite_history_in_key_order_moves_to_write_order_unchanged() {
    let (mut s, before) = previous_store(Store::Sqlite, "", 100_000).await;
    s.store.migrate().await.expect("migrate and convert");
    sqlite(s.dir.path())
        .execute_batch(&format!(
            "BEGIN;
             CREATE TEMP TABLE saved AS SELECT path_id, slot, part, calls, times FROM call_times;
             DROP TABLE call_times;
             {}
             INSERT INTO call_times SELECT path_id, slot, part, calls, times FROM saved;
             DROP VIEW day_counts;
             DROP VIEW call_rows;
             DELETE FROM schema_migrations WHERE version >= 13;
             COMMIT;",
            include_str!("../../sql/sqlite/0007_call_times.sql")
        ))
        .expect("put back schema 12's table");
    s.store.migrate().await.expect("migrate");
    let in_write_order = s
        .query_i64("SELECT count(*) FROM sqlite_master WHERE name = 'call_times' AND sql NOT LIKE '%WITHOUT ROWID%'")
        .await;
    assert_eq!(in_write_order, 1, "call_times is a rowid table");
    check_converted(&mut s, Store::Sqlite, &before).await;
}
