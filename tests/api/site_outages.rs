//! The tracked site failing is not the page's fault: a 5xx or a network
//! error answers 503, is not remembered as "not a page", and a later
//! request registers the page once the site is back.

use std::time::{Duration, Instant};

use hyper::StatusCode;

use crate::helpers::{Store, TestApp};

#[tokio::test]
async fn a_page_first_seen_while_the_site_fails_registers_once_the_site_is_back() {
    let app = TestApp::spawn(Store::Sqlite).await;
    app.site.set_failing(true);
    let response = app.get_as("/call/new-post", "203.0.113.1").await;
    assert_eq!(response.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.header("retry-after"), "5");
    assert_eq!(app.site.probes_of("/new-post"), 1);
    // During the back-off, other new pages are not probed either.
    let again = app.get_as("/call/other-post", "203.0.113.1").await;
    assert_eq!(again.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(app.site.probes_of("/other-post"), 0, "a down site is not hammered");

    app.site.set_failing(false);
    let back = Instant::now();
    loop {
        let response = app.get_as("/call/new-post", "203.0.113.1").await;
        if response.status == StatusCode::OK {
            break;
        }
        assert_eq!(response.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(back.elapsed() < Duration::from_secs(10), "retried within 10 s");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(
        app.count_of("/new-post").await,
        Some(1),
        "counted once, after the outage"
    );
}

#[tokio::test]
async fn a_page_the_site_rejects_stays_rejected() {
    let app = TestApp::spawn(Store::Sqlite).await;
    assert_eq!(
        app.get_as("/call/missing/x", "203.0.113.1").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get_as("/call/missing/x", "203.0.113.1").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.site.probes_of("/missing/x"), 1, "a definite 404 is remembered");
}
