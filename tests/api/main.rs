//! Integration tests: the real server over real HTTP, on the embedded store
//! and on a real PostgreSQL, with a real tracked site.

mod helpers;
mod pg;
mod receiver;
mod relay;
mod requests;
mod site;

mod access;
mod admin;
mod append_rows;
mod backup;
mod badge;
mod call;
mod commands;
mod compact;
mod compact_history;
mod contract;
mod dashboard;
mod dimensions;
mod dimensions_store;
mod disk_full;
mod export_memory;
mod faults;
mod honest;
mod inprocess;
mod lifecycle;
mod links;
mod metrics;
mod oxitraffic;
mod page_tallies;
mod probing;
mod read;
mod readiness;
mod replicas;
mod replicas_dimensions;
mod retention;
mod shared_windows;
mod shutdown;
mod site_days;
mod site_outages;
mod sites;
mod slowloris;
mod tallies;
mod transfer;
mod webhooks;
