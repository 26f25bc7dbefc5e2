//! Counting: GET /call/{path}, dedup, client addresses, responses.

use hyper::{Method, StatusCode};

use serde_json::json;

use crate::helpers::{both_stores, send, Store, TestApp};
use crate::honest::{hit, json_at};

async fn the_first_call_registers_the_path_and_counts(store: Store) {
    let app = TestApp::spawn(store).await;
    let response = app.get_as("/call/blog/post-1", "203.0.113.1").await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(app.counts().await, vec![("/blog/post-1".to_owned(), 1)]);
    assert_eq!(app.site.probes_of("/blog/post-1"), 1);
    assert_eq!(app.stored_calls().await, 1);
}

async fn the_same_visitor_again_does_not_count(store: Store) {
    let app = TestApp::spawn(store).await;
    for _ in 0..3 {
        assert_eq!(app.get_as("/call/a", "203.0.113.1").await.status, StatusCode::OK);
    }
    assert_eq!(app.count_of("/a").await, Some(1));
    assert_eq!(app.site.probes_of("/a"), 1, "a known path is not probed again");
}

async fn another_visitor_via_a_trusted_proxy_counts(store: Store) {
    let app = TestApp::spawn(store).await;
    app.get_as("/call/a", "203.0.113.1").await;
    app.get_as("/call/a", "203.0.113.2").await;
    app.get_as("/call/a", "198.51.100.7, 203.0.113.2").await; // same rightmost client
    assert_eq!(app.count_of("/a").await, Some(2));
}

async fn each_bad_path_class_gets_400_and_nothing_is_stored_or_probed(store: Store) {
    let app = TestApp::spawn(store).await;
    for bad in [
        "/call/a%FF",
        "/call/a%00b",
        "/call/a%0Ab",
        "/call/a%EF%BF%BE",
        "/call/a%5Cb",
        "/call/a/../b",
        "/call/a/%2E%2E/b",
        "/call/./a",
        "/call//a",
        "/call/a//b",
        "/call/a%zz",
        &format!("/call/{}", "x".repeat(1100)),
    ] {
        let response = app.get_as(bad, "203.0.113.1").await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{bad}: {}", response.text());
    }
    assert!(app.counts().await.is_empty());
    assert_eq!(app.stored_calls().await, 0);
    assert_eq!(app.site.total_probes(), 0);
}

async fn two_spellings_of_a_path_are_one_page(store: Store) {
    let app = TestApp::spawn(store).await;
    app.get_as("/call/%7Euser/caf%C3%A9/", "203.0.113.1").await;
    app.get_as("/call/~user/caf%c3%a9?utm=x", "203.0.113.2").await;
    assert_eq!(app.counts().await, vec![("/~user/café".to_owned(), 2)]);
    assert_eq!(
        app.site.probes_of("/~user/caf%C3%A9"),
        1,
        "the probed path is the stored path"
    );
}

async fn the_root_is_a_page(store: Store) {
    let app = TestApp::spawn(store).await;
    app.get_as("/call", "203.0.113.1").await;
    app.get_as("/call/", "203.0.113.2").await;
    assert_eq!(app.counts().await, vec![("/".to_owned(), 2)]);
}

async fn head_answers_headers_and_counts_nothing(store: Store) {
    let app = TestApp::spawn(store).await;
    let response = send(app.addr, Method::HEAD, "/call/a", &[("x-forwarded-for", "203.0.113.1")]).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.header("content-type"), "image/gif");
    assert!(response.body.is_empty());
    assert!(app.counts().await.is_empty());
    assert_eq!(app.site.total_probes(), 0);
}

/// Makes every write of call history fail: a batch appends to the row an
/// earlier hit started (an update; on PostgreSQL the page's open run in
/// its `paths` row) or starts one (an insert).
async fn refuse_call_history(app: &TestApp) {
    app.execute(
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$;
         CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON call_times FOR EACH ROW EXECUTE FUNCTION refuse();
         CREATE TRIGGER refuse_open BEFORE UPDATE OF open_times ON paths FOR EACH ROW EXECUTE FUNCTION refuse();",
        "CREATE TRIGGER refuse BEFORE INSERT ON call_times BEGIN SELECT RAISE(ABORT, 'refused'); END;
         CREATE TRIGGER refuse_update BEFORE UPDATE ON call_times BEGIN SELECT RAISE(ABORT, 'refused'); END;",
    )
    .await;
}

async fn accept_call_history(app: &TestApp) {
    app.execute(
        "DROP TRIGGER refuse ON call_times; DROP TRIGGER refuse_open ON paths;",
        "DROP TRIGGER refuse; DROP TRIGGER refuse_update;",
    )
    .await;
}

/// On PostgreSQL a batch of hits alone is one statement, a transaction of
/// its own: when it fails, none of it stays.
async fn a_failed_write_does_not_stop_the_retry_from_counting(store: Store) {
    let app = TestApp::spawn(store).await;
    app.get_as("/call/a", "203.0.113.1").await; // registers the path
    refuse_call_history(&app).await;
    let failed = app.get_as("/call/a", "203.0.113.9").await;
    assert_eq!(failed.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(!failed.header("retry-after").is_empty(), "a 503 says when to retry");
    assert_eq!(app.count_of("/a").await, Some(1), "the failed batch left no trace");
    accept_call_history(&app).await;
    assert_eq!(app.get_as("/call/a", "203.0.113.9").await.status, StatusCode::OK);
    assert_eq!(app.count_of("/a").await, Some(2), "the retry counted");
    assert_eq!(app.stored_calls().await, 2);
}

/// A batch that carries filtered counts too is a transaction of several
/// statements on PostgreSQL, rolled back when one fails; the counts it
/// carried are put back and written once, with the retry.
async fn a_failed_write_with_filtered_counts_loses_neither(store: Store) {
    let app = TestApp::spawn(store).await;
    app.get_as("/call/a", "203.0.113.1").await;
    refuse_call_history(&app).await;
    // A filtered count waits up to a second for a batch to ride along with:
    // the next one, which fails.
    hit(&app, "/call/a", "203.0.113.8", &[("user-agent", "curl/8.5.0")]).await;
    let failed = app.get_as("/call/a", "203.0.113.9").await;
    assert_eq!(failed.status, StatusCode::SERVICE_UNAVAILABLE);
    let a = json_at(&app, "/api/counts/a").await;
    assert_eq!((&a["count"], &a["filtered"]["bot"]), (&json!(1), &json!(0)), "{a}");
    accept_call_history(&app).await;
    assert_eq!(app.get_as("/call/a", "203.0.113.9").await.status, StatusCode::OK);
    let a = json_at(&app, "/api/counts/a").await;
    assert_eq!((&a["count"], &a["filtered"]["bot"]), (&json!(2), &json!(1)), "{a}");
    assert_eq!(app.stored_calls().await, 2);
}

async fn counts_survive_a_restart(store: Store) {
    let mut app = TestApp::spawn(store).await;
    for i in 0..5 {
        app.get_as("/call/a", &format!("203.0.113.{i}")).await;
    }
    app.get_as("/call/b", "203.0.113.1").await;
    app.restart().await;
    assert_eq!(app.counts().await, vec![("/a".to_owned(), 5), ("/b".to_owned(), 1)]);
    app.get_as("/call/b", "203.0.113.2").await;
    assert_eq!(
        app.site.probes_of("/b"),
        1,
        "paths known before the restart are not probed again"
    );
    assert_eq!(app.count_of("/b").await, Some(2));
}

both_stores!(
    the_first_call_registers_the_path_and_counts,
    the_same_visitor_again_does_not_count,
    another_visitor_via_a_trusted_proxy_counts,
    each_bad_path_class_gets_400_and_nothing_is_stored_or_probed,
    two_spellings_of_a_path_are_one_page,
    the_root_is_a_page,
    head_answers_headers_and_counts_nothing,
    a_failed_write_does_not_stop_the_retry_from_counting,
    a_failed_write_with_filtered_counts_loses_neither,
    counts_survive_a_restart
);

#[tokio::test]
async fn forwarded_for_from_an_untrusted_peer_is_ignored() {
    let app = TestApp::spawn_with(Store::Sqlite, &[("trusted_proxies", "[10.0.0.0/8]")]).await;
    app.get_as("/call/a", "203.0.113.1").await;
    app.get_as("/call/a", "203.0.113.2").await;
    assert_eq!(app.count_of("/a").await, Some(1), "both requests come from 127.0.0.1");
}

#[tokio::test]
async fn two_addresses_in_one_ipv6_64_count_once() {
    let app = TestApp::spawn(Store::Sqlite).await;
    app.get_as("/call/a", "2001:db8:0:1::1").await;
    app.get_as("/call/a", "2001:db8:0:1:ffff:ffff:ffff:ffff").await;
    app.get_as("/call/a", "2001:db8:0:2::1").await;
    assert_eq!(app.count_of("/a").await, Some(2));
}

#[tokio::test]
async fn counted_and_repeated_hits_get_identical_responses() {
    let app = TestApp::spawn(Store::Sqlite).await;
    let counted = app.get_as("/call/a", "203.0.113.1").await;
    let repeat = app.get_as("/call/a", "203.0.113.1").await;
    assert_eq!(counted.status, repeat.status);
    assert_eq!(counted.body, repeat.body);
    let without_date = |r: &crate::helpers::TestResponse| {
        let mut h = r.headers.clone();
        h.remove("date");
        h
    };
    assert_eq!(without_date(&counted), without_date(&repeat));
}

#[tokio::test]
async fn the_image_has_the_promised_headers() {
    let app = TestApp::spawn(Store::Sqlite).await;
    let response = app.get_as("/call/a", "203.0.113.1").await;
    assert_eq!(response.header("content-type"), "image/gif");
    assert_eq!(response.header("cache-control"), "private, max-age=86400");
    assert_eq!(response.header("cross-origin-resource-policy"), "cross-origin");
    assert!(response.body.starts_with(b"GIF89a"));
}

#[tokio::test]
async fn a_configured_image_is_served_with_its_content_type() {
    let dir_image = "<svg xmlns='http://www.w3.org/2000/svg'/>";
    let app = TestApp::spawn_with_files(
        Store::Sqlite,
        &[("response_filename", "badge.svg"), ("cache_max_age_seconds", "60")],
        &[("badge.svg", dir_image)],
    )
    .await;
    let response = app.get_as("/call/a", "203.0.113.1").await;
    assert_eq!(response.header("content-type"), "image/svg+xml");
    assert_eq!(response.header("cache-control"), "private, max-age=60");
    assert_eq!(response.text(), dir_image);
}

#[tokio::test]
async fn other_methods_get_405() {
    let app = TestApp::spawn(Store::Sqlite).await;
    let response = send(app.addr, Method::POST, "/call/a", &[]).await;
    assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.header("allow"), "GET, HEAD");
    assert!(app.counts().await.is_empty());
}

#[tokio::test]
async fn counts_are_sorted_by_count_then_path() {
    let app = TestApp::spawn(Store::Sqlite).await;
    for (path, visitors) in [("/b", 2), ("/a", 2), ("/c", 3), ("/d", 1)] {
        for i in 0..visitors {
            app.get_as(&format!("/call{path}"), &format!("203.0.113.{i}")).await;
        }
    }
    let response = app.get("/api/counts").await;
    assert_eq!(response.header("content-type"), "application/json");
    assert_eq!(
        response.text(),
        r#"[{"path":"/c","count":3},{"path":"/a","count":2},{"path":"/b","count":2},{"path":"/d","count":1}]"#
    );
}

#[tokio::test]
async fn at_max_visitors_new_visitors_are_not_counted() {
    let app = TestApp::spawn_with(Store::Sqlite, &[("max_visitors", "1")]).await;
    for i in 0..200 {
        assert_eq!(
            app.get_as("/call/a", &format!("203.0.113.{i}")).await.status,
            StatusCode::OK
        );
    }
    let counted = app.count_of("/a").await.unwrap_or(0);
    assert!(
        (1..=64).contains(&counted),
        "at most one per shard is remembered, got {counted}"
    );
}
