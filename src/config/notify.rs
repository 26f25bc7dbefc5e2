//! The notification keys: `webhooks` (per site), `milestones`,
//! `link_event_interval_seconds` and `webhook_retry_seconds`.
//!
//! Owns their validation only; events and delivery are `notify`. Never
//! puts a webhook secret in an error.

use std::time::Duration;

use serde::Deserialize;

use super::{ConfigError, Secret, Sources};
use crate::notify::event::EventKind;
use crate::notify::signing::SigningKey;

/// At most this many milestones and receivers per site: each is work per batch or per event.
const MAX_MILESTONES: usize = 32;
const MAX_WEBHOOKS: usize = 8;

/// The process-wide notification settings.
#[derive(Debug, Clone)]
pub struct NotifyConfig {
    /// Page totals that are `milestone` events when crossed, ascending.
    pub milestones: Vec<i64>,
    /// At most one `link_clicked` event per link this often.
    pub link_event_interval: Duration,
    /// The first retry of a failed delivery; each further one waits twice
    /// as long, up to an hour, for 24 hours.
    pub retry_first: Duration,
}

/// One webhook receiver of a site.
#[derive(Debug, Clone)]
pub struct Webhook {
    pub url: reqwest::Url,
    pub events: Vec<EventKind>,
    pub key: SigningKey,
}

/// One entry of `webhooks`, as written.
#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWebhook {
    url: String,
    events: Vec<String>,
    secret: Secret,
}

/// # Errors
/// A [`ConfigError`] naming the key.
pub(super) fn notify_config(
    milestones: &[i64],
    link_event_interval_seconds: u64,
    webhook_retry_seconds: f64,
    src: &Sources,
) -> Result<NotifyConfig, ConfigError> {
    if milestones.len() > MAX_MILESTONES || milestones.iter().any(|&m| m < 1) {
        return Err(src.error(
            "milestones",
            format!("at most {MAX_MILESTONES} totals, each at least 1"),
        ));
    }
    let mut sorted = milestones.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    if link_event_interval_seconds == 0 {
        return Err(src.error("link_event_interval_seconds", "must be at least 1"));
    }
    if !(webhook_retry_seconds.is_finite() && webhook_retry_seconds > 0.0 && webhook_retry_seconds <= 3600.0) {
        return Err(src.error(
            "webhook_retry_seconds",
            "must be a number of seconds above 0, at most 3600",
        ));
    }
    Ok(NotifyConfig {
        milestones: sorted,
        link_event_interval: Duration::from_secs(link_event_interval_seconds),
        retry_first: Duration::from_secs_f64(webhook_retry_seconds),
    })
}

/// A site's receivers; `prefix` is where its keys are (`sites.blog.`).
///
/// # Errors
/// A [`ConfigError`] naming the entry and field.
pub(super) fn webhooks(raw: Option<&[RawWebhook]>, prefix: &str, src: &Sources) -> Result<Vec<Webhook>, ConfigError> {
    let raw = raw.unwrap_or_default();
    if raw.len() > MAX_WEBHOOKS {
        return Err(src.error(
            &format!("{prefix}webhooks"),
            format!("at most {MAX_WEBHOOKS} receivers per site"),
        ));
    }
    raw.iter()
        .enumerate()
        .map(|(i, hook)| {
            let key = |field: &str| format!("{prefix}webhooks[{i}].{field}");
            let url = reqwest::Url::parse(&hook.url)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
                .ok_or_else(|| src.error(&key("url"), "must be an http or https URL"))?;
            let events = hook
                .events
                .iter()
                .map(|name| {
                    EventKind::parse(name).ok_or_else(|| {
                        src.error(
                            &key("events"),
                            format!("`{name}` is not one of page_registered, milestone, link_clicked, daily_summary"),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            if events.is_empty() {
                return Err(src.error(&key("events"), "names no event"));
            }
            let key_bytes = SigningKey::parse(hook.secret.expose()).map_err(|m| src.error(&key("secret"), m))?;
            Ok(Webhook {
                url,
                events,
                key: key_bytes,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::config::tests::{dir_with, env, load_err};
    use crate::config::Config;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    #[test]
    fn webhooks_and_milestones_are_validated_per_site() {
        let config = Config::load(dir_with("").path(), env(&[])).unwrap();
        assert_eq!(config.notify.milestones, [100, 1000, 10_000, 100_000, 1_000_000]);
        assert!(config.default_site().webhooks.is_empty());
        let yaml = format!(
            "milestones: [50, 5]\nwebhooks: [{{url: 'https://hooks.example/x', events: [milestone], secret: {SECRET}}}]\n"
        );
        let config = Config::load(dir_with(&yaml).path(), env(&[])).unwrap();
        assert_eq!(config.notify.milestones, [5, 50]);
        assert_eq!(config.default_site().webhooks.len(), 1);
        assert!(!format!("{config:?}").contains("MfKQ9"));
        let e = load_err("webhooks: [{url: 'ftp://x', events: [milestone], secret: x}]\n", &[]);
        assert!(e.contains("webhooks[0].url"), "{e}");
        let e = load_err(
            &format!("webhooks: [{{url: 'https://h/', events: [nope], secret: {SECRET}}}]\n"),
            &[],
        );
        assert!(e.contains("webhooks[0].events"), "{e}");
        let e = load_err(
            "webhooks: [{url: 'https://h/', events: [milestone], secret: hunter2hunter2}]\n",
            &[],
        );
        assert!(e.contains("webhooks[0].secret") && !e.contains("hunter2"), "{e}");
        let e = load_err(
            &format!("sites:\n  blog:\n    webhooks: [{{url: 'https://h/', events: [], secret: {SECRET}}}]\n"),
            &[],
        );
        assert!(e.contains("sites.blog.webhooks[0].events"), "{e}");
        let e = load_err("milestones: [0]\n", &[]);
        assert!(e.contains("milestones"), "{e}");
        let e = load_err("webhook_retry_seconds: 0\n", &[]);
        assert!(e.contains("webhook_retry_seconds"), "{e}");
    }
}
