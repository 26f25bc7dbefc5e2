//! Owner controls: what the site owner (holding the admin token) may do
//! beyond counting and reading — who reads what (`auth`), managing pages
//! (`pages`), exports (`export`) and imports (`import`, with `foreign`
//! files and the little `csv` they share), adopting an OxiTraffic database
//! (`oxitraffic`), retention of raw calls (`retention`), minting signed
//! links (`links`).
//!
//! Use-cases here are callable without HTTP; `http::admin` and the CLI only
//! translate to them. Every change an owner makes is logged at info with what
//! changed; no token is ever logged.

pub mod auth;
mod csv;
pub mod export;
mod foreign;
pub mod import;
pub mod links;
pub mod oxitraffic;
pub mod pages;
pub mod retention;

use crate::config::Config;

/// The start log's lines about the owner's controls: whether the admin
/// routes are on (never the token), and how long raw calls are kept.
pub fn log_policy(config: &Config) {
    match config.retention.calls_days {
        Some(days) => tracing::info!(
            calls_days = days,
            "retention: raw calls older than {days} days are deleted in the background; \
             per-day counts, totals and charts are kept forever"
        ),
        None => tracing::info!("retention: raw calls are kept forever"),
    }
    if config.admin_token.is_some() {
        tracing::info!("admin routes are on under /api/admin/ (Authorization: Bearer)");
    } else {
        tracing::info!("admin is off: no admin_token is set, so /api/admin/ answers 404");
    }
}
