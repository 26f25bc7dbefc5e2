//! What the owner's controls log: each admin change at info with what
//! changed, whether admin is on at start — and never a token, at any level,
//! whether right, wrong or sent where it does not belong. Its own test
//! binary, like `logs.rs`, so the capture sees only this test's lines.

#[path = "support/captured.rs"]
mod captured;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use bytes::Bytes;
use captured::Captured;
use footfall::app::App;
use footfall::clock::ManualClock;
use footfall::config::Config;
use http_body_util::Full;
use hyper::{Method, Request, StatusCode};

const ADMIN: &str = "admin-token-that-must-never-be-logged-0123";
const READER: &str = "reader-token-that-must-never-be-logged-456";
const WRONG: &str = "wrong-token-that-must-never-be-logged-789x";

fn config(dir: &std::path::Path, yaml: &str) -> Config {
    std::fs::write(dir.join("config.yaml"), yaml).expect("config");
    Config::load(dir, Vec::new()).expect("config loads")
}

async fn send(app: &App, method: Method, uri: &str, token: Option<&str>, body: &str) -> StatusCode {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let request = request.body(Full::new(Bytes::from(body.to_owned()))).expect("request");
    footfall::http::route(&app.state, request, IpAddr::V4(Ipv4Addr::LOCALHOST))
        .await
        .status()
}

#[tokio::test(flavor = "current_thread")]
async fn admin_changes_are_logged_and_no_token_ever_is() {
    let logs = Captured::default();
    let sink = logs.clone();
    let _guard =
        tracing::subscriber::set_default(footfall::telemetry::subscriber("trace", move || sink.clone(), false));
    let dir = tempfile::tempdir().expect("data dir");

    // The start line says whether admin is on.
    for yaml in ["", &format!("admin_token: {ADMIN}\n")] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        footfall::app::run(config(dir.path(), yaml), listener, async {})
            .await
            .expect("runs");
    }

    let yaml = format!("admin_token: {ADMIN}\npublic: false\nread_tokens: [{READER}]\n");
    let clock = Arc::new(ManualClock::new("2026-03-01T10:00:00Z".parse().expect("a time")));
    let app = App::build(config(dir.path(), &yaml), clock).expect("app builds");
    app.prepare().await;
    let page = r#"{"path": "/letter"}"#;
    let steps = [
        (
            Method::POST,
            "/api/admin/pages".to_owned(),
            Some(ADMIN),
            page,
            StatusCode::CREATED,
        ),
        (
            Method::POST,
            "/api/admin/pages".to_owned(),
            Some(WRONG),
            page,
            StatusCode::UNAUTHORIZED,
        ),
        (
            Method::POST,
            format!("/api/admin/pages?token={WRONG}"),
            None,
            page,
            StatusCode::UNAUTHORIZED,
        ),
        (Method::GET, "/api/counts".to_owned(), Some(READER), "", StatusCode::OK),
        (
            Method::GET,
            "/api/counts".to_owned(),
            Some(WRONG),
            "",
            StatusCode::NOT_FOUND,
        ),
        (
            Method::PUT,
            "/api/admin/pages/letter/offset".to_owned(),
            Some(ADMIN),
            r#"{"count": 7}"#,
            StatusCode::OK,
        ),
        (
            Method::POST,
            "/api/admin/pages/rename".to_owned(),
            Some(ADMIN),
            r#"{"from": "/letter", "to": "/mail"}"#,
            StatusCode::OK,
        ),
        (
            Method::DELETE,
            "/api/admin/pages/mail".to_owned(),
            Some(ADMIN),
            "",
            StatusCode::NO_CONTENT,
        ),
    ];
    for (method, uri, token, body, status) in steps {
        assert_eq!(
            send(&app, method.clone(), &uri, token, body).await,
            status,
            "{method} {uri}"
        );
    }
    app.shut_down().await;

    let text = logs.text();
    for line in [
        "admin is off: no admin_token is set",
        "retention: raw calls are kept forever",
        "admin routes are on under /api/admin/",
        "the owner registered a page site=default path=/letter",
        "the owner set a page's start count site=default path=/letter count=7",
        "the owner renamed a page site=default from=/letter to=/mail",
        "the owner removed a page and its history site=default path=/mail",
    ] {
        assert!(text.contains(line), "{line:?} is missing from:\n{text}");
    }
    for token in [ADMIN, READER, WRONG] {
        assert!(!text.contains(token), "a token was logged:\n{text}");
        assert!(!text.contains(&token[..16]), "part of a token was logged:\n{text}");
    }
}
