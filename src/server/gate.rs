//! Which connections are let in, and which are told to go: the bookkeeping
//! behind Footfall's defence against slow clients (slowloris).
//!
//! - One untrusted peer address (IPv6: its /64, which one host usually has
//!   whole) holds at most `max_connections_per_address` connections; more are
//!   refused. Trusted proxies are exempt: each carries many visitors.
//! - At `max_connections`, the connection that has waited longest for a
//!   request head is told to close to make room; only when every connection is
//!   in the middle of a request is the newcomer refused. Accepting never stops,
//!   so a visitor never waits in the kernel's backlog behind slow clients.
//! - From three quarters of `max_connections` until back down to half, the
//!   head deadline is `header_read_timeout_under_load`, and connections already
//!   waiting are woken to apply it.
//! - On shutdown, every connection between requests is told to close.
//!
//! Pure bookkeeping: no sockets, no timers, no logging. Admitting and
//! releasing take one short lock; requests start and end without it. Peer
//! addresses ([`AddressKey`]) live in RAM only, as map keys, and only
//! while that address has a connection open, so the map never outgrows
//! `max_connections`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::futures::Notified;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::address::AddressKey;
use crate::config::ConnectionLimits;
use crate::sync::lock;

/// Why a connection was not let in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Refused {
    /// Its address already holds `max_connections_per_address`.
    AddressFull,
    /// `max_connections` are open and every one is answering a request.
    Full,
    /// The server is shutting down.
    Closing,
}

/// Where a connection stands, as its task needs to know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Status {
    /// Between requests, and told to go or past its head deadline.
    Close,
    /// Waiting for a request head until the deadline.
    AwaitingHead(Instant),
    /// Answering a request: no deadline here (the shutdown drain has one).
    InRequest,
}

pub(super) struct Gate {
    per_address: usize,
    max: usize,
    high_water: usize,
    low_water: usize,
    head_timeout: Duration,
    head_timeout_under_load: Duration,
    /// What `Slot::waiting_since` counts from.
    epoch: Instant,
    /// Mirrors `Inner::under_load`, so deadlines are read without the lock.
    under_load: AtomicBool,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    open: usize,
    per_address: HashMap<AddressKey, usize>,
    /// Every connection holding a place, by id.
    slots: HashMap<u64, Arc<Slot>>,
    next_id: u64,
    under_load: bool,
    closing: bool,
}

/// `Slot::waiting_since` while a request is being answered.
const ANSWERING: u64 = u64::MAX;

/// What the gate and one connection's task share. Requests start and end
/// with a store to `waiting_since` and no lock: the gate reads it only to
/// find the connection that has waited longest, which is rare.
struct Slot {
    id: u64,
    address: Option<AddressKey>,
    /// Nanoseconds after the gate's epoch since when it has waited for a
    /// head, or `ANSWERING`.
    waiting_since: AtomicU64,
    /// Close at the next moment between requests (shed, or shutting down).
    close: AtomicBool,
    /// Its place is given back; early when it is shed, so the newcomer that
    /// shed it does not count twice.
    released: AtomicBool,
    /// Wakes the task to look at its deadline and `close` again.
    wake: Notify,
}

/// One admitted connection's place. Dropping it gives the place back.
pub(super) struct Ticket {
    gate: Arc<Gate>,
    slot: Arc<Slot>,
}

impl Gate {
    pub(super) fn new(limits: &ConnectionLimits) -> Self {
        let max = limits.max_connections.max(1);
        Self {
            per_address: limits.max_connections_per_address,
            max,
            high_water: (max * 3).div_ceil(4),
            low_water: max / 2,
            head_timeout: limits.header_read_timeout,
            // Never longer than the normal deadline, whatever was configured.
            head_timeout_under_load: limits.header_read_timeout_under_load.min(limits.header_read_timeout),
            epoch: Instant::now(),
            under_load: AtomicBool::new(false),
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Lets a connection from `peer` in, or says why not. May tell the
    /// connection that has waited longest for a head to close.
    pub(super) fn admit(self: &Arc<Self>, peer: IpAddr, trusted: bool, now: Instant) -> Result<Ticket, Refused> {
        let address = (!trusted).then(|| AddressKey::of(peer));
        let mut inner = lock(&self.inner);
        if inner.closing {
            return Err(Refused::Closing);
        }
        if let Some(key) = address {
            if inner.per_address.get(&key).is_some_and(|&n| n >= self.per_address) {
                return Err(Refused::AddressFull);
            }
        }
        if inner.open >= self.max {
            // A scan, but only at the cap: cheaper than ordering connections
            // on every request.
            let victim = inner
                .slots
                .values()
                .filter(|slot| slot.waiting_since.load(Ordering::Relaxed) != ANSWERING)
                .min_by_key(|slot| (slot.waiting_since.load(Ordering::Relaxed), slot.id))
                .cloned();
            let Some(victim) = victim else {
                return Err(Refused::Full);
            };
            victim.close.store(true, Ordering::Relaxed);
            self.release(&mut inner, &victim);
            victim.wake.notify_one();
        }
        inner.open += 1;
        if let Some(key) = address {
            *inner.per_address.entry(key).or_insert(0) += 1;
        }
        if !inner.under_load && inner.open >= self.high_water {
            inner.under_load = true;
            self.under_load.store(true, Ordering::Relaxed);
            // Their deadlines just shortened.
            for slot in inner.slots.values() {
                slot.wake.notify_one();
            }
        }
        let id = inner.next_id;
        inner.next_id += 1;
        let slot = Arc::new(Slot {
            id,
            address,
            waiting_since: AtomicU64::new(self.nanos(now)),
            close: AtomicBool::new(false),
            released: AtomicBool::new(false),
            wake: Notify::new(),
        });
        inner.slots.insert(id, Arc::clone(&slot));
        drop(inner);
        Ok(Ticket {
            gate: Arc::clone(self),
            slot,
        })
    }

    /// Tells every connection between requests to close now, and any other
    /// as soon as its request is answered; refuses newcomers from now on.
    pub(super) fn shut_down(&self) {
        let mut inner = lock(&self.inner);
        inner.closing = true;
        for slot in inner.slots.values() {
            slot.close.store(true, Ordering::Relaxed);
            slot.wake.notify_one();
        }
    }

    /// Whether head deadlines are the short ones now.
    pub(super) fn under_load(&self) -> bool {
        self.under_load.load(Ordering::Relaxed)
    }

    fn head_timeout(&self) -> Duration {
        if self.under_load() {
            self.head_timeout_under_load
        } else {
            self.head_timeout
        }
    }

    fn nanos(&self, at: Instant) -> u64 {
        // Saturates after 584 years of uptime, short of `ANSWERING`.
        u64::try_from(at.duration_since(self.epoch).as_nanos()).unwrap_or(ANSWERING - 1)
    }

    fn release(&self, inner: &mut Inner, slot: &Slot) {
        if slot.released.swap(true, Ordering::Relaxed) {
            return;
        }
        inner.slots.remove(&slot.id);
        inner.open -= 1;
        if let Some(key) = slot.address {
            if let Some(n) = inner.per_address.get_mut(&key) {
                *n -= 1;
                if *n == 0 {
                    inner.per_address.remove(&key);
                }
            }
        }
        if inner.under_load && inner.open <= self.low_water {
            inner.under_load = false;
            self.under_load.store(false, Ordering::Relaxed);
        }
    }

    #[cfg(test)]
    fn addresses_held(&self) -> usize {
        lock(&self.inner).per_address.len()
    }
}

impl Ticket {
    /// Marks the connection as answering a request (hyper has read a whole
    /// head) until the returned guard is dropped.
    pub(super) fn begin_request(self: &Arc<Self>) -> RequestGuard {
        self.slot.waiting_since.store(ANSWERING, Ordering::Relaxed);
        RequestGuard(Arc::clone(self))
    }

    pub(super) fn status(&self, now: Instant) -> Status {
        let since = self.slot.waiting_since.load(Ordering::Relaxed);
        if since == ANSWERING {
            return Status::InRequest;
        }
        let deadline = self.gate.epoch + Duration::from_nanos(since) + self.gate.head_timeout();
        if self.slot.close.load(Ordering::Relaxed) || now >= deadline {
            Status::Close
        } else {
            Status::AwaitingHead(deadline)
        }
    }

    /// Resolves when the gate may have changed the status: the connection
    /// was shed, the load changed, or the server is shutting down. (A
    /// request ending is seen by the connection's own task as it happens.)
    pub(super) fn woken(&self) -> Notified<'_> {
        self.slot.wake.notified()
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.gate.release(&mut lock(&self.gate.inner), &self.slot);
    }
}

/// Held while a request is answered; the connection waits for its next head
/// from the moment this is dropped.
pub(super) struct RequestGuard(Arc<Ticket>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        let ticket = &self.0;
        let now = ticket.gate.nanos(Instant::now());
        ticket.slot.waiting_since.store(now, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(max: usize, per_address: usize) -> Arc<Gate> {
        Arc::new(Gate::new(&ConnectionLimits {
            max_connections: max,
            max_connections_per_address: per_address,
            header_read_timeout: Duration::from_secs(10),
            header_read_timeout_under_load: Duration::from_secs(1),
        }))
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn admit(gate: &Arc<Gate>, peer: &str) -> Result<Arc<Ticket>, Refused> {
        gate.admit(ip(peer), false, Instant::now()).map(Arc::new)
    }

    fn closing(ticket: &Ticket) -> bool {
        ticket.status(Instant::now()) == Status::Close
    }

    #[test]
    fn an_untrusted_address_gets_its_cap_and_a_trusted_one_more() {
        let gate = gate(100, 2);
        let first = admit(&gate, "192.0.2.1").unwrap();
        let _second = admit(&gate, "192.0.2.1").unwrap();
        assert_eq!(admit(&gate, "192.0.2.1").err(), Some(Refused::AddressFull));
        assert!(admit(&gate, "192.0.2.2").is_ok(), "another address has its own cap");
        for _ in 0..5 {
            assert!(gate.admit(ip("10.0.0.1"), true, Instant::now()).is_ok());
        }
        drop(first);
        assert!(admit(&gate, "192.0.2.1").is_ok(), "a closed connection frees its place");
    }

    #[test]
    fn the_address_map_forgets_an_address_with_its_last_connection() {
        let gate = gate(100, 4);
        let tickets: Vec<_> = (1..=3)
            .map(|i| admit(&gate, &format!("192.0.2.{i}")).unwrap())
            .collect();
        let _trusted = gate.admit(ip("10.0.0.1"), true, Instant::now()).unwrap();
        assert_eq!(gate.addresses_held(), 3, "trusted proxies are not counted");
        drop(tickets);
        assert_eq!(gate.addresses_held(), 0);
    }

    #[test]
    fn at_the_cap_the_connection_waiting_longest_makes_room() {
        let gate = gate(3, 10);
        let (a, b, c) = (
            admit(&gate, "192.0.2.1").unwrap(),
            admit(&gate, "192.0.2.2").unwrap(),
            admit(&gate, "192.0.2.3").unwrap(),
        );
        let _answering = a.begin_request();
        let d = admit(&gate, "192.0.2.4").unwrap();
        assert!(!closing(&a), "a connection answering a request is never shed");
        assert!(closing(&b), "b has waited longest");
        assert!(!closing(&c) && !closing(&d));
        drop(b);
        let (_c, _d) = (c.begin_request(), d.begin_request());
        assert_eq!(admit(&gate, "192.0.2.5").err(), Some(Refused::Full), "nothing to shed");
    }

    #[test]
    fn a_connection_back_between_requests_waits_at_the_back_of_the_line() {
        let gate = gate(2, 10);
        let a = admit(&gate, "192.0.2.1").unwrap();
        let b = admit(&gate, "192.0.2.2").unwrap();
        drop(a.begin_request());
        let _c = admit(&gate, "192.0.2.3").unwrap();
        assert!(closing(&b) && !closing(&a));
    }

    #[test]
    fn under_load_the_head_deadline_shortens_until_half_the_connections_are_gone() {
        let gate = gate(8, 10);
        let since = Instant::now();
        let mut tickets: Vec<_> = (0..5)
            .map(|i| Arc::new(gate.admit(ip(&format!("192.0.2.{i}")), false, since).unwrap()))
            .collect();
        let normal = since + Duration::from_secs(10);
        assert_eq!(tickets[0].status(since), Status::AwaitingHead(normal));
        tickets.push(admit(&gate, "192.0.2.9").unwrap()); // 6 of 8: three quarters
        assert_eq!(
            tickets[0].status(since),
            Status::AwaitingHead(since + Duration::from_secs(1))
        );
        assert_eq!(tickets[0].status(since + Duration::from_secs(2)), Status::Close);
        tickets.truncate(5);
        assert!(gate.under_load(), "still 5 of 8");
        tickets.truncate(4);
        assert!(!gate.under_load(), "back to half");
        assert_eq!(tickets[0].status(since), Status::AwaitingHead(normal));
    }

    #[test]
    fn shutting_down_closes_connections_between_requests_only() {
        let gate = gate(10, 10);
        let waiting = admit(&gate, "192.0.2.1").unwrap();
        let answering = admit(&gate, "192.0.2.2").unwrap();
        let request = answering.begin_request();
        gate.shut_down();
        assert!(closing(&waiting));
        assert_eq!(answering.status(Instant::now()), Status::InRequest);
        drop(request);
        assert!(closing(&answering), "closed once its answer is out");
        assert_eq!(admit(&gate, "192.0.2.3").err(), Some(Refused::Closing));
    }
}
