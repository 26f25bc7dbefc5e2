//! Dimensions with several replicas on one PostgreSQL (`dedup: shared`):
//! labels are summed only from the hits a replica's batch claimed, never
//! from a visitor another replica counted first, so every dimension adds up
//! to the pages' counts; and SIGTERM writes the label sums still waiting.

use std::net::SocketAddr;

use crate::pg::{fresh_database, Database};
use crate::replicas::{get, visitor, Replica};

async fn count(db: &Database, sql: &str) -> i64 {
    db.connect().await.query_one(sql, &[]).await.expect(sql).get(0)
}

/// `/call/p{page}?r=<referrer>` for each (visitor, page) of `jobs`, from 16 tasks.
async fn load(addr: SocketAddr, jobs: Vec<(u32, u32)>) -> u64 {
    let jobs = std::sync::Arc::new(std::sync::Mutex::new(jobs));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let jobs = std::sync::Arc::clone(&jobs);
        tasks.spawn(async move {
            let mut ok = 0;
            loop {
                let Some((v, p)) = jobs.lock().expect("jobs").pop() else {
                    return ok;
                };
                let url = format!("/call/p{p}?r=r{}.example", v % 3);
                if get(addr, &url, Some(&visitor(v))).await == Some(hyper::StatusCode::OK) {
                    ok += 1;
                }
            }
        });
    }
    let mut ok = 0;
    while let Some(done) = tasks.join_next().await {
        ok += done.expect("task");
    }
    ok
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labels_count_each_visitor_once_across_replicas_and_sigterm_writes_them() {
    let db = fresh_database().await;
    let (mut a, mut b) = (Replica::start(&db, "shared").await, Replica::start(&db, "shared").await);
    // Every visitor opens every page on both replicas, twice, all at once:
    // on each replica half its new pairs were claimed by the other first.
    let jobs: Vec<(u32, u32)> = (0..150).flat_map(|v| (0..4).map(move |p| (v, p))).collect();
    let twice: Vec<(u32, u32)> = jobs.iter().chain(&jobs).copied().collect();
    let (on_a, on_b) = tokio::join!(load(a.addr, twice.clone()), load(b.addr, twice));
    assert_eq!(on_a + on_b, 4 * 150 * 4, "every request answered 200");
    // Stopped right away, within the second their label sums wait.
    tokio::join!(a.terminate(), b.terminate());
    assert_eq!(count(&db, "SELECT sum(total)::bigint FROM paths").await, 600);
    for (kind, name) in [(0, "agent"), (2, "referrer")] {
        let sql = format!("SELECT coalesce(sum(count), 0)::bigint FROM daily_dimensions WHERE dimension = {kind}");
        assert_eq!(count(&db, &sql).await, 600, "{name} rows: one per counted visitor");
    }
    for p in 0..4 {
        let sql = format!(
            "SELECT coalesce(sum(d.count), 0)::bigint FROM daily_dimensions d JOIN paths p ON p.id = d.path_id \
             WHERE p.path = '/p{p}' AND d.dimension = 0"
        );
        assert_eq!(count(&db, &sql).await, 150, "page /p{p}");
    }
    let sql = "SELECT count(*) FROM daily_dimensions WHERE dimension = 2 AND value = 'r1.example'";
    assert_eq!(count(&db, sql).await, 4, "one row per page and value");
    let sql = crate::site_dimensions::mismatches("");
    assert_eq!(count(&db, &sql).await, 0, "the site's rows are its pages' sums");
}
