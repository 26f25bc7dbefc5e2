//! Backup and restore of the embedded store: a backup taken from a live
//! store under load is consistent (every page's total, days and calls agree)
//! and holds every hit answered before it began; restored, it serves those
//! counts.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyper::StatusCode;

use crate::helpers::{Setup, Store, TestApp};
use crate::lifecycle::{exit_of, footfall};

/// Per page of a store file: (total, sum of per-day counts, raw calls).
fn figures(file: &Path) -> BTreeMap<String, (i64, i64, i64)> {
    let conn = rusqlite::Connection::open(file).expect("open the backup");
    let mut statement = conn
        .prepare(
            "SELECT p.path, p.total, (SELECT coalesce(sum(count), 0) FROM day_counts WHERE path_id = p.id), \
             (SELECT coalesce(sum(calls), 0) FROM call_rows WHERE path_id = p.id) FROM paths p",
        )
        .expect("query");
    let rows = statement
        .query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?))))
        .expect("rows");
    rows.collect::<Result<_, _>>().expect("figures")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_load_restores_with_its_counts_intact() {
    let app = TestApp::spawn(Store::Sqlite).await;
    let answered = Arc::new(AtomicUsize::new(0));
    let load: Vec<_> = (0..8)
        .map(|worker| {
            let (addr, answered) = (app.addr, Arc::clone(&answered));
            tokio::spawn(async move {
                for i in 0..80 {
                    let ip = format!("10.{worker}.{}.{}", i / 250, i % 250 + 1);
                    let path = format!("/call/page-{}", i % 4);
                    let response =
                        crate::helpers::send(addr, hyper::Method::GET, &path, &[("x-forwarded-for", &ip)]).await;
                    if response.status == StatusCode::OK {
                        answered.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    while answered.load(Ordering::SeqCst) < 100 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let backup_dir = tempfile::tempdir().expect("dir");
    let backup = backup_dir.path().join("footfall-backup.sqlite3");
    let before = answered.load(Ordering::SeqCst);
    let (code, stderr) = exit_of(footfall(app.data_dir()).arg("backup").arg(&backup));
    assert_eq!(code, Some(0), "{stderr}");
    let during = answered.load(Ordering::SeqCst);
    for worker in load {
        worker.await.expect("load");
    }
    let total = answered.load(Ordering::SeqCst);
    assert!(
        during < total,
        "the load went on after the backup ({during} of {total})"
    );

    let saved = figures(&backup);
    for (path, (count, days, calls)) in &saved {
        assert_eq!((count, days), (calls, calls), "{path}: total, days and calls agree");
    }
    let in_backup: i64 = saved.values().map(|(count, _, _)| count).sum();
    assert!(
        (before as i64..=total as i64).contains(&in_backup),
        "every hit answered before the backup is in it: {before} <= {in_backup} <= {total}"
    );
    let (code, stderr) = exit_of(footfall(app.data_dir()).arg("backup").arg(&backup));
    assert_eq!(code, Some(2), "an existing file is never overwritten: {stderr}");

    // Restore into a fresh data directory and serve it.
    let restored = tempfile::tempdir().expect("dir");
    std::fs::copy(app.data_dir().join("config.yaml"), restored.path().join("config.yaml")).expect("config");
    std::fs::write(restored.path().join("footfall.sqlite3"), b"an older store").expect("an old store");
    let (code, stderr) = exit_of(footfall(restored.path()).arg("restore").arg(&backup));
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        std::fs::read(restored.path().join("footfall.sqlite3.replaced"))
            .ok()
            .as_deref(),
        Some(&b"an older store"[..]),
        "the replaced store is kept"
    );
    let served = TestApp::spawn_setup(
        Store::Sqlite,
        Setup {
            data_dir: Some(restored.path().to_owned()),
            ..Setup::default()
        },
    )
    .await;
    let counts: BTreeMap<String, i64> = served.counts().await.into_iter().map(|(p, n)| (p, n as i64)).collect();
    let expected: BTreeMap<String, i64> = saved.iter().map(|(p, (n, _, _))| (p.clone(), *n)).collect();
    assert_eq!(counts, expected, "the restored store serves the backup's counts");

    let not_a_store = backup_dir.path().join("notes.txt");
    std::fs::write(&not_a_store, "hello").expect("write");
    let (code, stderr) = exit_of(footfall(restored.path()).arg("restore").arg(&not_a_store));
    assert_eq!(code, Some(2), "{stderr}");
}

/// A PostgreSQL client tool from the server package: on PATH or under
/// /usr/lib/postgresql/*/bin (the newest), like the test cluster's binaries.
fn pg_tool(name: &str) -> std::path::PathBuf {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    let packaged = || {
        let mut found: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| Some(e.ok()?.path().join("bin").join(name)))
            .filter(|p| p.is_file())
            .collect();
        found.sort();
        found.pop()
    };
    on_path.or_else(packaged).unwrap_or_else(|| {
        panic!("{name} is needed: install the PostgreSQL server package (Debian: apt-get install postgresql)")
    })
}

/// The README's two PostgreSQL commands, on a live database: what
/// `pg_dump --schema=footfall` saved, `pg_restore` brings back into an empty
/// database, and Footfall serves the same counts from it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_dump_and_pg_restore_carry_footfalls_schema_and_counts() {
    let mut app = TestApp::spawn(Store::Postgres).await;
    app.seed(&[
        ("/a", "2026-03-01T10:00:00Z"),
        ("/a", "2026-03-02T10:00:00Z"),
        ("/b", "2026-03-02T11:00:00Z"),
    ])
    .await;
    let before = app.counts().await;
    let url = |db: &crate::pg::Database| format!("postgres://{}@{}:{}/{}", db.user, db.host, db.port, db.name);
    let source = app.db.clone().expect("a database");
    let dump_dir = tempfile::tempdir().expect("dir");
    let dump = dump_dir.path().join("footfall.dump");
    let run = |tool: &str, args: Vec<String>| {
        let out = std::process::Command::new(pg_tool(tool))
            .args(&args)
            .env("PGPASSWORD", &source.password)
            .output()
            .expect("run a PostgreSQL tool");
        assert!(out.status.success(), "{tool}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let file = dump.display().to_string();
    run(
        "pg_dump",
        vec![
            "--format=custom".into(),
            "--schema=footfall".into(),
            format!("--file={file}"),
            url(&source),
        ],
    );
    app.stop().await;
    let target = crate::pg::fresh_database().await;
    run(
        "pg_restore",
        vec![
            "--clean".into(),
            "--if-exists".into(),
            format!("--dbname={}", url(&target)),
            file,
        ],
    );
    let restored = TestApp::spawn_setup(
        Store::Postgres,
        Setup {
            db: Some(target),
            ..Setup::default()
        },
    )
    .await;
    assert_eq!(restored.counts().await, before);
    assert_eq!(restored.stored_calls().await, 3);
}
