//! Loopback ports for servers a test starts by configuration (a separate
//! process, a second listener, a PostgreSQL cluster) and for addresses that
//! must stay closed. It must not hand out a port the kernel may give away.

use std::ops::Range;
use std::sync::atomic::{AtomicU32, Ordering};

/// Ports outside the ephemeral range taken at most (starting at a place
/// that depends on the process, so two runs on one machine rarely meet).
const SPAN: u32 = 12_000;

/// A loopback port nothing listens on (for a server started after).
///
/// Taken outside the kernel's ephemeral range: a port that `bind(0)` handed
/// out and gave back can be taken again, before the server binds it, as
/// the local end of any of the thousands of connections the other tests
/// open. Outside that range only an explicit bind can take it, and ports
/// are handed out in turn, so no two tests of this run get the same one.
/// Where the range leaves no room (a machine that made it nearly all
/// ports) or cannot be read, it falls back to a port from `bind(0)`.
pub fn free_port() -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let Some(room) = outside_ephemeral() else {
        return std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
    };
    let span = room.end - room.start;
    let start = std::process::id() % span;
    for _ in 0..span {
        let offset = (start + NEXT.fetch_add(1, Ordering::Relaxed)) % span;
        let port = u16::try_from(room.start + offset).expect("a port number");
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port in {room:?}");
}

/// Up to [`SPAN`] ports below the ephemeral range, else above it; `None`
/// when neither side has 1,000.
fn outside_ephemeral() -> Option<Range<u32>> {
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
    let mut bounds = range.split_whitespace().map(str::parse::<u32>);
    let (low, high) = (bounds.next()?.ok()?, bounds.next()?.ok()?);
    let below = low.saturating_sub(SPAN).max(1_024)..low;
    let above = high + 1..(high + 1 + SPAN).min(65_536);
    [below, above].into_iter().find(|room| room.end >= room.start + 1_000)
}
