//! The packed call history on its own, on both stores: random hits read back
//! as exactly the history they make, and a quiet page's calls take less room
//! than a row per call did.

use footfall::store::Hit;
use jiff::Timestamp;

use crate::compact::at;
use crate::helpers::{batch, both_stores, sqlite, Store, TestStore};

/// A small seeded generator (xorshift), so a failure reproduces.
pub struct Rng(pub u64);
impl Rng {
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Random hits, in random batches, on random pages at random times (bursts
/// in one slot, spreads over days, equal times, times out of order, before
/// 1970): each page's history, slots and first and last call are exactly
/// those the hits make.
async fn random_hits_read_back_as_the_history_they_make(store: Store) {
    let mut s = TestStore::open(store, "").await;
    s.store.migrate().await.expect("migrate");
    s.ensure_default_site().await;
    let mut ids = Vec::new();
    for name in ["/a", "/b", "/c"] {
        let path = footfall::count::path::PagePath::parse(name).expect("path");
        ids.push(s.store.register_path(s.site, &path).await.expect("register"));
    }
    let mut rng = Rng(0x5eed_f00d_1234_5678);
    let base = at(1_767_225_600_000_000);
    let mut made: Vec<Vec<i64>> = vec![Vec::new(); ids.len()];
    for round in 0..60 {
        let size = 1 + rng.below(if round % 10 == 0 { 3000 } else { 40 }) as usize;
        let spread = [2_000_000u64, 900_000_000, 5 * 86_400_000_000][round % 3];
        let hits: Vec<Hit> = (0..size)
            .map(|_| {
                let page = rng.below(ids.len() as u64) as usize;
                let micros = match rng.below(50) {
                    0 => -1_000_000 - rng.below(5_000_000) as i64,
                    _ => base.as_microsecond() + rng.below(spread) as i64,
                };
                made[page].push(micros);
                Hit {
                    path: ids[page],
                    at: at(micros),
                    day: (micros.div_euclid(86_400_000_000)) as i32,
                }
            })
            .collect();
        s.store.record(batch(&hits)).await.expect("record");
    }
    let until: Timestamp = "2100-01-01T00:00:00Z".parse().expect("time");
    for (page, id) in ids.iter().enumerate() {
        let mut expected = made[page].clone();
        expected.sort_unstable();
        let all = s
            .store
            .calls(*id, at(-100_000_000_000_000_000), until, usize::MAX)
            .await
            .expect("calls");
        assert!(
            all.iter().map(|t| t.as_microsecond()).eq(expected.iter().copied()),
            "page {page}"
        );
        // Paging from a cursor in the middle of a busy slot.
        let middle = expected[expected.len() / 2];
        let next = s.store.calls(*id, at(middle), until, 7).await.expect("calls");
        let want: Vec<i64> = expected.iter().copied().filter(|&t| t > middle).take(7).collect();
        assert_eq!(next.iter().map(|t| t.as_microsecond()).collect::<Vec<_>>(), want);
        let (from, to) = (at(expected[3] + 1), at(expected[expected.len() - 3]));
        let inside: Vec<i64> = expected
            .iter()
            .copied()
            .filter(|&t| t >= from.as_microsecond() && t < to.as_microsecond())
            .collect();
        let slots = s.store.slots(*id, from, to).await.expect("slots");
        let mut per_slot = std::collections::BTreeMap::new();
        for t in &inside {
            *per_slot.entry(t.div_euclid(900_000_000) * 900).or_insert(0u64) += 1;
        }
        let mut got: Vec<(i64, u64)> = slots.iter().map(|c| (c.slot_start.as_second(), c.calls)).collect();
        got.sort_unstable();
        assert_eq!(got, per_slot.into_iter().collect::<Vec<_>>(), "page {page}: slots");
        assert_eq!(
            s.store.first_and_last(*id, from, to).await.expect("first and last"),
            Some((at(inside[0]), at(inside[inside.len() - 1]))),
            "page {page}"
        );
    }
}
both_stores!(random_hits_read_back_as_the_history_they_make);

/// Bytes of a table and its indexes.
async fn table_bytes(s: &TestStore, store: Store, table: &str) -> i64 {
    match store {
        Store::Postgres => s.query_i64(&format!("SELECT pg_total_relation_size('{table}')")).await,
        Store::Sqlite => sqlite(s.dir.path())
            .query_row(
                &format!(
                    "SELECT coalesce(sum(pgsize), 0) FROM dbstat \
                     WHERE name IN (SELECT name FROM sqlite_master WHERE tbl_name = '{table}')"
                ),
                [],
                |r| r.get(0),
            )
            .expect("dbstat"),
    }
}

/// The low-traffic case: one call per page per minute, each its own batch.
/// The packed history takes less room than one row per call (the layout
/// before it, built beside it from the same calls in the same order).
async fn low_traffic_history_takes_less_room_than_a_row_per_call(store: Store) {
    const PAGES: i64 = 10;
    const MINUTES: i64 = 6 * 60;
    let mut s = TestStore::open(store, "").await;
    s.store.migrate().await.expect("migrate");
    s.ensure_default_site().await;
    let mut ids = Vec::new();
    for n in 0..PAGES {
        let path = footfall::count::path::PagePath::parse(&format!("/p{n}")).expect("path");
        ids.push(s.store.register_path(s.site, &path).await.expect("register"));
    }
    let base = 1_767_225_600_000_000i64;
    let time_of = |minute: i64, page: i64| base + minute * 60_000_000 + page * 1_000_000 + minute * 7919 % 1_000_000;
    for minute in 0..MINUTES {
        for (page, id) in ids.iter().enumerate() {
            let micros = time_of(minute, page as i64);
            let hit = Hit {
                path: *id,
                at: at(micros),
                day: micros.div_euclid(86_400_000_000) as i32,
            };
            s.store.record(batch(&[hit])).await.expect("record");
        }
    }
    let rows = format!(
        "SELECT p, {base} + m * 60000000 + (p - {first}) * 1000000 + m * 7919 % 1000000 \
         FROM (SELECT m, p FROM generate_series(0::bigint, {MINUTES} - 1) m, generate_series({first}::bigint, {last}) p) g \
         ORDER BY m, p",
        first = ids[0],
        last = ids[ids.len() - 1]
    );
    s.execute(
        &format!(
            "CREATE TABLE old_calls (path_id bigint NOT NULL, called_at timestamptz NOT NULL);
             CREATE INDEX old_calls_path_id_called_at ON old_calls (path_id, called_at);
             INSERT INTO old_calls SELECT p, TIMESTAMPTZ 'epoch' + t * INTERVAL '1 microsecond' FROM ({rows}) r(p, t);"
        ),
        &format!(
            "CREATE TABLE old_calls (path_id INTEGER NOT NULL, called_at INTEGER NOT NULL) STRICT;
             CREATE INDEX old_calls_path_id_called_at ON old_calls (path_id, called_at);
             WITH RECURSIVE m(m) AS (SELECT 0 UNION ALL SELECT m + 1 FROM m WHERE m < {MINUTES} - 1),
               p(p) AS (SELECT {first} UNION ALL SELECT p + 1 FROM p WHERE p < {last})
             INSERT INTO old_calls SELECT p, {base} + m * 60000000 + (p - {first}) * 1000000 + m * 7919 % 1000000
               FROM m, p ORDER BY m, p;",
            first = ids[0],
            last = ids[ids.len() - 1]
        ),
    )
    .await;
    let calls = PAGES * MINUTES;
    let stored = s
        .query_i64("SELECT CAST(coalesce(sum(calls), 0) AS bigint) FROM call_rows")
        .await;
    assert_eq!(stored, calls);
    // On PostgreSQL each page's newest row is in its `paths` row: its
    // columns count too.
    let open_runs = match store {
        Store::Postgres => {
            s.query_i64(
                "SELECT coalesce(sum(pg_column_size(open_slot) + pg_column_size(open_calls) + pg_column_size(open_times) \
                 + coalesce(pg_column_size(rolled_slot) + pg_column_size(rolled_calls) + pg_column_size(rolled_times), 0)), 0) \
                 FROM paths",
            )
            .await
        }
        Store::Sqlite => 0,
    };
    let (packed, old) = (
        table_bytes(&s, store, "call_times").await + open_runs,
        table_bytes(&s, store, "old_calls").await,
    );
    eprintln!(
        "{store:?}, one call per page per minute: {:.1} B per call packed, {:.1} B one row per call",
        packed as f64 / calls as f64,
        old as f64 / calls as f64
    );
    assert!(packed < old, "{packed} B packed, {old} B one row per call");
}
both_stores!(low_traffic_history_takes_less_room_than_a_row_per_call);
