//! The fixed label values of the metrics: every value a label can take is
//! listed here, so no label can carry a path, an address or a user agent.

/// A label as the families store it.
pub(super) type Label = (&'static str, &'static str);

pub(super) const STATUS_CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];
/// The reasons of `count::filter`, as the API names them, in the order `Metrics::filtered` indexes.
pub(super) const FILTER_REASONS: [&str; 4] = ["bot", "prefetch", "ignored", "foreign_embed"];
/// In the order of `BatchOutcome`.
pub(super) const BATCH_OUTCOMES: [&str; 3] = ["committed", "not_committed", "unknown"];

/// Route groups, from the request path alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Call,
    Badge,
    /// `/api/…` reads (not the admin API).
    Api,
    /// The dashboard and chart pages, and their redirects.
    Page,
    Admin,
    Health,
    Metrics,
    Other,
}

pub(super) const ROUTES: [Route; 8] = [
    Route::Call,
    Route::Badge,
    Route::Api,
    Route::Page,
    Route::Admin,
    Route::Health,
    Route::Metrics,
    Route::Other,
];

impl Route {
    /// The group of a route path (after any `/s/{site}` prefix).
    pub fn of(path: &str) -> Self {
        let under = |prefix: &str| {
            path.strip_prefix(prefix)
                .is_some_and(|tail| tail.is_empty() || tail.starts_with('/'))
        };
        if under("/call") {
            Self::Call
        } else if under("/badge") {
            Self::Badge
        } else if under("/api/admin") {
            Self::Admin
        } else if under("/api") {
            Self::Api
        } else if path == "/" || under("/plot") || under("/dashboard") {
            Self::Page
        } else if path == "/healthz" || path == "/readyz" {
            Self::Health
        } else if path == "/metrics" {
            Self::Metrics
        } else {
            Self::Other
        }
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Call => "call",
            Self::Badge => "badge",
            Self::Api => "api",
            Self::Page => "page",
            Self::Admin => "admin",
            Self::Health => "health",
            Self::Metrics => "metrics",
            Self::Other => "other",
        }
    }
}

/// What became of a hit of `/call` or `/badge`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HitOutcome {
    /// Committed as a visitor's view. With shared dedup, also a visitor
    /// another replica counted first (the two are answered alike).
    Counted,
    /// The visitor was counted on this page in this window already.
    Repeat,
    /// A view through an image proxy, committed.
    Proxied,
    /// A proxied view within `proxied_min_interval_seconds` of the last one.
    ProxiedThrottled,
    /// Not a visitor's view (the reason is in `footfall_filtered_hits_total`).
    Filtered,
    /// The visitor set is at `max_visitors`.
    Full,
    /// Not counted: the page could not be registered or the commit failed.
    Failed,
}

pub(super) const HIT_OUTCOMES: [HitOutcome; 7] = [
    HitOutcome::Counted,
    HitOutcome::Repeat,
    HitOutcome::Proxied,
    HitOutcome::ProxiedThrottled,
    HitOutcome::Filtered,
    HitOutcome::Full,
    HitOutcome::Failed,
];

impl HitOutcome {
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Counted => "counted",
            Self::Repeat => "repeat",
            Self::Proxied => "proxied",
            Self::ProxiedThrottled => "proxied_throttled",
            Self::Filtered => "filtered",
            Self::Full => "full",
            Self::Failed => "failed",
        }
    }
}

/// What became of a new path's check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// The site answered 200.
    Page,
    /// A definite other answer.
    NotAPage,
    /// Rejected lately: not sent again.
    RememberedRejection,
    /// Another replica had registered it: found in the store, not sent.
    KnownInStore,
    /// The rate budget or the concurrency limit was used up: not sent.
    OverBudget,
    /// The site did not answer (or is backed off from).
    SiteUnavailable,
}

pub(super) const PROBE_OUTCOMES: [ProbeOutcome; 6] = [
    ProbeOutcome::Page,
    ProbeOutcome::NotAPage,
    ProbeOutcome::RememberedRejection,
    ProbeOutcome::KnownInStore,
    ProbeOutcome::OverBudget,
    ProbeOutcome::SiteUnavailable,
];

impl ProbeOutcome {
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Page => "page",
            Self::NotAPage => "not_a_page",
            Self::RememberedRejection => "remembered_rejection",
            Self::KnownInStore => "known_in_store",
            Self::OverBudget => "over_budget",
            Self::SiteUnavailable => "site_unavailable",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_groups_come_from_the_path_alone() {
        assert_eq!(Route::of("/call"), Route::Call);
        assert_eq!(Route::of("/call/a/b"), Route::Call);
        assert_eq!(Route::of("/callx"), Route::Other);
        assert_eq!(Route::of("/badge/a"), Route::Badge);
        assert_eq!(Route::of("/api/admin/pages"), Route::Admin);
        assert_eq!(Route::of("/api/counts/a"), Route::Api);
        assert_eq!(Route::of("/"), Route::Page);
        assert_eq!(Route::of("/plot/a"), Route::Page);
        assert_eq!(Route::of("/readyz"), Route::Health);
        assert_eq!(Route::of("/metrics"), Route::Metrics);
        // The order of the arrays is the order of the enums (they index them).
        for (i, route) in ROUTES.iter().enumerate() {
            assert_eq!(*route as usize, i);
        }
        for (i, outcome) in HIT_OUTCOMES.iter().enumerate() {
            assert_eq!(*outcome as usize, i);
        }
        for (i, outcome) in PROBE_OUTCOMES.iter().enumerate() {
            assert_eq!(*outcome as usize, i);
        }
    }
}
