//! The badge on both stores: every option renders an SVG and the hit
//! counts; unknown parameters and bad values never break the image; errors
//! are badges too; nothing a badge answers may be cached; and by default it
//! counts visitors and proxied views, so a README badge counts README views.

use hyper::{Method, StatusCode};

use crate::helpers::{both_stores, send, Store, TestApp, TestResponse};
use crate::honest::{hit, json_at, CAMO};

fn assert_badge(url: &str, response: &TestResponse, status: StatusCode) {
    assert_eq!(response.status, status, "{url}: {}", response.text());
    assert_eq!(response.header("content-type"), "image/svg+xml", "{url}");
    assert_eq!(response.header("cache-control"), "no-cache, no-store", "{url}");
    let text = response.text();
    assert!(text.starts_with("<svg") && text.ends_with("</svg>"), "{url}: {text}");
}

async fn every_option_renders_an_svg_and_the_hit_counts(store: Store) {
    let app = TestApp::spawn(store).await;
    let long_label = "l".repeat(200);
    let queries = [
        "v=2".to_owned(),
        format!("label={long_label}"),
        "label=%FF%FE".to_owned(),
        "color=brightgreen".to_owned(),
        "color=%23ff8800".to_owned(),
        "color=not-a-color".to_owned(),
        "label_color=abc".to_owned(),
        "style=flat".to_owned(),
        "style=flat-square".to_owned(),
        "style=for-the-badge".to_owned(),
        "style=3d".to_owned(),
        "show=total".to_owned(),
        "show=today".to_owned(),
        "show=both".to_owned(),
        "count=visitors".to_owned(),
        "count=proxied".to_owned(),
        "count=all".to_owned(),
        "count=everything&show=never&utm_source=readme".to_owned(),
    ];
    for (i, query) in queries.iter().enumerate() {
        let url = format!("/badge/readme?{query}");
        let response = hit(&app, &url, &format!("203.0.113.{i}"), &[]).await;
        assert_badge(&url, &response, StatusCode::OK);
        if query.starts_with("label=l") {
            let shortened = format!("{}…", "l".repeat(39));
            assert!(response.text().contains(&shortened), "{}", response.text());
        }
    }
    let all = queries.len() as u64;
    assert_eq!(app.count_of("/readme").await, Some(all), "every one counted");
    let both = app
        .get_as("/badge/readme?show=both&style=for-the-badge", "192.0.2.1")
        .await;
    let expected = format!("{n} / {n}", n = all + 1);
    assert!(both.text().contains(&format!("VIEWS: {expected}")), "{}", both.text());
}

async fn visitors_and_proxied_views_add_up_by_default(store: Store) {
    let app = TestApp::spawn(store).await;
    hit(&app, "/call/readme", "203.0.113.1", &[]).await;
    hit(&app, "/call/readme", "140.82.115.1", &[("user-agent", CAMO)]).await;
    let curl = [("user-agent", "curl/8.5.0")]; // a bot: reading the badge changes no count
    for (query, shown) in [
        ("", "2"),
        ("?count=visitors", "1"),
        ("?count=proxied", "1"),
        ("?show=today", "2"),
        ("?count=visitors&show=both", "1 / 1"),
    ] {
        let badge = hit(&app, &format!("/badge/readme{query}"), "198.51.100.1", &curl).await;
        assert!(
            badge.text().contains(&format!("views: {shown}<")),
            "{query}: {}",
            badge.text()
        );
    }
    let camo_badge = hit(&app, "/badge/readme", "140.82.115.1", &[("user-agent", CAMO)]).await;
    assert_eq!(camo_badge.header("cache-control"), "no-cache, no-store");
    hit(&app, "/call/other", "203.0.113.77", &[]).await; // commits the queued bot count
    assert_eq!(json_at(&app, "/api/counts/readme").await["filtered"]["bot"], 1);
}

async fn errors_are_badges_that_are_never_cached(store: Store) {
    let app = TestApp::spawn(store).await;
    for (url, status) in [
        ("/badge/a%00b", StatusCode::BAD_REQUEST),
        ("/badge/missing/x", StatusCode::NOT_FOUND),
        ("/s/nosuchsite/badge/a", StatusCode::NOT_FOUND),
    ] {
        assert_badge(url, &app.get_as(url, "203.0.113.1").await, status);
    }
    let post = send(app.addr, Method::POST, "/badge/a", &[]).await;
    assert_badge("POST /badge/a", &post, StatusCode::METHOD_NOT_ALLOWED);
    assert!(app.counts().await.is_empty(), "nothing recorded");
}

both_stores!(
    every_option_renders_an_svg_and_the_hit_counts,
    visitors_and_proxied_views_add_up_by_default,
    errors_are_badges_that_are_never_cached,
);
