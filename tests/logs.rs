//! What never reaches a log line: a visitor's address or user agent, at any
//! level, whatever the request does. Its own test binary, because a log
//! capture installed for one thread would race with other tests' threads
//! over tracing's process-wide callsite cache.

#[path = "support/captured.rs"]
mod captured;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use bytes::Bytes;
use captured::Captured;
use footfall::app::App;
use footfall::clock::ManualClock;
use footfall::config::Config;
use http_body_util::Empty;
use hyper::Request;

#[tokio::test(flavor = "current_thread")]
async fn no_client_address_or_user_agent_is_ever_logged() {
    let logs = Captured::default();
    let sink = logs.clone();
    let _guard =
        tracing::subscriber::set_default(footfall::telemetry::subscriber("trace", move || sink.clone(), false));
    let dir = tempfile::tempdir().expect("data dir");
    std::fs::write(dir.path().join("config.yaml"), "trusted_proxies: [127.0.0.1]\n").expect("config");
    let config = Config::load(dir.path(), Vec::new()).expect("config loads");
    let clock = Arc::new(ManualClock::new("2026-03-01T10:00:00Z".parse().expect("a time")));
    let app = App::build(config, clock).expect("app builds");
    app.prepare().await;

    let address = "198.51.100.77";
    let agent = "Mozilla/5.0 (SecretAgent-7f3a)";
    for uri in [
        "/call/blog/post",
        "/call/blog/post",
        "/badge/blog/post",
        "/call/bad%00path",
        "/s/nosuchsite/call/x",
        "/api/counts/blog/post",
        "/plot/blog/post",
        "/api/history/blog/post?bucket=nope",
    ] {
        let request = Request::get(uri)
            .header("x-forwarded-for", address)
            .header("user-agent", agent)
            .body(Empty::<Bytes>::new())
            .expect("request");
        footfall::http::route(&app.state, request, IpAddr::V4(Ipv4Addr::LOCALHOST)).await;
    }
    app.shut_down().await;

    let text = logs.text();
    assert!(
        text.contains("registered a new path") && text.contains("store ready"),
        "the capture sees the server's logs at trace level:\n{text}"
    );
    assert!(!text.contains(address), "an address was logged:\n{text}");
    assert!(!text.contains("198.51.100"), "part of an address was logged:\n{text}");
    assert!(!text.contains("SecretAgent"), "a user agent was logged:\n{text}");
}
