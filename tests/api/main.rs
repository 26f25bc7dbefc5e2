//! Integration tests: the real server over real HTTP, on the embedded store
//! and on a real PostgreSQL, with a real tracked site.

mod helpers;
mod pg;
mod relay;
mod site;

mod badge;
mod call;
mod commands;
mod contract;
mod disk_full;
mod faults;
mod honest;
mod inprocess;
mod lifecycle;
mod probing;
mod read;
mod readiness;
mod shutdown;
mod site_outages;
mod sites;
mod slowloris;
mod tallies;
