//! Page management covers the tallies, on both stores: merging a page adds
//! its proxied views and filtered hits to the target's, removing a page
//! removes them, and tallies that land under a removed id are swept like
//! its calls.

use hyper::{Method, StatusCode};
use serde_json::{json, Value};

use footfall::store::{Batch, DayTallies, PageMove, Tallies, Tally};

use crate::helpers::{batch, both_stores, page, Store, TestApp, TestStore};
use crate::honest::{hit, json_at, CAMO};
use crate::requests::ADMIN_KEY;

/// Filtered as a bot.
const CURL: &str = "curl/8.5.0";
/// 2026-03-01.
const DAY: footfall::zone::DayNumber = 20_513;

/// `(count, proxied, bot)` of a page, over all days.
async fn figures(app: &TestApp, path: &str) -> (Value, Value, Value) {
    let counts = json_at(app, &format!("/api/counts{path}")).await;
    (
        counts["count"].clone(),
        counts["proxied"].clone(),
        counts["filtered"]["bot"].clone(),
    )
}

async fn a_merge_adds_up_tallies_and_a_removal_removes_them(store: Store) {
    let app = TestApp::spawn_with(store, &[ADMIN_KEY]).await;
    let bot = [("user-agent", CURL)];
    let camo = [("user-agent", CAMO)];
    for (path, bots) in [("/call/old", 2), ("/call/new", 1), ("/call/gone", 1)] {
        for i in 0..bots {
            hit(&app, path, &format!("203.0.113.{i}"), &bot).await;
        }
        hit(&app, path, "140.82.115.1", &camo).await;
        // A counted hit commits the tallies queued before it.
        hit(&app, path, "192.0.2.1", &[]).await;
    }
    assert_eq!(figures(&app, "/old").await, (json!(1), json!(1), json!(2)));
    assert_eq!(figures(&app, "/new").await, (json!(1), json!(1), json!(1)));

    let merged = app.rename_page("/old", "/new").await;
    assert_eq!(merged.status, StatusCode::OK, "{}", merged.text());
    assert_eq!(
        figures(&app, "/new").await,
        (json!(2), json!(2), json!(3)),
        "visitors, proxied views and filtered hits add up"
    );
    let rows = "SELECT count(*) FROM daily_tallies";
    assert_eq!(app.stored_i64(rows).await, 2, "one row for /new's day, one for /gone's");

    let removed = app.admin(Method::DELETE, "/api/admin/pages/gone", None).await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.text());
    assert_eq!(app.stored_i64(rows).await, 1, "/gone's tallies are gone");
    assert_eq!(
        // The one row left; max() keeps bigint on PostgreSQL, where sum() is numeric.
        app.stored_i64("SELECT max(bot + proxied) FROM daily_tallies").await,
        5,
        "/new's own and /old's"
    );
}

/// Tallies of `path` on `day`.
fn tallies_of(path: i64, day: i32, series: &[(Tally, u64)]) -> DayTallies {
    let mut tallies = Tallies::default();
    for &(tally, n) in series {
        tallies.add(tally, n);
    }
    DayTallies { path, day, tallies }
}

/// Commits a batch of tallies alone, as the recorder does without hits.
async fn record(s: &TestStore, tallies: &[DayTallies]) {
    let only = Batch { tallies, ..batch(&[]) };
    s.store.record(only).await.expect("record tallies");
}

async fn late_tallies_are_swept_like_calls(store: Store) {
    let mut s = TestStore::open(store, "").await;
    s.store.migrate().await.expect("migrate");
    s.ensure_default_site().await;
    let [old_page, gone_page, into_page] = [page("/old"), page("/gone"), page("/into")];
    let old = s.store.register_path(s.site, &old_page).await.expect("register");
    let gone = s.store.register_path(s.site, &gone_page).await.expect("register");
    let into = s.store.register_path(s.site, &into_page).await.expect("register");
    record(
        &s,
        &[
            tallies_of(old, DAY, &[(Tally::Bot, 2), (Tally::Proxied, 1)]),
            tallies_of(into, DAY, &[(Tally::Bot, 1), (Tally::Ignored, 4)]),
        ],
    )
    .await;

    assert_eq!(
        s.store.delete_page(s.site, &gone_page).await.expect("delete"),
        Some(gone)
    );
    record(&s, &[tallies_of(gone, DAY, &[(Tally::Prefetch, 1)])]).await;
    assert_eq!(s.store.sweep_page(gone, None).await.expect("sweep"), 1, "its tally row");
    assert_eq!(
        s.store.path_tallies(gone, DAY, DAY).await.expect("tallies"),
        Tallies::default()
    );

    let moved = s.store.move_page(s.site, &old_page, &into_page).await.expect("merge");
    assert_eq!(moved, PageMove::Merged { from: old, into });
    record(
        &s,
        &[
            tallies_of(old, DAY, &[(Tally::Bot, 5)]),
            tallies_of(old, DAY + 1, &[(Tally::ForeignEmbed, 1)]),
        ],
    )
    .await;
    s.store.sweep_page(old, Some(into)).await.expect("sweep");
    let expected = tallies_of(
        into,
        DAY,
        &[
            (Tally::Bot, 8),
            (Tally::Proxied, 1),
            (Tally::Ignored, 4),
            (Tally::ForeignEmbed, 1),
        ],
    );
    assert_eq!(
        s.store.path_tallies(into, DAY, DAY + 1).await.expect("tallies"),
        expected.tallies
    );
    assert_eq!(
        s.store.summary(into).await.expect("summary").total,
        0,
        "tallies are not calls"
    );
    let left = s
        .query_i64(&format!("SELECT count(*) FROM daily_tallies WHERE path_id = {old}"))
        .await;
    assert_eq!(left, 0, "nothing left under /old's id");
}

both_stores!(
    a_merge_adds_up_tallies_and_a_removal_removes_them,
    late_tallies_are_swept_like_calls,
);
