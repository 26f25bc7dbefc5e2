//! `footfall import --from oxitraffic`: copies the OxiTraffic 0.1 tables of
//! the configured PostgreSQL database into a Footfall site, leaving them as
//! they are (see `owner::oxitraffic`).

use std::process::ExitCode;
use std::sync::Arc;

use super::runtime;
use super::transfer::report;
use crate::config::{Config, StoreConfig};
use crate::owner::import::Target;
use crate::owner::oxitraffic;
use crate::store::{PostgresStore, Store};
use crate::telemetry::chain;

pub fn import(config: &Config, target: Target) -> ExitCode {
    let StoreConfig::Postgres(db) = &config.store else {
        eprintln!("footfall: import --from oxitraffic: OxiTraffic keeps its data in PostgreSQL; configure `db` to point at its database");
        return ExitCode::from(2);
    };
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
    };
    runtime.block_on(async {
        let store = match PostgresStore::new(db) {
            Ok(store) => Arc::new(store),
            Err(error) => {
                eprintln!("footfall: import: {}", chain(&error));
                return ExitCode::FAILURE;
            }
        };
        let prepared = async {
            store.migrate().await?;
            store.has_oxitraffic().await
        };
        match prepared.await {
            Ok(true) => {}
            Ok(false) => {
                eprintln!(
                    "footfall: import --from oxitraffic: no OxiTraffic tables (public.paths, public.calls) in {}:{}/{}",
                    db.host, db.port, db.database
                );
                return ExitCode::from(2);
            }
            Err(error) => {
                eprintln!("footfall: import: {}", chain(&error));
                return ExitCode::FAILURE;
            }
        }
        match oxitraffic::import(store, target).await {
            Ok(outcome) => report(&outcome, "--from oxitraffic"),
            Err(error) => {
                eprintln!("footfall: import failed, nothing was changed: {}", chain(&error));
                ExitCode::FAILURE
            }
        }
    })
}
