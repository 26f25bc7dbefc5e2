//! Who may do what: the admin token (401s, all alike), admin off without
//! one, and private sites (404 without a token, counting as before).

use bytes::Bytes;
use hyper::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{both_stores, Store, TestApp};
use crate::requests::{request, ADMIN, ADMIN_KEY};
use crate::site::TrackedSite;

const READER: &str = "reader-token-of-blog-0123456789abcdefgh";

fn json_of(response: &crate::helpers::TestResponse) -> Value {
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    serde_json::from_slice(&response.body).expect("JSON")
}

async fn every_bad_token_is_the_same_401_and_changes_nothing(store: Store) {
    let app = TestApp::spawn_with(store, &[ADMIN_KEY]).await;
    let body = json!({"path": "/new"}).to_string();
    let wrong_length = format!("Bearer {ADMIN}x");
    let wrong_same_length = format!("Bearer {}", "x".repeat(ADMIN.len()));
    let query = format!("/api/admin/pages?token={ADMIN}");
    let as_query = format!("/api/admin/pages?access_token={ADMIN}");
    let cases: [(&str, &[(&str, &str)]); 7] = [
        ("/api/admin/pages", &[]),
        ("/api/admin/pages", &[("authorization", &wrong_length)]),
        ("/api/admin/pages", &[("authorization", &wrong_same_length)]),
        ("/api/admin/pages", &[("authorization", "Bearer short")]),
        ("/api/admin/pages", &[("authorization", &format!("Basic {ADMIN}"))]),
        (&query, &[]),
        (&as_query, &[]),
    ];
    let mut bodies = Vec::new();
    for (path, headers) in cases {
        let mut headers = headers.to_vec();
        headers.push(("content-type", "application/json"));
        let response = request(app.addr, Method::POST, path, &headers, body.clone()).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{path} {headers:?}");
        assert_eq!(response.header("www-authenticate"), "Bearer", "{path} {headers:?}");
        bodies.push(response.body);
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "one body for every case");
    assert!(!String::from_utf8_lossy(&bodies[0]).contains(ADMIN));
    assert_eq!(app.counts().await, vec![], "nothing was registered");
    // The same request with the token works.
    let response = app
        .admin(Method::POST, "/api/admin/pages", Some(json!({"path": "/new"})))
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
}

async fn without_an_admin_token_the_admin_routes_do_not_exist(store: Store) {
    let app = TestApp::spawn(store).await;
    for (method, path) in [
        (Method::POST, "/api/admin/pages"),
        (Method::GET, "/api/admin/export"),
        (Method::DELETE, "/api/admin/pages/a"),
    ] {
        let response = request(
            app.addr,
            method,
            path,
            &[("authorization", "Bearer anything")],
            Bytes::new(),
        )
        .await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{path}");
    }
}

/// `blog` (the default) private with a read token, `docs` public, `shop`
/// private with its badge showing the count.
async fn three_sites(store: Store) -> TestApp {
    let (blog, docs, shop) = (
        TrackedSite::start().await,
        TrackedSite::start().await,
        TrackedSite::start().await,
    );
    let sites = format!(
        "{{blog: {{tracked_base_url: '{}', public: false, read_tokens: ['{READER}']}}, \
          docs: {{tracked_base_url: '{}'}}, shop: {{tracked_base_url: '{}', public: false, public_badge: true}}}}",
        blog.base_url(),
        docs.base_url(),
        shop.base_url()
    );
    let mut app = TestApp::spawn_with(
        store,
        &[
            ("tracked_base_url", ""),
            ("sites", &sites),
            ("default_site", "blog"),
            ADMIN_KEY,
        ],
    )
    .await;
    app.site = blog;
    app
}

async fn a_private_site_is_404_without_a_token_and_still_counts(store: Store) {
    let app = three_sites(store).await;
    for (site, ip) in [
        ("blog", "203.0.113.1"),
        ("blog", "203.0.113.2"),
        ("docs", "203.0.113.1"),
    ] {
        let response = app.get_as(&format!("/s/{site}/call/guide"), ip).await;
        assert_eq!(response.status, StatusCode::OK, "counting goes on: {site}");
    }
    let unknown = app.get("/s/nosuchsite/api/counts").await;
    for path in [
        "/s/blog/",
        "/s/blog/plot/guide",
        "/s/blog/api/counts",
        "/s/blog/api/counts/guide",
        "/s/blog/api/history/guide",
        "/s/blog/api/history",
        "/s/blog/api/plot/guide",
        "/s/blog/api/filtered",
        "/api/counts",
        "/",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{path}");
        if path.contains("/api/") {
            assert_eq!(
                response.body, unknown.body,
                "{path}: the same as a site that does not exist"
            );
        }
        assert_eq!(
            app.get_with_token(path, "docs-has-no-tokens-but-this-is-long-enough")
                .await
                .status,
            StatusCode::NOT_FOUND,
            "{path} with a wrong token"
        );
        for token in [READER, ADMIN] {
            let response = app.get_with_token(path, token).await;
            assert_eq!(
                response.status,
                StatusCode::OK,
                "{path} with a token: {}",
                response.text()
            );
        }
    }
    let head = request(app.addr, Method::HEAD, "/s/blog/api/counts", &[], Bytes::new()).await;
    assert_eq!(head.status, StatusCode::NOT_FOUND);
    let counts = json_of(&app.get_with_token("/s/blog/api/counts", READER).await);
    assert_eq!(counts, json!([{"path": "/guide", "count": 2}]), "both visitors counted");
    assert_eq!(
        app.get("/s/docs/api/counts").await.status,
        StatusCode::OK,
        "docs is public"
    );
}

async fn a_read_token_reads_its_own_site_and_api_sites_lists_what_may_be_read(store: Store) {
    let app = three_sites(store).await;
    app.get_as("/s/shop/call/cart", "203.0.113.1").await;
    assert_eq!(
        app.get_with_token("/s/shop/api/counts", READER).await.status,
        StatusCode::NOT_FOUND,
        "blog's token does not read shop"
    );
    let slugs = |sites: Value| -> Vec<String> {
        sites
            .as_array()
            .expect("sites")
            .iter()
            .map(|s| s["site"].as_str().expect("slug").to_owned())
            .collect()
    };
    assert_eq!(slugs(json_of(&app.get("/api/sites").await)), ["docs"]);
    assert_eq!(
        slugs(json_of(&app.get_with_token("/api/sites", READER).await)),
        ["blog", "docs"]
    );
    assert_eq!(
        slugs(json_of(&app.get_with_token("/api/sites", ADMIN).await)),
        ["blog", "docs", "shop"]
    );
}

async fn a_private_badge_shows_no_number_unless_allowed(store: Store) {
    let app = three_sites(store).await;
    for ip in ["203.0.113.1", "203.0.113.2", "203.0.113.3"] {
        app.get_as("/s/blog/call/guide", ip).await;
        app.get_as("/s/shop/call/guide", ip).await;
    }
    let hidden = app.get_as("/s/blog/badge/guide", "203.0.113.9").await;
    assert_eq!(hidden.status, StatusCode::OK);
    let svg = hidden.text();
    assert!(svg.contains(r#"aria-label="views: –""#), "{svg}");
    assert!(!svg.contains("views: 3") && !svg.contains("views: 4"), "{svg}");
    let shown = app.get_as("/s/shop/badge/guide", "203.0.113.9").await.text();
    assert!(shown.contains("views: 4"), "public_badge shows the count: {shown}");
    let counts = json_of(&app.get_with_token("/s/blog/api/counts", ADMIN).await);
    assert_eq!(
        counts,
        json!([{"path": "/guide", "count": 4}]),
        "the hidden badge counted"
    );
}

both_stores!(
    every_bad_token_is_the_same_401_and_changes_nothing,
    without_an_admin_token_the_admin_routes_do_not_exist,
    a_private_site_is_404_without_a_token_and_still_counts,
    a_read_token_reads_its_own_site_and_api_sites_lists_what_may_be_read,
    a_private_badge_shows_no_number_unless_allowed,
);

#[test]
fn check_says_what_is_private_and_whether_admin_is_on_but_never_a_token() {
    let dir = tempfile::tempdir().expect("dir");
    let yaml = format!("admin_token: {ADMIN}\npublic: false\nread_tokens: [{READER}]\nretention: {{calls_days: 90}}\n");
    std::fs::write(dir.path().join("config.yaml"), yaml).expect("config");
    let out = crate::lifecycle::footfall(dir.path())
        .arg("check")
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    for line in [
        "admin API:        on",
        "raw calls kept 90 days",
        "site default (default): private",
    ] {
        assert!(stdout.contains(line), "{line:?} in {stdout}");
    }
    assert!(!stdout.contains(ADMIN) && !stdout.contains(READER), "{stdout}");
}
