//! What the per-address connection cap counts: an IPv4 address, or the /64
//! an IPv6 address is in (one host usually has a whole /64, and can pick any
//! address in it).
//!
//! The key has no `Debug` or `Display`, so a peer address cannot reach a log
//! line through it; it is never stored beyond the gate's map in RAM.

use std::net::IpAddr;

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum AddressKey {
    V4(u32),
    V6(u64),
}

impl AddressKey {
    pub(super) fn of(peer: IpAddr) -> Self {
        // An IPv4 client on a dual-stack socket arrives as ::ffff:a.b.c.d.
        match peer.to_canonical() {
            IpAddr::V4(ip) => Self::V4(ip.into()),
            IpAddr::V6(ip) => Self::V6((u128::from(ip) >> 64) as u64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> AddressKey {
        AddressKey::of(text.parse().unwrap())
    }

    #[test]
    fn ipv6_addresses_count_per_64_and_mapped_ipv4_counts_as_ipv4() {
        assert!(key("2001:db8::1") == key("2001:db8::ffff:2"));
        assert!(key("2001:db8::1") != key("2001:db8:0:1::1"));
        assert!(key("192.0.2.1") == key("::ffff:192.0.2.1"));
        assert!(key("192.0.2.1") != key("192.0.2.2"));
    }
}
