//! Retention of raw calls on both stores: only calls older than the policy
//! are deleted, in batches; per-day counts and totals stay; history read
//! from raw calls says that older ones are gone; rebuild-daily refuses.

use std::time::{Duration, Instant, SystemTime};

use footfall::store::Hit;
use footfall::zone::Zone;
use hyper::StatusCode;
use jiff::Timestamp;

use crate::helpers::{batch, both_stores, page, Store, TestApp, TestStore};
use crate::lifecycle::{exit_of, footfall};

fn t(at: &str) -> Timestamp {
    at.parse().expect("an RFC 3339 time")
}

async fn pruning_deletes_only_old_calls_in_batches_and_keeps_the_counts(store: Store) {
    let mut s = TestStore::open(store, "").await;
    s.store.migrate().await.expect("migrate");
    s.ensure_default_site().await;
    assert_eq!(
        s.store.prune_calls(t("2030-01-01T00:00:00Z"), 10).await.expect("prune"),
        0
    );
    assert_eq!(
        s.store.pruned_before().await.expect("mark"),
        None,
        "nothing deleted, nothing marked"
    );
    let (a, b) = (page("/a"), page("/b"));
    let (a_id, b_id) = (
        s.store.register_path(s.site, &a).await.expect("register"),
        s.store.register_path(s.site, &b).await.expect("register"),
    );
    let hit = |path, at: &str| Hit {
        path,
        at: t(at),
        day: Zone::utc().day_of(t(at)),
    };
    let hits = [
        hit(a_id, "2026-01-01T00:00:00.000001Z"),
        hit(a_id, "2026-01-01T00:00:00.000002Z"),
        hit(a_id, "2026-01-31T23:59:59.999999Z"),
        hit(a_id, "2026-02-01T00:00:00Z"),
        hit(b_id, "2025-12-31T10:00:00Z"),
        hit(b_id, "2025-12-31T11:00:00Z"),
        hit(b_id, "2026-03-02T10:00:00Z"),
    ];
    s.store.record(batch(&hits)).await.expect("record");
    let before = t("2026-02-01T00:00:00Z");
    let deleted: Vec<u64> = {
        let mut rounds = Vec::new();
        loop {
            let n = s.store.prune_calls(before, 2).await.expect("prune");
            rounds.push(n);
            if n == 0 {
                break rounds;
            }
        }
    };
    // Whole rows (a page's calls in one 15-minute slot), two at a time: /a's
    // two slots of January (3 calls), then /b's two of December (2).
    assert_eq!(deleted, [3, 2, 0], "at most a batch of rows at a time, old calls only");
    assert_eq!(s.store.pruned_before().await.expect("mark"), Some(before));
    let kept = |id| {
        s.store
            .calls(id, t("2000-01-01T00:00:00Z"), t("2100-01-01T00:00:00Z"), 100)
    };
    assert_eq!(
        kept(a_id).await.expect("calls"),
        [t("2026-02-01T00:00:00Z")],
        "a call at the cut stays"
    );
    assert_eq!(kept(b_id).await.expect("calls"), [t("2026-03-02T10:00:00Z")]);
    for (id, total) in [(a_id, 4), (b_id, 3)] {
        assert_eq!(s.store.summary(id).await.expect("summary").total, total, "totals stay");
        let days: u64 = s.store.daily(id).await.expect("daily").iter().map(|(_, n)| n).sum();
        assert_eq!(days, total, "per-day counts stay");
    }
    // An older cut never moves the mark back.
    s.store
        .record(batch(&[hit(a_id, "2020-01-01T00:00:00Z")]))
        .await
        .expect("record");
    assert_eq!(
        s.store.prune_calls(t("2021-01-01T00:00:00Z"), 10).await.expect("prune"),
        1
    );
    assert_eq!(s.store.pruned_before().await.expect("mark"), Some(before));
    // A cut inside a slot splits its rows: the older calls go, the rest stay.
    s.store
        .record(batch(&[
            hit(b_id, "2026-03-02T10:01:00Z"),
            hit(b_id, "2026-03-02T10:09:00Z"),
        ]))
        .await
        .expect("record");
    let cut = t("2026-03-02T10:05:00Z");
    // /a's call of February 1st, and /b's of 10:00 and 10:01.
    assert_eq!(s.store.prune_calls(cut, 10).await.expect("prune"), 3);
    assert_eq!(
        kept(b_id).await.expect("calls"),
        [t("2026-03-02T10:09:00Z")],
        "the straddling row keeps its calls at or after the cut"
    );
    assert_eq!(
        s.store.prune_calls(cut, 10).await.expect("prune"),
        0,
        "and nothing more"
    );
}

async fn the_background_job_deletes_old_calls_and_history_says_so(store: Store) {
    let mut app = TestApp::spawn_with(store, &[("retention", "{calls_days: 30}")]).await;
    let now = Timestamp::try_from(SystemTime::now()).expect("now");
    let recent = now
        .checked_sub(jiff::SignedDuration::from_hours(1))
        .expect("an hour ago")
        .to_string();
    app.seed(&[
        ("/a", "2020-01-01T10:00:00Z"),
        ("/a", "2020-01-01T11:00:00Z"),
        ("/a", &recent),
    ])
    .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.stored_calls().await != 1 {
        assert!(Instant::now() < deadline, "the old calls were not deleted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(app.count_of("/a").await, Some(3), "the total stays");
    let day = app.get("/api/history/a?bucket=day&from=2020-01-01&to=2020-01-01").await;
    assert_eq!(day.status, StatusCode::OK);
    assert!(
        day.text().contains("\"count\":2"),
        "per-day counts stay: {}",
        day.text()
    );
    assert_eq!(day.header("footfall-calls-deleted-before"), "", "days are whole");
    // The job notes what it deleted just after the delete commits, so the
    // history may lack the calls a moment before it says so.
    let calls = loop {
        let calls = app.get("/api/history/a").await;
        assert_eq!(calls.status, StatusCode::OK);
        if !calls.header("footfall-calls-deleted-before").is_empty() {
            break calls;
        }
        assert!(Instant::now() < deadline, "raw history says calls are gone");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        serde_json::from_slice::<Vec<String>>(&calls.body).expect("times").len(),
        1
    );
    let hours = app
        .get("/api/history/a?bucket=hour&from=2020-01-01&to=2020-01-01")
        .await;
    assert!(!hours.header("footfall-calls-deleted-before").is_empty());
    let ranged = app.get("/api/counts/a?from=2020-01-01&to=2020-01-02").await;
    assert!(
        !ranged.header("footfall-calls-deleted-before").is_empty(),
        "first and last come from calls"
    );
    let today = now.strftime("%Y-%m-%d").to_string();
    let fresh = app.get(&format!("/api/history/a?from={today}")).await;
    assert_eq!(
        fresh.header("footfall-calls-deleted-before"),
        "",
        "nothing is missing since today"
    );
    app.stop().await;
    let (code, stderr) = exit_of(footfall(app.data_dir()).arg("rebuild-daily"));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("deleted by retention"), "{stderr}");
}

/// A page's newest calls (on PostgreSQL in the page's own row until a
/// later batch moves them on) are pruned like any other once they are old:
/// a cut inside their slot keeps the newer ones, a later cut takes all.
async fn pruning_reaches_an_idle_pages_newest_calls(store: Store) {
    let mut s = TestStore::open(store, "").await;
    s.store.migrate().await.expect("migrate");
    s.ensure_default_site().await;
    let id = s.store.register_path(s.site, &page("/idle")).await.expect("register");
    let hit = |at: &str| Hit {
        path: id,
        at: t(at),
        day: Zone::utc().day_of(t(at)),
    };
    let (first, second, third) = ("2026-01-01T10:00:00Z", "2026-01-01T10:00:01Z", "2026-01-01T10:00:02Z");
    s.store.record(batch(&[hit(first), hit(second)])).await.expect("record");
    s.store.record(batch(&[hit(third)])).await.expect("record");
    let ever = (t("2000-01-01T00:00:00Z"), t("2100-01-01T00:00:00Z"));
    assert_eq!(
        s.store
            .prune_calls(t("2026-01-01T10:00:01.5Z"), 10)
            .await
            .expect("prune"),
        2
    );
    let kept = s.store.calls(id, ever.0, ever.1, 100).await.expect("calls");
    assert_eq!(kept, [t(third)], "the call after the cut stays");
    assert_eq!(
        s.store.prune_calls(t("2026-02-01T00:00:00Z"), 10).await.expect("prune"),
        1
    );
    let kept = s.store.calls(id, ever.0, ever.1, 100).await.expect("calls");
    assert!(kept.is_empty(), "every call was older: {kept:?}");
    assert_eq!(s.store.summary(id).await.expect("summary").total, 3, "the total stays");
}

both_stores!(
    pruning_deletes_only_old_calls_in_batches_and_keeps_the_counts,
    pruning_reaches_an_idle_pages_newest_calls,
    the_background_job_deletes_old_calls_and_history_says_so,
);
