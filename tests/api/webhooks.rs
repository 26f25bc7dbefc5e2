//! Webhooks and the feed on both stores: events written with the change
//! that caused them, delivered signed per Standard Webhooks to a real
//! receiver, in order and exactly once (by webhook-id) across a receiver
//! outage and a Footfall restart; milestones fire once per crossing;
//! nothing about a visitor is in any event.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use hyper::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::Sha256;

use footfall::store::Hit;

use crate::helpers::{batch, both_stores, page, Store, TestApp, TestStore};
use crate::receiver::{Delivery, Receiver};
use crate::requests::{ADMIN, ADMIN_KEY};

/// The Standard Webhooks specification's example secret.
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const VISITOR: &str = "203.0.113.";

async fn hook_app(store: Store, receiver: &Receiver, events: &str, extra: &[(&str, &str)]) -> TestApp {
    let hooks = format!("[{{url: '{}', events: {events}, secret: {SECRET}}}]", receiver.url());
    let mut keys = vec![
        ADMIN_KEY,
        ("webhooks", hooks.as_str()),
        ("webhook_retry_seconds", "0.1"),
        ("milestones", "[2, 3]"),
    ];
    keys.extend_from_slice(extra);
    TestApp::spawn_with(store, &keys).await
}

/// Verifies a delivery the way the specification's libraries do.
fn verify(delivery: &Delivery) -> Value {
    let key = STANDARD.decode(SECRET.trim_start_matches("whsec_")).expect("base64");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("key");
    mac.update(format!("{}.{}.{}", delivery.id, delivery.timestamp, delivery.body).as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    assert_eq!(delivery.signature, expected, "signature of {}", delivery.id);
    let sent: i64 = delivery.timestamp.parse().expect("a Unix time");
    let now = std::time::SystemTime::UNIX_EPOCH.elapsed().expect("clock").as_secs() as i64;
    assert!((now - sent).abs() < 60, "a current timestamp");
    assert!(delivery.id.starts_with("evt_"), "{}", delivery.id);
    assert!(
        !delivery.body.contains(VISITOR),
        "no visitor address: {}",
        delivery.body
    );
    serde_json::from_str(&delivery.body).expect("JSON")
}

async fn events_are_delivered_signed_per_the_spec(store: Store) {
    let receiver = Receiver::start().await;
    let app = hook_app(
        store,
        &receiver,
        "[page_registered, milestone, link_clicked]",
        &[
            ("link_secret", "'link-secret-for-the-tests-0123456789abcdef'"),
            ("link_event_interval_seconds", "1"),
        ],
    )
    .await;
    for i in 1..=3 {
        let hit = app.get_as("/call/a", &format!("{VISITOR}{i}")).await;
        assert_eq!(hit.status, StatusCode::OK);
    }
    let minted = app
        .admin(
            Method::POST,
            "/api/admin/links",
            Some(json!({"url": "https://example.com/", "name": "home"})),
        )
        .await;
    let link: Value = serde_json::from_slice(&minted.body).expect("JSON");
    let go = app
        .get_as(link["link"].as_str().expect("link"), &format!("{VISITOR}9"))
        .await;
    assert_eq!(go.status, StatusCode::FOUND);
    let delivered = receiver.wait_for(4).await;
    let bodies: Vec<Value> = delivered.iter().map(verify).collect();
    let kinds: Vec<&str> = bodies.iter().map(|b| b["type"].as_str().expect("type")).collect();
    assert_eq!(kinds, ["page_registered", "milestone", "milestone", "link_clicked"]);
    assert_eq!(bodies[0]["data"], json!({"site": "default", "path": "/a"}));
    assert_eq!(
        bodies[1]["data"],
        json!({"site": "default", "path": "/a", "milestone": 2, "total": 2})
    );
    assert_eq!(bodies[2]["data"]["milestone"], 3);
    assert_eq!(bodies[3]["data"]["name"], "home");
    assert_eq!(bodies[3]["data"]["clicks"], 1);
    assert!(bodies[0]["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));
    // The feed has the same events, and no visitor either.
    let feed = app.get("/feed.atom").await;
    assert_eq!(feed.status, StatusCode::OK);
    assert!(feed.header("content-type").starts_with("application/atom+xml"));
    let feed = feed.text();
    // Yesterday's summary too (the receiver did not ask for it).
    assert_eq!(feed.matches("<entry>").count(), 5, "{feed}");
    assert!(feed.contains(": 0 visitors</title>"), "{feed}");
    assert!(feed.contains("/a passed 2 views") && !feed.contains(VISITOR), "{feed}");
    // Nothing more: every event once.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.accepted().len(), 4);
}

async fn a_receiver_that_was_down_gets_every_event_once_in_order_across_a_restart(store: Store) {
    let receiver = Receiver::start().await;
    receiver.set_down(true);
    let mut app = hook_app(store, &receiver, "[page_registered]", &[]).await;
    for path in ["/a", "/b", "/c"] {
        assert_eq!(
            app.get_as(&format!("/call{path}"), "203.0.113.1").await.status,
            StatusCode::OK
        );
    }
    while receiver.attempts() < 3 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let report = app.admin(Method::GET, "/api/admin/webhooks", None).await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.text());
    let report: Value = serde_json::from_slice(&report.body).expect("JSON");
    assert_eq!(report["receivers"][0]["failing"], true, "{report}");
    assert_eq!(report["receivers"][0]["pending"], 3, "{report}");
    let metrics = app.get("/metrics").await.text();
    assert!(
        metrics.lines().any(|l| l == "footfall_webhook_deliveries_pending 3"),
        "{metrics}"
    );
    assert!(
        report["receivers"][0]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("503")),
        "{report}"
    );
    app.restart().await;
    assert_eq!(app.get_as("/call/d", "203.0.113.1").await.status, StatusCode::OK);
    receiver.set_down(false);
    let delivered = receiver.wait_for(4).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let delivered = if receiver.accepted().len() > delivered.len() {
        receiver.accepted()
    } else {
        delivered
    };
    // Idempotent by webhook-id: a receiver keeps the first of each id.
    let mut seen = Vec::new();
    for d in &delivered {
        if !seen.iter().any(|(id, _): &(String, String)| id == &d.id) {
            seen.push((
                d.id.clone(),
                verify(d)["data"]["path"].as_str().expect("path").to_owned(),
            ));
        }
    }
    let paths: Vec<&str> = seen.iter().map(|(_, p)| p.as_str()).collect();
    assert_eq!(paths, ["/a", "/b", "/c", "/d"], "in creation order, each once");
    assert_eq!(delivered.len(), 4, "nothing sent twice after it was accepted");
    let report: Value =
        serde_json::from_slice(&app.admin(Method::GET, "/api/admin/webhooks", None).await.body).expect("JSON");
    assert_eq!(report["receivers"][0]["failing"], false, "{report}");
    assert_eq!(report["failed"], json!([]));
}

/// A receiver's redirect is not followed: the event stays pending at that
/// receiver (retried there), and the redirect's target gets nothing.
async fn a_receivers_redirect_is_not_followed(store: Store) {
    let (receiver, elsewhere) = (Receiver::start().await, Receiver::start().await);
    receiver.redirect_to(&elsewhere.url());
    let app = hook_app(store, &receiver, "[page_registered]", &[]).await;
    assert_eq!(app.get_as("/call/a", "203.0.113.1").await.status, StatusCode::OK);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while receiver.attempts() < 2 {
        assert!(std::time::Instant::now() < deadline, "the delivery is retried");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(elsewhere.attempts(), 0, "the redirect was not followed");
    let report = app.admin(Method::GET, "/api/admin/webhooks", None).await;
    let report: Value = serde_json::from_slice(&report.body).expect("JSON");
    assert_eq!(report["receivers"][0]["pending"], 1, "{report}");
    assert!(
        report["receivers"][0]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("307")),
        "{report}"
    );
}
both_stores!(a_receivers_redirect_is_not_followed);

async fn a_milestone_fires_once_even_when_a_batch_jumps_past_it(store: Store) {
    let mut s = TestStore::open(store, "").await;
    s.store.migrate().await.expect("migrate");
    s.ensure_default_site().await;
    let id = s.store.register_path(s.site, &page("/a")).await.expect("register");
    let again = s
        .store
        .register_path(s.site, &page("/a"))
        .await
        .expect("register again");
    assert_eq!(id, again);
    let at: jiff::Timestamp = "2026-03-01T10:00:00Z".parse().expect("time");
    let hits = |n: usize| {
        vec![
            Hit {
                path: id,
                at,
                day: 20_513
            };
            n
        ]
    };
    let milestones = [100, 1000, 10_000];
    let kinds = |events: &[footfall::store::StoredEvent]| {
        events
            .iter()
            .rev()
            .map(|e| (e.kind.clone(), e.data.clone()))
            .collect::<Vec<_>>()
    };
    for n in [150, 10, 1200] {
        let hits = hits(n);
        let b = footfall::store::Batch {
            milestones: &milestones,
            ..batch(&hits)
        };
        s.store.record(b).await.expect("record");
        // Committed again under its id: a no-op, no second event.
        s.store.record(b).await.expect("record again");
    }
    let events = s.store.recent_events(s.site, 10).await.expect("events");
    let milestone_values: Vec<i64> = kinds(&events)
        .iter()
        .filter(|(k, _)| k == "milestone")
        .map(|(_, d)| {
            serde_json::from_str::<Value>(d).expect("JSON")["milestone"]
                .as_i64()
                .expect("value")
        })
        .collect();
    assert_eq!(milestone_values, [100, 1000], "each crossing once: 150, 160, 1360");
    assert_eq!(
        kinds(&events)[0].0,
        "page_registered",
        "one registration event for two registrations"
    );
    assert_eq!(events.iter().filter(|e| e.kind == "page_registered").count(), 1);
    // A day's summary is written once, whoever tries again.
    let once = |n| {
        s.store
            .insert_event_once(s.site, "daily_summary", "daily_summary:1:2026-03-01", n)
    };
    assert!(once("{\"visitors\":1}").await.expect("first"));
    assert!(!once("{\"visitors\":2}").await.expect("second"));
}

async fn a_private_sites_feed_needs_a_token(store: Store) {
    let app = TestApp::spawn_with(
        store,
        &[
            ADMIN_KEY,
            ("public", "false"),
            ("public_url", "https://count.example.com/"),
        ],
    )
    .await;
    assert_eq!(app.get("/call/a").await.status, StatusCode::OK);
    assert_eq!(app.get("/feed.atom").await.status, StatusCode::NOT_FOUND);
    let feed = app.get_with_token("/feed.atom", ADMIN).await;
    assert_eq!(feed.status, StatusCode::OK);
    assert!(feed.text().contains("New page /a"), "{}", feed.text());
    assert!(
        feed.text().contains("href=\"https://count.example.com/feed.atom\""),
        "{}",
        feed.text()
    );
}

both_stores!(
    events_are_delivered_signed_per_the_spec,
    a_receiver_that_was_down_gets_every_event_once_in_order_across_a_restart,
    a_milestone_fires_once_even_when_a_batch_jumps_past_it,
    a_private_sites_feed_needs_a_token,
);
