//! A throwaway PostgreSQL for the tests: either the server named by
//! `FOOTFALL_TEST_DATABASE_URL`, or a cluster started once per test run from
//! the local server binaries (initdb/postgres on PATH or under
//! /usr/lib/postgresql/*/bin). Each test gets a fresh database in it.
//!
//! When neither exists the tests fail loudly with what to install: they
//! never pass by skipping.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::ports::free_port;

pub struct Server {
    config: tokio_postgres::Config,
    /// The shell that runs postgres and stops it when this process is gone.
    _watchdog: Option<std::process::Child>,
}

/// Connection details of one fresh database.
#[derive(Clone, Debug)]
pub struct Database {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    pub name: String,
}

impl Database {
    pub fn yaml(&self) -> String {
        format!(
            "db:\n  host: {}\n  port: {}\n  username: {}\n  password: '{}'\n  database: {}\n",
            self.host, self.port, self.user, self.password, self.name
        )
    }

    pub async fn connect(&self) -> tokio_postgres::Client {
        let mut config = tokio_postgres::Config::new();
        config
            .host(&self.host)
            .port(self.port)
            .user(&self.user)
            .password(&self.password)
            .dbname(&self.name)
            // Footfall's schema first, as Footfall sees it; `public` for what
            // tests create before Footfall does (an older release, OxiTraffic).
            .options("-c search_path=footfall,public");
        let (client, connection) = config
            .connect(tokio_postgres::NoTls)
            .await
            .expect("connect to the test database");
        tokio::spawn(connection);
        client
    }
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| match std::env::var("FOOTFALL_TEST_DATABASE_URL") {
        Ok(url) => Server {
            config: tokio_postgres::Config::from_str(&url)
                .unwrap_or_else(|e| panic!("FOOTFALL_TEST_DATABASE_URL is not a PostgreSQL URL: {e}")),
            _watchdog: None,
        },
        Err(_) => start_cluster(),
    })
}

/// A new, empty database on the test server.
pub async fn fresh_database() -> Database {
    static N: AtomicUsize = AtomicUsize::new(0);
    let server = server();
    let name = format!(
        "footfall_test_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    let mut admin = server.config.clone();
    if admin.get_dbname().is_none() {
        admin.dbname("postgres");
    }
    // A server that just opened its port may still be starting up.
    let deadline = Instant::now() + Duration::from_secs(20);
    let (client, connection) = loop {
        match admin.connect(tokio_postgres::NoTls).await {
            Ok(connected) => break connected,
            Err(e) if Instant::now() > deadline => panic!("cannot connect to the test PostgreSQL server: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap_or_else(|e| panic!("cannot create a test database (the role needs CREATEDB): {e}"));
    let host = match server.config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        _ => "127.0.0.1".into(),
    };
    Database {
        host,
        port: server.config.get_ports().first().copied().unwrap_or(5432),
        user: server.config.get_user().unwrap_or("postgres").into(),
        password: server
            .config
            .get_password()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .unwrap_or_default(),
        name,
    }
}

fn find_bin_dir() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths).find(|dir| dir.join("initdb").is_file() && dir.join("postgres").is_file())
    });
    on_path.or_else(|| {
        let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| Some(e.ok()?.path().join("bin")))
            .filter(|bin| bin.join("initdb").is_file())
            .collect();
        versions.sort_by_key(|p| {
            p.parent()
                .and_then(|v| v.file_name()?.to_str()?.parse::<u32>().ok())
                .unwrap_or(0)
        });
        versions.pop()
    })
}

/// initdb refuses to run as root; so does postgres. As root, both run as the
/// `postgres` user that Debian's package creates.
fn run_as() -> Option<(u32, u32)> {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .is_some_and(|o| o.stdout.starts_with(b"0\n"));
    if !is_root {
        return None;
    }
    let id = |flag: &str| -> u32 {
        let out = Command::new("id").args([flag, "postgres"]).output().expect("run id");
        assert!(
            out.status.success(),
            "running as root needs a `postgres` user: install the postgresql package"
        );
        String::from_utf8_lossy(&out.stdout).trim().parse().expect("numeric id")
    };
    Some((id("-u"), id("-g")))
}

fn command(program: &Path, user: Option<(u32, u32)>) -> Command {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(program);
    if let Some((uid, gid)) = user {
        cmd.uid(uid).gid(gid);
    }
    cmd
}

fn start_cluster() -> Server {
    let bin = find_bin_dir().unwrap_or_else(|| {
        panic!(
            "PostgreSQL tests need a server: install the PostgreSQL server package \
             (Debian: apt-get install postgresql) so initdb and postgres are under \
             /usr/lib/postgresql/*/bin or on PATH, or set FOOTFALL_TEST_DATABASE_URL \
             to a server where the role may CREATE DATABASE"
        )
    });
    let user = run_as();
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pg");
    remove_stale_clusters(&root);
    let dir = root.join(std::process::id().to_string());
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the cluster directory");
    if let Some((uid, gid)) = user {
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).expect("hand the cluster directory to postgres");
    }
    let data = dir.join("data");
    let status = command(&bin.join("initdb"), user)
        .args(["-D"])
        .arg(&data)
        .args([
            "-U",
            "footfall",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--locale=C",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .expect("run initdb");
    assert!(status.success(), "initdb failed");

    let port = free_port();
    // A watchdog shell stops the server when this test process is gone,
    // however it ends (postgres must not outlive the run).
    let script = format!(
        "{postgres} -D {data} -k {dir} -h 127.0.0.1 -p {port} -F -c max_connections=300 -c fsync=off \
         -c full_page_writes=off -c synchronous_commit=off >{dir}/log 2>&1 & pg=$!; \
         while [ -d /proc/{parent} ] && kill -0 $pg 2>/dev/null; do sleep 0.5; done; kill -INT $pg 2>/dev/null",
        postgres = bin.join("postgres").display(),
        data = data.display(),
        dir = dir.display(),
        parent = std::process::id(),
    );
    let watchdog = command(Path::new("/bin/sh"), user)
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start postgres");

    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "the test PostgreSQL did not start; see {}/log",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut config = tokio_postgres::Config::new();
    config.host("127.0.0.1").port(port).user("footfall").dbname("postgres");
    Server {
        config,
        _watchdog: Some(watchdog),
    }
}

fn remove_stale_clusters(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else { return };
    for entry in entries.flatten() {
        let alive = entry
            .file_name()
            .to_str()
            .is_some_and(|pid| Path::new("/proc").join(pid).exists());
        if !alive {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
