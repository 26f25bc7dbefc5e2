//! The process: config errors, health, connection hygiene, and shutdown
//! under load (the real binary, sent a real SIGTERM).

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::{Method, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{both_stores, send, Store, TestApp};
use crate::pg::fresh_database;
use crate::ports::free_port;

pub fn footfall(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_footfall"));
    cmd.arg("--data-dir").arg(dir).env("RUST_BACKTRACE", "1");
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("FOOTFALL_") {
            cmd.env_remove(name);
        }
    }
    cmd
}

/// Sends the real binary SIGTERM, as a container runtime does, and waits:
/// its exit status and how long it took.
pub async fn sigterm_and_wait(mut child: std::process::Child) -> (std::process::ExitStatus, Duration) {
    let signalled = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("wait task")
        .expect("wait");
    (status, signalled.elapsed())
}

pub fn exit_of(cmd: &mut Command) -> (Option<i32>, String) {
    let out = cmd.stdin(Stdio::null()).output().expect("run footfall");
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn a_config_error_exits_2_with_one_line_naming_the_key_and_the_file() {
    let dir = tempfile::tempdir().expect("dir");
    // (config.yaml, environment, what the error must name)
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        ("max_paths: lots\n", &[], "max_paths"),
        ("tracked_base_urll: https://example.com\n", &[], "tracked_base_urll"),
        ("socket_address: 300.1.1.1:80\n", &[], "socket_address"),
        ("response_filename: nope.png\n", &[], "response_filename"),
        ("db:\n  host: [1, 2]\n  username: u\n  database: d\n", &[], "db.host"),
        (
            "",
            &[("FOOTFALL_DEDUP_WINDOW_HOURS", "0")],
            "FOOTFALL_DEDUP_WINDOW_HOURS",
        ),
        ("timezone: Atlantis/Capital\n", &[], "timezone"),
    ];
    for (yaml, env, key) in cases {
        std::fs::write(dir.path().join("config.yaml"), yaml).expect("write config");
        let mut cmd = footfall(dir.path());
        cmd.envs(env.iter().copied());
        let (code, stderr) = exit_of(&mut cmd);
        assert_eq!(code, Some(2), "{yaml:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line, no backtrace: {stderr}");
        assert!(stderr.contains(key), "{stderr} should name {key}");
        if env.is_empty() {
            assert!(stderr.contains("config.yaml"), "{stderr} should name the file");
        }
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn help_explains_the_options() {
    let out = Command::new(env!("CARGO_BIN_EXE_footfall"))
        .arg("--help")
        .output()
        .expect("run");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("--data-dir") && help.contains("FOOTFALL_DATA_DIR") && help.contains("healthcheck"));
}

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = TestApp::spawn(Store::Sqlite).await;
    let health = app.get("/healthz").await;
    assert_eq!((health.status, health.text().as_str()), (StatusCode::OK, "ok\n"));
    assert_eq!(app.get("/readyz").await.status, StatusCode::OK);
}

#[tokio::test]
async fn without_a_reachable_database_requests_get_503_and_readiness_says_why() {
    let closed = free_port();
    let dir = tempfile::tempdir().expect("dir");
    let yaml = format!(
        "socket_address: 127.0.0.1:0\ndb:\n  host: 127.0.0.1\n  port: {closed}\n  username: u\n  password: secret-pw\n  database: d\n"
    );
    std::fs::write(dir.path().join("config.yaml"), yaml).expect("config");
    let config = footfall::config::Config::load(dir.path(), Vec::new()).expect("config");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(footfall::app::run(config, listener, async {
        let _ = rx.await;
    }));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ready = send(addr, Method::GET, "/readyz", &[]).await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    let reason = ready.text();
    assert!(!reason.contains("secret-pw"), "{reason}");
    assert!(
        reason.contains(&format!("127.0.0.1:{closed}")) && reason.to_lowercase().contains("connection refused"),
        "the reason names the cause, not \"starting up\": {reason}"
    );
    let call = send(addr, Method::GET, "/call/a", &[]).await;
    assert_eq!(call.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(!call.header("retry-after").is_empty());
    assert_eq!(send(addr, Method::GET, "/healthz", &[]).await.status, StatusCode::OK);
    let _ = tx.send(());
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("stops")
        .expect("task")
        .expect("run");
}

#[tokio::test]
async fn idle_and_half_sent_connections_are_closed_after_the_header_timeout() {
    let app = TestApp::spawn_with(Store::Sqlite, &[("header_read_timeout_seconds", "1")]).await;
    let mut idle = tokio::net::TcpStream::connect(app.addr).await.expect("connect");
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let mut half = tokio::net::TcpStream::connect(app.addr).await.expect("connect");
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    let started = Instant::now();
    for stream in [&mut idle, &mut half] {
        let mut buf = Vec::new();
        // Reads the response (if any) and then EOF once the server closes.
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut buf))
            .await
            .expect("the server closes the connection")
            .ok();
    }
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "closed by the timeout, not at once"
    );
}

#[tokio::test]
async fn oversized_request_heads_are_refused() {
    let app = TestApp::spawn(Store::Sqlite).await;
    let big = "x".repeat(32 * 1024);
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.expect("connect");
    let request = format!("GET /call/a HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n\r\n");
    let _ = stream.write_all(request.as_bytes()).await;
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut buf)).await;
    let head = String::from_utf8_lossy(&buf);
    assert!(head.starts_with("HTTP/1.1 431"), "{head}");
    assert!(app.counts().await.is_empty());
}

async fn sigterm_under_load_loses_no_acknowledged_hit(store: Store) {
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let db = match store {
        Store::Postgres => Some(fresh_database().await),
        Store::Sqlite => None,
    };
    let yaml = format!(
        "socket_address: 127.0.0.1:{port}\ntrusted_proxies: [127.0.0.1]\n{}",
        db.as_ref().map(|d| d.yaml()).unwrap_or_default()
    );
    std::fs::write(dir.path().join("config.yaml"), yaml).expect("config");
    let child = footfall(dir.path())
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(stream) = tokio::net::TcpStream::connect(addr).await {
            drop(stream);
            if send(addr, Method::GET, "/readyz", &[]).await.status == StatusCode::OK {
                break;
            }
        }
        assert!(Instant::now() < deadline, "footfall did not get ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Clients that hold connections without finishing a request.
    let mut idle = tokio::net::TcpStream::connect(addr).await.expect("idle connection");
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let mut half = tokio::net::TcpStream::connect(addr).await.expect("half connection");
    half.write_all(b"GET /call/x HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");

    let acknowledged = Arc::new(AtomicU64::new(0));
    let sent = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..8u32)
        .map(|worker| {
            let (acknowledged, sent) = (Arc::clone(&acknowledged), Arc::clone(&sent));
            tokio::spawn(async move {
                for i in 0..100_000u32 {
                    let visitor = std::net::Ipv4Addr::from((10 << 24) | (worker << 20) | i).to_string();
                    let Ok(stream) = tokio::net::TcpStream::connect(addr).await else {
                        return;
                    };
                    let Ok((mut sender, conn)) =
                        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await
                    else {
                        return;
                    };
                    tokio::spawn(conn);
                    let request = hyper::Request::get("/call/load")
                        .header("x-forwarded-for", visitor)
                        .header("user-agent", crate::helpers::BROWSER)
                        .body(http_body_util::Empty::<bytes::Bytes>::new())
                        .expect("request");
                    sent.fetch_add(1, Ordering::SeqCst);
                    match sender.send_request(request).await {
                        Ok(response) if response.status() == StatusCode::OK => {
                            acknowledged.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok(_) => {}
                        Err(_) => return,
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(700)).await;
    let (status, took) = sigterm_and_wait(child).await;
    for worker in workers {
        let _ = worker.await;
    }
    assert_eq!(status.code(), Some(0), "a clean shutdown exits 0");
    assert!(took < Duration::from_secs(8), "shutdown took {took:?}");

    let acknowledged = acknowledged.load(Ordering::SeqCst);
    assert!(acknowledged > 50, "the load must be real: {acknowledged} hits");
    let stored: i64 = match &db {
        Some(db) => db
            .connect()
            .await
            .query_one("SELECT coalesce(sum(calls), 0)::bigint FROM call_rows", &[])
            .await
            .expect("q")
            .get(0),
        None => rusqlite::Connection::open(dir.path().join("footfall.sqlite3"))
            .expect("open")
            .query_row("SELECT coalesce(sum(calls), 0) FROM call_rows", [], |r| r.get(0))
            .expect("q"),
    };
    let stored = stored as u64;
    assert!(stored >= acknowledged, "{stored} stored < {acknowledged} acknowledged");
    assert!(stored <= sent.load(Ordering::SeqCst), "never more than were sent");
}

both_stores!(sigterm_under_load_loses_no_acknowledged_hit);
