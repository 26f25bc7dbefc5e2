//! Loopback ports for servers a test starts by configuration (a separate
//! process, a second listener, a PostgreSQL cluster) and for addresses that
//! must stay closed. It must not hand out a port the kernel may give away.

use std::sync::atomic::{AtomicU32, Ordering};

/// A loopback port nothing listens on (for a server started after).
///
/// Taken below the kernel's ephemeral range: a port that `bind(0)` handed
/// out and gave back can be taken again, before the server binds it, as
/// the local end of any of the thousands of connections the other tests
/// open. Below that range only an explicit bind can take it, and ports
/// are handed out in turn, so no two tests of this run get the same one.
pub fn free_port() -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u32>().ok())
        .unwrap_or(32_768);
    let first = ephemeral_low.saturating_sub(12_000).max(1_024);
    let span = ephemeral_low - first;
    assert!(span > 1_000, "no room below the ephemeral ports ({ephemeral_low})");
    // Another run of these tests on the machine starts elsewhere.
    let start = std::process::id() % span;
    for _ in 0..span {
        let offset = (start + NEXT.fetch_add(1, Ordering::Relaxed)) % span;
        let port = u16::try_from(first + offset).expect("a port number");
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port in {first}..{ephemeral_low}");
}
