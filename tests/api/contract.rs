//! The store contract: one suite that calls the storage layer directly (no
//! server) and runs, unchanged, on SQLite and on PostgreSQL.

use footfall::store::{Committed, Hit, PathCount, SlotCount, StoreError, Summary};
use footfall::telemetry::chain;
use footfall::zone::{DayNumber, Zone};
use jiff::Timestamp;

use crate::helpers::{batch, both_stores, page, Store, TestStore};

fn t(at: &str) -> Timestamp {
    at.parse().expect("an RFC 3339 time")
}

fn day(at: &str) -> DayNumber {
    Zone::utc().day_of(t(at))
}

fn count(path: &str, count: u64) -> PathCount {
    PathCount {
        path: path.into(),
        count,
    }
}

async fn migrated(store: Store) -> TestStore {
    let mut s = TestStore::open(store, "").await;
    s.store.migrate().await.expect("migrate");
    s.ensure_default_site().await;
    s
}

async fn migrations_run_twice_and_concurrently_without_harm(store: Store) {
    let s = migrated(store).await;
    let a = s.store.register_path(s.site, &page("/a")).await.expect("register");
    s.store.migrate().await.expect("a second migration changes nothing");
    // Separate stores with their own connections, racing like separate processes.
    let racing: Vec<_> = (0..3)
        .map(|_| {
            let other = s.open_again();
            tokio::spawn(async move { other.migrate().await })
        })
        .collect();
    for migration in racing {
        migration.await.expect("task").expect("migrate");
    }
    let applied = s.query_i64("SELECT count(*) FROM schema_migrations").await;
    // One row per file of the backend's migrations: each applied once.
    let dir = match store {
        Store::Postgres => "postgres",
        Store::Sqlite => "sqlite",
    };
    let files = std::fs::read_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sql").join(dir))
        .expect("sql dir")
        .count();
    assert_eq!(applied, files as i64, "each migration applied once");
    assert_eq!(s.store.paths(s.site).await.expect("paths"), vec![(a, "/a".to_owned())]);
}

async fn registering_a_path_twice_gives_one_id(store: Store) {
    let s = migrated(store).await;
    let a = s.store.register_path(s.site, &page("/a")).await.expect("register /a");
    let b = s.store.register_path(s.site, &page("/b")).await.expect("register /b");
    assert_ne!(a, b);
    assert_eq!(s.store.register_path(s.site, &page("/a")).await.expect("again"), a);
    let mut paths = s.store.paths(s.site).await.expect("paths");
    paths.sort();
    assert_eq!(paths, vec![(a, "/a".to_owned()), (b, "/b".to_owned())]);
}

/// When a path was registered and a migration applied is the database's
/// own clock (Footfall's clock is only for counted calls).
async fn metadata_times_come_from_the_database_clock(store: Store) {
    let s = migrated(store).await;
    s.store.register_path(s.site, &page("/a")).await.expect("register");
    let now = std::time::SystemTime::UNIX_EPOCH
        .elapsed()
        .expect("after 1970")
        .as_micros() as i64;
    let micros = |column: &str, table: &str| match s.db {
        Some(_) => format!("SELECT (extract(epoch FROM min({column})) * 1000000)::bigint FROM {table}"),
        None => format!("SELECT min({column}) FROM {table}"),
    };
    for (column, table) in [("registered_at", "paths"), ("applied_at", "schema_migrations")] {
        let stored = s.query_i64(&micros(column, table)).await;
        assert!(
            (now - stored).abs() < 60_000_000,
            "{table}.{column} is {stored} µs, now is {now} µs"
        );
    }
}

/// Two instances seeing the same new page at once both get its one id.
async fn two_stores_registering_one_new_path_at_once_both_get_its_id(store: Store) {
    let s = migrated(store).await;
    let (first, second) = (s.open_again(), s.open_again());
    for i in 0..100 {
        let path = page(&format!("/race/{i}"));
        let (x, y) = tokio::join!(first.register_path(s.site, &path), second.register_path(s.site, &path));
        let (x, y) = (x.expect("first store"), y.expect("second store"));
        assert_eq!(x, y, "{path}");
    }
    assert_eq!(s.store.paths(s.site).await.expect("paths").len(), 100);
}

/// /a: two calls in the 10:00 slot, one at 10:15, one the next evening; /b: one.
async fn seeded(store: Store) -> (TestStore, i64, i64) {
    let s = migrated(store).await;
    let a = s.store.register_path(s.site, &page("/a")).await.expect("register /a");
    let b = s.store.register_path(s.site, &page("/b")).await.expect("register /b");
    let hit = |path, at: &str| Hit {
        path,
        at: t(at),
        day: day(at),
    };
    let hits = [
        hit(a, "2025-01-02T23:59:59Z"),
        hit(a, "2025-01-01T10:00:00Z"),
        hit(b, "2025-01-02T08:00:00Z"),
        hit(a, "2025-01-01T10:14:59.999999Z"),
        hit(a, "2025-01-01T10:15:00Z"),
    ];
    assert_eq!(
        s.store.record(batch(&hits)).await.expect("record").committed,
        Committed::Now
    );
    (s, a, b)
}

async fn a_recorded_batch_reads_back_exactly(store: Store) {
    let (s, a, b) = seeded(store).await;
    let store = &s.store;
    assert_eq!(
        store.counts(s.site).await.expect("counts"),
        vec![count("/a", 4), count("/b", 1)]
    );
    let (jan1, jan2) = (day("2025-01-01T00:00:00Z"), day("2025-01-02T00:00:00Z"));
    assert_eq!(
        store.counts_between(s.site, jan1, jan1).await.expect("jan 1"),
        vec![count("/a", 3)]
    );
    assert_eq!(
        store.counts_between(s.site, jan2, jan2).await.expect("jan 2"),
        vec![count("/a", 1), count("/b", 1)]
    );
    assert_eq!(
        store.counts_between(s.site, jan2 + 1, jan2 + 9).await.expect("later"),
        vec![]
    );
    assert_eq!(
        store.summary(a).await.expect("summary"),
        Summary {
            total: 4,
            first: Some(t("2025-01-01T10:00:00Z")),
            last: Some(t("2025-01-02T23:59:59Z")),
        }
    );
    assert_eq!(store.daily(a).await.expect("daily"), vec![(jan1, 3), (jan2, 1)]);
    assert_eq!(store.daily(b).await.expect("daily"), vec![(jan2, 1)]);
    assert_eq!(
        store
            .first_and_last(a, t("2025-01-01T10:10:00Z"), t("2025-01-02T00:00:00Z"))
            .await
            .expect("first and last"),
        Some((t("2025-01-01T10:14:59.999999Z"), t("2025-01-01T10:15:00Z")))
    );
    assert_eq!(
        store
            .first_and_last(a, t("2025-01-01T10:15:00.000001Z"), t("2025-01-02T23:59:59Z"))
            .await
            .expect("an empty range"),
        None,
        "`until` is exclusive"
    );
    let mut slots = store
        .slots(a, t("2025-01-01T00:00:00Z"), t("2025-01-03T00:00:00Z"))
        .await
        .expect("slots");
    slots.sort_by_key(|s| s.slot_start);
    let slot = |at: &str, calls| SlotCount {
        path: a,
        slot_start: t(at),
        calls,
    };
    assert_eq!(
        slots,
        vec![
            slot("2025-01-01T10:00:00Z", 2),
            slot("2025-01-01T10:15:00Z", 1),
            slot("2025-01-02T23:45:00Z", 1)
        ]
    );
}

/// Slots start at multiples of the width, rounded down also before 1970
/// (where plain integer division would round up).
async fn slots_round_down_on_both_sides_of_1970(store: Store) {
    let s = migrated(store).await;
    let a = s.store.register_path(s.site, &page("/a")).await.expect("register");
    let hits: Vec<Hit> = ["1969-12-31T23:59:59Z", "1970-01-01T00:00:01Z"]
        .iter()
        .map(|at| Hit {
            path: a,
            at: t(at),
            day: day(at),
        })
        .collect();
    s.store.record(batch(&hits)).await.expect("record");
    let mut starts: Vec<Timestamp> = s
        .store
        .slots(a, t("1969-12-31T00:00:00Z"), t("1970-01-02T00:00:00Z"))
        .await
        .expect("slots")
        .iter()
        .map(|s| s.slot_start)
        .collect();
    starts.sort();
    assert_eq!(starts, vec![t("1969-12-31T23:45:00Z"), t("1970-01-01T00:00:00Z")]);
}

async fn calls_page_by_an_exclusive_cursor(store: Store) {
    let (s, a, _) = seeded(store).await;
    let (start, end) = (t("2000-01-01T00:00:00Z"), t("2100-01-01T00:00:00Z"));
    let page = |after, limit| s.store.calls(a, after, end, limit);
    let first = page(start, 2).await.expect("first page");
    assert_eq!(first, vec![t("2025-01-01T10:00:00Z"), t("2025-01-01T10:14:59.999999Z")]);
    let second = page(first[1], 2).await.expect("second page");
    assert_eq!(second, vec![t("2025-01-01T10:15:00Z"), t("2025-01-02T23:59:59Z")]);
    assert_eq!(page(second[1], 2).await.expect("past the end"), vec![]);
    let until = s
        .store
        .calls(a, start, t("2025-01-02T23:59:59Z"), 10)
        .await
        .expect("until");
    assert_eq!(until.len(), 3, "`until` is exclusive");
}

async fn a_batch_committed_again_under_its_id_changes_nothing(store: Store) {
    let s = migrated(store).await;
    let a = s.store.register_path(s.site, &page("/a")).await.expect("register");
    let hits = [Hit {
        path: a,
        at: t("2025-01-01T10:00:00Z"),
        day: day("2025-01-01T10:00:00Z"),
    }];
    let first = batch(&hits);
    assert_eq!(s.store.record(first).await.expect("first").committed, Committed::Now);
    assert_eq!(
        s.store.record(first).await.expect("again").committed,
        Committed::Earlier
    );
    assert_eq!(s.store.counts(s.site).await.expect("counts"), vec![count("/a", 1)]);
    assert_eq!(s.query_i64("SELECT CAST(sum(calls) AS bigint) FROM call_rows").await, 1);
    // A batch names the ids seen committed; they are deleted with it.
    let next = footfall::store::Batch {
        settled: &[first.id],
        digests: &[],
        ..batch(&hits)
    };
    assert_eq!(s.store.record(next).await.expect("next").committed, Committed::Now);
    assert_eq!(s.query_i64("SELECT count(*) FROM recorded_batches").await, 1);
    assert_eq!(s.query_i64("SELECT max(id) FROM recorded_batches").await, next.id);
    assert_eq!(s.store.counts(s.site).await.expect("counts"), vec![count("/a", 2)]);
}

async fn rebuild_daily_files_calls_under_the_days_of_another_zone(store: Store) {
    let s = migrated(store).await;
    let a = s.store.register_path(s.site, &page("/a")).await.expect("register");
    let at = "2025-01-01T23:30:00Z";
    let hits = [Hit {
        path: a,
        at: t(at),
        day: day(at),
    }];
    s.store.record(batch(&hits)).await.expect("record");
    let rows = s
        .store
        .rebuild_daily(s.site, Zone::named("Asia/Tokyo").expect("zone"))
        .await
        .expect("rebuild");
    assert_eq!(rows, 1);
    // 23:30 UTC is 08:30 the next morning in Tokyo.
    assert_eq!(s.store.daily(a).await.expect("daily"), vec![(day(at) + 1, 1)]);
    assert_eq!(
        s.store.counts(s.site).await.expect("counts"),
        vec![count("/a", 1)],
        "totals are untouched"
    );
}

/// A stored time outside the range Footfall handles is an error that names
/// it — never shown as 1970 — and rebuild-daily refuses to file it anywhere.
async fn an_undecodable_stored_time_is_an_error_naming_it(store: Store) {
    let (s, a, _) = seeded(store).await;
    s.execute(
        // A row in a slot some 2,800 centuries from now.
        &format!(
            "UPDATE paths SET last_call = 'infinity' WHERE id = {a}; \
             INSERT INTO call_times VALUES ({a}, 10000000000, 0, 1, '\\x01')"
        ),
        &format!(
            "UPDATE paths SET last_call = {max} WHERE id = {a}; \
             INSERT INTO call_times VALUES ({a}, 10000000000, 0, 1, x'01')",
            max = i64::MAX
        ),
    )
    .await;
    let error = s.store.summary(a).await.expect_err("an undecodable time");
    assert!(matches!(error, StoreError::Corrupt { .. }), "{error:?}");
    assert!(
        chain(&error).contains(&format!("paths.last_call of path {a}")),
        "{}",
        chain(&error)
    );
    let daily = s.store.daily(a).await.expect("daily");
    assert!(
        s.store.rebuild_daily(s.site, Zone::utc()).await.is_err(),
        "a rebuild must not guess"
    );
    assert_eq!(
        s.store.daily(a).await.expect("daily"),
        daily,
        "the failed rebuild changed nothing"
    );
}

both_stores!(
    migrations_run_twice_and_concurrently_without_harm,
    registering_a_path_twice_gives_one_id,
    metadata_times_come_from_the_database_clock,
    two_stores_registering_one_new_path_at_once_both_get_its_id,
    a_recorded_batch_reads_back_exactly,
    slots_round_down_on_both_sides_of_1970,
    calls_page_by_an_exclusive_cursor,
    a_batch_committed_again_under_its_id_changes_nothing,
    rebuild_daily_files_calls_under_the_days_of_another_zone,
    an_undecodable_stored_time_is_an_error_naming_it,
);

/// PostgreSQL's own error text ("db error") says nothing: the chain must
/// carry the server's message and SQLSTATE.
#[tokio::test]
async fn a_wrong_database_name_is_named_with_its_sqlstate() {
    let s = TestStore::open(Store::Postgres, "").await;
    let db = s.db.as_ref().expect("a PostgreSQL test");
    let wrong = format!("{}_missing", db.name);
    let config = footfall_config(&db.yaml().replace(&db.name, &wrong));
    let store = footfall::app::open_store(&config).expect("open");
    let error = store.ping().await.expect_err("no such database");
    let text = chain(&error);
    assert!(text.contains(&wrong) && text.contains("3D000"), "{text}");
    assert!(error.rolled_back(), "no connection: nothing was sent");
}

#[tokio::test]
async fn a_closed_port_is_named_with_host_and_port() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let config = footfall_config(&format!(
        "db:\n  host: 127.0.0.1\n  port: {port}\n  username: u\n  database: d\n"
    ));
    let store = footfall::app::open_store(&config).expect("open");
    let text = chain(&store.ping().await.expect_err("nothing listens"));
    assert!(text.to_lowercase().contains("connection refused"), "{text}");
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
}

fn footfall_config(yaml: &str) -> footfall::config::Config {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("config.yaml"), yaml).expect("config");
    footfall::config::Config::load(dir.path(), Vec::new()).expect("config")
}
