//! `GET /metrics`: the Prometheus metrics, on the main listener unless
//! `metrics_address` gives them a listener of their own.
//!
//! Who may read them: the metrics carry no path, address or user agent,
//! only process-wide rates by route group and outcome, so while every site
//! is public they show less than `/api/counts` already does, and are open.
//! Once a site is private they would reveal its traffic volume, so the main
//! listener then asks for the admin token (404 when there is none, like the
//! admin API). A `metrics_address` listener is open: it is meant for an
//! address only the scraper reaches.

use hyper::HeaderMap;

use super::access::bearer;
use super::error::HttpError;
use super::response::{self, HttpResponse};
use crate::metrics::Sample;
use crate::state::AppState;

/// `/metrics` on the main listener.
///
/// # Errors
/// [`HttpError::NotFound`] when the metrics have their own listener or a
/// private site needs an admin token that is not configured;
/// [`HttpError::Unauthorized`] without the admin token when one is needed.
pub fn on_main(state: &AppState, headers: &HeaderMap) -> Result<HttpResponse, HttpError> {
    if state.config.metrics_address.is_some() {
        return Err(HttpError::NotFound);
    }
    if state.sites.iter().any(|site| !site.config.access.public) {
        if !state.tokens.admin_enabled() {
            return Err(HttpError::NotFound);
        }
        if !state.tokens.is_admin(bearer(headers)) {
            return Err(HttpError::Unauthorized);
        }
    }
    Ok(scrape(state))
}

/// The metrics now, with the gauges read from the state.
pub fn scrape(state: &AppState) -> HttpResponse {
    let deliveries = state.notifier.delivery_counts();
    let sample = Sample {
        dedup_pairs: state.sites.iter().map(|site| site.visitors.len()).sum(),
        db_connections: state.store.connections_in_use(),
        webhooks_pending: deliveries.pending,
        webhooks_failed: deliveries.failed,
    };
    response::metrics(state.metrics.encode(sample))
}
