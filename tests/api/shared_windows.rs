//! Shared dedup windows by the injected clock: two replicas in one process
//! (each its own `App`, its own pool) on one PostgreSQL and one manual
//! clock. At a window's end a visitor counts again, and the ended window's
//! nonce and digests are deleted.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use footfall::app::App;
use footfall::clock::ManualClock;
use footfall::config::Config;
use http_body_util::Empty;
use hyper::{Request, StatusCode};
use jiff::SignedDuration;

use crate::pg::{fresh_database, Database};
use crate::replicas::SECRET;

struct Replica {
    app: App,
    _dir: tempfile::TempDir,
}

impl Replica {
    async fn start(db: &Database, clock: &Arc<ManualClock>) -> Self {
        let dir = tempfile::tempdir().expect("data dir");
        let yaml = format!(
            "trusted_proxies: [127.0.0.1]\ndedup: shared\ndedup_secret: {SECRET}\n{}",
            db.yaml()
        );
        std::fs::write(dir.path().join("config.yaml"), yaml).expect("config");
        let config = Config::load(dir.path(), Vec::new()).expect("config loads");
        let app = App::build(config, Arc::clone(clock) as _).expect("app builds");
        app.prepare().await;
        Self { app, _dir: dir }
    }

    async fn call(&self, path: &str, visitor: &str) -> StatusCode {
        let request = Request::get(path)
            .header("user-agent", crate::helpers::BROWSER)
            .header("x-forwarded-for", visitor)
            .body(Empty::<Bytes>::new())
            .expect("request");
        let proxy = IpAddr::from([127, 0, 0, 1]);
        footfall::http::route(&self.app.state, request, proxy).await.status()
    }
}

async fn one(db: &Database, sql: &str) -> i64 {
    db.connect().await.query_one(sql, &[]).await.expect(sql).get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_a_window_rollover_the_visitor_counts_again_and_the_old_nonce_and_digests_are_deleted() {
    let db = fresh_database().await;
    let clock = Arc::new(ManualClock::new("2026-03-01T10:00:00Z".parse().expect("a time")));
    let (a, b) = (Replica::start(&db, &clock).await, Replica::start(&db, &clock).await);
    for replica in [&a, &b, &a] {
        assert_eq!(replica.call("/call/a", "203.0.113.9").await, StatusCode::OK);
    }
    assert_eq!(b.call("/call/a", "203.0.113.10").await, StatusCode::OK);
    assert_eq!(one(&db, "SELECT total FROM paths WHERE path = '/a'").await, 2);
    let first: i64 = one(&db, "SELECT id FROM dedup_windows").await;
    let partition = format!("SELECT count(*) FROM pg_class WHERE relname = 'dedup_digests_{first}'");
    assert_eq!(one(&db, &partition).await, 1);
    assert_eq!(one(&db, "SELECT count(*) FROM dedup_digests").await, 2);

    // The next day: a new window, a new nonce; the visitor counts again, once.
    clock.advance(SignedDuration::from_hours(24));
    for replica in [&b, &a] {
        assert_eq!(replica.call("/call/a", "203.0.113.9").await, StatusCode::OK);
    }
    assert_eq!(one(&db, "SELECT total FROM paths WHERE path = '/a'").await, 3);
    let nonces = "SELECT count(DISTINCT nonce) FROM dedup_windows";
    // The closer (every second) deletes the ended window.
    let deadline = Instant::now() + Duration::from_secs(10);
    while one(&db, &format!("SELECT count(*) FROM dedup_windows WHERE id = {first}")).await > 0 {
        assert!(Instant::now() < deadline, "the ended window was not closed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(one(&db, &partition).await, 0, "its digests are dropped with it");
    assert_eq!(one(&db, nonces).await, 1);
    assert_eq!(one(&db, "SELECT count(*) FROM dedup_digests").await, 1);
    assert_eq!(a.call("/call/a", "203.0.113.9").await, StatusCode::OK);
    assert_eq!(one(&db, "SELECT total FROM paths WHERE path = '/a'").await, 3);
    a.app.shut_down().await;
    b.app.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_counts_only_hits_whose_digest_is_new_and_a_second_attempt_changes_nothing() {
    use footfall::store::{Batch, Committed, Counted, Digest, Hit};
    let mut s = crate::helpers::TestStore::open(crate::helpers::Store::Postgres, "").await;
    s.store.migrate().await.expect("migrate");
    s.ensure_default_site().await;
    let page = s
        .store
        .register_path(s.site, &crate::helpers::page("/a"))
        .await
        .expect("register");
    let shared = s.store.shared_dedup().expect("PostgreSQL has shared dedup");
    let start: jiff::Timestamp = "2026-03-01T00:00:00Z".parse().expect("a time");
    let end: jiff::Timestamp = "2026-03-02T00:00:00Z".parse().expect("a time");
    let window = shared.open_window(s.site, start, end, &[1; 32]).await.expect("open");
    let again = shared
        .open_window(s.site, start, end, &[2; 32])
        .await
        .expect("open again");
    assert_eq!(again, window, "the first replica's nonce wins");
    let at = "2026-03-01T10:00:00Z".parse().expect("a time");
    let hits = [Hit {
        path: page,
        at,
        day: 20513,
    }; 2];
    let digest = |hit, value| Digest {
        of: Counted::Hit(hit),
        window: window.id,
        value,
    };
    let first_digests = [digest(0, 11), digest(1, 12)];
    let first = Batch {
        digests: &first_digests,
        ..crate::helpers::batch(&hits)
    };
    assert_eq!(s.store.record(first).await.expect("first").committed, Committed::Now);
    // The same batch again (its outcome was not seen): a no-op.
    assert_eq!(
        s.store.record(first).await.expect("again").committed,
        Committed::Earlier
    );
    assert_eq!(s.query_i64("SELECT total FROM paths").await, 2);
    // One digest known (another replica counted that visitor), one new.
    let second_digests = [digest(0, 12), digest(1, 13)];
    let second = Batch {
        digests: &second_digests,
        ..crate::helpers::batch(&hits)
    };
    assert_eq!(s.store.record(second).await.expect("second").committed, Committed::Now);
    assert_eq!(s.query_i64("SELECT total FROM paths").await, 3);
    assert_eq!(
        s.query_i64("SELECT coalesce(sum(calls), 0)::bigint FROM call_rows")
            .await,
        3
    );
    assert_eq!(s.query_i64("SELECT sum(count)::bigint FROM day_counts").await, 3);
    assert_eq!(
        s.query_i64("SELECT sum(count)::bigint FROM site_days").await,
        3,
        "the site's days count only the claimed hits"
    );
    // Once the window is closed its digests are gone, and a late hit of it
    // counts nothing: whether another replica counted it cannot be known.
    assert_eq!(shared.close_windows(end).await.expect("close"), 1);
    assert_eq!(s.query_i64("SELECT count(*) FROM dedup_windows").await, 0);
    let late_digests = [digest(0, 14)];
    let late = Batch {
        digests: &late_digests,
        ..crate::helpers::batch(&hits[..1])
    };
    assert_eq!(s.store.record(late).await.expect("late").committed, Committed::Now);
    assert_eq!(s.query_i64("SELECT total FROM paths").await, 3);
}
