//! `GET /metrics`: Prometheus text with bounded labels (never a path, an
//! address or a user agent); open while every site is public, the admin
//! token's once one is private; on its own listener with `metrics_address`.
//! And a replica that does not know a page looks it up before probing.

use hyper::{Method, StatusCode};

use crate::helpers::{both_stores, send, Setup, Store, TestApp};
use crate::pg::fresh_database;
use crate::ports::free_port;
use crate::replicas::metric;
use crate::requests::{ADMIN, ADMIN_KEY};

both_stores!(hits_show_up_by_outcome_and_route_without_paths_or_addresses);

async fn hits_show_up_by_outcome_and_route_without_paths_or_addresses(store: Store) {
    let app = TestApp::spawn(store).await;
    let path = "/call/secret-page-name";
    assert_eq!(app.get_as(path, "198.51.100.77").await.status, StatusCode::OK);
    assert_eq!(app.get_as(path, "198.51.100.77").await.status, StatusCode::OK);
    let bot = [("x-forwarded-for", "198.51.100.78"), ("user-agent", "curl/8.0")];
    assert_eq!(send(app.addr, Method::GET, path, &bot).await.status, StatusCode::OK);
    assert_eq!(metric(app.addr, "footfall_hits_total{outcome=\"counted\"}").await, 1);
    assert_eq!(metric(app.addr, "footfall_hits_total{outcome=\"repeat\"}").await, 1);
    assert_eq!(metric(app.addr, "footfall_hits_total{outcome=\"filtered\"}").await, 1);
    assert_eq!(
        metric(app.addr, "footfall_filtered_hits_total{reason=\"bot\"}").await,
        1
    );
    assert_eq!(
        metric(app.addr, "footfall_http_requests_total{route=\"call\",status=\"2xx\"}").await,
        3
    );
    assert_eq!(metric(app.addr, "footfall_probes_total{outcome=\"page\"}").await, 1);
    assert_eq!(metric(app.addr, "footfall_dedup_pairs").await, 2);
    let response = app.get("/metrics").await;
    assert!(response
        .header("content-type")
        .starts_with("application/openmetrics-text"));
    let text = response.text();
    for private in ["secret-page-name", "198.51.100", "curl", "Mozilla"] {
        assert!(!text.contains(private), "{private} in\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_private_site_the_metrics_need_the_admin_token() {
    let app = TestApp::spawn_with(Store::Sqlite, &[ADMIN_KEY, ("public", "false")]).await;
    assert_eq!(app.get("/metrics").await.status, StatusCode::UNAUTHORIZED);
    let auth = format!("Bearer {ADMIN}");
    let response = send(app.addr, Method::GET, "/metrics", &[("authorization", &auth)]).await;
    assert_eq!(response.status, StatusCode::OK);
    let without_admin = TestApp::spawn_with(Store::Sqlite, &[("public", "false")]).await;
    assert_eq!(without_admin.get("/metrics").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_metrics_address_they_are_served_there_and_not_on_the_main_listener() {
    let address = format!("127.0.0.1:{}", free_port());
    let app = TestApp::spawn_with(Store::Sqlite, &[("metrics_address", &address)]).await;
    assert_eq!(app.get("/metrics").await.status, StatusCode::NOT_FOUND);
    let separate = address.parse().expect("address");
    assert_eq!(app.get_as("/call/a", "198.51.100.1").await.status, StatusCode::OK);
    assert_eq!(metric(separate, "footfall_hits_total{outcome=\"counted\"}").await, 1);
    assert_eq!(
        send(separate, Method::GET, "/call/a", &[]).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_another_replica_registered_is_found_in_the_store_not_probed_again() {
    let db = fresh_database().await;
    let setup = |db| Setup {
        db: Some(db),
        ..Setup::default()
    };
    let first = TestApp::spawn_setup(Store::Postgres, setup(db.clone())).await;
    let second = TestApp::spawn_setup(Store::Postgres, setup(db)).await;
    assert_eq!(
        first.get_as("/call/new-page", "198.51.100.1").await.status,
        StatusCode::OK
    );
    assert_eq!(first.site.probes_of("/new-page"), 1);
    assert_eq!(
        second.get_as("/call/new-page", "198.51.100.2").await.status,
        StatusCode::OK
    );
    assert_eq!(second.site.probes_of("/new-page"), 0);
    assert_eq!(
        metric(second.addr, "footfall_probes_total{outcome=\"known_in_store\"}").await,
        1
    );
    assert_eq!(first.count_of("/new-page").await, Some(2));
}
