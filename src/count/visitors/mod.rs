//! Dedup of visitors: "has this client already been counted on this page in
//! the current window?"
//!
//! A visitor is remembered only as 64 bits of a blake3 keyed hash of (client
//! address, page path). The key is random, lives only in RAM, and is replaced
//! when the window ends; the window's set is dropped with it, so nothing can
//! link a visitor across windows or recover an address. This module never
//! stores, logs or returns an address, and does no I/O.
//!
//! With shared dedup the key is not drawn here: it is derived from the
//! replicas' secret and the window's nonce in the database (`count::shared`)
//! and installed for each window; the set stays as a filter, so a repeat
//! this process has seen costs no database work.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::IpAddr;
use std::sync::{Mutex, RwLock};

use jiff::Timestamp;

use crate::count::path::PagePath;
use crate::count::shared::SharedDigest;
use crate::sync::{lock, read, write};
use crate::zone::Zone;

/// A power of two, so the shard is a mask of the key; enough that two cores
/// hitting the set at once rarely meet on one lock.
const SHARDS: usize = 64;

/// What the dedup set says about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Not seen in this window and now remembered: record one call.
    New(VisitorKey),
    /// Already counted in this window.
    Repeat,
    /// The set is at `max_visitors`; the hit is not counted (see README).
    Full,
    /// Shared dedup only: the window containing `now` has no key here yet;
    /// install it ([`Visitors::install`]) and ask again.
    Unkeyed,
}

/// Identifies a remembered visitor so a failed write can be undone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VisitorKey {
    hash: u64,
    window_start: Timestamp,
    /// The window's id in the database, with shared dedup.
    shared_window: Option<i64>,
}

impl VisitorKey {
    /// What the database stores for this pair with shared dedup: the
    /// window's id and the hash (as a signed 64-bit column).
    pub fn shared_digest(&self) -> Option<SharedDigest> {
        self.shared_window.map(|window| SharedDigest {
            window,
            value: self.hash as i64,
        })
    }
}

pub struct Visitors {
    window: RwLock<Window>,
    shards: Box<[Mutex<HashSet<u64, PassThrough>>]>,
    per_shard_cap: usize,
    zone: Zone,
    window_hours: u32,
}

struct Window {
    key: [u8; 32],
    start: Timestamp,
    end: Timestamp,
    /// `Some` with shared dedup: the window's id in the database. Its key
    /// comes from there, so an ended window is not replaced here.
    shared: Option<i64>,
}

impl Visitors {
    /// `max_visitors` caps the number of remembered (visitor, page) pairs per window.
    pub fn new(zone: Zone, window_hours: u32, max_visitors: usize, now: Timestamp) -> Self {
        let (start, end) = zone.window_containing(now, window_hours);
        Self {
            window: RwLock::new(Window {
                key: fresh_key(&[0; 32]),
                start,
                end,
                shared: None,
            }),
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            per_shard_cap: max_visitors.div_ceil(SHARDS),
            zone,
            window_hours,
        }
    }

    /// For shared dedup: no key until the first window is installed.
    pub fn shared(zone: Zone, window_hours: u32, max_visitors: usize) -> Self {
        Self {
            window: RwLock::new(Window {
                key: [0; 32],
                start: Timestamp::MIN,
                end: Timestamp::MIN,
                shared: Some(0),
            }),
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            per_shard_cap: max_visitors.div_ceil(SHARDS),
            zone,
            window_hours,
        }
    }

    /// The start and end of the window containing `now`.
    pub fn window_of(&self, now: Timestamp) -> (Timestamp, Timestamp) {
        self.zone.window_containing(now, self.window_hours)
    }

    /// Whether the current window has a key and contains `now`.
    pub fn is_keyed_at(&self, now: Timestamp) -> bool {
        let window = read(&self.window);
        window.start <= now && now < window.end
    }

    /// Shared dedup: makes the window `[start, end)` with `key` (and id
    /// `id` in the database) the current one, unless a later one already is.
    pub fn install(&self, start: Timestamp, end: Timestamp, key: [u8; 32], id: i64) {
        let mut window = write(&self.window);
        if start < window.end {
            return; // installed already, by a request that got there first
        }
        *window = Window {
            key,
            start,
            end,
            shared: Some(id),
        };
        self.clear();
    }

    /// Checks and remembers the (client, page) pair in the window containing `now`.
    pub fn admit(&self, now: Timestamp, client: IpAddr, path: &PagePath) -> Admission {
        self.admit_name(now, client, path.as_str().as_bytes())
    }

    /// Checks and remembers the (client, link) pair, like a page: a link's
    /// name in the set is `link:` and its id, which no page path (always
    /// starting with `/`) can be, so a link and a page never share a pair.
    pub fn admit_link(&self, now: Timestamp, client: IpAddr, link: &str) -> Admission {
        self.admit_name(now, client, format!("link:{link}").as_bytes())
    }

    fn admit_name(&self, now: Timestamp, client: IpAddr, name: &[u8]) -> Admission {
        if !self.rotate_if_ended(now) {
            return Admission::Unkeyed;
        }
        // The read guard is held across the shard update so a rotation cannot
        // slip between hashing with the old key and inserting into the new set.
        let window = read(&self.window);
        if now < window.start {
            // A request that read the clock just before another installed a
            // later window: its own window's key is gone, and it was about to
            // end anyway; it counts in the new one.
            return Admission::Unkeyed;
        }
        let hash = visitor_hash(&window.key, client, name);
        let mut shard = lock(&self.shards[shard_of(hash)]);
        if shard.contains(&hash) {
            Admission::Repeat
        } else if shard.len() >= self.per_shard_cap {
            Admission::Full
        } else {
            shard.insert(hash);
            Admission::New(VisitorKey {
                hash,
                window_start: window.start,
                shared_window: window.shared,
            })
        }
    }

    /// Forgets a pair whose call could not be recorded, so the visitor's
    /// retry counts. A no-op when the window has rotated since.
    pub fn forget(&self, key: VisitorKey) {
        let window = read(&self.window);
        if window.start == key.window_start {
            lock(&self.shards[shard_of(key.hash)]).remove(&key.hash);
        }
    }

    /// How many pairs the current window remembers (locks each shard in
    /// turn: for the metrics, not for the request path).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).len()).sum()
    }

    /// Moves to the window containing `now` if the current one has ended;
    /// `false` when that needs a key from the database (shared dedup).
    fn rotate_if_ended(&self, now: Timestamp) -> bool {
        {
            let window = read(&self.window);
            if now < window.end {
                return true;
            }
            if window.shared.is_some() {
                return false;
            }
        }
        let mut window = write(&self.window);
        if now < window.end {
            return true; // another request rotated first
        }
        let (start, end) = self.zone.window_containing(now, self.window_hours);
        window.key = fresh_key(&window.key);
        window.start = start;
        window.end = end;
        self.clear();
        true
    }

    fn clear(&self) {
        for shard in self.shards.iter() {
            // A new set rather than clear(): release the old window's memory.
            *lock(shard) = HashSet::default();
        }
    }
}

/// The 64-bit visitor hash. IPv6 clients are keyed by their /64 prefix, since
/// one device rotates through many addresses inside it.
/// `name` is a page's path, or a link's name in the set (see [`Visitors::admit_link`]).
pub fn visitor_hash(key: &[u8; 32], client: IpAddr, name: &[u8]) -> u64 {
    let mut hasher = blake3::Hasher::new_keyed(key);
    match client.to_canonical() {
        IpAddr::V4(v4) => hasher.update(&[4]).update(&v4.octets()),
        IpAddr::V6(v6) => hasher.update(&[6]).update(&v6.octets()[..8]),
    };
    hasher.update(name);
    let mut first = [0u8; 8];
    first.copy_from_slice(&hasher.finalize().as_bytes()[..8]);
    u64::from_le_bytes(first)
}

fn shard_of(hash: u64) -> usize {
    // Bits 32.. pick the shard: the set's own table uses the low bits (bucket)
    // and the top seven (tag), which stay uniformly random within a shard.
    (hash >> 32) as usize & (SHARDS - 1)
}

/// A new random window key. The OS generator does not fail on the Linux
/// versions we support; should it ever, the next key is derived from the old
/// secret and the time, which is still unknowable outside this process.
fn fresh_key(previous: &[u8; 32]) -> [u8; 32] {
    let mut key = [0u8; 32];
    if getrandom::fill(&mut key).is_err() {
        tracing::error!("the OS random generator failed; deriving the window key instead");
        let mut hasher = blake3::Hasher::new_derive_key("footfall visitor window key");
        hasher.update(previous);
        // Entropy, not a reading of "now": the injected clock would be predictable in tests.
        let nanos = std::time::SystemTime::UNIX_EPOCH.elapsed().map_or(0, |d| d.as_nanos());
        hasher.update(&nanos.to_le_bytes());
        key = *hasher.finalize().as_bytes();
    }
    key
}

/// The set holds blake3 output, already uniformly distributed: hashing it
/// again would only cost time.
#[derive(Default)]
struct PassThroughHasher(u64);

type PassThrough = BuildHasherDefault<PassThroughHasher>;

impl Hasher for PassThroughHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[cfg(test)]
mod tests;
