//! What an event is: its kinds, the milestone rule, and the payload a
//! receiver gets (`{"type", "timestamp", "data"}`, the Standard Webhooks
//! shape). Pure: no I/O, no clock.
//!
//! Events are aggregates of the site's own data — a page's path, a link's
//! id, name and host, counts and times. Nothing about a visitor ever goes
//! into one: the store writes them from paths, links and totals alone.

use jiff::Timestamp;
use serde_json::{Map, Value};

/// The kinds of event, as named in `webhooks[].events` and payloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    /// A new page passed its probe or was registered by the owner.
    PageRegistered,
    /// A page's total crossed a value of `milestones`.
    Milestone,
    /// A link was clicked (at most one event per link per interval).
    LinkClicked,
    /// Yesterday's visitors and top pages, after each local midnight.
    DailySummary,
}

impl EventKind {
    pub const ALL: [Self; 4] = [
        Self::PageRegistered,
        Self::Milestone,
        Self::LinkClicked,
        Self::DailySummary,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PageRegistered => "page_registered",
            Self::Milestone => "milestone",
            Self::LinkClicked => "link_clicked",
            Self::DailySummary => "daily_summary",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// The milestones a total crossed going from `old` to `new`: each value in
/// `(old, new]`, so a batch that jumps past several fires each once, and a
/// total that crossed one before never fires it again.
pub fn crossed(old: i64, new: i64, milestones: &[i64]) -> impl Iterator<Item = i64> + '_ {
    milestones.iter().copied().filter(move |&m| old < m && m <= new)
}

/// The JSON body of one event for a receiver: `data` is the stored object
/// with the site's slug added.
pub fn payload(kind: &str, at: Timestamp, site: &str, data: &str) -> String {
    let mut object = match serde_json::from_str::<Value>(data) {
        Ok(Value::Object(object)) => object,
        _ => Map::new(),
    };
    object.insert("site".into(), Value::String(site.to_owned()));
    serde_json::json!({
        "type": kind,
        "timestamp": at.to_string(),
        "data": object,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_jumping_past_milestones_fires_each_once() {
        let m = [100, 1000, 10_000];
        assert_eq!(crossed(99, 100, &m).collect::<Vec<_>>(), [100]);
        assert_eq!(crossed(50, 1500, &m).collect::<Vec<_>>(), [100, 1000]);
        assert_eq!(crossed(100, 999, &m).count(), 0, "100 was crossed before");
        assert_eq!(crossed(0, 99, &m).count(), 0);
    }

    #[test]
    fn kinds_round_trip_and_payloads_have_the_spec_shape() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(EventKind::parse("page_viewed"), None);
        let at: Timestamp = "2026-12-01T10:00:00Z".parse().unwrap();
        let body: Value =
            serde_json::from_str(&payload("milestone", at, "blog", r#"{"path":"/a","milestone":100}"#)).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"type": "milestone", "timestamp": "2026-12-01T10:00:00Z",
                "data": {"site": "blog", "path": "/a", "milestone": 100}})
        );
    }
}
