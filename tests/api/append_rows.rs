//! Which row a batch's calls go to, on both stores: one call per batch
//! fills a slot's rows up to about 512 bytes each (each store's writer
//! remembers the row it appends to instead of looking it up), and rows
//! taken away behind the writer's back (retention, an owner's delete, a
//! merge) cost no call.

use footfall::store::Hit;

use crate::compact::at;
use crate::helpers::{batch, both_stores, Store, TestStore};

/// A slot's start in µs (2026-01-01T00:00:00Z, a 15-minute boundary).
const SLOT: i64 = 1_767_225_600_000_000;

fn hit(path: i64, micros: i64) -> Hit {
    Hit {
        path,
        at: at(micros),
        day: micros.div_euclid(86_400_000_000) as i32,
    }
}

async fn one_call_per_batch_fills_rows_and_a_removed_row_loses_no_call(store: Store) {
    let mut s = TestStore::open(store, "").await;
    s.store.migrate().await.expect("migrate");
    s.ensure_default_site().await;
    let path = footfall::count::path::PagePath::parse("/a").expect("path");
    let id = s.store.register_path(s.site, &path).await.expect("register");
    // Each call alone in its batch: 5 bytes (200 s or more into the slot),
    // so 102 fit in a row of 512 bytes: 300 calls take 3 rows.
    let times: Vec<i64> = (0..300).map(|n| SLOT + 200_000_000 + n * 1_000_003).collect();
    for &t in &times {
        s.store.record(batch(&[hit(id, t)])).await.expect("record");
    }
    let rows = format!("SELECT count(*) FROM call_rows WHERE path_id = {id}");
    let longest = format!("SELECT CAST(max(length(times)) AS bigint) FROM call_rows WHERE path_id = {id}");
    assert_eq!(s.query_i64(&rows).await, 3);
    assert_eq!(s.query_i64(&longest).await, 510);

    // The rows go while the writer still knows the last one as open (on
    // PostgreSQL the open one is in the page's row).
    let delete = format!("DELETE FROM call_times WHERE path_id = {id}");
    let delete_open = format!("{delete}; UPDATE paths SET open_calls = 0, open_times = '' WHERE id = {id}");
    s.execute(&delete_open, &delete).await;
    let later: Vec<i64> = (0..10).map(|n| SLOT + 600_000_000 + n * 7_000_001).collect();
    for &t in &later {
        s.store.record(batch(&[hit(id, t)])).await.expect("record");
    }
    let end = at(SLOT + 900_000_000);
    let history = s.store.calls(id, at(SLOT - 1), end, usize::MAX).await.expect("calls");
    assert_eq!(history.iter().map(|t| t.as_microsecond()).collect::<Vec<_>>(), later);
    assert_eq!(s.query_i64(&rows).await, 1);

    // And a batch with several calls of the page lands beside them, in order.
    let burst: Vec<Hit> = (0..50).map(|n| hit(id, SLOT + 100_000_000 + n)).collect();
    s.store.record(batch(&burst)).await.expect("record");
    let history = s.store.calls(id, at(SLOT - 1), end, usize::MAX).await.expect("calls");
    let mut want: Vec<i64> = burst.iter().map(|h| h.at.as_microsecond()).chain(later).collect();
    want.sort_unstable();
    assert_eq!(history.iter().map(|t| t.as_microsecond()).collect::<Vec<_>>(), want);
    assert_eq!(s.query_i64(&rows).await, 1);
}
both_stores!(one_call_per_batch_fills_rows_and_a_removed_row_loses_no_call);
