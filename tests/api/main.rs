//! Integration tests: the real server over real HTTP, on the embedded store
//! and on a real PostgreSQL, with a real tracked site.

mod helpers;
mod pg;
mod site;

mod call;
mod lifecycle;
mod probing;
mod read;
mod shutdown;
mod slowloris;
mod store;
