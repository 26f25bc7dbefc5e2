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
//! - [`chart`]: daily counts → history chart SVG (pure, no fonts needed).
//! - [`badge`]: the shields.io-style count badge (pure).
//! - [`query`]: query parameters of the read endpoints → typed values (pure).
//! - [`buckets`]: zero-filled day/week/month/hour buckets, RFC 3339 in the zone (pure).
//! - [`markup`]: escaping user-derived text for HTML and SVG.
//! - [`cli`]: command-line arguments and the `healthcheck` command.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod app;
pub mod badge;
pub mod buckets;
pub mod chart;
pub mod cli;
pub mod client_ip;
pub mod config;
pub mod error;
pub mod http;
pub mod markup;
pub mod path;
pub mod probe;
pub mod query;
pub mod recorder;
pub mod registry;
pub mod server;
pub mod store;
pub mod sync;
pub mod visitors;
pub mod zone;
