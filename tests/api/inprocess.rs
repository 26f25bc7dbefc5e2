//! Route behaviour in-process: `http::route` called with plain requests and
//! no socket, on a state built with a manual clock.

use std::net::IpAddr;
use std::sync::Arc;

use bytes::Bytes;
use footfall::app::App;
use footfall::clock::ManualClock;
use footfall::config::Config;
use http_body_util::{BodyExt, Empty};
use hyper::{Request, StatusCode};
use jiff::{SignedDuration, Timestamp};

/// The trusted proxy every request comes through.
const PROXY: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

struct InProcess {
    app: App,
    clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
}

impl InProcess {
    /// The embedded store, no tracked site (every valid path is a page),
    /// 127.0.0.1 trusted as a proxy.
    async fn start(start: &str) -> Self {
        Self::start_with(start, "").await
    }

    async fn start_with(start: &str, yaml: &str) -> Self {
        let dir = tempfile::tempdir().expect("data dir");
        let config = format!("trusted_proxies: [127.0.0.1]\n{yaml}");
        std::fs::write(dir.path().join("config.yaml"), config).expect("config");
        let config = Config::load(dir.path(), Vec::new()).expect("config loads");
        let clock = Arc::new(ManualClock::new(start.parse().expect("a time")));
        let app = App::build(config, Arc::clone(&clock) as _).expect("app builds");
        app.prepare().await;
        Self { app, clock, _dir: dir }
    }

    async fn get(&self, uri: &str, headers: &[(&str, &str)]) -> (StatusCode, Bytes) {
        let mut request = Request::get(uri);
        // As a browser unless told otherwise, so hits count as visitors.
        if !headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("user-agent")) {
            request = request.header("user-agent", crate::helpers::BROWSER);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Empty::<Bytes>::new()).expect("request");
        let response = footfall::http::route(&self.app.state, request, PROXY).await;
        let status = response.status();
        let body = response.into_body().collect().await.expect("body").to_bytes();
        (status, body)
    }

    /// Page `/a`'s counts on 1 and 2 March 2026 on `site`.
    async fn days(&self, site: &str) -> Vec<u64> {
        let uri = format!("/s/{site}/api/history/a?bucket=day&from=2026-03-01&to=2026-03-02");
        let (status, body) = self.get(&uri, &[]).await;
        assert_eq!(status, StatusCode::OK);
        let days: Vec<serde_json::Value> = serde_json::from_slice(&body).expect("JSON");
        days.iter().map(|d| d["count"].as_u64().expect("count")).collect()
    }

    async fn count_of(&self, path: &str) -> u64 {
        let (status, body) = self.get(&format!("/api/counts{path}"), &[]).await;
        assert_eq!(status, StatusCode::OK);
        let report: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        report["count"].as_u64().expect("count")
    }
}

#[tokio::test]
async fn a_visitor_counts_again_in_the_next_window_by_the_injected_clock() {
    let app = InProcess::start("2026-03-01T10:00:00Z").await;
    let visitor = [("x-forwarded-for", "203.0.113.9")];
    for _ in 0..3 {
        assert_eq!(app.get("/call/a", &visitor).await.0, StatusCode::OK);
    }
    assert_eq!(app.count_of("/a").await, 1, "repeats in one window count once");
    app.clock.advance(SignedDuration::from_hours(24));
    assert_eq!(app.get("/call/a", &visitor).await.0, StatusCode::OK);
    assert_eq!(app.count_of("/a").await, 2, "the next day is a new window");
    let (_, history) = app.get("/api/history/a", &[]).await;
    let times: Vec<Timestamp> = serde_json::from_slice::<Vec<String>>(&history)
        .expect("history")
        .iter()
        .map(|t| t.parse().expect("RFC 3339"))
        .collect();
    assert_eq!(
        times,
        [
            "2026-03-01T10:00:00Z".parse().unwrap(),
            "2026-03-02T10:00:00Z".parse().unwrap()
        ],
        "call times come from the injected clock"
    );
}

#[tokio::test]
async fn a_route_error_is_decided_in_one_place_for_every_format() {
    let app = InProcess::start("2026-03-01T10:00:00Z").await;
    let (status, body) = app.get("/plot/never-counted", &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(String::from_utf8_lossy(&body).contains("<h1>No such page</h1>"));
    let (status, body) = app.get("/api/counts/never-counted", &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(&body[..], br#"{"error":"this page has not been counted"}"#);
    let (status, _) = app.get("/call/a%00b", &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// Days and dedup windows follow each site's own zone.
#[tokio::test]
async fn each_site_counts_in_its_own_zone() {
    let sites = "sites: {nz: {timezone: Pacific/Auckland}, uk: {utc_offset: {hours: 0}}}\ndefault_site: uk\n";
    // 23:30 on 1 March in Auckland (UTC+13), 10:30 in UTC.
    let app = InProcess::start_with("2026-03-01T10:30:00Z", sites).await;
    let visitor = [("x-forwarded-for", "203.0.113.9")];
    for site in ["nz", "uk"] {
        app.get(&format!("/s/{site}/call/a"), &visitor).await;
    }
    app.clock.advance(SignedDuration::from_hours(1)); // 00:30 on 2 March in Auckland
    for site in ["nz", "uk"] {
        app.get(&format!("/s/{site}/call/a"), &visitor).await;
    }
    assert_eq!(app.days("nz").await, [1, 1], "a new local day and window in Auckland");
    assert_eq!(app.days("uk").await, [1, 0], "one window, one day in UTC");
}

/// Filtered hits are counted per reason in the day (and window) of the
/// injected clock: a bot counts once per page per window, again the next day.
#[tokio::test]
async fn filtered_counts_are_kept_per_day_and_reason() {
    let app = InProcess::start("2026-03-01T10:00:00Z").await;
    let bot = |ip| [("x-forwarded-for", ip), ("user-agent", "curl/8.5.0")];
    let counted = [("x-forwarded-for", "203.0.113.9")];
    for ip in ["203.0.113.1", "203.0.113.2", "203.0.113.1"] {
        app.get("/call/a", &bot(ip)).await;
    }
    let prefetch = [("x-forwarded-for", "203.0.113.3"), ("purpose", "prefetch")];
    app.get("/call/a", &prefetch).await;
    app.get("/call/b", &counted).await; // commits the filtered counts queued before it
    app.clock.advance(SignedDuration::from_hours(24));
    app.get("/call/a", &bot("203.0.113.1")).await;
    app.get("/call/c", &counted).await;
    let filtered_on = |day: &'static str| {
        let app = &app;
        async move {
            let (status, body) = app.get(&format!("/api/filtered?from={day}&to={day}"), &[]).await;
            assert_eq!(status, StatusCode::OK);
            serde_json::from_slice::<serde_json::Value>(&body).expect("JSON")
        }
    };
    let a = |bot: u64, prefetch: u64| {
        serde_json::json!([{"path": "/a", "proxied": 0,
            "filtered": {"bot": bot, "prefetch": prefetch, "ignored": 0, "foreign_embed": 0}}])
    };
    assert_eq!(filtered_on("2026-03-01").await, a(2, 1));
    assert_eq!(filtered_on("2026-03-02").await, a(1, 0), "a new window and day");
    assert_eq!(app.count_of("/a").await, 0, "none of them is a visitor");
}
