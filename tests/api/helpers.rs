//! `TestApp`: the real server on an ephemeral port, on either store, with its
//! own tracked site and data directory; and a tiny HTTP client that sends
//! paths exactly as written (no dot-segment clean-up, unlike a browser).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use footfall::config::Config;
use hyper::{HeaderMap, Method, StatusCode};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::pg::{fresh_database, Database};
use crate::site::TrackedSite;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Store {
    Sqlite,
    Postgres,
}

/// Runs each named `async fn(Store)` of the calling module on both stores,
/// as the tests `<name>::sqlite` and `<name>::postgres`. The bodies stay
/// ordinary functions outside the macro, so rustfmt formats them.
macro_rules! both_stores {
    ($($name:ident),+ $(,)?) => {
        $(mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(crate::helpers::Store::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(crate::helpers::Store::Postgres).await;
            }
        })+
    };
}
pub(crate) use both_stores;

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl TestResponse {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub site: TrackedSite,
    pub db: Option<Database>,
    data: PathBuf,
    _dir: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

/// How a [`TestApp`] is set up beyond the defaults.
#[derive(Default)]
pub struct Setup<'a> {
    /// Config keys on top of the defaults (an empty value removes the key).
    pub overrides: &'a [(&'a str, &'a str)],
    /// Files written into the data directory first.
    pub files: &'a [(&'a str, &'a str)],
    /// The data directory, when not a fresh temporary one.
    pub data_dir: Option<PathBuf>,
    /// The PostgreSQL database (or the way to it), when not a fresh one.
    pub db: Option<Database>,
}

impl TestApp {
    /// The server with a tracked site, `trusted_proxies: [127.0.0.1]` (so tests
    /// present visitors through X-Forwarded-For) and the given config keys on top.
    pub async fn spawn(store: Store) -> Self {
        Self::spawn_setup(store, Setup::default()).await
    }

    pub async fn spawn_with(store: Store, overrides: &[(&str, &str)]) -> Self {
        Self::spawn_setup(
            store,
            Setup {
                overrides,
                ..Setup::default()
            },
        )
        .await
    }

    /// As `spawn_with`, with files written into the data directory first.
    pub async fn spawn_with_files(store: Store, overrides: &[(&str, &str)], files: &[(&str, &str)]) -> Self {
        Self::spawn_setup(
            store,
            Setup {
                overrides,
                files,
                ..Setup::default()
            },
        )
        .await
    }

    pub async fn spawn_setup(store: Store, setup: Setup<'_>) -> Self {
        let site = TrackedSite::start().await;
        let dir = tempfile::tempdir().expect("data dir");
        let data = setup.data_dir.unwrap_or_else(|| dir.path().to_owned());
        let db = match (store, setup.db) {
            (Store::Sqlite, _) => None,
            (Store::Postgres, Some(db)) => Some(db),
            (Store::Postgres, None) => Some(fresh_database().await),
        };
        let mut keys: BTreeMap<String, String> = BTreeMap::new();
        keys.insert("socket_address".into(), "127.0.0.1:0".into());
        keys.insert("tracked_base_url".into(), site.base_url());
        keys.insert("trusted_proxies".into(), "[127.0.0.1]".into());
        for (key, value) in setup.overrides {
            keys.insert((*key).into(), (*value).into());
        }
        let mut yaml: String = keys
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}: {v}\n"))
            .collect();
        if let Some(db) = &db {
            yaml.push_str(&db.yaml());
        }
        std::fs::write(data.join("config.yaml"), yaml).expect("write config.yaml");
        for (name, content) in setup.files {
            std::fs::write(data.join(name), content).expect("write a data file");
        }
        let mut app = Self {
            addr: ([127, 0, 0, 1], 0).into(),
            site,
            db,
            data,
            _dir: dir,
            shutdown: None,
            server: None,
        };
        app.start().await;
        app
    }

    /// The data directory: `config.yaml` and, on SQLite, the database.
    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    async fn start(&mut self) {
        let config = Config::load(&self.data, Vec::new()).unwrap_or_else(|e| panic!("test config: {e}"));
        let listener = tokio::net::TcpListener::bind(config.socket_address)
            .await
            .expect("bind");
        self.addr = listener.local_addr().expect("address");
        let (tx, rx) = oneshot::channel::<()>();
        self.shutdown = Some(tx);
        self.server = Some(tokio::spawn(async move {
            footfall::app::run(config, listener, async {
                let _ = rx.await;
            })
            .await
            .expect("the server runs");
        }));
        self.wait_ready().await;
    }

    pub async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if self.get("/readyz").await.status == StatusCode::OK {
                return;
            }
            assert!(Instant::now() < deadline, "the server did not become ready");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Graceful shutdown, as on SIGTERM: waits until the server has flushed.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            tokio::time::timeout(Duration::from_secs(10), server)
                .await
                .expect("shutdown within 10 s")
                .expect("server task");
        }
    }

    /// Stops and starts again on the same data directory and database.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.start().await;
    }

    /// Writes calls at given times (RFC 3339) through the store's own API, as
    /// the recorder would, then restarts so the server loads the paths.
    pub async fn seed(&mut self, calls: &[(&str, &str)]) {
        let config = Config::load(&self.data, Vec::new()).expect("config");
        let store = footfall::app::open_store(&config).expect("open the store");
        let mut hits = Vec::new();
        let site = config.default_site();
        let site_id = store.ensure_site(&site.slug).await.expect("the site");
        for (path, at) in calls {
            let id = store.register_path(site_id, &page(path)).await.expect("register");
            let at: jiff::Timestamp = at.parse().expect("an RFC 3339 time");
            hits.push(footfall::store::Hit {
                path: id,
                at,
                day: site.zone.day_of(at),
            });
        }
        store.record(batch(&hits)).await.expect("record");
        self.restart().await;
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        send(self.addr, Method::GET, path, &[]).await
    }

    /// A GET as the visitor `ip`, via our trusted proxy's X-Forwarded-For.
    pub async fn get_as(&self, path: &str, ip: &str) -> TestResponse {
        send(self.addr, Method::GET, path, &[("x-forwarded-for", ip)]).await
    }

    pub async fn counts(&self) -> Vec<(String, u64)> {
        let response = self.get("/api/counts").await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text());
        let rows: Vec<serde_json::Value> = serde_json::from_slice(&response.body).expect("counts JSON");
        rows.iter()
            .map(|r| {
                (
                    r["path"].as_str().expect("path").to_owned(),
                    r["count"].as_u64().expect("count"),
                )
            })
            .collect()
    }

    pub async fn count_of(&self, path: &str) -> Option<u64> {
        self.counts().await.into_iter().find(|(p, _)| p == path).map(|(_, n)| n)
    }

    /// Rows in the raw calls table, read directly from the store.
    pub async fn stored_calls(&self) -> i64 {
        query_i64(
            &self.data,
            self.db.as_ref(),
            "SELECT CAST(coalesce(sum(calls), 0) AS bigint) FROM call_rows",
        )
        .await
    }

    /// The sum of every per-day count, read directly from the store.
    pub async fn daily_total(&self) -> i64 {
        let sql = match self.db {
            Some(_) => "SELECT CAST(coalesce(sum(count), 0) AS bigint) FROM day_counts",
            None => "SELECT coalesce(sum(count), 0) FROM day_counts",
        };
        query_i64(&self.data, self.db.as_ref(), sql).await
    }

    /// One number from the store, read directly (the SQL must suit both backends).
    pub async fn stored_i64(&self, sql: &str) -> i64 {
        query_i64(&self.data, self.db.as_ref(), sql).await
    }

    /// Runs SQL against the store behind the server's back (to break it on purpose).
    pub async fn execute(&self, postgres_sql: &str, sqlite_sql: &str) {
        execute(&self.data, self.db.as_ref(), postgres_sql, sqlite_sql).await;
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(server) = &self.server {
            server.abort();
        }
    }
}

/// A store opened directly (no server), on a fresh database.
pub struct TestStore {
    pub store: Arc<dyn footfall::store::Store>,
    /// The site `default`, once `ensure_default_site` has run.
    pub site: footfall::store::SiteId,
    pub config: Config,
    pub db: Option<Database>,
    pub dir: tempfile::TempDir,
}

impl TestStore {
    pub async fn open(store: Store, overrides: &str) -> Self {
        let dir = tempfile::tempdir().expect("data dir");
        let db = match store {
            Store::Sqlite => None,
            Store::Postgres => Some(fresh_database().await),
        };
        let yaml = format!("{overrides}{}", db.as_ref().map(Database::yaml).unwrap_or_default());
        std::fs::write(dir.path().join("config.yaml"), yaml).expect("write config.yaml");
        let config = Config::load(dir.path(), Vec::new()).unwrap_or_else(|e| panic!("test config: {e}"));
        let store = footfall::app::open_store(&config).expect("open the store");
        Self {
            store,
            site: 0,
            config,
            db,
            dir,
        }
    }

    /// Finds the one site of a single-site config (after migrating).
    pub async fn ensure_default_site(&mut self) {
        self.site = self.store.ensure_site("default").await.expect("the default site");
    }

    /// Another store on the same database, with its own connections, as a
    /// second process would have.
    pub fn open_again(&self) -> Arc<dyn footfall::store::Store> {
        footfall::app::open_store(&self.config).expect("open the store again")
    }

    pub async fn execute(&self, postgres_sql: &str, sqlite_sql: &str) {
        execute(self.dir.path(), self.db.as_ref(), postgres_sql, sqlite_sql).await;
    }

    pub async fn query_i64(&self, sql: &str) -> i64 {
        query_i64(self.dir.path(), self.db.as_ref(), sql).await
    }
}

/// A batch under a fresh id (unique within the test run).
pub fn batch(hits: &[footfall::store::Hit]) -> footfall::store::Batch<'_> {
    static NEXT: AtomicI64 = AtomicI64::new(1);
    footfall::store::Batch {
        id: NEXT.fetch_add(1, Ordering::Relaxed),
        hits,
        tallies: &[],
        dimensions: footfall::store::Dimensions::NONE,
        settled: &[],
        digests: &[],
        clicks: &[],
        milestones: &[],
    }
}

pub fn page(path: &str) -> footfall::count::path::PagePath {
    footfall::count::path::PagePath::parse(path).expect("a valid path")
}

/// One number from the database behind the store's back.
async fn query_i64(data_dir: &Path, db: Option<&Database>, sql: &str) -> i64 {
    match db {
        Some(db) => db.connect().await.query_one(sql, &[]).await.expect(sql).get(0),
        None => sqlite(data_dir).query_row(sql, [], |r| r.get(0)).expect(sql),
    }
}

async fn execute(data_dir: &Path, db: Option<&Database>, postgres_sql: &str, sqlite_sql: &str) {
    match db {
        Some(db) => db.connect().await.batch_execute(postgres_sql).await.expect("execute"),
        None => sqlite(data_dir).execute_batch(sqlite_sql).expect("execute"),
    }
}

pub fn sqlite(data_dir: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(data_dir.join("footfall.sqlite3")).expect("open sqlite");
    conn.busy_timeout(Duration::from_secs(5)).expect("busy timeout");
    conn
}

/// What the tests' requests present themselves as, unless they name a user
/// agent: a browser, so they count as visitors (curl-like clients are bots).
pub const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

/// One request on a fresh connection, with the path sent exactly as given,
/// as a browser ([`BROWSER`]) unless `headers` name a `user-agent`.
pub async fn send(addr: SocketAddr, method: Method, path: &str, headers: &[(&str, &str)]) -> TestResponse {
    let mut with_agent = headers.to_vec();
    if !headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("user-agent")) {
        with_agent.push(("user-agent", BROWSER));
    }
    send_bare(addr, method, path, &with_agent).await
}

/// One request with exactly the given headers (no user agent unless named).
pub async fn send_bare(addr: SocketAddr, method: Method, path: &str, headers: &[(&str, &str)]) -> TestResponse {
    crate::requests::request(addr, method, path, headers, Bytes::new()).await
}
