//! The proxied-view gate: at most one proxied view per page per
//! `proxied_min_interval_seconds`.
//!
//! An image proxy (GitHub's Camo, a mail provider's) asks again on every
//! view and shows no reader's address, so per-visitor dedup cannot apply;
//! instead each page counts proxied views at most once per interval, so a
//! forged proxy user agent cannot pump a page. Holds one time per page id
//! (pages are bounded by `max_paths`), nothing about any client. No I/O.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use crate::store::PathId;
use crate::sync::lock;

pub struct ProxiedGate {
    interval: SignedDuration,
    last: Mutex<HashMap<PathId, Timestamp>>,
}

/// A proxied view let through, so a write that certainly failed can be undone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admitted {
    path: PathId,
    at: Timestamp,
    previous: Option<Timestamp>,
}

impl ProxiedGate {
    pub fn new(interval: Duration) -> Self {
        Self {
            interval: SignedDuration::try_from(interval).unwrap_or(SignedDuration::MAX),
            last: Mutex::default(),
        }
    }

    /// Lets a proxied view of `path` at `now` count, unless one did less
    /// than the interval before. A clock that stepped back lets the view
    /// through and starts the interval again, rather than blocking the page.
    pub fn admit(&self, path: PathId, now: Timestamp) -> Option<Admitted> {
        // Short and without await: a plain mutex is right, and proxied views are few.
        let mut last = lock(&self.last);
        let previous = last.get(&path).copied();
        if let Some(before) = previous {
            if before <= now && now.duration_since(before) < self.interval {
                return None;
            }
        }
        last.insert(path, now);
        Some(Admitted {
            path,
            at: now,
            previous,
        })
    }

    /// Undoes an admission whose write certainly failed, so the proxy's
    /// retry counts; a no-op if a later view was admitted since.
    pub fn undo(&self, admitted: Admitted) {
        let mut last = lock(&self.last);
        if last.get(&admitted.path) == Some(&admitted.at) {
            match admitted.previous {
                Some(previous) => last.insert(admitted.path, previous),
                None => last.remove(&admitted.path),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_767_261_600 + seconds).unwrap()
    }

    #[test]
    fn one_view_per_page_per_interval() {
        let gate = ProxiedGate::new(Duration::from_secs(10));
        assert!(gate.admit(1, at(0)).is_some());
        assert!(gate.admit(1, at(9)).is_none());
        assert!(gate.admit(2, at(9)).is_some(), "pages are gated apart");
        assert!(gate.admit(1, at(10)).is_some());
        assert!(gate.admit(1, at(19)).is_none());
    }

    #[test]
    fn a_clock_that_steps_back_does_not_block_a_page() {
        let gate = ProxiedGate::new(Duration::from_secs(10));
        assert!(gate.admit(1, at(100)).is_some());
        assert!(gate.admit(1, at(50)).is_some());
        assert!(gate.admit(1, at(55)).is_none());
    }

    #[test]
    fn undoing_a_failed_view_lets_the_retry_count() {
        let gate = ProxiedGate::new(Duration::from_secs(10));
        let first = gate.admit(1, at(0)).unwrap();
        let second = gate.admit(1, at(20)).unwrap();
        gate.undo(second);
        assert!(gate.admit(1, at(21)).is_some(), "back to the view at 0");
        gate.undo(first); // a later view was admitted since: no-op
        assert!(gate.admit(1, at(22)).is_none());
    }
}
