//! The links' part of the storage contract: clicks of `/go/` links, per
//! link and per day, as aggregates. A link is named by its id (a digest of
//! its signed payload, see `link::token`), so clicks of a link nobody
//! registered still count: the first click creates its row. Plain values,
//! the [`LinkStore`] trait and the one rule for summing a batch's clicks;
//! no SQL here.
//!
//! Nothing about the visitor is stored: a click is (site, link, time, day).

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::{SiteId, StoreFuture};
use crate::zone::DayNumber;

/// One counted click, committed with a batch of hits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Click {
    pub site: SiteId,
    /// The link's id (32 hex digits).
    pub link: String,
    /// The link's name, kept from its first click.
    pub name: Option<String>,
    /// The destination's host, kept from its first click: the store keeps
    /// no more of the destination than the API shows.
    pub host: String,
    pub at: Timestamp,
    /// The calendar day of `at` in the site's zone.
    pub day: DayNumber,
}

/// A link as `/api/links` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRow {
    pub link: String,
    pub name: Option<String>,
    pub host: String,
    pub total: u64,
    pub last_click: Option<Timestamp>,
}

/// One link's clicks in a batch: how many, the first and last time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkSum<'a> {
    pub site: SiteId,
    pub link: &'a str,
    pub name: Option<&'a str>,
    pub host: &'a str,
    pub clicks: i64,
    pub first: Timestamp,
    pub last: Timestamp,
}

/// One link's clicks on one day in a batch: (site, link, day, clicks).
pub type LinkDay<'a> = (SiteId, &'a str, DayNumber, i64);

/// A batch's clicks summed per link and per (link, day), ordered by key so
/// that two processes writing at once take row locks in the same order.
pub fn sum_clicks(clicks: &[Click]) -> (Vec<LinkSum<'_>>, Vec<LinkDay<'_>>) {
    let mut links: BTreeMap<(SiteId, &str), LinkSum<'_>> = BTreeMap::new();
    let mut days: BTreeMap<(SiteId, &str, DayNumber), i64> = BTreeMap::new();
    for click in clicks {
        let sum = links.entry((click.site, &click.link)).or_insert(LinkSum {
            site: click.site,
            link: &click.link,
            name: click.name.as_deref(),
            host: &click.host,
            clicks: 0,
            first: click.at,
            last: click.at,
        });
        sum.clicks += 1;
        sum.first = sum.first.min(click.at);
        sum.last = sum.last.max(click.at);
        *days.entry((click.site, &click.link, click.day)).or_default() += 1;
    }
    (
        links.into_values().collect(),
        days.into_iter().map(|((s, l, d), n)| (s, l, d, n)).collect(),
    )
}

/// What both backends provide for links. Bounded by their callers (the
/// read facade; `link_ids` at start by [`super::PATHS_DEADLINE`]).
pub trait LinkStore {
    /// The id of every link of `site` with a click, to bound distinct links.
    fn link_ids(&self, site: SiteId) -> StoreFuture<'_, Vec<String>>;

    /// Every link of `site` with its total and last click, total descending then id.
    fn links(&self, site: SiteId) -> StoreFuture<'_, Vec<LinkRow>>;

    /// One link's clicks per day (days with clicks only), oldest first;
    /// `None` when `site` has no such link.
    fn link_daily<'a>(&'a self, site: SiteId, link: &'a str) -> StoreFuture<'a, Option<Vec<(DayNumber, u64)>>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn click(link: &str, at: i64, day: DayNumber) -> Click {
        Click {
            site: 1,
            link: link.into(),
            name: None,
            host: "example.com".into(),
            at: Timestamp::from_second(at).unwrap(),
            day,
        }
    }

    #[test]
    fn clicks_sum_per_link_and_per_day_in_key_order() {
        let clicks = [
            click("b", 30, 0),
            click("a", 20, 0),
            click("b", 10, 1),
            click("b", 40, 1),
        ];
        let (links, days) = sum_clicks(&clicks);
        assert_eq!(
            links.iter().map(|l| (l.link, l.clicks)).collect::<Vec<_>>(),
            [("a", 1), ("b", 3)]
        );
        assert_eq!((links[1].first.as_second(), links[1].last.as_second()), (10, 40));
        assert_eq!(days, [(1, "a", 0, 1), (1, "b", 0, 1), (1, "b", 1, 2)]);
    }
}
