//! The background side of notifications: one task per webhook receiver
//! delivering its events in order ([`deliver_once`]), and one that writes
//! the aggregate events — links' clicks since their last event, each
//! site's daily summary after local midnight — and prunes old events.
//! The app aborts [`run`] on shutdown; nothing here holds a lock on
//! counting, and every wait is bounded.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio::task::JoinSet;

use super::event::payload;
use super::{site_id_of, Receiver};
use crate::state::AppState;
use crate::store::{within, StoreError};
use crate::telemetry::chain;
use crate::zone::day_number;

/// A delivery attempt gets this long in all (2 s to connect).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const TOTAL_TIMEOUT: Duration = Duration::from_secs(10);
/// Retries wait at most this long between attempts...
const MAX_BACKOFF: Duration = Duration::from_secs(3600);
/// ...and stop once the event is this old: it is then recorded as failed.
const GIVE_UP_AFTER: SignedDuration = SignedDuration::from_hours(24);
/// With nothing to send, a receiver looks for new events this often.
const IDLE_POLL: Duration = Duration::from_secs(1);
/// Events (and failure records) are kept this long, for the feed.
const KEEP_EVENTS: SignedDuration = SignedDuration::from_hours(30 * 24);
/// Each store call of the background work gets this long.
const STORE_DEADLINE: Duration = Duration::from_secs(5);
/// A day's summary lists this many pages.
const TOP_PAGES: usize = 5;
/// A day's summary is written this long after local midnight, when the
/// day's last hits (answered within 2 s) are committed.
const SUMMARY_DELAY: SignedDuration = SignedDuration::from_secs(10);

/// What one delivery attempt came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivery {
    /// An event was delivered (or given up); the next may follow at once.
    Sent,
    /// Nothing to send.
    Idle,
    /// The receiver failed; try again after this long.
    RetryAfter(Duration),
}

/// Runs until aborted: the receivers' tasks and the aggregate events.
pub async fn run(state: Arc<AppState>) {
    while !state.availability.is_ready() {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let client = match reqwest::Client::builder()
        .no_proxy()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(TOTAL_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Footfall/", env!("CARGO_PKG_VERSION"), " (webhooks)"))
        .build()
    {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(error = %chain(&error), "cannot build the webhook client: no webhooks are sent");
            return;
        }
    };
    // Dropped with this future when the app aborts it, which aborts every task.
    let mut tasks = JoinSet::new();
    for index in 0..state.notifier.receivers.len() {
        let (state, client) = (Arc::clone(&state), client.clone());
        tasks.spawn(async move {
            let receiver = &state.notifier.receivers[index];
            let Some(mut cursor) = cursor_of(&state, receiver).await else {
                return;
            };
            let mut attempts = 0;
            loop {
                match deliver_once(&state, &client, receiver, &mut cursor, &mut attempts).await {
                    Delivery::Sent => {}
                    Delivery::Idle => tokio::time::sleep(IDLE_POLL.min(state.config.notify.retry_first)).await,
                    Delivery::RetryAfter(wait) => tokio::time::sleep(wait).await,
                }
            }
        });
    }
    let mut ticks = 0_u64;
    loop {
        aggregate_once(&state, ticks).await;
        ticks = ticks.wrapping_add(1);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn cursor_of(state: &AppState, receiver: &Receiver) -> Option<i64> {
    loop {
        match within(STORE_DEADLINE, state.store.ensure_cursor(&receiver.id)).await {
            Ok(cursor) => return Some(cursor),
            Err(StoreError::SchemaTooNew { .. }) => return None,
            Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
        }
    }
}

/// Sends the receiver's next event, once. `cursor` is the last event it
/// got (or was given up on); `attempts` the failed attempts of the next one.
pub async fn deliver_once(
    state: &AppState,
    client: &reqwest::Client,
    receiver: &Receiver,
    cursor: &mut i64,
    attempts: &mut u32,
) -> Delivery {
    let retry = state.config.notify.retry_first;
    let Some(site) = site_id_of(state, &receiver.slug) else {
        return Delivery::RetryAfter(retry);
    };
    let next = within(STORE_DEADLINE, state.store.next_event(site, *cursor, &receiver.kinds)).await;
    let event = match next {
        Ok(Some(event)) => event,
        Ok(None) => {
            receiver.pending.store(0, Ordering::Relaxed);
            return Delivery::Idle;
        }
        // The store's outage is logged by the counting path; try again later.
        Err(_) => return Delivery::RetryAfter(retry),
    };
    // Counted afresh only when the gauge ran out: one count per backlog, not per event.
    if receiver.pending.load(Ordering::Relaxed) == 0 {
        if let Ok(n) = within(STORE_DEADLINE, state.store.count_events(site, *cursor, &receiver.kinds)).await {
            receiver.pending.store(n, Ordering::Relaxed);
        }
    }
    let body = payload(&event.kind, event.at, &receiver.slug, &event.data);
    let id = format!("evt_{}", event.id);
    let now = state.now();
    let signature = receiver.hook.key.sign(&id, now.as_second(), &body);
    let sent = client
        .post(receiver.hook.url.clone())
        .header("content-type", "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", now.as_second().to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await;
    let failure = match sent {
        Ok(response) if response.status().is_success() => None,
        Ok(response) => Some(format!("the receiver answered {}", response.status())),
        // Without the URL: a receiver's path often carries its own secret
        // (chat hooks do), and failures are logged and stored.
        Err(error) => Some(chain(&error.without_url()).to_string()),
    };
    let Some(failure) = failure else {
        if within(STORE_DEADLINE, state.store.advance_cursor(&receiver.id, event.id, None))
            .await
            .is_err()
        {
            // Sent again later with the same webhook-id: receivers deduplicate by it.
            return Delivery::RetryAfter(retry);
        }
        *cursor = event.id;
        *attempts = 0;
        let _ = receiver
            .pending
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| Some(n.saturating_sub(1)));
        if receiver.failing.swap(false, Ordering::Relaxed) {
            tracing::info!(site = %receiver.slug, receiver = %receiver.hook.url.origin().ascii_serialization(), "a webhook receiver answers again");
        }
        receiver.set_trouble(None);
        return Delivery::Sent;
    };
    if now.duration_since(event.at) > GIVE_UP_AFTER {
        let recorded = within(
            STORE_DEADLINE,
            state.store.advance_cursor(&receiver.id, event.id, Some(&failure)),
        )
        .await;
        if recorded.is_ok() {
            *cursor = event.id;
            *attempts = 0;
            state.notifier.failed.fetch_add(1, Ordering::Relaxed);
            tracing::error!(site = %receiver.slug, receiver = %receiver.hook.url.origin().ascii_serialization(), event = event.id, error = %failure,
                "a webhook delivery failed for 24 hours and was given up");
            return Delivery::Sent;
        }
        return Delivery::RetryAfter(retry);
    }
    *attempts = attempts.saturating_add(1);
    let wait = backoff(retry, *attempts);
    if !receiver.failing.swap(true, Ordering::Relaxed) {
        tracing::warn!(site = %receiver.slug, receiver = %receiver.hook.url.origin().ascii_serialization(), error = %failure,
            "a webhook receiver fails; retrying with backoff for 24 hours");
    }
    let next_at = now
        .checked_add(SignedDuration::try_from(wait).unwrap_or(SignedDuration::MAX))
        .unwrap_or(now);
    receiver.set_trouble(Some((failure, next_at)));
    Delivery::RetryAfter(wait)
}

/// `first`, doubled for each further failed attempt, at most an hour.
pub fn backoff(first: Duration, attempts: u32) -> Duration {
    first
        .saturating_mul(1 << attempts.saturating_sub(1).min(20))
        .min(MAX_BACKOFF)
}

/// The aggregate events: links' clicks every second (each link at most
/// once per `link_event_interval_seconds`), yesterday's summaries every
/// minute, pruning every hour. Failures are retried on the next tick.
async fn aggregate_once(state: &AppState, tick: u64) {
    let interval = i64::try_from(state.config.notify.link_event_interval.as_secs()).unwrap_or(i64::MAX);
    let _ = within(STORE_DEADLINE, state.store.report_link_clicks(interval)).await;
    if tick % 60 == 0 {
        for site in &state.sites {
            let _ = daily_summary(state, site).await;
        }
    }
    if tick % 3600 == 0 {
        let before = state.now().checked_sub(KEEP_EVENTS).unwrap_or(Timestamp::MIN);
        let _ = within(STORE_DEADLINE, state.store.prune_events(before)).await;
    }
}

/// Writes `site`'s summary of yesterday, unless it exists.
async fn daily_summary(state: &AppState, site: &crate::count::Site) -> Result<bool, StoreError> {
    let Ok(id) = site.registry.site_id() else {
        return Ok(false);
    };
    let now = state.now().checked_sub(SUMMARY_DELAY).unwrap_or(Timestamp::MIN);
    let Ok(yesterday) = site.config.zone.date_of(now).yesterday() else {
        return Ok(false);
    };
    let day = day_number(yesterday);
    let counts = within(STORE_DEADLINE, state.store.counts_between(id, day, day)).await?;
    let visitors: u64 = counts.iter().map(|c| c.count).sum();
    let top: Vec<_> = counts
        .iter()
        .take(TOP_PAGES)
        .map(|c| serde_json::json!({"path": c.path, "count": c.count}))
        .collect();
    let data = serde_json::json!({"day": yesterday.to_string(), "visitors": visitors, "top_pages": top}).to_string();
    let once = format!("daily_summary:{id}:{yesterday}");
    within(
        STORE_DEADLINE,
        state.store.insert_event_once(id, "daily_summary", &once, &data),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_double_from_the_first_wait_up_to_an_hour() {
        let first = Duration::from_secs(10);
        assert_eq!(backoff(first, 1), first);
        assert_eq!(backoff(first, 2), Duration::from_secs(20));
        assert_eq!(backoff(first, 4), Duration::from_secs(80));
        assert_eq!(backoff(first, 30), MAX_BACKOFF);
        assert_eq!(backoff(first, u32::MAX), MAX_BACKOFF);
    }
}
