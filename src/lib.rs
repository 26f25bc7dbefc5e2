//! Footfall: a privacy-preserving per-page hit counter.
//!
//! # Layout
//! - [`config`]: `config.yaml` + `FOOTFALL_*` environment → typed, validated `Config`.
//! - [`app`]: builds the shared state, runs the server, flushes on shutdown.
//! - [`server`]: the hyper accept loop, connection limits, graceful drain.
//! - [`http`]: the route table and one file per route group.
//! - [`error`]: the HTTP error enum and its one mapping to status codes.
//! - [`path`]: `PagePath`, the path rules (pure).
//! - [`client_ip`]: which address a request comes from (pure).
//! - [`visitors`]: keyed-hash dedup per window (pure + small state).
//! - [`zone`]: days and windows in the configured time zone (pure).
//! - [`probe`]: checking new paths against the tracked site, with limits.
//! - [`registry`]: known paths in memory; single-flight registration.
//! - [`recorder`]: group commit of counted hits.
//! - [`store`]: the storage trait and its PostgreSQL and SQLite backends.
//! - [`cli`]: command-line arguments and the `healthcheck` command.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod app;
pub mod cli;
pub mod client_ip;
pub mod config;
pub mod error;
pub mod http;
pub mod path;
pub mod probe;
pub mod recorder;
pub mod registry;
pub mod server;
pub mod store;
pub mod sync;
pub mod visitors;
pub mod zone;
