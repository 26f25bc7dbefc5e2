//! Reads of tallies (proxied views, filtered hits by reason) through the
//! [`Reads`] facade, and the JSON shape the API shows them in: `"proxied":
//! N` and `"filtered": {"bot", "prefetch", "ignored", "foreign_embed"}`.
//!
//! Tallies are per-day aggregates, so every read costs O(pages × days).

use serde::Serialize;

use super::query::DayRange;
use super::series::earliest_day;
use super::Reads;
use crate::availability::Unavailable;
use crate::store::{BadgeFigures, PageTallies, PathId, SiteId, Tallies};
use crate::zone::{day_bounds, day_number, DayNumber};

/// Filtered hits by reason, as the API writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Filtered {
    pub bot: u64,
    pub prefetch: u64,
    pub ignored: u64,
    pub foreign_embed: u64,
}

impl From<&Tallies> for Filtered {
    fn from(t: &Tallies) -> Self {
        Self {
            bot: t.bot,
            prefetch: t.prefetch,
            ignored: t.ignored,
            foreign_embed: t.foreign_embed,
        }
    }
}

/// The inclusive days of `range`: all of them when it is open.
pub fn days_of(range: DayRange) -> (DayNumber, DayNumber) {
    day_bounds(range.from, range.to, earliest_day(), latest_day())
}

/// The last day any range can name.
fn latest_day() -> DayNumber {
    day_number(jiff::civil::date(9999, 12, 31))
}

impl Reads {
    /// Tallies per page of `site` over `range`, by path; pages without any are left out.
    ///
    /// # Errors
    /// [`Unavailable`] when the store is not ready or does not answer.
    pub async fn tallies(&self, site: SiteId, range: DayRange) -> Result<Vec<PageTallies>, Unavailable> {
        let (from, to) = days_of(range);
        self.run(self.store.tallies_between(site, from, to)).await
    }

    /// One page's tallies over `range`.
    ///
    /// # Errors
    /// [`Unavailable`] when the store is not ready or does not answer.
    pub async fn path_tallies(&self, path: PathId, range: DayRange) -> Result<Tallies, Unavailable> {
        let (from, to) = days_of(range);
        self.run(self.store.path_tallies(path, from, to)).await
    }

    /// What a badge may show of one page, with `today` in the site's zone.
    ///
    /// # Errors
    /// [`Unavailable`] when the store is not ready or does not answer.
    pub async fn badge_figures(&self, path: PathId, today: DayNumber) -> Result<BadgeFigures, Unavailable> {
        self.run(self.store.badge_figures(path, today)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_open_range_is_every_day_and_a_closed_one_its_own() {
        let (from, to) = days_of(DayRange::default());
        assert!(from < -700_000 && to > 2_900_000, "{from}..{to}");
        let day = "2026-03-10".parse().unwrap();
        let one = DayRange {
            from: Some(day),
            to: Some(day),
        };
        assert_eq!(days_of(one), (day_number(day), day_number(day)));
    }

    #[test]
    fn filtered_leaves_proxied_out() {
        let tallies = Tallies {
            proxied: 9,
            bot: 1,
            prefetch: 2,
            ignored: 3,
            foreign_embed: 4,
        };
        assert_eq!(
            serde_json::to_value(Filtered::from(&tallies)).unwrap(),
            serde_json::json!({"bot": 1, "prefetch": 2, "ignored": 3, "foreign_embed": 4})
        );
    }
}
