//! Integration tests: the real server over real HTTP, on the embedded store
//! and on a real PostgreSQL, with a real tracked site.

mod helpers;
mod pg;
mod relay;
mod site;

mod call;
mod contract;
mod disk_full;
mod faults;
mod lifecycle;
mod probing;
mod read;
