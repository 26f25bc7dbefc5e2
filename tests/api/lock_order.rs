//! One lock order on PostgreSQL: a batch locks its pages (`paths` rows, in
//! id order) before any other row of theirs, as the owner's changes do, so
//! a batch and a page's removal, merge or import wait for each other and
//! never in a cycle. Each test holds one side's transaction open by hand,
//! with a short `lock_timeout`, at the point where the old order made the
//! two wait for each other. The page lock is also where two replicas'
//! batches meet a page's open day: the last test holds it while two wait.

use std::time::Duration;

use footfall::store::{Hit, Imported, Item, PageMove, PathId, StoreError};
use tokio::task::JoinHandle;

use crate::helpers::{batch, page, Store, TestStore};
use crate::site_days::{hit, merge, mismatches};

/// Two hits of one 15-minute slot and day: the second batch adds to the
/// first one's rows instead of making new ones.
const FIRST: &str = "2026-03-01T10:00:00Z";
const SECOND: &str = "2026-03-01T10:01:00Z";
/// The days before and after theirs.
const EARLIER_DAY: &str = "2026-02-28T10:00:00Z";
const NEXT_DAY: &str = "2026-03-02T10:00:00Z";
/// How an owner's change locks its page, and how a batch does.
const AS_A_CHANGE: &str = "FOR UPDATE";
const AS_A_BATCH: &str = "FOR NO KEY UPDATE";

async fn two_pages() -> (TestStore, PathId, PathId) {
    let mut s = TestStore::open(Store::Postgres, "").await;
    s.store.migrate().await.expect("migrate");
    s.ensure_default_site().await;
    let a = s.store.register_path(s.site, &page("/a")).await.expect("register /a");
    let b = s.store.register_path(s.site, &page("/b")).await.expect("register /b");
    assert!(a < b, "pages are numbered in order");
    s.store
        .record(batch(&[hit(a, FIRST), hit(b, FIRST)]))
        .await
        .expect("the first batch");
    (s, a, b)
}

/// A connection inside a transaction that holds page `id` locked `how`,
/// and waits at most 500 ms for any further row lock, so a wait that the
/// old lock order made endless fails the test instead of hanging it.
/// `COMMIT` ends it.
async fn hold_page(s: &TestStore, id: PathId, how: &str) -> tokio_postgres::Client {
    let client = s.db.as_ref().expect("a PostgreSQL database").connect().await;
    client
        .batch_execute(&format!(
            "BEGIN; SET LOCAL lock_timeout = '500ms'; SELECT 1 FROM paths WHERE id = {id} {how}"
        ))
        .await
        .expect("lock the page");
    client
}

/// Sends a batch with one hit for each of pages `a` and `b` on its own
/// task, and gives it 300 ms to reach the lock it waits for.
async fn send_a_hit_for_each(s: &TestStore, a: PathId, b: PathId) -> JoinHandle<Result<(), StoreError>> {
    send(s, vec![hit(a, SECOND), hit(b, SECOND)]).await
}

/// Sends a batch of `hits` on its own task, and gives it 300 ms to reach
/// the lock it waits for.
async fn send(s: &TestStore, hits: Vec<Hit>) -> JoinHandle<Result<(), StoreError>> {
    let store = s.store.clone();
    let sent = tokio::spawn(async move { store.record(batch(&hits)).await.map(|_| ()) });
    tokio::time::sleep(Duration::from_millis(300)).await;
    sent
}

async fn page_count(s: &TestStore, id: PathId) -> i64 {
    s.query_i64(&format!(
        "SELECT coalesce(sum(count), 0)::bigint FROM day_counts WHERE path_id = {id}"
    ))
    .await
}

/// A removal in `delete_page`'s order (the page first, then its rows, then
/// its site's days) meets a batch with hits for that page: the batch waits
/// for the page holding none of its rows, so the removal deletes them at
/// once; then the batch commits, its hit for the removed page a late row,
/// which no site counts. The batch's snapshot still shows the page: a
/// batch that looked its pages' sites up in it counted the late hit in the
/// site's days.
#[tokio::test]
async fn a_batch_meeting_a_removal_waits_holding_none_of_the_pages_rows() {
    let (s, a, b) = batch_meets_removal(&[SECOND]).await;
    assert_eq!(page_count(&s, b).await, 2, "the other page counts both hits");
    assert_eq!(page_count(&s, a).await, 1, "the removed page keeps a late row");
}

/// As above, with a batch across midnight: the removed page's hit of the
/// day before is a late row too, and no site counts it; the other page's
/// hit of that day counts in its site.
#[tokio::test]
async fn a_batch_across_midnight_meeting_a_removal_counts_no_late_day_in_the_site() {
    let (s, a, b) = batch_meets_removal(&[EARLIER_DAY, SECOND]).await;
    assert_eq!(page_count(&s, a).await, 2, "the removed page keeps two late rows");
    assert_eq!(page_count(&s, b).await, 3, "the other page counts all three hits");
}

/// Pages `a` and `b` with a hit each; then page `a` removed by hand while
/// a batch with a hit of each page on each of `days` waits for it. Returns
/// once the batch committed, with the site's days checked against its
/// pages' per-day counts.
async fn batch_meets_removal(days: &[&str]) -> (TestStore, PathId, PathId) {
    let (s, a, b) = two_pages().await;
    let removal = hold_page(&s, a, AS_A_CHANGE).await;
    let hits = days.iter().flat_map(|at| [hit(a, at), hit(b, at)]);
    let sent = send(&s, hits.collect()).await;
    remove_by_hand(removal, a).await;
    sent.await
        .expect("the batch task")
        .expect("the batch commits after the removal");
    assert_eq!(
        s.query_i64(&mismatches("")).await,
        0,
        "the site's days count its pages' calls"
    );
    (s, a, b)
}

/// Removes page `a`, which holds one call of 2026-03-01, on the connection
/// `hold_page` gave: its rows, then (last, as `delete_page` does) its call
/// off its site's day; then commits.
async fn remove_by_hand(removal: tokio_postgres::Client, a: PathId) {
    for sql in [
        "DELETE FROM call_times WHERE path_id = $1",
        "DELETE FROM daily_counts WHERE path_id = $1",
        "DELETE FROM paths WHERE id = $1",
    ] {
        removal
            .execute(sql, &[&a])
            .await
            .unwrap_or_else(|e| panic!("the removal waited for the batch: {sql}: {e:?}"));
    }
    removal
        .batch_execute("UPDATE site_days SET count = count - 1 WHERE day = DATE '2026-03-01'; COMMIT")
        .await
        .expect("take the page's call off its site's day and commit the removal");
}

/// A batch that has locked its lower page meets a merge of its higher page
/// into it: the merge waits for the lower page first, holding nothing, so
/// the batch locks the higher page at once; then the merge goes through.
#[tokio::test]
async fn a_merge_locks_its_two_pages_in_the_batches_order() {
    let (s, a, b) = two_pages().await;
    let batch_like = hold_page(&s, a, AS_A_BATCH).await;
    let store = s.store.clone();
    let site = s.site;
    let merging = tokio::spawn(async move { store.move_page(site, &page("/b"), &page("/a")).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    batch_like
        .execute(&format!("SELECT 1 FROM paths WHERE id = $1 {AS_A_BATCH}"), &[&b])
        .await
        .unwrap_or_else(|e| panic!("the merge held the higher page while waiting: {e:?}"));
    batch_like.batch_execute("COMMIT").await.expect("commit");
    let moved = merging.await.expect("the merge task").expect("the merge");
    assert!(matches!(moved, PageMove::Merged { .. }), "{moved:?}");
    assert_eq!(page_count(&s, a).await, 2, "the merged page has both hits");
    assert_eq!(merge(&s, "/b", "/a").await, PageMove::NoSuchPage);
}

/// A batch that has locked a page meets an import of a hit for it: the
/// import waits for the page before it writes any of its rows, so the
/// batch's per-day count goes in at once; then the import adds its own.
/// The day is an earlier one, whose count is a `daily_counts` row (the
/// page's open day is in its `paths` row, which the batch holds anyway).
#[tokio::test]
async fn an_import_locks_its_pages_before_their_rows() {
    let (s, a, _) = two_pages().await;
    let batch_like = hold_page(&s, a, AS_A_BATCH).await;
    let (items, received) = tokio::sync::mpsc::channel(1);
    let late = hit(a, EARLIER_DAY);
    items
        .send(Ok(Item::Hit {
            site: "default".into(),
            path: page("/a"),
            at: late.at,
            day: late.day,
        }))
        .await
        .expect("queue the item");
    drop(items);
    let store = s.store.clone();
    let importing = tokio::spawn(async move { store.import(received).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    batch_like
        .execute(
            "INSERT INTO daily_counts AS c (path_id, day, count) VALUES ($1, DATE '1970-01-01' + $2::int, 1) \
             ON CONFLICT (path_id, day) DO UPDATE SET count = c.count + 1",
            &[&a, &late.day],
        )
        .await
        .unwrap_or_else(|e| panic!("the import held the page's per-day count while waiting: {e:?}"));
    batch_like.batch_execute("COMMIT").await.expect("commit");
    let imported = importing.await.expect("the import task").expect("the import");
    assert!(matches!(imported, Imported::Done(_)), "{imported:?}");
    assert_eq!(
        page_count(&s, a).await,
        3,
        "the first hit, the hand-added one and the import"
    );
}

/// A batch of hits alone locks its pages as its totals update reaches
/// them, in id order: while it waits for its higher page, it holds its
/// lower one, so a change to the lower page waits for the batch (run in
/// the other order, the batch would wait holding nothing, and meeting a
/// change that locks the lower page first, cycle with it).
#[tokio::test]
async fn a_batch_locks_its_pages_in_id_order() {
    let (s, a, b) = two_pages().await;
    let change = hold_page(&s, b, AS_A_CHANGE).await;
    let sent = send_a_hit_for_each(&s, a, b).await;
    let other = s.db.as_ref().expect("a PostgreSQL database").connect().await;
    other
        .batch_execute("BEGIN; SET LOCAL lock_timeout = '200ms'")
        .await
        .expect("begin");
    let locked = other
        .execute(&format!("SELECT 1 FROM paths WHERE id = $1 {AS_A_CHANGE}"), &[&a])
        .await;
    let error = locked.expect_err("the waiting batch holds its lower page");
    assert_eq!(
        error.code(),
        Some(&tokio_postgres::error::SqlState::LOCK_NOT_AVAILABLE),
        "{error:?}"
    );
    other.batch_execute("ROLLBACK").await.expect("roll back");
    change.batch_execute("COMMIT").await.expect("commit the change");
    sent.await
        .expect("the batch task")
        .expect("the batch commits once its higher page is free");
    assert_eq!(page_count(&s, a).await, 2);
    assert_eq!(page_count(&s, b).await, 2);
}

/// Two replicas' batches open the same new day of a page at once: both
/// wait for the page (held here as another batch would hold it), then the
/// first opens the day and moves the one before into `daily_counts`, and
/// the second, meeting the row it changed, adds to that open day instead
/// of opening it again. Each day counts its hits once.
#[tokio::test]
async fn two_batches_opening_one_day_of_a_page_count_it_once() {
    let (s, a, _) = two_pages().await;
    let holder = hold_page(&s, a, AS_A_BATCH).await;
    let next = hit(a, NEXT_DAY);
    let sending: Vec<_> = (0..2)
        .map(|_| {
            let store = s.open_again();
            tokio::spawn(async move { store.record(batch(&[next])).await.map(|_| ()) })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    holder.batch_execute("COMMIT").await.expect("commit");
    for sent in sending {
        sent.await.expect("the batch task").expect("the batch commits");
    }
    let days = s.store.daily(a).await.expect("daily");
    assert_eq!(days, [(hit(a, FIRST).day, 1), (next.day, 2)]);
}
