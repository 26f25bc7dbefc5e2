//! Dimensions on both stores, from real requests: browsers, systems and
//! devices of real user agents, countries from the test GeoIP file
//! (`tests/fixtures/geoip-test.mmdb`), referrers as `/count.js` reports
//! them; only counted hits count; the bound on values per day; what the
//! public and the owner see; exact ranges and site-wide sums; and rows that
//! follow a page when it is merged or removed.

use hyper::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{both_stores, Store, TestApp};
use crate::honest::hit;
use crate::requests::{ADMIN, ADMIN_KEY};

/// Real user agents: (agent, browser, os, device).
const AGENTS: [(&str, &str, &str, &str); 7] = [
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:131.0) Gecko/20100101 Firefox/131.0", "Firefox", "Windows", "desktop"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0", "Edge", "Windows", "desktop"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15", "Safari", "macOS", "desktop"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", "Safari", "iOS", "mobile"),
    ("Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36", "Samsung Internet", "Android", "mobile"),
    ("Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome", "Android", "tablet"),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36 OPR/115.0.0.0", "Opera", "Linux", "desktop"),
];

fn geoip_key() -> (&'static str, String) {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/geoip-test.mmdb");
    ("geoip_database", file.display().to_string())
}

/// `GET url` as the owner (`admin`) or the public; the JSON of a 200.
async fn read(app: &TestApp, url: &str, admin: bool) -> Value {
    let response = if admin {
        app.get_with_token(url, ADMIN).await
    } else {
        app.get(url).await
    };
    assert_eq!(response.status, StatusCode::OK, "{url}: {}", response.text());
    serde_json::from_slice(&response.body).expect("JSON")
}

/// Asserts that `GET url` answers `expected` within 5 s: label sums are
/// written about a second after their hits.
async fn read_eventually(app: &TestApp, url: &str, admin: bool, expected: Value) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let got = read(app, url, admin).await;
        if got == expected || std::time::Instant::now() > deadline {
            assert_eq!(got, expected, "{url}");
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

fn values(pairs: &[(&str, u64)]) -> Value {
    Value::Array(pairs.iter().map(|(v, n)| json!({"value": v, "count": n})).collect())
}

async fn each_dimension_comes_from_real_requests_and_only_counted_hits_count(store: Store) {
    let geoip = geoip_key();
    let app = TestApp::spawn_with(store, &[ADMIN_KEY, (geoip.0, &geoip.1)]).await;
    let own = app.site.base_url();
    let own_host = own
        .trim_start_matches("http://")
        .split(':')
        .next()
        .unwrap_or("")
        .to_owned();
    // One visitor per agent; countries GB (81.2.69.x), FR (203.0.113.x) and
    // DE (2001:db8:1::/48); referrers as count.js sends them, and none
    // from the plain image.
    let visitors = [
        "81.2.69.1",
        "81.2.69.2",
        "203.0.113.1",
        "2001:db8:1:1::1",
        "2001:db8:1:2::1",
        "127.0.0.9",
        "81.2.69.3",
    ];
    let queries = [
        "?r=News.Example.com",
        "?r=news.example.com",
        "?r=",
        "",
        &format!("?r={own_host}"),
        "?r=news.example.com",
        "?r=search.example",
    ];
    for (i, (agent, ..)) in AGENTS.iter().enumerate() {
        hit(
            &app,
            &format!("/call/a{}", queries[i]),
            visitors[i],
            &[("user-agent", agent)],
        )
        .await;
    }
    // Repeats (another referrer, another page query) and filtered hits count nothing.
    hit(
        &app,
        "/call/a?r=spam.example",
        visitors[0],
        &[("user-agent", AGENTS[0].0)],
    )
    .await;
    hit(
        &app,
        "/call/a?r=spam.example",
        "81.2.69.50",
        &[("user-agent", "curl/8.5.0")],
    )
    .await;
    hit(
        &app,
        "/call/a?r=spam.example",
        "81.2.69.51",
        &[("user-agent", AGENTS[0].0), ("sec-purpose", "prefetch")],
    )
    .await;

    let dim = |d: &str| format!("/api/dimensions/a?dim={d}");
    read_eventually(
        &app,
        &dim("browser"),
        true,
        values(&[
            ("Safari", 2),
            ("Chrome", 1),
            ("Edge", 1),
            ("Firefox", 1),
            ("Opera", 1),
            ("Samsung Internet", 1),
        ]),
    )
    .await;
    read_eventually(
        &app,
        &dim("os"),
        true,
        values(&[("Android", 2), ("Windows", 2), ("Linux", 1), ("iOS", 1), ("macOS", 1)]),
    )
    .await;
    read_eventually(
        &app,
        &dim("device"),
        true,
        values(&[("desktop", 4), ("mobile", 2), ("tablet", 1)]),
    )
    .await;
    read_eventually(&app, &dim("country"), true, values(&[("GB", 3), ("DE", 2), ("FR", 1)])).await;
    read_eventually(
        &app,
        &dim("referrer"),
        true,
        values(&[
            ("news.example.com", 3),
            ("(direct)", 1),
            ("(internal)", 1),
            ("search.example", 1),
        ]),
    )
    .await;
    // Site-wide is the same here (one page); the public sees values seen
    // fewer than 3 times as Other.
    read_eventually(
        &app,
        "/api/dimensions?dim=referrer",
        false,
        values(&[("Other", 3), ("news.example.com", 3)]),
    )
    .await;
    // The chart page shows the panels, as the public sees them.
    let plot = app.get("/plot/a").await.text();
    for shown in [
        "Browsers",
        "Operating systems",
        "Devices",
        "Countries",
        "Referrers",
        "news.example.com",
    ] {
        assert!(plot.contains(shown), "{shown} on the chart page");
    }
    assert!(!plot.contains("search.example"), "a rare value is not shown publicly");
    // The dashboard shows the site's panels for its period, beside the top pages.
    let dashboard = app.get("/").await.text();
    let row = dashboard
        .split("<div class=\"panels\">")
        .nth(1)
        .expect("the dashboard's panels row");
    for shown in [
        "<h2>Top pages</h2>",
        "<h2>Browsers</h2>",
        "<h2>Operating systems</h2>",
        "<h2>Devices</h2>",
        "<h2>Countries</h2>",
        "<h2>Referrers</h2>",
        "news.example.com<span>3</span>",
    ] {
        assert!(row.contains(shown), "{shown} on the dashboard: {row}");
    }
    assert!(
        !dashboard.contains("search.example"),
        "a rare value is not shown publicly"
    );
}

async fn values_past_the_bound_add_to_other_and_rare_ones_are_folded_for_the_public(store: Store) {
    let app = TestApp::spawn_with(store, &[ADMIN_KEY, ("max_dimension_values", "2")]).await;
    let agent = AGENTS[0].0;
    let referrers = [
        "a.example",
        "a.example",
        "a.example",
        "b.example",
        "c.example",
        "d.example",
        "c.example",
    ];
    for (i, r) in referrers.iter().enumerate() {
        hit(
            &app,
            &format!("/call/p?r={r}"),
            &format!("203.0.113.{i}"),
            &[("user-agent", agent)],
        )
        .await;
        if i == 3 {
            // Written before the rest (one flush ranks its new values by count).
            read_eventually(
                &app,
                "/api/dimensions/p?dim=referrer",
                true,
                values(&[("a.example", 3), ("b.example", 1)]),
            )
            .await;
        }
    }
    // a and b took the day's two places; c, d and c again went to Other.
    read_eventually(
        &app,
        "/api/dimensions/p?dim=referrer",
        true,
        values(&[("Other", 3), ("a.example", 3), ("b.example", 1)]),
    )
    .await;
    read_eventually(
        &app,
        "/api/dimensions/p?dim=referrer",
        false,
        values(&[("Other", 4), ("a.example", 3)]),
    )
    .await;
    let rows = app
        .stored_i64("SELECT count(*) FROM daily_dimensions WHERE dimension = 2")
        .await;
    assert_eq!(rows, 3, "two values and Other are stored");
}

async fn site_wide_sums_ranges_and_private_sites(store: Store) {
    let app = TestApp::spawn_with(store, &[ADMIN_KEY, ("min_dimension_count", "1")]).await;
    for (i, (agent, ..)) in AGENTS.iter().take(3).enumerate() {
        hit(&app, "/call/a", &format!("203.0.113.{i}"), &[("user-agent", agent)]).await;
        hit(&app, "/call/b", &format!("203.0.113.{i}"), &[("user-agent", agent)]).await;
    }
    let both = values(&[("Edge", 2), ("Firefox", 2), ("Safari", 2)]);
    read_eventually(&app, "/api/dimensions?dim=browser", false, both.clone()).await;
    assert_eq!(read(&app, "/api/dimensions?dim=browser&days=1", false).await, both);
    assert_eq!(
        app.stored_i64(&crate::site_dimensions::mismatches("")).await,
        0,
        "the site's rows are its pages' sums"
    );
    read_eventually(
        &app,
        "/api/dimensions?dim=browser&from=2000-01-01&to=2000-01-31",
        false,
        values(&[]),
    )
    .await;
    read_eventually(
        &app,
        "/api/dimensions/b?dim=os",
        false,
        values(&[("Windows", 2), ("macOS", 1)]),
    )
    .await;
    for (url, status) in [
        ("/api/dimensions", StatusCode::BAD_REQUEST),
        ("/api/dimensions?dim=shoe", StatusCode::BAD_REQUEST),
        ("/api/dimensions?dim=os&limit=3", StatusCode::BAD_REQUEST),
        ("/api/dimensions/nowhere?dim=os", StatusCode::NOT_FOUND),
    ] {
        let response = app.get(url).await;
        assert_eq!(response.status, status, "{url}: {}", response.text());
        assert!(response.text().contains("error"), "{url}");
    }
    let private = TestApp::spawn_with(store, &[ADMIN_KEY, ("public", "false")]).await;
    hit(&private, "/call/a", "203.0.113.1", &[]).await;
    assert_eq!(
        private.get("/api/dimensions?dim=os").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        private.get("/api/dimensions/a?dim=os").await.status,
        StatusCode::NOT_FOUND
    );
    read_eventually(&private, "/api/dimensions/a?dim=os", true, values(&[("Linux", 1)])).await;
    let script = private.get("/count.js").await;
    assert_eq!(
        script.status,
        StatusCode::OK,
        "the script of a private site still counts"
    );
    assert_eq!(script.header("content-type"), "text/javascript; charset=utf-8");
    assert!(script.body.len() < 1024);
}

async fn merged_and_removed_pages_take_their_dimension_rows_along(store: Store) {
    let app = TestApp::spawn_with(store, &[ADMIN_KEY, ("min_dimension_count", "1")]).await;
    hit(&app, "/call/old", "203.0.113.1", &[("user-agent", AGENTS[0].0)]).await;
    hit(&app, "/call/new", "203.0.113.2", &[("user-agent", AGENTS[0].0)]).await;
    hit(&app, "/call/new", "203.0.113.3", &[("user-agent", AGENTS[2].0)]).await;
    read_eventually(
        &app,
        "/api/dimensions/old?dim=browser",
        false,
        values(&[("Firefox", 1)]),
    )
    .await;
    read_eventually(
        &app,
        "/api/dimensions/new?dim=browser",
        false,
        values(&[("Firefox", 1), ("Safari", 1)]),
    )
    .await;
    let merged = app.rename_page("/old", "/new").await;
    assert_eq!(merged.status, StatusCode::OK, "{}", merged.text());
    read_eventually(
        &app,
        "/api/dimensions/new?dim=browser",
        false,
        values(&[("Firefox", 2), ("Safari", 1)]),
    )
    .await;
    let removed = app.admin(Method::DELETE, "/api/admin/pages/new", None).await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.text());
    assert_eq!(app.stored_i64("SELECT count(*) FROM daily_dimensions").await, 0);
    assert_eq!(
        app.stored_i64("SELECT count(*) FROM site_dimensions").await,
        0,
        "the site's rows go with its last page's"
    );
}

/// The site's panels read the site's rows of the period; when that read
/// fails (here: its table is gone), the overview still answers without them.
async fn the_dashboard_answers_when_the_site_panels_cannot_be_read(store: Store) {
    let app = TestApp::spawn(store).await;
    assert_eq!(app.get_as("/call/a", "203.0.113.1").await.status, StatusCode::OK);
    app.execute(
        "ALTER TABLE site_dimensions RENAME TO hidden_dimensions;",
        "ALTER TABLE site_dimensions RENAME TO hidden_dimensions;",
    )
    .await;
    let dashboard = app.get("/").await;
    assert_eq!(dashboard.status, StatusCode::OK);
    let html = dashboard.text();
    assert!(html.contains("<h2>Top pages</h2>"), "{html}");
    assert!(html.contains("class=\"card chart\""), "{html}");
    assert!(html.contains("Not available for this period"), "{html}");
    assert!(!html.contains("<h2>Browsers</h2>"), "{html}");
    app.execute(
        "ALTER TABLE hidden_dimensions RENAME TO site_dimensions;",
        "ALTER TABLE hidden_dimensions RENAME TO site_dimensions;",
    )
    .await;
    let html = app.get("/").await.text();
    assert!(html.contains("<h2>Browsers</h2>"), "{html}");
    assert!(!html.contains("Not available for this period"), "{html}");
}

both_stores!(
    the_dashboard_answers_when_the_site_panels_cannot_be_read,
    each_dimension_comes_from_real_requests_and_only_counted_hits_count,
    values_past_the_bound_add_to_other_and_rare_ones_are_folded_for_the_public,
    site_wide_sums_ranges_and_private_sites,
    merged_and_removed_pages_take_their_dimension_rows_along,
);
