//! Route behaviour in-process: `http::route` called with plain requests and
//! no socket, on a state built with a manual clock and a log capture.

use std::io::Write;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use footfall::app::App;
use footfall::clock::ManualClock;
use footfall::config::Config;
use http_body_util::{BodyExt, Empty};
use hyper::{Request, StatusCode};
use jiff::{SignedDuration, Timestamp};

/// The trusted proxy every request comes through.
const PROXY: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

/// A log sink the test can read back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log buffer")).into_owned()
    }
}

struct InProcess {
    app: App,
    clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
}

impl InProcess {
    /// The embedded store, no tracked site (every valid path is a page),
    /// 127.0.0.1 trusted as a proxy.
    async fn start(start: &str) -> Self {
        let dir = tempfile::tempdir().expect("data dir");
        std::fs::write(dir.path().join("config.yaml"), "trusted_proxies: [127.0.0.1]\n").expect("config");
        let config = Config::load(dir.path(), Vec::new()).expect("config loads");
        let clock = Arc::new(ManualClock::new(start.parse().expect("a time")));
        let app = App::build(config, Arc::clone(&clock) as _).expect("app builds");
        app.prepare().await;
        Self { app, clock, _dir: dir }
    }

    async fn get(&self, uri: &str, headers: &[(&str, &str)]) -> (StatusCode, Bytes) {
        let mut request = Request::get(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Empty::<Bytes>::new()).expect("request");
        let response = footfall::http::route(&self.app.state, request, PROXY).await;
        let status = response.status();
        let body = response.into_body().collect().await.expect("body").to_bytes();
        (status, body)
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

/// Neither the visitor's address nor its user agent may reach a log line,
/// at any level, whatever the request does.
#[tokio::test(flavor = "current_thread")]
async fn no_client_address_or_user_agent_is_ever_logged() {
    let logs = Captured::default();
    let sink = logs.clone();
    let _guard =
        tracing::subscriber::set_default(footfall::telemetry::subscriber("trace", move || sink.clone(), false));
    let app = InProcess::start("2026-03-01T10:00:00Z").await;
    let address = "198.51.100.77";
    let agent = "Mozilla/5.0 (SecretAgent-7f3a)";
    let headers = [("x-forwarded-for", address), ("user-agent", agent)];
    for uri in [
        "/call/blog/post",
        "/call/blog/post",
        "/badge/blog/post",
        "/call/bad%00path",
        "/api/counts/blog/post",
        "/plot/blog/post",
        "/api/history/blog/post?bucket=nope",
    ] {
        app.get(uri, &headers).await;
    }
    let text = logs.text();
    assert!(
        text.contains("registered a new path") && text.contains("store ready"),
        "the capture sees the server's logs at trace level:\n{text}"
    );
    assert!(!text.contains(address), "an address was logged:\n{text}");
    assert!(!text.contains("198.51.100"), "part of an address was logged:\n{text}");
    assert!(!text.contains("SecretAgent"), "a user agent was logged:\n{text}");
}
