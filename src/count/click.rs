//! Counting a click of a `/go/` link: the same rules as a page view, for
//! the link instead of a page. One per visitor per link per dedup window
//! (the site's visitor set, keyed by the link's id instead of a path);
//! prefetches, ignored addresses and bots (mail servers' link scanners
//! among them) are not counted; image proxies do not click links, so a
//! proxy user agent is not counted either. Filtered clicks are not tallied:
//! tallies are per page.
//!
//! Knows nothing of HTTP or tokens beyond the opened link; never stores or
//! logs the client address.

use std::net::IpAddr;

use jiff::Timestamp;

use super::filter::{classify, Signals};
use super::recorder::RecordError;
use super::visitors::Admission;
use super::{open_window, CountError, Counter, Site};
use crate::link::token::Opened;
use crate::link::{token::host_of, Links};
use crate::store::Click;

/// Counts one click of `link` on `site` by `client` at `now`, unless this
/// visitor's click of it was counted in the current window or the click is
/// filtered. Resolves once a counted click is committed.
///
/// # Errors
/// A [`CountError`]; the visitor is then not remembered, so a retry counts,
/// unless the click may have been stored after all.
pub async fn count_click(
    counter: &Counter,
    links: &Links,
    site: &Site,
    link: &Opened,
    client: IpAddr,
    signals: &Signals<'_>,
    now: Timestamp,
) -> Result<(), CountError> {
    counter.availability.check_ready()?;
    let slug = &site.config.slug;
    let Some(site_links) = links.site(slug) else {
        return Ok(());
    };
    if signals.is_proxied() {
        return Ok(());
    }
    let mut admission = site.visitors.admit_link(now, client, link.id.as_str());
    if admission == Admission::Unkeyed {
        // The first hit of a window on this replica (shared dedup only).
        open_window(counter, site, now).await?;
        admission = site.visitors.admit_link(now, client, link.id.as_str());
    }
    let Admission::New(key) = admission else {
        // A repeat, a full set, or (a later window installed meanwhile) no
        // key: not counted; the redirect is the same.
        return Ok(());
    };
    if classify(signals, client, &site_links.filter, counter.agents).is_some()
        || !site_links.admit(&link.id, links.max_links(), slug)
    {
        return Ok(());
    }
    let click = Click {
        site: site.registry.site_id()?,
        link: link.id.as_str().to_owned(),
        name: link.payload.name.clone(),
        host: host_of(&link.payload.url),
        at: now,
        day: site.config.zone.day_of(now),
    };
    if let Err(error) = counter.recorder.record_click(click, key.shared_digest()).await {
        // Only a click certainly not stored may count again on a retry.
        if error == RecordError::NotCommitted {
            site.visitors.forget(key);
        }
        return Err(CountError::NotCommitted);
    }
    Ok(())
}
