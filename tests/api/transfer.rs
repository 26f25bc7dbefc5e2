//! Export and import: a full export imported into an empty store of the
//! other backend and exported again gives the same bytes (PostgreSQL →
//! SQLite and back, JSON Lines and CSV); imports add, refuse malformed
//! files without changing anything, and read GoatCounter and plain CSV.

use std::path::Path;
use std::process::Stdio;

use footfall::store::{Batch, DayTallies, Hit, PageTallies, PathCount, PathId, Summary, Tallies, Tally};
use footfall::zone::{DayNumber, Zone};
use hyper::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{batch, both_stores, page, Store, TestApp, TestStore};
use crate::lifecycle::footfall;
use crate::requests::{request, ADMIN, ADMIN_KEY};

const SITES: &str = "sites: {blog: {}, docs: {timezone: Asia/Tokyo}}\ndefault_site: blog\n";

/// A migrated store with two sites and the awkward cases: paths that need
/// CSV quoting and percent-encoding, calls at the same microsecond, before
/// 1970 and with fractions, a page without calls, a start count, and every
/// tally series (before 1970 too, and on a day without calls).
async fn filled(store: Store) -> TestStore {
    let s = TestStore::open(store, SITES).await;
    s.store.migrate().await.expect("migrate");
    let blog = s.store.ensure_site("blog").await.expect("blog");
    let docs = s.store.ensure_site("docs").await.expect("docs");
    let (mut hits, mut pages) = (Vec::new(), Vec::new());
    for (site, path, times) in [
        (blog, "/", &["2026-03-01T10:00:00Z", "2026-03-02T10:00:00Z"][..]),
        (
            blog,
            "/a",
            &[
                "2026-03-01T10:00:00.123456Z",
                "2026-03-01T10:00:00.123456Z",
                "1969-12-31T23:59:59.999999Z",
            ],
        ),
        (blog, "/b c,\"q\"", &["2026-03-03T23:30:00Z"]),
        (blog, "/%C3%BC", &["2026-03-04T00:00:01Z"]),
        (docs, "/a", &["2026-03-01T16:00:00Z"]),
        (docs, "/never", &[]),
    ] {
        let zone = if site == docs {
            Zone::named("Asia/Tokyo").expect("zone")
        } else {
            Zone::utc()
        };
        let id = s.store.register_path(site, &page(path)).await.expect("register");
        pages.push(id);
        for at in times {
            let at: jiff::Timestamp = at.parse().expect("time");
            hits.push(Hit {
                path: id,
                at,
                day: zone.day_of(at),
            });
        }
    }
    let tallies = [
        tallies_of(pages[1], DAY, &[(Tally::Bot, 3), (Tally::Proxied, 2)]),
        tallies_of(pages[1], -1, &[(Tally::Prefetch, 1)]),
        tallies_of(pages[2], DAY + 1, &[(Tally::Ignored, 4), (Tally::ForeignEmbed, 1)]),
        tallies_of(pages[4], DAY + 1, &[(Tally::Proxied, 2), (Tally::Bot, 1)]),
    ];
    let all = Batch {
        tallies: &tallies,
        ..batch(&hits)
    };
    s.store.record(all).await.expect("record");
    s.store.set_start_count(blog, &page("/a"), 7).await.expect("offset");
    s
}

/// 2026-03-01.
const DAY: DayNumber = 20_513;

/// Tallies of page `path` on `day`.
fn tallies_of(path: PathId, day: DayNumber, series: &[(Tally, u64)]) -> DayTallies {
    let mut tallies = Tallies::default();
    for &(tally, n) in series {
        tallies.add(tally, n);
    }
    DayTallies { path, day, tallies }
}

/// `footfall export ARGS` on the store of `dir`: its stdout.
fn export(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = footfall(dir)
        .arg("export")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run footfall");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// `footfall import ARGS FILE` of `bytes` into the store of `dir`: exit code, stdout, stderr.
fn import(dir: &Path, args: &[&str], bytes: &[u8]) -> (Option<i32>, String, String) {
    let file = dir.join("import.file");
    std::fs::write(&file, bytes).expect("write the file");
    let out = footfall(dir)
        .arg("import")
        .args(args)
        .arg(&file)
        .stdin(Stdio::null())
        .output()
        .expect("run footfall");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

/// Every site's counts, every page's summary and every page's tallies, for
/// comparing two stores.
async fn figures(s: &TestStore) -> Vec<(String, Vec<PathCount>, Vec<Summary>, Vec<PageTallies>)> {
    let mut all = Vec::new();
    for slug in ["blog", "docs"] {
        let site = s.store.ensure_site(slug).await.expect("site");
        let counts = s.store.counts(site).await.expect("counts");
        let mut summaries = Vec::new();
        for count in &counts {
            let id = s
                .store
                .page_id(site, &page(&count.path))
                .await
                .expect("id")
                .expect("a page");
            summaries.push(s.store.summary(id).await.expect("summary"));
        }
        // All days of the figures, and far beyond.
        let tallies = s.store.tallies_between(site, -100_000, 100_000).await.expect("tallies");
        all.push((slug.to_owned(), counts, summaries, tallies));
    }
    all
}

async fn round_trip(format: &str) {
    let source = filled(Store::Postgres).await;
    let args = ["--calls", "--format", format];
    let original = export(source.dir.path(), &args);
    let text = String::from_utf8_lossy(&original);
    assert!(
        text.contains("1969-12-31T23:59:59.999999Z") && text.contains("\"q"),
        "{text}"
    );
    for series in ["proxied", "bot", "prefetch", "ignored", "foreign_embed"] {
        assert!(text.contains(series), "{series}: {text}");
    }
    assert_eq!(export(source.dir.path(), &args), original, "exports are deterministic");

    let mut previous = source;
    for store in [Store::Sqlite, Store::Postgres, Store::Sqlite] {
        let target = TestStore::open(store, SITES).await;
        let (code, stdout, stderr) = import(target.dir.path(), &[], &original);
        assert_eq!(code, Some(0), "{stderr}");
        assert!(stdout.contains("added 2 sites, 6 new pages"), "{stdout}");
        assert_eq!(
            export(target.dir.path(), &args),
            original,
            "{format} into {store:?}: the same bytes"
        );
        assert_eq!(
            figures(&target).await,
            figures(&previous).await,
            "{store:?}: the same counts"
        );
        previous = target;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_export_round_trips_between_the_backends_byte_for_byte() {
    round_trip("json").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csv_export_round_trips_between_the_backends_byte_for_byte() {
    round_trip("csv").await;
}

async fn an_export_without_calls_or_of_one_site_holds_just_that(store: Store) {
    let s = filled(store).await;
    let text = String::from_utf8(export(s.dir.path(), &["--site", "docs"])).expect("UTF-8");
    assert_eq!(
        text,
        "{\"type\":\"footfall-export\",\"version\":1}\n\
         {\"type\":\"site\",\"site\":\"docs\"}\n\
         {\"type\":\"page\",\"site\":\"docs\",\"path\":\"/a\",\"offset\":0,\"first\":\"2026-03-01T16:00:00.000000Z\",\"last\":\"2026-03-01T16:00:00.000000Z\"}\n\
         {\"type\":\"page\",\"site\":\"docs\",\"path\":\"/never\",\"offset\":0,\"first\":null,\"last\":null}\n\
         {\"type\":\"day\",\"site\":\"docs\",\"path\":\"/a\",\"series\":\"visitors\",\"day\":\"2026-03-02\",\"count\":1}\n\
         {\"type\":\"day\",\"site\":\"docs\",\"path\":\"/a\",\"series\":\"proxied\",\"day\":\"2026-03-02\",\"count\":2}\n\
         {\"type\":\"day\",\"site\":\"docs\",\"path\":\"/a\",\"series\":\"bot\",\"day\":\"2026-03-02\",\"count\":1}\n",
        "visitors first, then each tally series with a count, in a fixed order"
    );
}

async fn the_admin_export_streams_what_the_command_writes(store: Store) {
    let mut app = TestApp::spawn_with(store, &[ADMIN_KEY]).await;
    app.seed(&[("/a", "2026-03-01T10:00:00Z"), ("/b", "2026-03-02T10:00:00Z")])
        .await;
    for (query, args) in [("?calls=1", &["--calls"][..]), ("?format=csv", &["--format", "csv"])] {
        let response = app.admin(Method::GET, &format!("/api/admin/export{query}"), None).await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text());
        assert_eq!(response.header("cache-control"), "no-store");
        assert!(response
            .header("content-disposition")
            .starts_with("attachment; filename=\"footfall-export."));
        assert_eq!(
            response.body.as_ref(),
            export(app.data_dir(), args).as_slice(),
            "{query}"
        );
    }
    let csv = app.admin(Method::GET, "/api/admin/export?format=csv", None).await;
    assert_eq!(csv.header("content-type"), "text/csv; charset=utf-8");
    for bad in ["?format=xml", "?calls=maybe", "?token=x", "?format=csv&format=json"] {
        let response = app.admin(Method::GET, &format!("/api/admin/export{bad}"), None).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    let unauthorized = request(app.addr, Method::GET, "/api/admin/export", &[], bytes::Bytes::new()).await;
    assert_eq!(unauthorized.status, StatusCode::UNAUTHORIZED);
}

/// Posts `body` to the admin import route.
async fn post_import(app: &TestApp, query: &str, body: impl Into<bytes::Bytes>) -> crate::helpers::TestResponse {
    let auth = format!("Bearer {ADMIN}");
    let path = format!("/api/admin/import{query}");
    request(
        app.addr,
        Method::POST,
        &path,
        &[("authorization", &auth), ("content-type", "text/csv")],
        body,
    )
    .await
}

async fn an_import_adds_to_existing_pages_and_says_what_it_did(store: Store) {
    let mut app = TestApp::spawn_with(store, &[ADMIN_KEY]).await;
    app.seed(&[("/a", "2026-03-01T10:00:00Z"), ("/a", "2026-03-02T10:00:00Z")])
        .await;
    let file = app.admin(Method::GET, "/api/admin/export?calls=1", None).await.body;
    let response = post_import(&app, "", file.clone()).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let report: Value = serde_json::from_slice(&response.body).expect("JSON");
    assert_eq!(
        report,
        json!({"sites_added": 0, "pages_added": 0, "pages_existing": 1, "day_counts": 2, "calls": 2, "offsets": 0, "skipped": 0})
    );
    assert_eq!(
        app.count_of("/a").await,
        Some(4),
        "imported counts add to what is there"
    );
    assert_eq!(app.stored_calls().await, 4);
    let day = app
        .get("/api/history/a?bucket=day&from=2026-03-01&to=2026-03-02")
        .await
        .text();
    assert_eq!(
        serde_json::from_str::<Value>(&day).expect("days")[0]["count"],
        2,
        "{day}"
    );
    // The site's days take the imported per-day counts too.
    let site = app.get("/api/history?from=2026-03-01&to=2026-03-02").await.text();
    let site: Value = serde_json::from_str(&site).expect("site days");
    assert_eq!(
        (site[0]["count"].as_u64(), site[1]["count"].as_u64()),
        (Some(2), Some(2)),
        "{site}"
    );
    assert_eq!(app.stored_i64(&crate::site_days::mismatches("")).await, 0);
}

async fn a_malformed_import_changes_nothing_and_names_the_line(store: Store) {
    let mut app = TestApp::spawn_with(store, &[ADMIN_KEY]).await;
    app.seed(&[("/a", "2026-03-01T10:00:00Z")]).await;
    // More lines than one write holds, so some were written inside the
    // transaction before the bad line ended it.
    let mut file =
        String::from("{\"type\":\"footfall-export\",\"version\":1}\n{\"type\":\"site\",\"site\":\"default\"}\n");
    file.push_str(
        "{\"type\":\"page\",\"site\":\"default\",\"path\":\"/a\",\"offset\":5,\"first\":null,\"last\":null}\n",
    );
    for i in 0..12_000 {
        file.push_str(&format!(
            "{{\"type\":\"call\",\"site\":\"default\",\"path\":\"/a\",\"at\":\"2026-03-01T10:00:{:02}.{i:06}Z\"}}\n",
            i % 60
        ));
    }
    file.push_str("{\"type\":\"call\",\"site\":\"default\",\"path\":\"/a\",\"at\":\"soon\"}\n");
    let response = post_import(&app, "", file).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST, "{}", response.text());
    assert!(response.text().contains("line 12004"), "{}", response.text());
    assert_eq!(app.count_of("/a").await, Some(1), "no offset added");
    assert_eq!(app.stored_calls().await, 1, "no call added");
    let (code, _, stderr) = import(
        app.data_dir(),
        &[],
        b"path,day,count\n/a,2026-03-01,3\n/b,yesterday,1\n",
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("line 3") && stderr.contains("nothing changed"),
        "{stderr}"
    );
    assert_eq!((app.count_of("/a").await, app.count_of("/b").await), (Some(1), None));
}

async fn goatcounter_and_plain_csv_files_become_counts(store: Store) {
    let app = TestApp::spawn_with(store, &[ADMIN_KEY, ("timezone", "Europe/Berlin")]).await;
    let goatcounter = "\"2,Path\",Title,Event,User-Agent,Browser,System,Session,Bot,Referrer,Referrer scheme,Screen size,Location,FirstVisit,Date\n\
        /post,Post,false,,,,s1,0,,,,,true,2026-03-01T23:30:00Z\n\
        /post,Post,false,,,,s1,0,,,,,false,2026-03-01T23:35:00Z\n\
        /post,Post,false,,,,s2,0,,,,,true,2026-03-02T08:00:00Z\n\
        click,,true,,,,s2,0,,,,,true,2026-03-02T08:01:00Z\n";
    let response = post_import(&app, "?from=goatcounter", goatcounter).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let report: Value = serde_json::from_slice(&response.body).expect("JSON");
    assert_eq!(
        (report["calls"].as_u64(), report["skipped"].as_u64()),
        (Some(2), Some(2))
    );
    let days = app
        .get("/api/history/post?bucket=day&from=2026-03-01&to=2026-03-02")
        .await
        .text();
    let counts: Vec<u64> = serde_json::from_str::<Vec<Value>>(&days)
        .expect("days")
        .iter()
        .map(|d| d["count"].as_u64().expect("count"))
        .collect();
    assert_eq!(counts, [0, 2], "23:30 UTC is 2 March in Berlin");
    assert_eq!(app.get_as("/call/post", "203.0.113.1").await.status, StatusCode::OK);
    assert_eq!(
        app.site.probes_of("/post"),
        0,
        "imported pages are known without a probe"
    );

    let plain = post_import(&app, "", "path,day,count\n/post,2026-02-01,10\nold/page,2026-02-02,3\n").await;
    assert_eq!(plain.status, StatusCode::OK, "{}", plain.text());
    assert_eq!(app.count_of("/post").await, Some(13));
    assert_eq!(app.count_of("/old/page").await, Some(3));
    let not_goat = post_import(&app, "", goatcounter).await;
    assert!(not_goat.text().contains("--from goatcounter"), "{}", not_goat.text());
}

both_stores!(
    an_export_without_calls_or_of_one_site_holds_just_that,
    the_admin_export_streams_what_the_command_writes,
    an_import_adds_to_existing_pages_and_says_what_it_did,
    a_malformed_import_changes_nothing_and_names_the_line,
    goatcounter_and_plain_csv_files_become_counts,
);
