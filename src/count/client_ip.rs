//! Which address a request comes from: the TCP peer, or — only when the peer
//! is a trusted proxy — the address that proxy saw, taken from
//! `X-Forwarded-For`.
//!
//! Pure. The address it returns is used for the visitor hash and nothing
//! else: it must never be logged or stored.

use std::net::IpAddr;

use ipnet::IpNet;

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Vec<IpNet>);

/// The configured networks (operator data, not client addresses), for `footfall check`.
impl std::fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_empty() {
            return f.write_str("none (the peer is the visitor)");
        }
        let nets: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&nets.join(", "))
    }
}

impl TrustedProxies {
    pub fn new(nets: Vec<IpNet>) -> Self {
        Self(nets)
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is one of the trusted proxies.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client address for a request from `peer` carrying the given
    /// `X-Forwarded-For` header values (in order of appearance).
    ///
    /// Walks the chain from the right — the entry our trusted proxy appended —
    /// past further trusted proxies; the first untrusted address is the client.
    /// Entries left of it were written by the client and are not believed.
    /// A malformed entry ends the walk at the last address we could vouch for.
    pub fn client_ip<'a>(&self, peer: IpAddr, forwarded_for: impl DoubleEndedIterator<Item = &'a [u8]>) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let mut client = peer;
        for header in forwarded_for.rev() {
            let Ok(header) = std::str::from_utf8(header) else {
                return client;
            };
            for entry in header.rsplit(',') {
                let Some(ip) = parse_entry(entry) else {
                    return client;
                };
                client = ip;
                if !self.trusts(ip) {
                    return ip;
                }
            }
        }
        client
    }
}

/// An `X-Forwarded-For` entry: a bare address, `[v6]`, or either with a port.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    entry
        .parse::<std::net::SocketAddr>()
        .ok()
        .map(|s| s.ip().to_canonical())
        .or_else(|| entry.strip_prefix('[')?.strip_suffix(']')?.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(list: &[&str]) -> TrustedProxies {
        TrustedProxies::new(list.iter().map(|s| s.parse().unwrap()).collect())
    }

    fn client(t: &TrustedProxies, peer: &str, headers: &[&str]) -> String {
        t.client_ip(peer.parse().unwrap(), headers.iter().map(|h| h.as_bytes()))
            .to_string()
    }

    #[test]
    fn untrusted_peers_are_the_client_whatever_they_claim() {
        let t = proxies(&["10.0.0.1/32"]);
        assert_eq!(client(&t, "192.0.2.9", &["203.0.113.5"]), "192.0.2.9");
        assert_eq!(
            client(&TrustedProxies::default(), "192.0.2.9", &["203.0.113.5"]),
            "192.0.2.9"
        );
    }

    #[test]
    fn a_trusted_proxy_gives_the_rightmost_untrusted_entry() {
        let t = proxies(&["10.0.0.0/8"]);
        assert_eq!(client(&t, "10.0.0.1", &["198.51.100.1, 203.0.113.5"]), "203.0.113.5");
        assert_eq!(
            client(&t, "10.0.0.1", &["198.51.100.1, 203.0.113.5, 10.0.0.2"]),
            "203.0.113.5"
        );
        assert_eq!(client(&t, "10.0.0.1", &["198.51.100.1", "203.0.113.5"]), "203.0.113.5");
    }

    #[test]
    fn a_chain_of_only_proxies_gives_the_leftmost() {
        let t = proxies(&["10.0.0.0/8"]);
        assert_eq!(client(&t, "10.0.0.1", &["10.0.0.3, 10.0.0.2"]), "10.0.0.3");
        assert_eq!(client(&t, "10.0.0.1", &[]), "10.0.0.1");
    }

    #[test]
    fn garbage_stops_at_the_last_vouched_address() {
        let t = proxies(&["10.0.0.0/8"]);
        assert_eq!(client(&t, "10.0.0.1", &["203.0.113.5, unknown"]), "10.0.0.1");
        assert_eq!(client(&t, "10.0.0.1", &["unknown, 10.0.0.7"]), "10.0.0.7");
    }

    #[test]
    fn ports_brackets_and_mapped_addresses_are_understood() {
        let t = proxies(&["127.0.0.1/32", "::1/128"]);
        assert_eq!(client(&t, "127.0.0.1", &["203.0.113.5:4711"]), "203.0.113.5");
        assert_eq!(client(&t, "::1", &["[2001:db8::1]:443"]), "2001:db8::1");
        assert_eq!(client(&t, "::1", &["[2001:db8::1]"]), "2001:db8::1");
        assert_eq!(client(&t, "::ffff:127.0.0.1", &["2001:db8::2"]), "2001:db8::2");
    }
}
