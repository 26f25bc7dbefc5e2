//! Never two counts for one visit, and no acknowledged hit lost, while the
//! store is locked or unreachable: visitors keep arriving, every 503 is
//! retried afterwards, and each visitor must be stored exactly once. Each
//! visitor views a page of its own (registered, with one view, before the
//! fault), so "exactly once" is checked per visitor, not only in total.
//! Waits stay bounded meanwhile. Each test prints what it measured.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::StatusCode;

use crate::helpers::{both_stores, sqlite, Setup, Store, TestApp};
use crate::pg::fresh_database;
use crate::relay::Relay;

/// Pages `/v/0` … and so visitors, at most (one every 50 ms for 6 s).
const PAGES: u32 = 150;

/// Every page is accepted without asking a tracked site (whose probe budget
/// would refuse registering this many pages at once).
const NO_PROBES: &[(&str, &str)] = &[("tracked_base_url", "")];

/// A write or read during a fault is answered within this (2 s deadlines,
/// plus slack for a debug build on a busy machine).
const LATENCY_LIMIT: Duration = Duration::from_millis(2600);

struct Visit {
    visitor: u32,
    status: StatusCode,
    latency: Duration,
}

/// Visitor `n` views `/v/n` from an address of its own.
async fn view(app: &TestApp, n: u32) -> StatusCode {
    let address = std::net::Ipv4Addr::from((10 << 24) | n).to_string();
    app.get_as(&format!("/call/v/{n}"), &address).await.status
}

/// Registers every page with one view (by a visitor of its own) before the fault.
async fn pages_with_one_view(app: &TestApp) {
    for n in 0..PAGES {
        let status = app.get_as(&format!("/call/v/{n}"), "192.0.2.1").await.status;
        assert_eq!(status, StatusCode::OK, "registering /v/{n}");
    }
}

/// A new visitor every `every`, for `during`, each on its own task.
async fn visitors_arrive(app: &Arc<TestApp>, during: Duration, every: Duration) -> Vec<Visit> {
    let started = Instant::now();
    let mut visits = Vec::new();
    let mut n = 0;
    while started.elapsed() < during {
        assert!(n < PAGES, "more visitors than pages");
        let app = Arc::clone(app);
        visits.push(tokio::spawn(async move {
            let sent = Instant::now();
            let status = view(&app, n).await;
            Visit {
                visitor: n,
                status,
                latency: sent.elapsed(),
            }
        }));
        n += 1;
        tokio::time::sleep(every).await;
    }
    let mut done = Vec::new();
    for visit in visits {
        done.push(visit.await.expect("visit task"));
    }
    done
}

/// The slowest answer to GET `url`, asked every 200 ms for `during`.
async fn slowest_read(app: Arc<TestApp>, url: &'static str, during: Duration) -> Duration {
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    while started.elapsed() < during {
        let sent = Instant::now();
        app.get(url).await;
        slowest = slowest.max(sent.elapsed());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    slowest
}

/// Retries every visit that was not acknowledged until it is, as a browser
/// reloading the page would.
async fn retry_until_acknowledged(app: &TestApp, visits: &[Visit]) {
    for visit in visits.iter().filter(|v| v.status != StatusCode::OK) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while view(app, visit.visitor).await != StatusCode::OK {
            assert!(
                Instant::now() < deadline,
                "visitor {} is never acknowledged",
                visit.visitor
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// Waits until every visitor's view is stored (settling may take a moment),
/// then checks that each page has exactly its two views — the one from
/// before the fault and its visitor's — and that no late commit adds one.
async fn each_visitor_stored_once(app: &TestApp, visits: &[Visit]) -> i64 {
    let expected = i64::from(PAGES) + visits.len() as i64;
    let deadline = Instant::now() + Duration::from_secs(15);
    while app.stored_calls().await < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let counts = app.counts().await;
    for n in 0..PAGES {
        let views = if n < visits.len() as u32 { 2 } else { 1 };
        let page = format!("/v/{n}");
        let count = counts.iter().find(|(p, _)| *p == page).map(|(_, c)| *c);
        assert_eq!(count, Some(views), "{page}: its visitor must be counted exactly once");
    }
    assert_eq!(app.stored_calls().await, expected, "the raw calls agree");
    assert_eq!(app.daily_total().await, expected, "the per-day counts agree");
    expected
}

fn report(fault: &str, store: Store, visits: &[Visit], slowest_read: Duration, stored: i64) {
    let refused = visits.iter().filter(|v| v.status != StatusCode::OK).count();
    let slowest_write = visits.iter().map(|v| v.latency).max().unwrap_or_default();
    eprintln!(
        "{fault} ({store:?}): {} visitors, {refused} answered 503 and retried; each stored exactly once ({stored} calls); \
         slowest /call {slowest_write:?}, slowest read {slowest_read:?}",
        visits.len()
    );
    assert!(slowest_write <= LATENCY_LIMIT, "a write took {slowest_write:?}");
    assert!(slowest_read <= LATENCY_LIMIT, "a read took {slowest_read:?}");
}

/// A transaction holds the per-day counts locked for 4 s (PostgreSQL: an
/// ACCESS EXCLUSIVE table lock; SQLite: the write lock) while visitors arrive.
async fn a_locked_store_counts_each_visitor_exactly_once(store: Store) {
    let app = Arc::new(TestApp::spawn_with(store, NO_PROBES).await);
    pages_with_one_view(&app).await;
    let hold = Duration::from_secs(4);
    let locker = match &app.db {
        Some(db) => {
            let client = db.connect().await;
            client
                .batch_execute("BEGIN; LOCK TABLE daily_counts IN ACCESS EXCLUSIVE MODE")
                .await
                .expect("lock");
            tokio::spawn(async move {
                tokio::time::sleep(hold).await;
                client.batch_execute("COMMIT").await.expect("unlock");
            })
        }
        None => {
            let conn = sqlite(app.data_dir());
            conn.execute_batch("BEGIN IMMEDIATE").expect("lock");
            tokio::task::spawn_blocking(move || {
                std::thread::sleep(hold);
                conn.execute_batch("COMMIT").expect("unlock");
            })
        }
    };
    let reads = tokio::spawn(slowest_read(Arc::clone(&app), "/api/counts/v/0", hold));
    let visits = visitors_arrive(&app, hold + Duration::from_secs(1), Duration::from_millis(50)).await;
    locker.await.expect("the lock is released");
    let slowest_read = reads.await.expect("reads");
    assert!(
        visits.iter().any(|v| v.status != StatusCode::OK),
        "the lock must have refused some hits"
    );
    retry_until_acknowledged(&app, &visits).await;
    let stored = each_visitor_stored_once(&app, &visits).await;
    report("table lock 4 s", store, &visits, slowest_read, stored);
}

both_stores!(a_locked_store_counts_each_visitor_exactly_once);

/// The path to PostgreSQL hangs for 4 s (a paused relay) while visitors
/// arrive: commits sent before the pause arrive after it, long after their
/// requests were answered 503.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_connection_counts_each_visitor_exactly_once() {
    let db = fresh_database().await;
    let relay = Relay::start(([127, 0, 0, 1], db.port).into()).await;
    let mut via_relay = db.clone();
    via_relay.port = relay.port;
    let setup = Setup {
        overrides: NO_PROBES,
        db: Some(via_relay),
        ..Setup::default()
    };
    let mut app = TestApp::spawn_setup(Store::Postgres, setup).await;
    app.db = Some(db); // the test's own queries go around the relay
    let app = Arc::new(app);
    pages_with_one_view(&app).await;

    let hang = Duration::from_secs(4);
    let arriving = {
        let app = Arc::clone(&app);
        tokio::spawn(
            async move { visitors_arrive(&app, hang + Duration::from_secs(2), Duration::from_millis(50)).await },
        )
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    relay.pause();
    let slowest_read = slowest_read(Arc::clone(&app), "/api/counts/v/0", hang).await;
    relay.resume();
    let visits = arriving.await.expect("visitors");
    assert!(
        visits.iter().any(|v| v.status != StatusCode::OK),
        "the hang must have refused some hits"
    );
    retry_until_acknowledged(&app, &visits).await;
    let stored = each_visitor_stored_once(&app, &visits).await;
    report("paused relay 4 s", Store::Postgres, &visits, slowest_read, stored);
}
