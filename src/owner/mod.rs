//! Owner controls: what the site owner (holding the admin token) may do
//! beyond counting and reading — who reads what (`auth`), managing pages
//! (`pages`).
//!
//! Use-cases here are callable without HTTP; `http::admin` and the CLI only
//! translate to them. Every change an owner makes is logged at info with what
//! changed; no token is ever logged.

pub mod auth;
pub mod pages;

use crate::config::Config;

/// The start log's lines about the owner's controls: whether the admin
/// routes are on (never the token).
pub fn log_policy(config: &Config) {
    if config.admin_token.is_some() {
        tracing::info!("admin routes are on under /api/admin/ (Authorization: Bearer)");
    } else {
        tracing::info!("admin is off: no admin_token is set, so /api/admin/ answers 404");
    }
}
