//! The admin API for pages on both stores: register without a probe,
//! remove with the whole history, rename and merge (everything adds up),
//! start counts; bad input is a clear 4xx and changes nothing.

use hyper::{Method, StatusCode};
use serde_json::{json, Value};

use footfall::store::{Hit, PageMove};
use footfall::zone::Zone;

use crate::helpers::{batch, both_stores, page, Setup, Store, TestApp, TestStore};
use crate::requests::{request, ADMIN, ADMIN_KEY};

fn json_of(response: &crate::helpers::TestResponse) -> Value {
    assert!(response.status.is_success(), "{} {}", response.status, response.text());
    serde_json::from_slice(&response.body).expect("JSON")
}

async fn owner_app(store: Store) -> TestApp {
    TestApp::spawn_with(store, &[ADMIN_KEY]).await
}

/// Per-day counts of `path` from 2026-03-01 to 2026-03-03.
async fn days(app: &TestApp, path: &str) -> Vec<u64> {
    let days = json_of(
        &app.get(&format!("/api/history{path}?bucket=day&from=2026-03-01&to=2026-03-03"))
            .await,
    );
    days.as_array()
        .expect("days")
        .iter()
        .map(|d| d["count"].as_u64().expect("count"))
        .collect()
}

async fn a_registered_page_counts_without_a_probe(store: Store) {
    let app = owner_app(store).await;
    let register = |path: &'static str| app.admin(Method::POST, "/api/admin/pages", Some(json!({"path": path})));
    let first = register("/missing/newsletter/2026-12").await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text());
    assert_eq!(
        json_of(&first),
        json!({"site": "default", "path": "/missing/newsletter/2026-12"})
    );
    assert_eq!(
        register("/missing/newsletter/2026-12/").await.status,
        StatusCode::OK,
        "it exists"
    );
    assert_eq!(app.count_of("/missing/newsletter/2026-12").await, Some(0));
    // The tracked site says 404 for /missing/…; registered pages count anyway.
    let hit = app.get_as("/call/missing/newsletter/2026-12", "203.0.113.1").await;
    assert_eq!(hit.status, StatusCode::OK);
    assert_eq!(app.site.probes_of("/missing/newsletter/2026-12"), 0, "never probed");
    assert_eq!(app.count_of("/missing/newsletter/2026-12").await, Some(1));
}

async fn bad_admin_requests_are_clear_4xx_and_change_nothing(store: Store) {
    let app = owner_app(store).await;
    let auth = format!("Bearer {ADMIN}");
    let post = |content_type: &'static str, body: String| {
        let auth = auth.clone();
        async move {
            let headers = [("authorization", auth.as_str()), ("content-type", content_type)];
            request(app.addr, Method::POST, "/api/admin/pages", &headers, body).await
        }
    };
    let cases = [
        (
            post("text/plain", json!({"path": "/a"}).to_string()).await,
            415,
            "application/json",
        ),
        (post("application/json", "{\"path\": ".into()).await, 400, "JSON body"),
        (
            post("application/json", json!({"paht": "/a"}).to_string()).await,
            400,
            "paht",
        ),
        (
            post("application/json", json!({"path": 7}).to_string()).await,
            400,
            "path",
        ),
        (
            post("application/json", json!({"path": "/a/../b"}).to_string()).await,
            400,
            ". or ..",
        ),
        (post("application/json", "x".repeat(70_000)).await, 413, "larger than"),
    ];
    for (response, status, says) in cases {
        assert_eq!(response.status.as_u16(), status, "{}", response.text());
        assert_eq!(response.header("content-type"), "application/json");
        assert!(response.text().contains(says), "{says}: {}", response.text());
    }
    let wrong_method = app.admin(Method::GET, "/api/admin/pages", None).await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong_method.header("allow"), "POST");
    let offset = app
        .admin(Method::PUT, "/api/admin/pages/nope/offset", Some(json!({"count": -1})))
        .await;
    assert_eq!(offset.status, StatusCode::BAD_REQUEST, "{}", offset.text());
    assert_eq!(
        app.admin(Method::GET, "/api/admin/nothing", None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.counts().await, vec![], "nothing was registered");
}

async fn removing_a_page_removes_its_whole_history(mut app: TestApp) {
    app.seed(&[
        ("/gone", "2026-03-01T10:00:00Z"),
        ("/gone", "2026-03-02T10:00:00Z"),
        ("/kept", "2026-03-01T11:00:00Z"),
    ])
    .await;
    let removed = app.admin(Method::DELETE, "/api/admin/pages/gone", None).await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.text());
    assert_eq!(app.counts().await, vec![("/kept".to_owned(), 1)]);
    assert_eq!(app.get("/api/history/gone").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.stored_calls().await, 1, "its calls are gone");
    assert_eq!(app.daily_total().await, 1, "its per-day counts are gone");
    let again = app.admin(Method::DELETE, "/api/admin/pages/gone", None).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    // A later hit registers it anew, from zero, with a new probe.
    assert_eq!(app.get_as("/call/gone", "203.0.113.1").await.status, StatusCode::OK);
    assert_eq!(app.count_of("/gone").await, Some(1));
    assert_eq!(app.site.probes_of("/gone"), 1);
}

async fn remove_page(store: Store) {
    removing_a_page_removes_its_whole_history(owner_app(store).await).await;
}

async fn a_rename_keeps_the_history_and_a_merge_adds_everything_up(store: Store) {
    let mut app = owner_app(store).await;
    app.seed(&[
        ("/old", "2026-03-01T10:00:00Z"),
        ("/old", "2026-03-02T10:00:00Z"),
        ("/old", "2026-03-02T11:00:00Z"),
        ("/new", "2026-03-02T12:00:00Z"),
        ("/new", "2026-03-03T12:00:00Z"),
        ("/moved", "2026-03-01T09:00:00Z"),
    ])
    .await;
    let offset = app
        .admin(Method::PUT, "/api/admin/pages/old/offset", Some(json!({"count": 100})))
        .await;
    assert_eq!(
        json_of(&offset),
        json!({"site": "default", "path": "/old", "offset": 100})
    );

    let renamed = app.rename_page("/moved", "/here").await;
    assert_eq!(
        json_of(&renamed),
        json!({"site": "default", "from": "/moved", "to": "/here", "merged": false})
    );
    assert_eq!(app.get("/api/counts/moved").await.status, StatusCode::NOT_FOUND);
    assert_eq!(days(&app, "/here").await, [1, 0, 0], "the history moved with it");

    let merged = app.rename_page("/old", "/new").await;
    assert_eq!(json_of(&merged)["merged"], true);
    assert_eq!(days(&app, "/new").await, [1, 3, 1], "per-day counts add up");
    let new = json_of(&app.get("/api/counts/new").await);
    assert_eq!(new["count"], 105, "totals and start counts add up: {new}");
    assert_eq!(new["first"], "2026-03-01T10:00:00+00:00");
    assert_eq!(new["last"], "2026-03-03T12:00:00+00:00");
    let calls = json_of(&app.get("/api/history/new").await);
    assert_eq!(calls.as_array().expect("calls").len(), 5, "every call moved: {calls}");
    assert_eq!(app.get("/api/counts/old").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.stored_calls().await, 6, "no call lost or doubled");
    assert_eq!(app.daily_total().await, 6);

    let same = app.rename_page("/new", "/new/").await;
    assert_eq!(same.status, StatusCode::BAD_REQUEST);
    let missing = app.rename_page("/old", "/x").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    // Hits of the merged-away path count again as a new page; the target keeps counting.
    assert_eq!(app.get_as("/call/new", "203.0.113.50").await.status, StatusCode::OK);
    assert_eq!(json_of(&app.get("/api/counts/new").await)["count"], 106);
}

async fn a_start_count_shows_in_totals_and_the_badge_but_not_in_history(store: Store) {
    let mut app = owner_app(store).await;
    app.seed(&[("/a", "2026-03-01T10:00:00Z")]).await;
    let set = app
        .admin(Method::PUT, "/api/admin/pages/a/offset", Some(json!({"count": 12345})))
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text());
    assert_eq!(app.count_of("/a").await, Some(12346));
    assert_eq!(json_of(&app.get("/api/counts/a").await)["count"], 12346);
    let badge = app.get_as("/badge/a", "203.0.113.1").await.text();
    assert!(badge.contains("views: 12.3k"), "{badge}");
    assert_eq!(days(&app, "/a").await, [1, 0, 0], "history holds counted calls only");
    let ranged = json_of(&app.get("/api/counts/a?from=2026-03-01&to=2026-03-01").await);
    assert_eq!(ranged["count"], 1, "a range counts calls only");
    let sites = json_of(&app.get("/api/sites").await);
    assert_eq!(sites[0]["count"], 12347, "with the badge's hit: {sites}");
    // Setting it again replaces it.
    app.admin(Method::PUT, "/api/admin/pages/a/offset", Some(json!({"count": 5})))
        .await;
    assert_eq!(app.count_of("/a").await, Some(7));
    let unknown = app
        .admin(Method::PUT, "/api/admin/pages/nope/offset", Some(json!({"count": 5})))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

async fn admin_routes_are_site_scoped(store: Store) {
    let sites = "{blog: {}, docs: {}}";
    let app = TestApp::spawn_setup(
        store,
        Setup {
            overrides: &[
                ("tracked_base_url", ""),
                ("sites", sites),
                ("default_site", "blog"),
                ADMIN_KEY,
            ],
            ..Setup::default()
        },
    )
    .await;
    let register = app
        .admin(Method::POST, "/s/docs/api/admin/pages", Some(json!({"path": "/guide"})))
        .await;
    assert_eq!(json_of(&register), json!({"site": "docs", "path": "/guide"}));
    assert_eq!(
        json_of(&app.get("/s/docs/api/counts").await),
        json!([{"path": "/guide", "count": 0}])
    );
    assert_eq!(
        json_of(&app.get("/api/counts").await),
        json!([]),
        "not on the default site"
    );
    let unknown = app
        .admin(Method::POST, "/s/shop/api/admin/pages", Some(json!({"path": "/guide"})))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

/// Hits already on their way when a page is removed or merged away land
/// under its old id; the sweep moves them to the target (or deletes them),
/// and no later page is given that id.
async fn late_hits_are_swept_and_removed_ids_are_never_reused(store: Store) {
    let mut s = TestStore::open(store, "").await;
    s.store.migrate().await.expect("migrate");
    s.ensure_default_site().await;
    let [old_page, newest_page, next_page] = [page("/old"), page("/newest"), page("/next")];
    let register = |path| s.store.register_path(s.site, path);
    let hit = |id, at: &str| {
        let at: jiff::Timestamp = at.parse().expect("time");
        Hit {
            path: id,
            at,
            day: Zone::utc().day_of(at),
        }
    };
    let old = register(&old_page).await.expect("register");
    let newest = register(&newest_page).await.expect("register");
    assert_eq!(
        s.store.delete_page(s.site, &newest_page).await.expect("delete"),
        Some(newest)
    );
    let next = register(&next_page).await.expect("register");
    assert!(next > newest, "the removed newest id {newest} is not reused ({next})");
    s.store
        .record(batch(&[hit(newest, "2026-03-01T10:00:00Z")]))
        .await
        .expect("a late hit");
    assert_eq!(
        s.store.sweep_page(newest, None).await.expect("sweep"),
        2,
        "its call and per-day count"
    );

    s.store
        .record(batch(&[hit(old, "2026-03-01T10:00:00Z")]))
        .await
        .expect("record");
    let moved = s.store.move_page(s.site, &old_page, &next_page).await.expect("merge");
    assert_eq!(moved, PageMove::Merged { from: old, into: next });
    s.store
        .record(batch(&[hit(old, "2026-03-04T10:00:00Z")]))
        .await
        .expect("a late hit");
    s.store.sweep_page(old, Some(next)).await.expect("sweep");
    let summary = s.store.summary(next).await.expect("summary");
    assert_eq!(summary.total, 2, "the late hit counts on the target");
    assert_eq!(summary.last, Some("2026-03-04T10:00:00Z".parse().expect("time")));
    let daily = s.store.daily(next).await.expect("daily");
    assert_eq!(daily.iter().map(|(_, n)| n).sum::<u64>(), 2, "{daily:?}");
    let left = s
        .query_i64(&format!("SELECT count(*) FROM call_rows WHERE path_id = {old}"))
        .await;
    assert_eq!(left, 0, "nothing left under /old's id");
    assert_eq!(s.store.page_id(s.site, &old_page).await.expect("lookup"), None);
}

both_stores!(
    late_hits_are_swept_and_removed_ids_are_never_reused,
    a_registered_page_counts_without_a_probe,
    bad_admin_requests_are_clear_4xx_and_change_nothing,
    remove_page,
    a_rename_keeps_the_history_and_a_merge_adds_everything_up,
    a_start_count_shows_in_totals_and_the_badge_but_not_in_history,
    admin_routes_are_site_scoped,
);
