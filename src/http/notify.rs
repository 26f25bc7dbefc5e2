//! Notifications at the HTTP edge: `GET /feed.atom` (the site's events as
//! an Atom feed; a read route, so a private site's needs a token) and the
//! admin's `GET /api/admin/webhooks` (each receiver's pending deliveries,
//! current trouble, and the deliveries given up).

use std::sync::atomic::Ordering;

use serde::Serialize;

use super::error::HttpError;
use super::response::{self, json, HttpResponse};
use super::SiteRoute;
use crate::notify::feed::render_feed;
use crate::state::AppState;

/// Entries in the feed at most.
const FEED_ENTRIES: usize = 50;
/// Failed deliveries shown at most.
const FAILURES_SHOWN: usize = 50;

/// `GET /feed.atom`.
pub async fn feed(state: &AppState, at: &SiteRoute<'_>) -> Result<HttpResponse, HttpError> {
    state.availability.check_ready()?;
    let events = state
        .reads
        .recent_events(at.site.registry.site_id()?, FEED_ENTRIES)
        .await?;
    let base = state.config.public_url.as_deref().unwrap_or_default();
    let self_url = format!("{base}{}/feed.atom", at.base);
    Ok(response::atom(render_feed(&at.site.config.slug, &self_url, &events)))
}

#[derive(Serialize)]
struct ReceiverReport<'a> {
    url: &'a str,
    events: &'a [String],
    pending: u64,
    failing: bool,
    last_error: Option<String>,
    next_attempt: Option<String>,
}

#[derive(Serialize)]
struct FailureReport {
    url: String,
    event: i64,
    error: String,
    at: String,
}

#[derive(Serialize)]
struct WebhooksReport<'a> {
    receivers: Vec<ReceiverReport<'a>>,
    failed: Vec<FailureReport>,
}

/// `GET /api/admin/webhooks`: the site's receivers and failed deliveries.
pub async fn webhooks(state: &AppState, at: &SiteRoute<'_>) -> Result<HttpResponse, HttpError> {
    let slug = &at.site.config.slug;
    let mine: Vec<_> = state.notifier.receivers.iter().filter(|r| &r.slug == slug).collect();
    let ids: Vec<String> = mine.iter().map(|r| r.id.clone()).collect();
    let failures = state.reads.failed_deliveries(&ids, FAILURES_SHOWN).await?;
    let zone = &at.site.config.zone;
    let receivers = mine
        .iter()
        .map(|r| {
            let trouble = crate::sync::lock(&r.trouble).clone();
            ReceiverReport {
                url: r.hook.url.as_str(),
                events: &r.kinds,
                pending: r.pending.load(Ordering::Relaxed),
                failing: r.failing.load(Ordering::Relaxed),
                last_error: trouble.as_ref().map(|(e, _)| e.clone()),
                next_attempt: trouble.map(|(_, next)| zone.rfc3339(next)),
            }
        })
        .collect();
    let failed = failures
        .into_iter()
        .map(|f| FailureReport {
            url: mine
                .iter()
                .find(|r| r.id == f.receiver)
                .map_or_else(String::new, |r| r.hook.url.to_string()),
            event: f.event,
            error: f.error,
            at: zone.rfc3339(f.at),
        })
        .collect();
    json(&WebhooksReport { receivers, failed })
}
