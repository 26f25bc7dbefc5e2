//! The bounds on probing that need no I/O: a token bucket for the rate to
//! the tracked site, and a bounded, expiring cache of rejected paths. Pure:
//! the caller passes the instant.

use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

/// A token bucket: `burst` probes at once, refilled at `rate` per second.
#[derive(Debug)]
pub struct TokenBucket {
    tokens: f64,
    capacity: f64,
    rate: f64,
    updated: Instant,
}

impl TokenBucket {
    pub fn new(rate: f64, burst: u32, now: Instant) -> Self {
        let capacity = f64::from(burst.max(1));
        Self {
            tokens: capacity,
            capacity,
            rate,
            updated: now,
        }
    }

    pub fn try_take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        self.updated = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Recently rejected paths, bounded in count and age. Entries share one TTL
/// and arrive in time order, so the queue's front is always the oldest.
#[derive(Debug)]
pub struct NegativeCache {
    order: VecDeque<(Box<str>, Instant)>,
    members: HashSet<Box<str>>,
    capacity: usize,
    ttl: Duration,
}

impl NegativeCache {
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            order: VecDeque::new(),
            members: HashSet::new(),
            capacity: capacity.max(1),
            ttl,
        }
    }

    pub fn contains(&mut self, path: &str, now: Instant) -> bool {
        self.expire(now);
        self.members.contains(path)
    }

    pub fn insert(&mut self, path: &str, now: Instant) {
        self.expire(now);
        if self.members.contains(path) {
            return;
        }
        while self.order.len() >= self.capacity {
            self.pop_oldest();
        }
        self.members.insert(path.into());
        self.order.push_back((path.into(), now));
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.order.len()
    }

    fn expire(&mut self, now: Instant) {
        while self
            .order
            .front()
            .is_some_and(|(_, at)| now.saturating_duration_since(*at) >= self.ttl)
        {
            self.pop_oldest();
        }
    }

    fn pop_oldest(&mut self) {
        if let Some((path, _)) = self.order.pop_front() {
            self.members.remove(&path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_allows_a_burst_then_the_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(2.0, 3, start);
        assert!((0..3).all(|_| bucket.try_take(start)));
        assert!(!bucket.try_take(start));
        assert!(bucket.try_take(start + Duration::from_millis(500)));
        assert!(!bucket.try_take(start + Duration::from_millis(500)));
        // Refill never exceeds the burst.
        let later = start + Duration::from_secs(60);
        assert_eq!((0..10).filter(|_| bucket.try_take(later)).count(), 3);
    }

    #[test]
    fn the_negative_cache_expires_and_stays_bounded() {
        let start = Instant::now();
        let mut cache = NegativeCache::new(2, Duration::from_secs(10));
        cache.insert("/a", start);
        assert!(cache.contains("/a", start + Duration::from_secs(9)));
        assert!(!cache.contains("/a", start + Duration::from_secs(10)));
        cache.insert("/a", start);
        cache.insert("/b", start);
        cache.insert("/c", start);
        assert_eq!(cache.len(), 2);
        assert!(!cache.contains("/a", start));
        assert!(cache.contains("/c", start));
    }
}
