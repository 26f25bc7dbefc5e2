//! Adopting an OxiTraffic 0.1.x database: Footfall starts on it (its own
//! tables apart, in the schema `footfall`), `footfall import --from
//! oxitraffic` copies every path and call, and OxiTraffic's tables are left
//! exactly as they were. A Footfall database of the previous release, with
//! its tables in `public`, moves into the schema and keeps its counts. And
//! OxiTraffic's page URLs redirect.

use hyper::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{both_stores, Setup, Store, TestApp};
use crate::lifecycle::{exit_of, footfall};
use crate::pg::{fresh_database, Database};

/// OxiTraffic 0.1.3's schema as its one migration
/// (`migrations/20230724161528_create_init_tables.sql`, checked against the
/// crate's source) creates it, with the table sqlx keeps its migrations in.
const OXITRAFFIC_SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS paths (
        id bigserial PRIMARY KEY,
        path text NOT NULL
    );
    CREATE TABLE IF NOT EXISTS calls (
        id bigserial PRIMARY KEY,
        path_id bigserial NOT NULL REFERENCES paths,
        timestamp timestamp with time zone NOT NULL DEFAULT CURRENT_TIMESTAMP(0)
    );
    CREATE TABLE _sqlx_migrations (
        version bigint PRIMARY KEY, description text NOT NULL, installed_on timestamptz NOT NULL DEFAULT now(),
        success boolean NOT NULL, checksum bytea NOT NULL, execution_time bigint NOT NULL
    );
    INSERT INTO _sqlx_migrations VALUES (20230724161528, 'create init tables', now(), true, '\\x00', 1);";

/// What OxiTraffic would have stored: paths without their `/`, a path
/// stored twice (its concurrent first hits), calls to the second.
const OXITRAFFIC_DATA: &str = "
    INSERT INTO paths (path) VALUES (''), ('blog/post-1'), ('blog/post-1'), ('a b'), ('x/../y'), ('never-called');
    INSERT INTO calls (path_id, timestamp) VALUES
        (1, '2024-05-01 10:00:00+00'),
        (2, '2024-05-01 21:59:59+00'), (2, '2024-05-01 22:00:00+00'), (3, '2024-05-02 08:00:00+00'),
        (4, '2024-05-03 12:00:00+00'),
        (5, '2024-05-03 12:00:00+00');";

/// Every row of OxiTraffic's tables, as text.
async fn oxitraffic_rows(db: &Database) -> Vec<String> {
    let client = db.connect().await;
    let mut rows = Vec::new();
    for sql in [
        "SELECT id::text || ' ' || path FROM public.paths ORDER BY id",
        "SELECT id::text || ' ' || path_id::text || ' ' || timestamp::text FROM public.calls ORDER BY id",
        "SELECT version::text FROM public._sqlx_migrations",
    ] {
        for row in client.query(sql, &[]).await.expect(sql) {
            rows.push(row.get(0));
        }
    }
    rows
}

fn json_of(response: &crate::helpers::TestResponse) -> Value {
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    serde_json::from_slice(&response.body).expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn footfall_adopts_an_oxitraffic_database_and_leaves_its_tables_untouched() {
    let db = fresh_database().await;
    db.connect()
        .await
        .batch_execute(&format!("{OXITRAFFIC_SCHEMA}{OXITRAFFIC_DATA}"))
        .await
        .expect("OxiTraffic's tables");
    let before = oxitraffic_rows(&db).await;
    let setup = Setup {
        overrides: &[("tracked_base_url", ""), ("timezone", "Europe/Berlin")],
        db: Some(db.clone()),
        ..Setup::default()
    };
    let mut app = TestApp::spawn_setup(Store::Postgres, setup).await;
    assert_eq!(app.counts().await, vec![], "Footfall starts, with tables of its own");

    let (code, stderr) = exit_of(footfall(app.data_dir()).args(["import", "--from", "oxitraffic"]));
    assert_eq!(code, Some(0), "{stderr}");
    app.restart().await;
    let counts = json_of(&app.get("/api/counts").await);
    assert_eq!(
        counts,
        json!([
            {"path": "/blog/post-1", "count": 3},
            {"path": "/", "count": 1},
            {"path": "/a b", "count": 1},
            {"path": "/never-called", "count": 0},
        ]),
        "the path stored twice is one page; the invalid one is skipped"
    );
    let days = json_of(
        &app.get("/api/history/blog/post-1?bucket=day&from=2024-05-01&to=2024-05-02")
            .await,
    );
    assert_eq!(days[0]["count"], 1, "21:59:59 UTC is 1 May in Berlin: {days}");
    assert_eq!(days[1]["count"], 2, "22:00 UTC is 2 May in Berlin: {days}");
    // The site's days are adopted with the pages' (here all of them).
    let site = json_of(&app.get("/api/history?from=2024-05-01&to=2024-05-02").await);
    assert_eq!(
        (site[0]["count"].clone(), site[1]["count"].clone()),
        (json!(2), json!(2)),
        "{site}"
    );
    let calls = json_of(&app.get("/api/history/blog/post-1").await);
    assert_eq!(
        calls,
        json!([
            "2024-05-01T23:59:59+02:00",
            "2024-05-02T00:00:00+02:00",
            "2024-05-02T10:00:00+02:00"
        ])
    );
    assert_eq!(oxitraffic_rows(&db).await, before, "OxiTraffic's tables are untouched");

    // Counting goes on into Footfall's tables only.
    assert_eq!(
        app.get_as("/call/blog/post-1", "203.0.113.1").await.status,
        StatusCode::OK
    );
    assert_eq!(app.count_of("/blog/post-1").await, Some(4));
    assert_eq!(oxitraffic_rows(&db).await, before);
    let client = db.connect().await;
    let footfall_calls: i64 = client
        .query_one("SELECT coalesce(sum(calls), 0)::bigint FROM footfall.call_rows", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(footfall_calls, 6);
    let differ: i64 = client
        .query_one(&crate::site_days::mismatches("footfall."), &[])
        .await
        .expect("site_days")
        .get(0);
    assert_eq!(differ, 0, "site_days sums the per-day counts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn importing_from_oxitraffic_needs_its_tables_in_postgresql() {
    let app = TestApp::spawn(Store::Postgres).await;
    let (code, stderr) = exit_of(footfall(app.data_dir()).args(["import", "--from", "oxitraffic"]));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("no OxiTraffic tables"), "{stderr}");
    let sqlite = TestApp::spawn(Store::Sqlite).await;
    let (code, stderr) = exit_of(footfall(sqlite.data_dir()).args(["import", "--from", "oxitraffic"]));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("PostgreSQL"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_footfall_database_with_its_tables_in_public_moves_into_its_own_schema() {
    let db = fresh_database().await;
    // The schema and data of the release before: migrations 1–4, in public.
    db.connect()
        .await
        .batch_execute(
            &[
                include_str!("../../sql/postgres/0001_init.sql"),
                include_str!("../../sql/postgres/0002_daily_counts_by_day.sql"),
                include_str!("../../sql/postgres/0003_recorded_batches.sql"),
                include_str!("../../sql/postgres/0004_sites.sql"),
                "CREATE TABLE schema_migrations (version bigint PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
                 INSERT INTO schema_migrations (version) VALUES (1), (2), (3), (4);
                 INSERT INTO paths (site_id, path, total, first_call, last_call)
                   VALUES (1, '/old', 2, '2025-01-01T10:00:00Z', '2025-01-02T10:00:00Z');
                 INSERT INTO calls VALUES (1, '2025-01-01T10:00:00Z'), (1, '2025-01-02T10:00:00Z');
                 INSERT INTO daily_counts VALUES (1, '2025-01-01', 1), (1, '2025-01-02', 1);
                 CREATE TABLE public.not_footfalls (id int);",
            ]
            .join("\n"),
        )
        .await
        .expect("the previous release's database");
    let setup = Setup {
        db: Some(db.clone()),
        ..Setup::default()
    };
    let app = TestApp::spawn_setup(Store::Postgres, setup).await;
    assert_eq!(
        json_of(&app.get("/api/counts/old").await)["count"],
        2,
        "the counts are kept"
    );
    assert_eq!(app.get_as("/call/old", "203.0.113.1").await.status, StatusCode::OK);
    assert_eq!(app.count_of("/old").await, Some(3));
    let client = db.connect().await;
    let schemas: Vec<(String, String)> = client
        .query(
            "SELECT table_schema, table_name FROM information_schema.tables \
             WHERE table_schema IN ('public', 'footfall') ORDER BY 1, 2",
            &[],
        )
        .await
        .expect("tables")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    // Its old `calls` was converted into `call_times` and dropped.
    let expected: Vec<(String, String)> = [
        "call_rows",
        "call_times",
        "calls_pruned",
        "daily_counts",
        "daily_dimensions",
        "daily_tallies",
        "day_counts",
        "dedup_digests",
        "dedup_windows",
        "events",
        "link_daily",
        "links",
        "paths",
        "recorded_batches",
        "schema_migrations",
        "site_days",
        "site_dimensions",
        "sites",
        "webhook_cursors",
        "webhook_failures",
    ]
    .iter()
    .map(|t| ("footfall".to_owned(), (*t).to_owned()))
    .chain([("public".to_owned(), "not_footfalls".to_owned())])
    .collect();
    assert_eq!(schemas, expected, "Footfall's tables moved, nothing else did");
}

async fn oxitraffics_page_urls_redirect(store: Store) {
    let app = TestApp::spawn_with(store, &[("tracked_base_url", ""), ("sites", "{blog: {}}")]).await;
    for (from, to) in [
        ("/dashboard", "/"),
        ("/dashboard/", "/"),
        ("/dashboard/plot/blog/post-1?days=7", "/plot/blog/post-1?days=7"),
        ("/s/blog/dashboard", "/s/blog/"),
        ("/s/blog/dashboard/plot/a%20b", "/s/blog/plot/a%20b"),
    ] {
        let response = app.get(from).await;
        assert_eq!(response.status, StatusCode::MOVED_PERMANENTLY, "{from}");
        assert_eq!(response.header("location"), to, "{from}");
    }
}

both_stores!(oxitraffics_page_urls_redirect);
