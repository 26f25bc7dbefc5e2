//! New paths: probing the tracked site, single-flight, negative cache,
//! probe budget, redirects, max_paths.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::StatusCode;

use crate::helpers::{both_stores, Store, TestApp};
use crate::ports::free_port;

async fn a_path_the_tracked_site_rejects_gets_404_and_nothing_is_stored(store: Store) {
    let app = TestApp::spawn(store).await;
    let response = app.get_as("/call/missing/page", "203.0.113.1").await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert!(app.counts().await.is_empty());
    assert_eq!(app.stored_calls().await, 0);
}

async fn fifty_concurrent_first_requests_for_one_path_probe_once(store: Store) {
    let app = Arc::new(TestApp::spawn(store).await);
    let requests: Vec<_> = (0..50)
        .map(|i| {
            let app = Arc::clone(&app);
            tokio::spawn(async move { app.get_as("/call/slow/new", &format!("203.0.113.{i}")).await.status })
        })
        .collect();
    for request in requests {
        assert_eq!(request.await.expect("request task"), StatusCode::OK);
    }
    assert_eq!(app.site.probes_of("/slow/new"), 1);
    assert_eq!(app.counts().await, vec![("/slow/new".to_owned(), 50)]);
}

both_stores!(
    a_path_the_tracked_site_rejects_gets_404_and_nothing_is_stored,
    fifty_concurrent_first_requests_for_one_path_probe_once
);

#[tokio::test]
async fn repeated_requests_for_a_bogus_path_probe_once() {
    let app = TestApp::spawn(Store::Sqlite).await;
    for i in 0..10 {
        assert_eq!(
            app.get_as("/call/missing/x", &format!("203.0.113.{i}")).await.status,
            StatusCode::NOT_FOUND
        );
    }
    assert_eq!(app.site.probes_of("/missing/x"), 1);
}

#[tokio::test]
async fn a_flood_of_new_paths_beyond_the_budget_gets_503_and_the_site_sees_no_more_than_the_budget() {
    let app = TestApp::spawn_with(Store::Sqlite, &[("probe_rate_per_second", "2"), ("probe_burst", "3")]).await;
    let started = Instant::now();
    let mut over_budget = 0;
    for i in 0..40 {
        let response = app.get_as(&format!("/call/missing/flood-{i}"), "203.0.113.1").await;
        match response.status {
            StatusCode::SERVICE_UNAVAILABLE => {
                assert!(!response.header("retry-after").is_empty());
                over_budget += 1;
            }
            StatusCode::NOT_FOUND => {}
            other => panic!("unexpected {other}"),
        }
    }
    let allowed = 3 + (started.elapsed().as_secs_f64() * 2.0).ceil() as usize;
    assert!(over_budget > 0, "the flood must hit the budget");
    assert!(
        app.site.total_probes() <= allowed,
        "{} probes > budget {allowed}",
        app.site.total_probes()
    );
    assert!(app.counts().await.is_empty());
}

#[tokio::test]
async fn redirects_are_followed_only_within_the_tracked_origin() {
    let app = TestApp::spawn(Store::Sqlite).await;
    assert_eq!(
        app.get_as("/call/to-inside", "203.0.113.1").await.status,
        StatusCode::OK
    );
    assert_eq!(app.site.probes_of("/inside"), 1, "the redirect was followed");
    assert_eq!(
        app.get_as("/call/to-outside", "203.0.113.1").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.site.probes_of("/inside"),
        1,
        "a redirect to another origin is not followed"
    );
    assert_eq!(app.counts().await, vec![("/to-inside".to_owned(), 1)]);
}

#[tokio::test]
async fn hostile_paths_cannot_make_the_probe_leave_the_tracked_origin() {
    let app = TestApp::spawn(Store::Sqlite).await;
    for path in [
        "/call/@evil.example",
        "/call/x%3F@evil.example",
        "/call/x%23frag",
        "/call/:1/x",
    ] {
        app.get_as(path, "203.0.113.1").await;
    }
    for probed in ["/%40evil.example", "/x%3F%40evil.example", "/x%23frag", "/%3A1/x"] {
        assert_eq!(
            app.site.probes_of(probed),
            1,
            "{probed} went to the tracked site, encoded"
        );
    }
}

#[tokio::test]
async fn at_max_paths_new_paths_get_404_and_known_ones_keep_counting() {
    let app = TestApp::spawn_with(Store::Sqlite, &[("max_paths", "2")]).await;
    app.get_as("/call/a", "203.0.113.1").await;
    app.get_as("/call/b", "203.0.113.1").await;
    assert_eq!(app.get_as("/call/c", "203.0.113.1").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.site.probes_of("/c"), 0, "a full registry does not probe");
    assert_eq!(app.get_as("/call/a", "203.0.113.2").await.status, StatusCode::OK);
    assert_eq!(app.counts().await, vec![("/a".to_owned(), 2), ("/b".to_owned(), 1)]);
}

#[tokio::test]
async fn without_a_tracked_site_every_valid_path_is_accepted() {
    let app = TestApp::spawn_with(Store::Sqlite, &[("tracked_base_url", "")]).await;
    assert_eq!(
        app.get_as("/call/missing/anything", "203.0.113.1").await.status,
        StatusCode::OK
    );
    assert_eq!(app.site.total_probes(), 0);
    assert_eq!(app.counts().await, vec![("/missing/anything".to_owned(), 1)]);
}

#[tokio::test]
async fn an_unreachable_tracked_site_answers_503_without_hanging() {
    let closed = std::net::SocketAddr::from(([127, 0, 0, 1], free_port()));
    let url = format!("http://{closed}");
    let app = TestApp::spawn_with(Store::Sqlite, &[("tracked_base_url", &url)]).await;
    let started = Instant::now();
    let response = app.get_as("/call/a", "203.0.113.1").await;
    assert_eq!(
        response.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "the site's fault, not the page's"
    );
    assert_eq!(response.header("retry-after"), "5");
    assert!(started.elapsed() < Duration::from_secs(6));
}
