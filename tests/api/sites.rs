//! Several sites in one Footfall: each page is (site, path), each new path
//! is checked against its own site's origin, and the single-site setup (and
//! its data) keeps working.

use hyper::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{both_stores, Setup, Store, TestApp, TestStore};
use crate::lifecycle::{exit_of, footfall};
use crate::site::TrackedSite;

/// Two sites, `blog` on the app's own stub and `docs` on `docs`, with
/// `blog` the default.
async fn two_sites(store: Store, docs: &TrackedSite) -> TestApp {
    let blog = TrackedSite::start().await;
    let sites = format!(
        "{{blog: {{tracked_base_url: '{}'}}, docs: {{tracked_base_url: '{}'}}}}",
        blog.base_url(),
        docs.base_url()
    );
    let mut app = TestApp::spawn_with(
        store,
        &[("tracked_base_url", ""), ("sites", &sites), ("default_site", "blog")],
    )
    .await;
    app.site = blog;
    app
}

fn json_of(response: &crate::helpers::TestResponse) -> Value {
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    serde_json::from_slice(&response.body).expect("JSON")
}

async fn the_same_path_on_two_sites_is_two_pages_probed_at_their_own_origins(store: Store) {
    let docs = TrackedSite::start().await;
    let app = two_sites(store, &docs).await;
    for (site, ip) in [
        ("blog", "203.0.113.1"),
        ("docs", "203.0.113.1"),
        ("docs", "203.0.113.2"),
    ] {
        let response = app.get_as(&format!("/s/{site}/call/guide"), ip).await;
        assert_eq!(response.status, StatusCode::OK, "{site}");
    }
    assert_eq!(app.site.probes_of("/guide"), 1, "blog's stub checked blog's page");
    assert_eq!(docs.probes_of("/guide"), 1, "docs' stub checked docs' page");
    let blog_counts = json_of(&app.get("/s/blog/api/counts").await);
    let docs_counts = json_of(&app.get("/s/docs/api/counts").await);
    assert_eq!(blog_counts, json!([{"path": "/guide", "count": 1}]));
    assert_eq!(
        docs_counts,
        json!([{"path": "/guide", "count": 2}]),
        "one visitor counts once on each site"
    );
    // The unprefixed routes are the default site's.
    assert_eq!(json_of(&app.get("/api/counts").await), blog_counts);
    assert_eq!(app.get_as("/call/guide", "203.0.113.3").await.status, StatusCode::OK);
    assert_eq!(json_of(&app.get("/api/counts/guide").await)["count"], 2);
    assert_eq!(json_of(&app.get("/s/docs/api/counts/guide").await)["count"], 2);
    let sites = json_of(&app.get("/api/sites").await);
    assert_eq!(
        sites,
        json!([
            {"site": "blog", "tracked_base_url": format!("{}/", app.site.base_url()), "pages": 1, "count": 2},
            {"site": "docs", "tracked_base_url": format!("{}/", docs.base_url()), "pages": 1, "count": 2},
        ])
    );
}

async fn a_page_only_one_site_has_is_404_on_the_other(store: Store) {
    let docs = TrackedSite::start().await;
    let app = two_sites(store, &docs).await;
    assert_eq!(
        app.get_as("/s/docs/call/missing/x", "203.0.113.1").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(docs.probes_of("/missing/x"), 1, "docs' own origin was asked");
    assert_eq!(app.site.probes_of("/missing/x"), 0, "never another site's origin");
    assert_eq!(
        app.get_as("/s/blog/call/missing/x", "203.0.113.1").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.site.probes_of("/missing/x"), 1, "negative caches are per site");
}

async fn an_unknown_site_is_404_and_stores_nothing(store: Store) {
    let docs = TrackedSite::start().await;
    let app = two_sites(store, &docs).await;
    for path in [
        "/s/shop/call/a",
        "/s/shop/badge/a",
        "/s/shop/api/counts",
        "/s/shop/",
        "/s/Blog/call/a",
    ] {
        assert_eq!(
            app.get_as(path, "203.0.113.1").await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    assert_eq!(app.stored_calls().await, 0);
    assert_eq!(app.site.total_probes() + docs.total_probes(), 0);
    // Process-wide routes exist only unprefixed.
    assert_eq!(app.get("/s/blog/healthz").await.status, StatusCode::NOT_FOUND);
}

async fn the_dashboard_switches_sites_and_keeps_its_prefix(store: Store) {
    let docs = TrackedSite::start().await;
    let app = two_sites(store, &docs).await;
    app.get_as("/s/docs/call/guide", "203.0.113.1").await;
    let page = app.get("/s/docs/").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains(r#"<a href="/s/blog/">blog</a>"#), "{html}");
    assert!(
        html.contains(r#"<a href="/s/docs/" aria-current="page">docs</a>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"href="/s/docs/plot/guide""#),
        "links keep the prefix: {html}"
    );
    let plot = app.get("/s/docs/plot/guide").await.text();
    assert!(
        plot.contains(r#"href="/s/docs/api/history/guide?bucket=day""#),
        "{plot}"
    );
    assert_eq!(
        app.get("/plot/guide").await.status,
        StatusCode::NOT_FOUND,
        "blog has no such page"
    );
}

both_stores!(
    the_same_path_on_two_sites_is_two_pages_probed_at_their_own_origins,
    a_page_only_one_site_has_is_404_on_the_other,
    an_unknown_site_is_404_and_stores_nothing,
    the_dashboard_switches_sites_and_keeps_its_prefix,
    a_database_of_the_previous_release_upgrades_and_can_be_renamed,
);

#[tokio::test]
async fn a_flood_of_new_paths_on_one_site_leaves_another_able_to_register() {
    let docs = TrackedSite::start().await;
    let app = two_sites(Store::Sqlite, &docs).await;
    let mut refused = 0;
    for i in 0..40 {
        let status = app
            .get_as(&format!("/s/blog/call/flood/{i}"), "203.0.113.1")
            .await
            .status;
        refused += usize::from(status == StatusCode::SERVICE_UNAVAILABLE);
    }
    assert!(refused > 0, "blog's probe budget ran out");
    let docs_page = app.get_as("/s/docs/call/new-page", "203.0.113.1").await;
    assert_eq!(docs_page.status, StatusCode::OK, "docs has a budget of its own");
}

#[tokio::test]
async fn one_sites_max_paths_does_not_use_up_anothers() {
    let (blog, docs) = (TrackedSite::start().await, TrackedSite::start().await);
    let sites = format!(
        "{{blog: {{tracked_base_url: '{}', max_paths: 2}}, docs: {{tracked_base_url: '{}'}}}}",
        blog.base_url(),
        docs.base_url()
    );
    let app = TestApp::spawn_with(
        Store::Sqlite,
        &[("tracked_base_url", ""), ("sites", &sites), ("default_site", "blog")],
    )
    .await;
    for page in ["a", "b"] {
        let status = app.get_as(&format!("/s/blog/call/{page}"), "203.0.113.1").await.status;
        assert_eq!(status, StatusCode::OK, "{page}");
    }
    let full = app.get_as("/s/blog/call/c", "203.0.113.1").await.status;
    assert_eq!(full, StatusCode::NOT_FOUND, "blog is at its max_paths");
    for page in ["a", "b", "c"] {
        let status = app.get_as(&format!("/s/docs/call/{page}"), "203.0.113.1").await.status;
        assert_eq!(status, StatusCode::OK, "docs has room of its own: {page}");
    }
}

/// The schema and data of the release before sites, then this release on it.
async fn a_database_of_the_previous_release_upgrades_and_can_be_renamed(store: Store) {
    let old = TestStore::open(store, "").await;
    old.execute(
        &[
            include_str!("../../sql/postgres/0001_init.sql"),
            include_str!("../../sql/postgres/0002_daily_counts_by_day.sql"),
            include_str!("../../sql/postgres/0003_recorded_batches.sql"),
            "CREATE TABLE schema_migrations (version bigint PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());\
             INSERT INTO schema_migrations (version) VALUES (1), (2), (3);\
             INSERT INTO paths (path, total, first_call, last_call) VALUES ('/old', 2, '2025-01-01T10:00:00Z', '2025-01-02T10:00:00Z');\
             INSERT INTO calls VALUES (1, '2025-01-01T10:00:00Z'), (1, '2025-01-02T10:00:00Z');\
             INSERT INTO daily_counts VALUES (1, '2025-01-01', 1), (1, '2025-01-02', 1);",
        ]
        .join("\n"),
        &[
            include_str!("../../sql/sqlite/0001_init.sql"),
            include_str!("../../sql/sqlite/0002_recorded_batches.sql"),
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT;\
             INSERT INTO schema_migrations VALUES (1, 0), (2, 0);\
             INSERT INTO paths (path, total, first_call, last_call, registered_at) \
               VALUES ('/old', 2, 1735725600000000, 1735812000000000, 0);\
             INSERT INTO calls VALUES (1, 1735725600000000), (1, 1735812000000000);\
             INSERT INTO daily_counts VALUES (1, 20089, 1), (1, 20090, 1);",
        ]
        .join("\n"),
    )
    .await;
    let data = old.dir.path().to_owned();
    let setup = |overrides| Setup {
        overrides,
        data_dir: Some(data.clone()),
        db: old.db.clone(),
        ..Setup::default()
    };
    let mut app = TestApp::spawn_setup(store, setup(&[])).await;
    let expected = json!({
        "path": "/old", "count": 2, "first": "2025-01-01T10:00:00+00:00", "last": "2025-01-02T10:00:00+00:00",
        "proxied": 0, "filtered": {"bot": 0, "prefetch": 0, "ignored": 0, "foreign_embed": 0}
    });
    assert_eq!(
        json_of(&app.get("/api/counts/old").await),
        expected,
        "served as site default"
    );
    assert_eq!(json_of(&app.get("/s/default/api/counts/old").await), expected);
    let days = json_of(
        &app.get("/api/history/old?bucket=day&from=2025-01-01&to=2025-01-02")
            .await,
    );
    let counts: Vec<&Value> = days.as_array().expect("days").iter().map(|d| &d["count"]).collect();
    assert_eq!(counts, [1, 1], "per-day counts intact: {days}");
    app.stop().await;

    // Moving to `sites:`: the data follows the slug.
    let (code, stderr) = exit_of(footfall(&data).args(["sites", "rename", "default", "blog"]));
    assert_eq!(code, Some(0), "{stderr}");
    let (code, stderr) = exit_of(footfall(&data).args(["sites", "rename", "default", "blog"]));
    assert_eq!(code, Some(2), "there is no default any more: {stderr}");
    let sites = "{blog: {}, docs: {}}";
    let app = TestApp::spawn_setup(
        store,
        setup(&[("tracked_base_url", ""), ("sites", sites), ("default_site", "blog")]),
    )
    .await;
    assert_eq!(json_of(&app.get("/s/blog/api/counts/old").await)["count"], 2);
    assert_eq!(app.get("/s/docs/api/counts/old").await.status, StatusCode::NOT_FOUND);
    app.get_as("/s/docs/call/new", "203.0.113.1").await;
    drop(app);
    let (code, stderr) = exit_of(footfall(&data).args(["sites", "rename", "blog", "docs"]));
    assert_eq!(code, Some(2), "docs holds data: {stderr}");
    assert!(stderr.contains("already has 1 pages"), "{stderr}");
}
