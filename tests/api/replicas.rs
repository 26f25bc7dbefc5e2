//! Several Footfall processes on one PostgreSQL (`dedup: shared`): the real
//! binary twice, on one throwaway database, under concurrent load at both.
//! One visitor counts once per page per window whichever replica it
//! reaches; concurrent batches on the same pages never deadlock; every
//! acknowledged hit is stored, also when one replica is killed mid-load.

use std::net::SocketAddr;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;

use footfall::link::token::{LinkKeys, Payload};

use crate::helpers::BROWSER;
use crate::lifecycle::footfall;
use crate::pg::{fresh_database, Database};
use crate::ports::free_port;

/// The replicas' shared secret (at least 32 bytes).
pub const SECRET: &str = "replica-secret-for-the-tests-0123456789";

/// One `footfall` process, killed when dropped.
pub struct Replica {
    pub addr: SocketAddr,
    child: Option<Child>,
    _dir: tempfile::TempDir,
}

impl Replica {
    /// Starts the binary on `db` with `dedup: <mode>` and waits until it is ready.
    pub async fn start(db: &Database, mode: &str) -> Self {
        Self::start_with(db, mode, "").await
    }

    /// [`Replica::start`] with more configuration (YAML lines).
    pub async fn start_with(db: &Database, mode: &str, more: &str) -> Self {
        let dir = tempfile::tempdir().expect("dir");
        let port = free_port();
        let secret = if mode == "shared" {
            format!("dedup_secret: {SECRET}\n")
        } else {
            String::new()
        };
        let yaml = format!(
            "socket_address: 127.0.0.1:{port}\ntrusted_proxies: [127.0.0.1]\ndedup: {mode}\n{secret}{more}{}",
            db.yaml()
        );
        std::fs::write(dir.path().join("config.yaml"), yaml).expect("config");
        let log = std::fs::File::create(dir.path().join("log")).expect("log file");
        let child = footfall(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn footfall");
        let replica = Self {
            addr: ([127, 0, 0, 1], port).into(),
            child: Some(child),
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while get(replica.addr, "/readyz", None).await != Some(StatusCode::OK) {
            assert!(Instant::now() < deadline, "a replica did not get ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        replica
    }

    /// SIGTERM, and waits until the process has drained, flushed and exited.
    pub async fn terminate(&mut self) {
        if let Some(child) = self.child.take() {
            let (status, _) = crate::lifecycle::sigterm_and_wait(child).await;
            assert!(status.success(), "{status:?}");
        }
    }

    /// SIGKILL: no drain, no flush.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A GET on a fresh connection as the visitor `ip` (through the trusted
/// proxy); `None` when the replica is gone.
pub async fn get(addr: SocketAddr, path: &str, ip: Option<&str>) -> Option<StatusCode> {
    let stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.ok()?;
    tokio::spawn(connection);
    let mut request = Request::get(path)
        .header("host", "footfall.test")
        .header("user-agent", BROWSER);
    if let Some(ip) = ip {
        request = request.header("x-forwarded-for", ip);
    }
    let response = sender
        .send_request(request.body(Empty::<Bytes>::new()).expect("request"))
        .await
        .ok()?;
    let status = response.status();
    response.into_body().collect().await.ok()?;
    Some(status)
}

/// The visitor number `n` as an address.
pub fn visitor(n: u32) -> String {
    let [_, a, b, c] = n.to_be_bytes();
    format!("10.{a}.{b}.{c}")
}

/// Sums of what a load run saw.
#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    unavailable: AtomicU64,
    gone: AtomicU64,
    other: AtomicU64,
}

impl Tally {
    fn add(&self, status: Option<StatusCode>) {
        let counter = match status {
            Some(StatusCode::OK) => &self.ok,
            Some(StatusCode::SERVICE_UNAVAILABLE) => &self.unavailable,
            None => &self.gone,
            Some(_) => &self.other,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
    fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// Sends `/call/p{page}` for each (visitor, page) of `jobs` to `addr` from
/// `workers` concurrent tasks; returns what came back.
async fn load(addr: SocketAddr, jobs: Vec<(u32, u32)>, workers: usize) -> Arc<Tally> {
    let tally = Arc::new(Tally::default());
    let jobs = Arc::new(std::sync::Mutex::new(jobs));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let (jobs, tally) = (Arc::clone(&jobs), Arc::clone(&tally));
        tasks.spawn(async move {
            loop {
                let Some((v, p)) = jobs.lock().expect("jobs").pop() else {
                    return;
                };
                tally.add(get(addr, &format!("/call/p{p}"), Some(&visitor(v))).await);
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    tally
}

async fn count(db: &Database, sql: &str) -> i64 {
    db.connect().await.query_one(sql, &[]).await.expect(sql).get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_visitor_on_two_replicas_counts_once_per_page_per_window() {
    let db = fresh_database().await;
    let (a, b) = (Replica::start(&db, "shared").await, Replica::start(&db, "shared").await);
    // Every visitor opens every page on both replicas, twice, all at once.
    let jobs: Vec<(u32, u32)> = (0..150).flat_map(|v| (0..4).map(move |p| (v, p))).collect();
    let twice: Vec<(u32, u32)> = jobs.iter().chain(&jobs).copied().collect();
    let (on_a, on_b) = tokio::join!(load(a.addr, twice.clone(), 16), load(b.addr, twice, 16));
    assert_eq!(Tally::get(&on_a.ok) + Tally::get(&on_b.ok), 4 * 150 * 4);
    for p in 0..4 {
        let sql = format!("SELECT total FROM paths WHERE path = '/p{p}'");
        assert_eq!(count(&db, &sql).await, 150, "page /p{p}");
    }
    assert_eq!(
        count(&db, "SELECT coalesce(sum(calls), 0)::bigint FROM call_rows").await,
        600
    );
    assert_eq!(count(&db, "SELECT sum(count)::bigint FROM day_counts").await, 600);
    // The site's days count each claimed hit once too.
    assert_eq!(count(&db, "SELECT sum(count)::bigint FROM site_days").await, 600);
    assert_eq!(count(&db, &crate::site_days::mismatches("")).await, 0);
    // The database holds digests and one nonce per window, never an address.
    assert_eq!(count(&db, "SELECT count(*) FROM dedup_digests").await, 600);
    assert_eq!(count(&db, "SELECT count(*) FROM dedup_windows").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_visitor_clicking_a_link_on_two_replicas_counts_once() {
    let db = fresh_database().await;
    let secret = "link-secret-for-the-replica-tests-0123456789";
    let more = format!("link_secret: {secret}\n");
    let (a, b) = (
        Replica::start_with(&db, "shared", &more).await,
        Replica::start_with(&db, "shared", &more).await,
    );
    let payload = Payload {
        url: "https://example.com/download".into(),
        site: "default".into(),
        name: None,
        meta: Default::default(),
        expires: None,
    };
    let (token, _) = LinkKeys::new(secret.as_bytes(), &[], false)
        .mint(&payload, [5; 24])
        .expect("mint");
    let go = format!("/go/{token}");
    // 40 visitors click on both replicas, twice each, all at once.
    let click = |addr, v| {
        let go = go.clone();
        async move { get(addr, &go, Some(&visitor(v))).await }
    };
    let mut clicks = tokio::task::JoinSet::new();
    for v in 0..40 {
        for addr in [a.addr, b.addr, a.addr, b.addr] {
            clicks.spawn(click(addr, v));
        }
    }
    while let Some(status) = clicks.join_next().await {
        assert_eq!(status.expect("task"), Some(StatusCode::FOUND));
    }
    assert_eq!(count(&db, "SELECT sum(total)::bigint FROM links").await, 40);
    assert_eq!(count(&db, "SELECT sum(count)::bigint FROM link_daily").await, 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_local_dedup_each_replica_counts_the_visitor_again() {
    // What shared dedup is for: the same load, each replica on its own.
    let db = fresh_database().await;
    let (a, b) = (Replica::start(&db, "local").await, Replica::start(&db, "local").await);
    let jobs: Vec<(u32, u32)> = (0..50).map(|v| (v, 0)).collect();
    tokio::join!(load(a.addr, jobs.clone(), 8), load(b.addr, jobs, 8));
    assert_eq!(count(&db, "SELECT total FROM paths WHERE path = '/p0'").await, 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_concurrent_batches_on_the_same_pages_never_deadlock_and_every_200_is_stored() {
    let db = fresh_database().await;
    let (a, b) = (Replica::start(&db, "shared").await, Replica::start(&db, "shared").await);
    // 3 pages, every request a new (visitor, page) pair: each 200 must be one stored call.
    let per_replica = 5_000;
    let jobs = |offset: u32| -> Vec<(u32, u32)> { (0..per_replica).map(|i| (offset + i / 3, i % 3)).collect() };
    let (on_a, on_b) = tokio::join!(load(a.addr, jobs(0), 12), load(b.addr, jobs(1_000_000), 12));
    for (name, tally) in [("a", &on_a), ("b", &on_b)] {
        assert_eq!(Tally::get(&tally.unavailable), 0, "503s from replica {name}");
        assert_eq!(Tally::get(&tally.other) + Tally::get(&tally.gone), 0, "replica {name}");
    }
    let acknowledged = Tally::get(&on_a.ok) + Tally::get(&on_b.ok);
    assert_eq!(acknowledged, 2 * u64::from(per_replica));
    assert_eq!(
        count(&db, "SELECT coalesce(sum(calls), 0)::bigint FROM call_rows").await as u64,
        acknowledged
    );
    assert_eq!(
        count(&db, "SELECT sum(total)::bigint FROM paths").await as u64,
        acknowledged
    );
    // The site's days, written last by every batch of both replicas.
    assert_eq!(
        count(&db, "SELECT sum(count)::bigint FROM site_days").await as u64,
        acknowledged
    );
    // Many batches really did overlap on the same rows.
    let batches = metric(a.addr, "footfall_batches_total{outcome=\"committed\"}").await
        + metric(b.addr, "footfall_batches_total{outcome=\"committed\"}").await;
    assert!(batches >= 1_500, "only {batches} batches");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_mid_load_loses_nothing_the_other_acknowledged() {
    let db = fresh_database().await;
    let (mut a, b) = (Replica::start(&db, "shared").await, Replica::start(&db, "shared").await);
    let jobs = |offset: u32| -> Vec<(u32, u32)> { (0..3_000).map(|i| (offset + i / 2, i % 2)).collect() };
    let on_a = tokio::spawn(load(a.addr, jobs(0), 24));
    let on_b = tokio::spawn(load(b.addr, jobs(1_000_000), 24));
    tokio::time::sleep(Duration::from_millis(700)).await;
    a.kill();
    let (on_a, on_b) = (on_a.await.expect("load a"), on_b.await.expect("load b"));
    assert!(
        Tally::get(&on_a.gone) > 0,
        "the replica was killed before the load ended"
    );
    assert_eq!(Tally::get(&on_b.ok), 3_000, "the surviving replica answered everything");
    let stored = count(&db, "SELECT coalesce(sum(calls), 0)::bigint FROM call_rows").await as u64;
    // Every 200 from either replica is stored; nothing is stored twice (each
    // pair was sent once, so at most one call per request sent).
    assert!(stored >= Tally::get(&on_a.ok) + 3_000, "stored {stored}");
    assert!(stored <= 6_000, "stored {stored}");
    assert_eq!(count(&db, "SELECT sum(total)::bigint FROM paths").await as u64, stored);
}

/// One sample of `/metrics`.
pub async fn metric(addr: SocketAddr, series: &str) -> u64 {
    let response = crate::helpers::send(addr, hyper::Method::GET, "/metrics", &[]).await;
    assert_eq!(response.status, StatusCode::OK);
    let text = response.text();
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{series} not in\n{text}"))
}
