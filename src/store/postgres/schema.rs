//! Footfall's own PostgreSQL schema, `footfall`. Every table lives there
//! and every session's `search_path` is that schema alone, so Footfall's
//! `paths` and `calls` never meet OxiTraffic's (or anyone's) in `public`.
//!
//! Databases of earlier releases have Footfall's tables in `public`; at the
//! first start of this release they move, all in the migration's
//! transaction under its lock. Only the tables Footfall created there are
//! moved, by name; nothing else in `public` is touched.

use deadpool_postgres::Transaction;

use super::super::StoreError;
use super::PostgresStore;

/// The schema of Footfall's tables (also in the pool's session options).
pub const SCHEMA: &str = "footfall";

/// Every table Footfall's migrations created in `public` before it had a
/// schema of its own (migrations 1–7).
const LEGACY_TABLES: &[&str] = &[
    "schema_migrations",
    "sites",
    "paths",
    "calls",
    "daily_counts",
    "recorded_batches",
    "calls_pruned",
];

/// Creates the schema if it is missing and moves a previous release's
/// tables into it. Runs in the migration's transaction, after its lock.
///
/// # Errors
/// The server's error (e.g. the role may not create a schema: then create
/// `footfall` for it once, owned by it).
pub async fn prepare(tx: &Transaction<'_>) -> Result<(), StoreError> {
    let exists: bool = tx
        .query_one("SELECT to_regnamespace($1) IS NOT NULL", &[&SCHEMA])
        .await?
        .try_get(0)?;
    if !exists {
        tx.batch_execute(&format!("CREATE SCHEMA {SCHEMA}")).await?;
    }
    let legacy: bool = tx
        .query_one(
            "SELECT to_regclass('public.schema_migrations') IS NOT NULL \
             AND to_regclass($1 || '.schema_migrations') IS NULL",
            &[&SCHEMA],
        )
        .await?
        .try_get(0)?;
    if legacy {
        for table in LEGACY_TABLES {
            let there: bool = tx
                .query_one("SELECT to_regclass($1) IS NOT NULL", &[&format!("public.{table}")])
                .await?
                .try_get(0)?;
            if there {
                // Indexes, constraints and identity sequences move with the table.
                tx.batch_execute(&format!("ALTER TABLE public.{table} SET SCHEMA {SCHEMA}"))
                    .await?;
            }
        }
        tracing::info!("moved Footfall's tables from the schema public into its own schema {SCHEMA}");
    }
    Ok(())
}

impl PostgresStore {
    /// The newest migration applied, wherever Footfall's tables are (0 for none).
    pub(super) async fn applied_version(&self) -> Result<i64, StoreError> {
        let rows = self
            .query(
                "SELECT CASE WHEN to_regclass($1 || '.schema_migrations') IS NOT NULL THEN $1 \
                 WHEN to_regclass('public.schema_migrations') IS NOT NULL THEN 'public' END",
                &[&SCHEMA],
            )
            .await?;
        let schema: Option<String> = rows.first().map(|r| r.try_get(0)).transpose()?.flatten();
        let Some(schema) = schema else { return Ok(0) };
        // `schema` is one of two fixed names, never input.
        let sql = format!("SELECT coalesce(max(version), 0) FROM {schema}.schema_migrations");
        let rows = self.query(&sql, &[]).await?;
        Ok(rows.first().map(|r| r.try_get(0)).transpose()?.unwrap_or(0))
    }
}
