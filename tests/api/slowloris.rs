//! Slow clients (slowloris) against the real server over real sockets: the
//! per-address cap, room made at the global cap, the head deadline under
//! load, trusted proxies' exemption, and heads that arrive in pieces (the
//! first is read before hyper gets the connection). On Linux all of 127/8 is
//! local, so clients bind to 127.0.0.2 (the attacker) and 127.0.0.3 (a
//! visitor).
//! `scripts/slowloris.sh` runs the full 5,000-connection measurement.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::{sleep, sleep_until, timeout, Instant};

use crate::helpers::{Store, TestApp};

const ATTACKER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
const VISITOR: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);
/// The attack's pace: one more byte of a head that never ends, per tick.
const TICK: Duration = Duration::from_secs(2);
const SLOW_HEAD: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";

async fn connect_from(source: Ipv4Addr, addr: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind((source, 0).into())?;
    timeout(Duration::from_secs(5), socket.connect(addr))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))?
}

/// A connection from `source` that has sent part of a request head.
async fn half_sent(source: Ipv4Addr, addr: SocketAddr) -> TcpStream {
    let mut stream = connect_from(source, addr).await.expect("connect");
    stream.write_all(&SLOW_HEAD[..20]).await.expect("write");
    stream
}

/// Whether the server closes `stream` within `limit` (EOF or reset); an
/// answer is not a close.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let mut buf = [0u8; 256];
    matches!(timeout(limit, stream.read(&mut buf)).await, Ok(Ok(0) | Err(_)))
}

/// One GET from `source` on a fresh connection: how long the whole answer took.
async fn timed_get(source: Ipv4Addr, addr: SocketAddr, path: &str) -> Result<Duration, String> {
    let started = Instant::now();
    let exchange = async {
        let mut stream = connect_from(source, addr).await.map_err(|e| format!("connect: {e}"))?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| format!("write: {e}"))?;
        let mut response = Vec::new();
        stream
            .read_to_end(&mut response)
            .await
            .map_err(|e| format!("read: {e}"))?;
        match response.starts_with(b"HTTP/1.1 200") {
            true => Ok(()),
            false => Err(format!("{path}: {:?}", String::from_utf8_lossy(&response))),
        }
    };
    timeout(Duration::from_secs(5), exchange)
        .await
        .map_err(|_| format!("{path}: no answer in 5 s"))??;
    Ok(started.elapsed())
}

/// Keeps one slow connection open until `end`, opening a new one at the next
/// tick whenever the server closes it, as attack tools do. True when it ends
/// holding a connection the server has kept for 3 s or more.
async fn keep_attacking(addr: SocketAddr, start: Instant, end: Instant) -> bool {
    sleep_until(start).await;
    while Instant::now() < end {
        let opened = Instant::now();
        let Ok(mut stream) = connect_from(ATTACKER, addr).await else {
            sleep(TICK).await;
            continue;
        };
        let mut sent = 0;
        loop {
            let byte = SLOW_HEAD.get(sent).copied().unwrap_or(b'a');
            if stream.write_all(&[byte]).await.is_err() {
                break;
            }
            sent += 1;
            let next = (Instant::now() + TICK).min(end);
            if closed_within(&mut stream, next - Instant::now()).await {
                sleep_until(opened + TICK).await;
                break;
            }
            if Instant::now() >= end {
                return opened.elapsed() >= Duration::from_secs(3);
            }
        }
    }
    false
}

/// The soft limit on open files: both ends of every test connection count.
fn open_files_limit() -> usize {
    let limits = std::fs::read_to_string("/proc/self/limits").expect("read /proc/self/limits");
    let soft = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .and_then(|line| line.split_whitespace().nth(3))
        .expect("a Max open files line");
    soft.parse().unwrap_or(usize::MAX) // "unlimited"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_slow_connections_from_one_address_do_not_slow_down_a_visitor() {
    // Twice as many slow connections as the server's cap: without the
    // per-address cap they fill it and the visitor waits in the backlog for
    // a head deadline (10 s). Sized to the open-files limit (both ends of
    // every connection count): 2,000 attackers with `ulimit -n` 8192 or more.
    let attackers = 2000.min(open_files_limit() / 4);
    assert!(
        attackers >= 200,
        "`ulimit -n` of {} is too low for this test: raise it to 8192",
        open_files_limit()
    );
    let max_connections = (attackers / 2).to_string();
    let app = TestApp::spawn_with(Store::Sqlite, &[("max_connections", &max_connections)]).await;
    // The connections open over the first tick, a thousand a second: a real
    // client's rate, and the test's own tasks stay off the visitor's path.
    let now = Instant::now();
    let end = now + Duration::from_secs(9);
    let attack: Vec<_> = (0..attackers)
        .map(|i| tokio::spawn(keep_attacking(app.addr, now + TICK * i as u32 / attackers as u32, end)))
        .collect();

    sleep(TICK).await; // let the attack build up
    let mut latencies = Vec::new();
    let mut n = 0;
    while Instant::now() + Duration::from_secs(1) < end {
        n += 1;
        let path = match n % 2 {
            0 => "/healthz".to_owned(),
            _ => format!("/call/visitor-{n}"),
        };
        latencies.push(
            timed_get(VISITOR, app.addr, &path)
                .await
                .unwrap_or_else(|e| panic!("{e}")),
        );
        sleep(Duration::from_millis(100)).await;
    }
    let mut held = 0;
    for attacker in attack {
        held += usize::from(attacker.await.expect("attacker task"));
    }

    latencies.sort();
    let p95 = latencies[(latencies.len() * 95).div_ceil(100) - 1];
    let slowest = latencies[latencies.len() - 1];
    eprintln!(
        "{attackers} slow connections: visitor p50 {:?}, p95 {p95:?}, slowest {slowest:?} over {} requests; {held} held",
        latencies[latencies.len() / 2],
        latencies.len()
    );
    assert!(latencies.len() >= 20, "the visitor must be measured");
    // A visitor stuck behind the attack waits for a head deadline (10 s);
    // one stall of about a second on a loaded two-core machine is not that
    // (seen once in CI: the slowest of 51 took 1.15 s, the rest were fast).
    assert!(p95 < Duration::from_secs(1), "visitor p95 {p95:?}");
    assert!(slowest < Duration::from_secs(3), "slowest visitor request {slowest:?}");
    assert!(
        (32..=64).contains(&held),
        "the attacker holds its cap of 64 and no more: {held}"
    );
}

#[tokio::test]
async fn at_the_connection_cap_the_longest_waiting_slow_client_makes_room() {
    // Equal deadlines, so only making room can let the visitor in.
    let app = TestApp::spawn_with(
        Store::Sqlite,
        &[
            ("max_connections", "40"),
            ("header_read_timeout_under_load_seconds", "10"),
        ],
    )
    .await;
    let mut oldest = half_sent(ATTACKER, app.addr).await;
    sleep(Duration::from_millis(100)).await;
    let mut others = Vec::new();
    for _ in 1..40 {
        others.push(half_sent(ATTACKER, app.addr).await);
    }
    sleep(Duration::from_millis(300)).await; // all accepted

    let took = timed_get(VISITOR, app.addr, "/healthz")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(took < Duration::from_secs(1), "the visitor waited {took:?}");
    assert!(
        closed_within(&mut oldest, Duration::from_secs(1)).await,
        "the oldest made room"
    );
    for stream in &mut others {
        assert!(
            !closed_within(stream, Duration::from_millis(20)).await,
            "only one made room"
        );
    }
}

#[tokio::test]
async fn near_the_cap_slow_clients_get_the_short_head_deadline_until_half_are_gone() {
    let app = TestApp::spawn_with(
        Store::Sqlite,
        &[
            ("max_connections", "20"),
            ("header_read_timeout_seconds", "10"),
            ("header_read_timeout_under_load_seconds", "1"),
        ],
    )
    .await;
    async fn closed(streams: &mut [TcpStream]) -> usize {
        let mut closed = 0;
        for stream in streams {
            closed += usize::from(closed_within(stream, Duration::from_millis(10)).await);
        }
        closed
    }
    let mut streams = Vec::new();
    for _ in 0..10 {
        streams.push(half_sent(ATTACKER, app.addr).await);
    }
    sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        closed(&mut streams).await,
        0,
        "at half the cap the normal deadline applies"
    );

    // The 15th of 20 reaches three quarters: the ten that have waited 1.5 s
    // are past the short deadline at once, until half the cap (10) is left.
    for _ in 0..6 {
        streams.push(half_sent(ATTACKER, app.addr).await);
    }
    sleep(Duration::from_millis(500)).await;
    let shed = closed(&mut streams[..10]).await;
    assert!((5..=8).contains(&shed), "down to about half the cap: {shed} closed");
    sleep(Duration::from_millis(1500)).await;
    assert_eq!(closed(&mut streams[10..]).await, 0, "back to the normal deadline");
}

#[tokio::test]
async fn trusted_proxies_are_exempt_from_the_per_address_cap() {
    // The test app trusts 127.0.0.1.
    let app = TestApp::spawn_with(Store::Sqlite, &[("max_connections_per_address", "4")]).await;
    let mut proxy = Vec::new();
    let mut untrusted = Vec::new();
    for _ in 0..10 {
        proxy.push(half_sent(Ipv4Addr::LOCALHOST, app.addr).await);
        untrusted.push(half_sent(ATTACKER, app.addr).await);
    }
    let mut refused = 0;
    for stream in &mut untrusted {
        refused += usize::from(closed_within(stream, Duration::from_millis(300)).await);
    }
    assert_eq!(refused, 6, "4 of 10 kept");
    for stream in &mut proxy {
        assert!(
            !closed_within(stream, Duration::from_millis(20)).await,
            "the proxy keeps all 10"
        );
    }
}

#[tokio::test]
async fn heads_sent_in_pieces_are_answered_on_new_and_kept_alive_connections() {
    let app = TestApp::spawn(Store::Sqlite).await;
    let mut stream = connect_from(VISITOR, app.addr).await.expect("connect");
    // The first head is read before hyper gets the connection, the second by
    // hyper; bare line feeds end a head too.
    for head in [
        &b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        b"GET /healthz HTTP/1.1\nHost: x\n\n",
    ] {
        for piece in head.chunks(12) {
            stream.write_all(piece).await.expect("write");
            sleep(Duration::from_millis(100)).await;
        }
        let mut answer = Vec::new();
        while !answer.ends_with(b"ok\n") {
            let mut buf = [0u8; 512];
            let n = timeout(Duration::from_secs(2), stream.read(&mut buf))
                .await
                .expect("an answer")
                .expect("read");
            assert!(n > 0, "closed before answering: {:?}", String::from_utf8_lossy(&answer));
            answer.extend_from_slice(&buf[..n]);
        }
        assert!(
            answer.starts_with(b"HTTP/1.1 200"),
            "{:?}",
            String::from_utf8_lossy(&answer)
        );
    }
}

#[test]
fn the_connection_limits_must_be_at_least_one() {
    let dir = tempfile::tempdir().expect("dir");
    for key in ["max_connections_per_address", "header_read_timeout_under_load_seconds"] {
        std::fs::write(dir.path().join("config.yaml"), format!("{key}: 0\n")).expect("write config");
        let error = footfall::config::Config::load(dir.path(), Vec::new()).expect_err("0 is refused");
        assert!(error.to_string().contains(key), "{error}");
    }
}
