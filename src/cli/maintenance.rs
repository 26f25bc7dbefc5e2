//! Commands that change stored data beside (or without) a running server:
//! `rebuild-daily` and `sites rename`. Each runs in one transaction per
//! site, so a running server's writes are held back, never lost.

use std::future::Future;
use std::process::ExitCode;
use std::sync::Arc;

use super::{init_logging, runtime};
use crate::config::{check_slug, Config, StoreConfig};
use crate::store::{RenameOutcome, Store};
use crate::telemetry::chain;

/// Opens and migrates the store, refusing to create an empty SQLite file.
pub(super) async fn existing_store(config: &Config) -> Result<Arc<dyn Store>, (ExitCode, String)> {
    if let StoreConfig::Sqlite { file } = &config.store {
        if !file.exists() {
            return Err((ExitCode::from(2), format!("there is no store at {}", file.display())));
        }
    }
    let failed = |text: String| (ExitCode::FAILURE, text);
    let store = crate::app::open_store(config).map_err(|e| failed(chain(&e)))?;
    store.migrate().await.map_err(|e| failed(chain(&e)))?;
    Ok(store)
}

/// Runs `work` on the existing, migrated store; `command` names it in errors.
fn on_store<F, W>(config: &Config, command: &str, work: W) -> ExitCode
where
    W: FnOnce(Arc<dyn Store>) -> F,
    F: Future<Output = ExitCode>,
{
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
    };
    runtime.block_on(async {
        match existing_store(config).await {
            Ok(store) => work(store).await,
            Err((code, error)) => {
                eprintln!("footfall: {command}: {error}");
                code
            }
        }
    })
}

/// Recomputes every configured site's per-day counts in its own zone.
pub fn rebuild_daily(config: &Config) -> ExitCode {
    init_logging(config);
    on_store(config, "rebuild-daily", |store| async move {
        // Days are recomputed from raw calls: where retention deleted some,
        // the days before would be lost.
        match store.pruned_before().await {
            Ok(None) => {}
            Ok(Some(before)) => {
                eprintln!(
                    "footfall: rebuild-daily: raw calls before {before} were deleted by retention, \
                     so per-day counts cannot be recomputed from them; nothing was changed"
                );
                return ExitCode::from(2);
            }
            Err(error) => {
                eprintln!("footfall: rebuild-daily: {}", chain(&error));
                return ExitCode::FAILURE;
            }
        }
        let mut rows = 0;
        for site in &config.sites {
            let rebuilt = async {
                let id = store.ensure_site(&site.slug).await?;
                store.rebuild_daily(id, site.zone.clone()).await
            };
            match rebuilt.await {
                Ok(n) => rows += n,
                Err(error) => {
                    eprintln!(
                        "footfall: rebuild-daily failed for site {}: {}",
                        site.slug,
                        chain(&error)
                    );
                    return ExitCode::FAILURE;
                }
            }
        }
        println!("rebuilt {rows} per-day counts from the raw calls");
        ExitCode::SUCCESS
    })
}

/// Gives a stored site a new slug; refuses when the new slug has pages.
pub fn rename_site(config: &Config, from: &str, to: &str) -> ExitCode {
    init_logging(config);
    for slug in [from, to] {
        if let Err(message) = check_slug(slug) {
            eprintln!("footfall: sites rename: {message}");
            return ExitCode::from(2);
        }
    }
    if from == to {
        eprintln!("footfall: sites rename: FROM and TO are the same");
        return ExitCode::from(2);
    }
    on_store(config, "sites rename", |store| async move {
        match store.rename_site(from, to).await {
            Ok(RenameOutcome::Renamed { pages }) => {
                println!("renamed site {from} to {to} ({pages} pages)");
                ExitCode::SUCCESS
            }
            Ok(RenameOutcome::NoSuchSite) => {
                eprintln!("footfall: sites rename: there is no stored site {from}");
                ExitCode::from(2)
            }
            Ok(RenameOutcome::TargetHasPages { pages }) => {
                eprintln!("footfall: sites rename: site {to} already has {pages} pages; nothing was changed");
                ExitCode::from(2)
            }
            Err(error) => {
                eprintln!("footfall: sites rename failed: {}", chain(&error));
                ExitCode::FAILURE
            }
        }
    })
}
