//! Prometheus metrics: what `/metrics` shows, in the OpenMetrics text
//! format (`prometheus-client`).
//!
//! Owns every metric's name, help and labels. Labels come from small fixed
//! sets (route groups, status classes, outcomes, reasons), never from a
//! path, an address or a user agent, so their number is bounded. Every
//! labelled counter is created once at start and kept in an array, so
//! recording is one atomic add: no lock, no allocation, nothing that makes
//! the repeat path of `/call` slower. Gauges that are cheaper to read than
//! to keep (the dedup sets, the pool) are read when scraped ([`Sample`]).
//! Knows nothing of HTTP or the store; callers say what happened.
//!
//! To add a gauge read at scrape time: a field in [`Sample`], a `Gauge`
//! here registered in [`Metrics::new`], and one `set` in [`Metrics::encode`].

mod labels;

use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::count::filter::Reason;
pub use labels::{HitOutcome, ProbeOutcome, Route};
use labels::{Label, BATCH_OUTCOMES, FILTER_REASONS, HIT_OUTCOMES, PROBE_OUTCOMES, ROUTES, STATUS_CLASSES};

/// The content type of [`Metrics::encode`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What a batch's commit came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchOutcome {
    Committed,
    NotCommitted,
    Unknown,
}

/// Gauges read when `/metrics` is scraped.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    /// (visitor, page) pairs remembered in the current windows, all sites.
    pub dedup_pairs: usize,
    /// PostgreSQL pool: connections checked out, and callers waiting for one.
    pub db_connections: Option<(usize, usize)>,
    /// Webhook deliveries waiting (or retrying), and given up after 24 h.
    pub webhooks_pending: u64,
    pub webhooks_failed: u64,
}

pub struct Metrics {
    registry: Registry,
    requests: Vec<[Counter; STATUS_CLASSES.len()]>,
    hits: Vec<Counter>,
    filtered: Vec<Counter>,
    probes: Vec<Counter>,
    batches: Vec<Counter>,
    batch_size: Histogram,
    commit_seconds: Histogram,
    dedup_pairs: Gauge,
    db_in_use: Gauge,
    db_waiting: Gauge,
    webhooks_pending: Gauge,
    webhooks_failed: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("footfall");
        let requests = Family::<Vec<Label>, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route group and status class",
            requests.clone(),
        );
        let requests = ROUTES
            .iter()
            .map(|route| {
                STATUS_CLASSES
                    .map(|class| requests.get_or_create_owned(&vec![("route", route.name()), ("status", class)]))
            })
            .collect();
        let hits = labelled(
            &mut registry,
            "hits",
            "Hits of /call and /badge, by outcome",
            "outcome",
            &HIT_OUTCOMES.map(HitOutcome::name),
        );
        let filtered = labelled(
            &mut registry,
            "filtered_hits",
            "New (visitor, page) pairs not counted as a visitor's view, by reason",
            "reason",
            &FILTER_REASONS,
        );
        let probes = labelled(
            &mut registry,
            "probes",
            "New paths checked against the tracked site, by outcome",
            "outcome",
            &PROBE_OUTCOMES.map(ProbeOutcome::name),
        );
        let batches = labelled(
            &mut registry,
            "batches",
            "Batches sent to the store, by outcome",
            "outcome",
            &BATCH_OUTCOMES,
        );
        let batch_size = Histogram::new(exponential_buckets(1.0, 4.0, 7));
        registry.register("batch_size", "Hits and proxied views per batch", batch_size.clone());
        let commit_seconds = Histogram::new(exponential_buckets(0.000_5, 2.0, 13));
        registry.register("commit_seconds", "Time to commit a batch", commit_seconds.clone());
        let dedup_pairs = Gauge::default();
        registry.register(
            "dedup_pairs",
            "(visitor, page) pairs this process remembers in the current windows",
            dedup_pairs.clone(),
        );
        let db_in_use = Gauge::default();
        registry.register(
            "db_connections_in_use",
            "PostgreSQL connections checked out",
            db_in_use.clone(),
        );
        let db_waiting = Gauge::default();
        registry.register(
            "db_connections_waiting",
            "Callers waiting for a PostgreSQL connection",
            db_waiting.clone(),
        );
        let webhooks_pending = Gauge::default();
        registry.register(
            "webhook_deliveries_pending",
            "Webhook deliveries waiting to be sent or retried",
            webhooks_pending.clone(),
        );
        let webhooks_failed = Gauge::default();
        registry.register(
            "webhook_deliveries_failed",
            "Webhook deliveries given up after retrying for 24 hours",
            webhooks_failed.clone(),
        );
        Self {
            registry,
            requests,
            hits,
            filtered,
            probes,
            batches,
            batch_size,
            commit_seconds,
            dedup_pairs,
            db_in_use,
            db_waiting,
            webhooks_pending,
            webhooks_failed,
        }
    }

    /// One answered request of `route` with `status`.
    pub fn request(&self, route: Route, status: u16) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        if let Some(counters) = self.requests.get(route as usize) {
            counters[class].inc();
        }
    }

    pub fn hit(&self, outcome: HitOutcome) {
        inc(&self.hits, outcome as usize);
    }

    /// One filtered hit.
    pub fn filtered(&self, reason: Reason) {
        let index = match reason {
            Reason::Bot => 0,
            Reason::Prefetch => 1,
            Reason::Ignored => 2,
            Reason::ForeignEmbed => 3,
        };
        inc(&self.filtered, index);
        self.hit(HitOutcome::Filtered);
    }

    pub fn probe(&self, outcome: ProbeOutcome) {
        inc(&self.probes, outcome as usize);
    }

    /// One batch of `size` entries whose commit took `took`.
    pub fn batch(&self, size: usize, took: Duration, outcome: BatchOutcome) {
        self.batch_size.observe(size as f64);
        self.commit_seconds.observe(took.as_secs_f64());
        inc(&self.batches, outcome as usize);
    }

    /// The text `/metrics` answers, with the gauges of `sample`.
    pub fn encode(&self, sample: Sample) -> String {
        self.dedup_pairs.set(gauge(sample.dedup_pairs));
        let (in_use, waiting) = sample.db_connections.unwrap_or_default();
        self.db_in_use.set(gauge(in_use));
        self.db_waiting.set(gauge(waiting));
        self.webhooks_pending.set(gauge(sample.webhooks_pending));
        self.webhooks_failed.set(gauge(sample.webhooks_failed));
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}

/// A family of counters with one label, created for each value up front.
fn labelled(
    registry: &mut Registry,
    name: &str,
    help: &str,
    key: &'static str,
    values: &[&'static str],
) -> Vec<Counter> {
    let family = Family::<Vec<Label>, Counter>::default();
    registry.register(name, help, family.clone());
    values
        .iter()
        .map(|value| family.get_or_create_owned(&vec![(key, *value)]))
        .collect()
}

fn inc(counters: &[Counter], index: usize) {
    if let Some(counter) = counters.get(index) {
        counter.inc();
    }
}

fn gauge(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_series_is_there_from_the_start_with_bounded_labels() {
        let metrics = Metrics::new();
        metrics.request(Route::Call, 200);
        metrics.request(Route::Call, 503);
        metrics.hit(HitOutcome::Repeat);
        metrics.filtered(Reason::Bot);
        metrics.probe(ProbeOutcome::Page);
        metrics.batch(3, Duration::from_millis(2), BatchOutcome::Committed);
        let text = metrics.encode(Sample {
            dedup_pairs: 7,
            db_connections: Some((2, 1)),
            webhooks_pending: 4,
            webhooks_failed: 1,
        });
        for line in [
            "footfall_http_requests_total{route=\"call\",status=\"2xx\"} 1",
            "footfall_http_requests_total{route=\"call\",status=\"5xx\"} 1",
            "footfall_http_requests_total{route=\"admin\",status=\"4xx\"} 0",
            "footfall_hits_total{outcome=\"repeat\"} 1",
            "footfall_hits_total{outcome=\"filtered\"} 1",
            "footfall_hits_total{outcome=\"counted\"} 0",
            "footfall_filtered_hits_total{reason=\"bot\"} 1",
            "footfall_probes_total{outcome=\"page\"} 1",
            "footfall_batches_total{outcome=\"committed\"} 1",
            "footfall_batch_size_count 1",
            "footfall_commit_seconds_count 1",
            "footfall_dedup_pairs 7",
            "footfall_db_connections_in_use 2",
            "footfall_db_connections_waiting 1",
            "footfall_webhook_deliveries_pending 4",
            "footfall_webhook_deliveries_failed 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing from:\n{text}");
        }
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn odd_statuses_land_in_a_class() {
        let metrics = Metrics::new();
        metrics.request(Route::Other, 99);
        metrics.request(Route::Other, 700);
        let text = metrics.encode(Sample::default());
        assert!(
            text.contains("footfall_http_requests_total{route=\"other\",status=\"1xx\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("footfall_http_requests_total{route=\"other\",status=\"5xx\"} 1"),
            "{text}"
        );
    }
}
