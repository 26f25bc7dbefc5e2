//! The PostgreSQL connection pool and its limits: every wait for a
//! connection is bounded, every session carries server-side timeouts, and a
//! connection whose caller gave up mid-request is closed rather than reused.
//! Knows no SQL of the store's tables.

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

use crate::config::DbConfig;
use crate::store::{ConnectError, PgError, StoreError};

const POOL_SIZE: usize = 16;
/// Batches come from one writer at a time; the second connection is for
/// when the first was closed mid-commit (see [`Checkout`]) and a
/// settling attempt needs a fresh one.
const BATCH_POOL_SIZE: usize = 2;
/// A connection, from a free pool slot or a new login, within this or never.
const CHECKOUT_DEADLINE: Duration = Duration::from_millis(1500);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// Server-side limits for every session: a statement ends after 2 s and a
/// lock wait after 1 s, so a transaction stuck behind a lock fails on the
/// server instead of committing long after Footfall gave up on it (the
/// recorder's deadline is 2 s). JIT compiles for longer than our short
/// queries run. Names resolve in Footfall's own schema only (`schema::SCHEMA`).
const SESSION_OPTIONS: &str = "-c statement_timeout=2000 -c lock_timeout=1000 -c jit=off -c search_path=footfall";

pub struct Connections {
    pool: Pool,
    /// The sessions batches run in: the same server and limits, plus the
    /// planner settings `batch_options` gave (see `batch::BATCH_OPTIONS`).
    batches: Pool,
    /// `host:port/database`, for errors.
    server: String,
}

impl Connections {
    /// Builds the pools; connects lazily, so a database that is not up yet
    /// is not an error here. `batch_options`: server settings (`-c k=v`)
    /// the batches' sessions start with, besides every session's.
    ///
    /// # Errors
    /// Only when a pool itself cannot be built.
    pub fn new(db: &DbConfig, batch_options: &str) -> Result<Self, StoreError> {
        let server = format!("{}:{}/{}", db.host, db.port, db.database);
        let pool = build(db, SESSION_OPTIONS, POOL_SIZE, &server)?;
        let batches = build(
            db,
            &format!("{SESSION_OPTIONS} {batch_options}"),
            BATCH_POOL_SIZE,
            &server,
        )?;
        Ok(Self { pool, batches, server })
    }

    /// Connections checked out, and callers waiting for one.
    pub fn usage(&self) -> (usize, usize) {
        [&self.pool, &self.batches]
            .iter()
            .fold((0, 0), |(used, waiting), pool| {
                let status = pool.status();
                (
                    used + status.size.saturating_sub(status.available),
                    waiting + status.waiting,
                )
            })
    }

    /// A connection within [`CHECKOUT_DEADLINE`] (the pool's own timeouts
    /// apply one by one; this bounds them together).
    ///
    /// # Errors
    /// [`StoreError::Connect`], naming the server and why.
    pub async fn checkout(&self) -> Result<Checkout, StoreError> {
        self.checkout_from(&self.pool).await
    }

    /// A connection for a batch, like [`Connections::checkout`].
    ///
    /// # Errors
    /// As [`Connections::checkout`].
    pub async fn checkout_for_batch(&self) -> Result<Checkout, StoreError> {
        self.checkout_from(&self.batches).await
    }

    async fn checkout_from(&self, pool: &Pool) -> Result<Checkout, StoreError> {
        let connect_error = |source| StoreError::Connect {
            server: self.server.clone(),
            source,
        };
        match tokio::time::timeout(CHECKOUT_DEADLINE, pool.get()).await {
            Ok(Ok(client)) => Ok(Checkout(Some(client))),
            Ok(Err(PoolError::Backend(e))) => Err(connect_error(ConnectError::Postgres(PgError(e)))),
            Ok(Err(PoolError::Timeout(_))) | Err(_) => Err(connect_error(ConnectError::Timeout(CHECKOUT_DEADLINE))),
            Ok(Err(other)) => Err(connect_error(ConnectError::Pool(other.to_string()))),
        }
    }
}

/// A pool of up to `size` sessions started with `options`.
fn build(db: &DbConfig, options: &str, size: usize, server: &str) -> Result<Pool, StoreError> {
    let mut pg = tokio_postgres::Config::new();
    pg.host(&db.host)
        .port(db.port)
        .user(&db.username)
        .password(db.password.expose())
        .dbname(&db.database)
        .application_name("footfall")
        .connect_timeout(CONNECT_TIMEOUT)
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(30))
        .options(options);
    // Fast recycling checks that the connection is still open (a restarted
    // server closes it); keepalives notice a peer that vanished silently.
    // A test query per checkout would add a round trip to every batch.
    let manager = Manager::from_config(
        pg,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(CHECKOUT_DEADLINE))
        .create_timeout(Some(CHECKOUT_DEADLINE))
        .recycle_timeout(Some(CHECKOUT_DEADLINE))
        .build()
        .map_err(|e| StoreError::Connect {
            server: server.to_owned(),
            source: ConnectError::Pool(e.to_string()),
        })
}

/// A pooled connection that returns to the pool only when its work is done.
/// Dropped mid-way — its caller's deadline passed while a request was on
/// the wire — it is closed instead: the next caller would wait behind the
/// stalled request, and the server may still be running it.
pub struct Checkout(Option<Object>);

impl Checkout {
    /// Hands the connection back to the pool for the next caller.
    pub fn release(mut self) {
        drop(self.0.take());
    }
}

impl std::ops::Deref for Checkout {
    type Target = Object;

    fn deref(&self) -> &Object {
        match &self.0 {
            Some(object) => object,
            // Only `release` and `drop` take the object out, and both consume the checkout.
            None => unreachable!("a checkout is used after its release"),
        }
    }
}

impl std::ops::DerefMut for Checkout {
    fn deref_mut(&mut self) -> &mut Object {
        match &mut self.0 {
            Some(object) => object,
            None => unreachable!("a checkout is used after its release"),
        }
    }
}

impl Drop for Checkout {
    fn drop(&mut self) {
        if let Some(object) = self.0.take() {
            drop(Object::take(object));
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sessions_resolve_names_in_footfalls_schema_only() {
        let path = format!("-c search_path={}", super::super::schema::SCHEMA);
        assert!(super::SESSION_OPTIONS.ends_with(&path), "{}", super::SESSION_OPTIONS);
    }
}
