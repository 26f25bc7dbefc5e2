//! Readiness follows writes: while writes fail, `/readyz` is 503 with the
//! reason even though reads work, and it recovers by itself when writes do,
//! with no hits arriving.

use std::time::{Duration, Instant};

use hyper::StatusCode;

use crate::helpers::{both_stores, Store, TestApp};

async fn readiness_is_503_while_writes_fail_and_recovers_without_hits(store: Store) {
    let app = TestApp::spawn(store).await;
    app.get_as("/call/a", "203.0.113.1").await;
    app.execute(
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk on fire'; END $$;
         CREATE TRIGGER refuse BEFORE INSERT ON recorded_batches FOR EACH ROW EXECUTE FUNCTION refuse();",
        "CREATE TRIGGER refuse BEFORE INSERT ON recorded_batches BEGIN SELECT RAISE(ABORT, 'disk on fire'); END;",
    )
    .await;
    assert_eq!(
        app.get_as("/call/a", "203.0.113.2").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    let started = Instant::now();
    let ready = app.get("/readyz").await;
    assert!(started.elapsed() < Duration::from_secs(1), "answered within 1 s");
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        ready.text().starts_with("not ready: writes fail:") && ready.text().contains("disk on fire"),
        "the reason, with the store's own words: {}",
        ready.text()
    );
    assert_eq!(app.get("/api/counts").await.status, StatusCode::OK, "reads still work");
    assert_eq!(
        app.get("/readyz").await.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "working reads do not end a write outage"
    );

    app.execute("DROP TRIGGER refuse ON recorded_batches;", "DROP TRIGGER refuse;")
        .await;
    let healed = Instant::now();
    while app.get("/readyz").await.status != StatusCode::OK {
        assert!(
            healed.elapsed() < Duration::from_secs(5),
            "ready again within seconds, no hit needed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.get_as("/call/a", "203.0.113.2").await.status, StatusCode::OK);
    assert_eq!(app.count_of("/a").await, Some(2));
}

both_stores!(readiness_is_503_while_writes_fail_and_recovers_without_hits);
