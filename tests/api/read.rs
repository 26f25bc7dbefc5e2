//! The read side on both stores: counts and history API, charts, pages,
//! badges, time zones.

use hyper::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{both_stores, Store, TestApp};

/// Calls spread over January 2025 (UTC): /a has 5, /b has 2.
const CALLS: &[(&str, &str)] = &[
    ("/a", "2025-01-01T10:00:00Z"),
    ("/a", "2025-01-01T10:30:00Z"),
    ("/a", "2025-01-03T23:59:59Z"),
    ("/a", "2025-01-13T00:00:00Z"),
    ("/a", "2025-01-31T12:00:00Z"),
    ("/b", "2025-01-02T08:00:00Z"),
    ("/b", "2025-01-20T08:00:00Z"),
];

async fn seeded(store: Store) -> TestApp {
    let mut app = TestApp::spawn(store).await;
    app.seed(CALLS).await;
    app
}

fn body(response: &crate::helpers::TestResponse) -> Value {
    assert_eq!(
        response.header("content-type"),
        "application/json",
        "{}",
        response.text()
    );
    serde_json::from_slice(&response.body).expect("JSON")
}

async fn get_json(app: &TestApp, url: &str) -> Value {
    let response = app.get(url).await;
    assert_eq!(response.status, StatusCode::OK, "{url}: {}", response.text());
    body(&response)
}

async fn counts_take_a_range_of_days_and_a_limit(store: Store) {
    let app = seeded(store).await;
    assert_eq!(
        get_json(&app, "/api/counts").await,
        json!([{"path": "/a", "count": 5}, {"path": "/b", "count": 2}])
    );
    assert_eq!(
        get_json(&app, "/api/counts?from=2025-01-02&to=2025-01-13").await,
        json!([{"path": "/a", "count": 2}, {"path": "/b", "count": 1}])
    );
    assert_eq!(
        get_json(&app, "/api/counts?from=2025-01-14&to=2025-01-20").await,
        json!([{"path": "/b", "count": 1}])
    );
    assert_eq!(
        get_json(&app, "/api/counts?limit=1").await,
        json!([{"path": "/a", "count": 5}])
    );
    assert_eq!(get_json(&app, "/api/counts?days=7").await, json!([]));
}

async fn one_page_has_count_first_and_last(store: Store) {
    let app = seeded(store).await;
    assert_eq!(
        get_json(&app, "/api/counts/a").await,
        json!({"path": "/a", "count": 5, "first": "2025-01-01T10:00:00+00:00", "last": "2025-01-31T12:00:00+00:00", "proxied": 0, "filtered": {"bot": 0, "prefetch": 0, "ignored": 0, "foreign_embed": 0}})
    );
    assert_eq!(
        get_json(&app, "/api/counts/a?from=2025-01-02&to=2025-01-13").await,
        json!({"path": "/a", "count": 2, "first": "2025-01-03T23:59:59+00:00", "last": "2025-01-13T00:00:00+00:00", "proxied": 0, "filtered": {"bot": 0, "prefetch": 0, "ignored": 0, "foreign_embed": 0}})
    );
    assert_eq!(
        get_json(&app, "/api/counts/a?from=2025-02-01&to=2025-02-02").await,
        json!({"path": "/a", "count": 0, "first": null, "last": null, "proxied": 0, "filtered": {"bot": 0, "prefetch": 0, "ignored": 0, "foreign_embed": 0}})
    );
    let unknown = app.get("/api/counts/nope").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(body(&unknown)["error"].is_string());
}

async fn history_lists_call_times_and_pages_through_them(store: Store) {
    let app = seeded(store).await;
    let all = get_json(&app, "/api/history/a").await;
    assert_eq!(all.as_array().map(Vec::len), Some(5));
    assert_eq!(all[0], "2025-01-01T10:00:00+00:00");
    assert_eq!(all[4], "2025-01-31T12:00:00+00:00");

    let first_page = app.get("/api/history/a?limit=2").await;
    assert_eq!(
        body(&first_page),
        json!(["2025-01-01T10:00:00+00:00", "2025-01-01T10:30:00+00:00"])
    );
    let next = first_page.header("link").to_owned();
    assert!(next.contains("rel=\"next\""), "{next}");
    let next_url = next
        .trim_start_matches('<')
        .split('>')
        .next()
        .expect("link target")
        .to_owned();
    assert_eq!(
        get_json(&app, &next_url).await,
        json!(["2025-01-03T23:59:59+00:00", "2025-01-13T00:00:00+00:00"])
    );
    assert_eq!(
        get_json(&app, "/api/history/a?after=2025-01-13T00:00:00Z").await,
        json!(["2025-01-31T12:00:00+00:00"])
    );
    assert_eq!(
        get_json(&app, "/api/history/a?from=2025-01-02&to=2025-01-13").await,
        json!(["2025-01-03T23:59:59+00:00", "2025-01-13T00:00:00+00:00"])
    );
}

async fn history_buckets_include_empty_ones_inside_the_range(store: Store) {
    let app = seeded(store).await;
    assert_eq!(
        get_json(&app, "/api/history/a?bucket=day&from=2025-01-01&to=2025-01-04").await,
        json!([
            {"start": "2025-01-01T00:00:00+00:00", "count": 2},
            {"start": "2025-01-02T00:00:00+00:00", "count": 0},
            {"start": "2025-01-03T00:00:00+00:00", "count": 1},
            {"start": "2025-01-04T00:00:00+00:00", "count": 0},
        ])
    );
    // 2025-01-01 is a Wednesday: its week starts on Monday 2024-12-30.
    assert_eq!(
        get_json(&app, "/api/history/a?bucket=week&from=2025-01-01&to=2025-01-19").await,
        json!([
            {"start": "2024-12-30T00:00:00+00:00", "count": 3},
            {"start": "2025-01-06T00:00:00+00:00", "count": 0},
            {"start": "2025-01-13T00:00:00+00:00", "count": 1},
        ])
    );
    assert_eq!(
        get_json(&app, "/api/history/a?bucket=month&from=2025-01-01&to=2025-02-28").await,
        json!([{"start": "2025-01-01T00:00:00+00:00", "count": 5}, {"start": "2025-02-01T00:00:00+00:00", "count": 0}])
    );
    let hours = get_json(&app, "/api/history/a?bucket=hour&from=2025-01-01&to=2025-01-01").await;
    let hours = hours.as_array().expect("array");
    assert_eq!(hours.len(), 24);
    assert_eq!(hours[10], json!({"start": "2025-01-01T10:00:00+00:00", "count": 2}));
    assert_eq!(hours.iter().map(|h| h["count"].as_u64().unwrap_or(0)).sum::<u64>(), 2);
}

async fn the_chart_is_svg_from_daily_counts(store: Store) {
    let app = seeded(store).await;
    let chart = app.get("/api/plot/a").await;
    assert_eq!(chart.status, StatusCode::OK);
    assert_eq!(chart.header("content-type"), "image/svg+xml");
    let svg = chart.text();
    assert!(svg.starts_with("<svg") && svg.contains("</svg>"));
    assert!(svg.contains("/a"));
    assert!(app.get("/api/plot/a?days=30").await.text().starts_with("<svg"));
}

async fn bad_parameters_get_400_naming_the_parameter(store: Store) {
    let app = seeded(store).await;
    for (url, name) in [
        ("/api/counts?from=2025-13-01", "from"),
        ("/api/counts?from=2025-02-01&to=2025-01-01", "from"),
        ("/api/counts?days=0", "days"),
        ("/api/counts?days=100000", "days"),
        ("/api/counts?limit=0", "limit"),
        ("/api/counts?limit=99999999", "limit"),
        ("/api/history/a?bucket=year", "bucket"),
        ("/api/history/a?limit=10001", "limit"),
        ("/api/history/a?after=yesterday", "after"),
        ("/api/history/a?bucket=hour&from=2025-01-01&to=2025-03-01", "bucket"),
        ("/api/counts/a?limit=1", "limit"),
        ("/api/plot/a?colour=red", "colour"),
    ] {
        let response = app.get(url).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{url}");
        let message = body(&response)["error"].as_str().unwrap_or_default().to_owned();
        assert!(message.contains(&format!("`{name}`")), "{url}: {message}");
    }
}

async fn the_chart_page_shows_the_numbers_and_the_chart(store: Store) {
    let app = seeded(store).await;
    let page = app.get("/plot/a").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
    let html = page.text();
    for expected in [
        "<h1>/a</h1>",
        "<dt>Total since 2025-01-01</dt><dd>5</dd>",
        "<dt>Last call</dt><dd>2025-01-31 12:00",
        "<svg",
        "<dt>Daily average in range</dt>",
        "href=\"/plot/a?total=1\">Show the running total</a>",
    ] {
        assert!(html.contains(expected), "missing {expected}");
    }
    for range in [
        "/plot/a?days=7",
        "/plot/a?days=30",
        "/plot/a?days=365",
        "href=\"/plot/a\"",
    ] {
        assert!(html.contains(range), "missing link {range}");
    }
    // Over "All" the range's calls would repeat the total; in a range they are their own card.
    assert!(!html.contains("Calls in range"));
    let january = app.get("/plot/a?from=2025-01-02&to=2025-01-31").await.text();
    assert!(january.contains("<dt>Calls in range</dt><dd>3</dd>"), "{january}");
    assert!(!html.contains(">\ntotal\n<"), "no running total by default");
    assert!(app.get("/plot/a?total=1").await.text().contains(">\ntotal\n<"));
    let missing = app.get("/plot/never-seen").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.text().contains("No such page"));
}

async fn the_dashboard_lists_every_page_by_total(store: Store) {
    let app = seeded(store).await;
    let html = app.get("/?sort=total").await.text();
    let a = html.find("href=\"/plot/a\"").expect("link to /a");
    let b = html.find("href=\"/plot/b\"").expect("link to /b");
    assert!(a < b, "sorted by total");
    assert!(html.contains("127.0.0.1"), "the site name is in the title");
}

async fn the_badge_counts_like_call_and_shows_the_total(store: Store) {
    let app = TestApp::spawn(store).await;
    let first = app.get_as("/badge/post", "203.0.113.1").await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.header("content-type"), "image/svg+xml");
    assert_eq!(first.header("cache-control"), "no-cache, no-store");
    assert!(first.text().contains(">1<"), "{}", first.text());
    app.get_as("/badge/post", "203.0.113.1").await; // a repeat
    let third = app.get_as("/badge/post?label=hits", "203.0.113.2").await;
    assert!(
        third.text().contains(">2<") && third.text().contains(">hits<"),
        "{}",
        third.text()
    );
    assert_eq!(app.count_of("/post").await, Some(2));
    let missing = app.get_as("/badge/missing/x", "203.0.113.1").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        missing.header("content-type"),
        "image/svg+xml",
        "an error is a badge too"
    );
}

both_stores!(
    counts_take_a_range_of_days_and_a_limit,
    one_page_has_count_first_and_last,
    history_lists_call_times_and_pages_through_them,
    history_buckets_include_empty_ones_inside_the_range,
    the_chart_is_svg_from_daily_counts,
    bad_parameters_get_400_naming_the_parameter,
    the_chart_page_shows_the_numbers_and_the_chart,
    the_dashboard_lists_every_page_by_total,
    the_badge_counts_like_call_and_shows_the_total
);

#[tokio::test]
async fn paths_are_escaped_in_pages_charts_and_badges() {
    let mut app = TestApp::spawn_with(Store::Sqlite, &[("tracked_base_url", "")]).await;
    let hostile = "/%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E";
    app.seed(&[("/\"><script>alert(1)</script>", "2025-01-01T10:00:00Z")])
        .await;
    for url in [format!("/plot{hostile}"), format!("/api/plot{hostile}"), "/".to_owned()] {
        let response = app.get(&url).await;
        assert_eq!(response.status, StatusCode::OK, "{url}");
        let text = response.text();
        assert!(!text.contains("<script"), "{url} carries markup: {text}");
        assert!(text.contains("&lt;script&gt;"), "{url} shows the path as text");
    }
    let badge = app.get_as("/badge/x?label=%3Cscript%3E", "203.0.113.1").await.text();
    assert!(!badge.contains("<script") && badge.contains("&lt;script&gt;"));
}

async fn a_named_time_zone_sets_days_and_displayed_times(store: Store) {
    let mut app = TestApp::spawn_with(store, &[("timezone", "Europe/Berlin")]).await;
    // 23:30 UTC on 2025-01-01 is 00:30 on 2025-01-02 in Berlin (UTC+1); July is UTC+2.
    app.seed(&[("/a", "2025-01-01T23:30:00Z"), ("/a", "2025-07-01T22:30:00Z")])
        .await;
    assert_eq!(
        get_json(&app, "/api/counts/a").await,
        json!({"path": "/a", "count": 2, "first": "2025-01-02T00:30:00+01:00", "last": "2025-07-02T00:30:00+02:00", "proxied": 0, "filtered": {"bot": 0, "prefetch": 0, "ignored": 0, "foreign_embed": 0}})
    );
    let days = get_json(&app, "/api/history/a?bucket=day&from=2025-01-01&to=2025-01-02").await;
    assert_eq!(
        days,
        json!([{"start": "2025-01-01T00:00:00+01:00", "count": 0}, {"start": "2025-01-02T00:00:00+01:00", "count": 1}])
    );
}

async fn rebuild_daily_recomputes_days_after_a_zone_change(store: Store) {
    let mut app = TestApp::spawn(store).await;
    app.seed(&[("/a", "2025-01-01T23:30:00Z")]).await;
    assert_eq!(
        get_json(&app, "/api/counts?from=2025-01-01&to=2025-01-01").await,
        json!([{"path": "/a", "count": 1}])
    );
    app.stop().await;
    let config = app.data_dir().join("config.yaml");
    let yaml = std::fs::read_to_string(&config).expect("config");
    std::fs::write(&config, format!("{yaml}timezone: Asia/Tokyo\n")).expect("config");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_footfall"))
        .arg("--data-dir")
        .arg(app.data_dir())
        .arg("rebuild-daily")
        .output()
        .expect("run rebuild-daily");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    app.restart().await;
    // 23:30 UTC is 08:30 the next morning in Tokyo.
    assert_eq!(
        get_json(&app, "/api/counts?from=2025-01-01&to=2025-01-01").await,
        json!([])
    );
    assert_eq!(
        get_json(&app, "/api/counts?from=2025-01-02&to=2025-01-02").await,
        json!([{"path": "/a", "count": 1}])
    );
    assert_eq!(
        get_json(&app, "/api/counts/a").await["count"],
        1,
        "totals are untouched"
    );
    // The site's days are rebuilt with the pages'.
    assert_eq!(
        get_json(&app, "/api/history?from=2025-01-01&to=2025-01-02").await,
        json!([{"start": "2025-01-01T00:00:00+09:00", "count": 0}, {"start": "2025-01-02T00:00:00+09:00", "count": 1}])
    );
    assert_eq!(app.stored_i64(&crate::site_days::mismatches("")).await, 0);
}

both_stores!(
    a_named_time_zone_sets_days_and_displayed_times,
    rebuild_daily_recomputes_days_after_a_zone_change
);
