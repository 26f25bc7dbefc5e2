//! Footfall: a privacy-preserving per-page hit counter.
//!
//! # Layout
//! The process:
//! - `cli`: command-line arguments, exit codes, the `healthcheck`, `check`,
//!   `rebuild-daily`, `sites rename`, `export`, `import`, `backup` and
//!   `restore` commands.
//! - `app`: builds the shared state, prepares the store, serves, flushes.
//! - `server`: the hyper accept loop, per-address and global connection
//!   limits, head deadlines, graceful drain.
//! - `telemetry`: the log subscriber (injectable writer) and error chains.
//! - `state`: `AppState`, built once, with its sites.
//! - `availability`: whether the store is ready and working; outage logs.
//! - `metrics`: the Prometheus metrics `/metrics` shows (bounded labels).
//! - `clock`: the only reader of the system time.
//! - `config`: `config.yaml` + `FOOTFALL_*` environment → typed `Config`;
//!   the raw schema with its defaults and validation (`raw`), the environment
//!   overlay (`env`), the response image (`image`).
//!
//! The HTTP edge:
//! - `http`: the route table; one file per route group; `response` (every
//!   response shape) and `error` (the one error-to-response mapping).
//!
//! The write path:
//! - `count`: `count_hit`, the counting use-case; path rules, client
//!   address, visitors, honest counts (filters, bots, proxied views),
//!   probing, registry, recorder, and the labels of a counted hit for the
//!   dimension aggregates (browser, OS, device, country, referrer).
//!
//! Links:
//! - `link`: signed `/go/` links — the token format (pure) and the bound on
//!   distinct links per site.
//!
//! Notifications:
//! - `notify`: events in the store's outbox, webhook delivery (signed per
//!   Standard Webhooks), the Atom feed.
//!
//! The read path:
//! - `read`: the read facade `Reads`; query parameters, series, buckets,
//!   chart, badge, dimensions and their HTML panels, number formatting.
//!
//! The owner's controls:
//! - `owner`: tokens and private sites, managing pages, export and import,
//!   adopting an OxiTraffic database, retention of raw calls.
//!
//! Shared:
//! - `store`: the storage contract and its PostgreSQL and SQLite backends.
//! - `zone`: days, hours and windows in the configured time zone (pure).
//! - `markup`: escaping user-derived text for HTML and SVG.
//! - `sync`: poison-tolerant lock helpers.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod app;
mod availability;
pub mod cli;
pub mod clock;
pub mod config;
pub mod count;
pub mod http;
pub mod link;
mod markup;
pub mod metrics;
pub mod notify;
mod owner;
mod read;
mod server;
mod state;
pub mod store;
mod sync;
pub mod telemetry;
pub mod zone;
