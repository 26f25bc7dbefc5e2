//! The tallies of the storage contract: per page and day, the views that
//! are not calls — proxied views, and hits filtered out by reason. Plain
//! values shared by both backends and their callers; no SQL here.
//!
//! Tallies are aggregates by construction: a count per (page, day, series)
//! over a fixed set of series, never a row per request.

use super::PathId;
use crate::zone::DayNumber;

/// One series of [`Tallies`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tally {
    /// A view through an image proxy (GitHub's Camo, a mail provider's).
    Proxied,
    Bot,
    Prefetch,
    Ignored,
    ForeignEmbed,
}

/// Counts of one page (over a day or a range of days) in every series.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tallies {
    pub proxied: u64,
    pub bot: u64,
    pub prefetch: u64,
    pub ignored: u64,
    pub foreign_embed: u64,
}

impl Tallies {
    pub fn add(&mut self, tally: Tally, n: u64) {
        let series = match tally {
            Tally::Proxied => &mut self.proxied,
            Tally::Bot => &mut self.bot,
            Tally::Prefetch => &mut self.prefetch,
            Tally::Ignored => &mut self.ignored,
            Tally::ForeignEmbed => &mut self.foreign_embed,
        };
        *series = series.saturating_add(n);
    }

    /// Adds every series of `other`.
    pub fn merge(&mut self, other: &Self) {
        for (tally, n) in other.series() {
            self.add(tally, n);
        }
    }

    /// Hits filtered out, all reasons together.
    pub fn filtered(&self) -> u64 {
        [self.bot, self.prefetch, self.ignored, self.foreign_embed]
            .into_iter()
            .fold(0, u64::saturating_add)
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Every series with its count, in a fixed order.
    pub fn series(&self) -> [(Tally, u64); 5] {
        [
            (Tally::Proxied, self.proxied),
            (Tally::Bot, self.bot),
            (Tally::Prefetch, self.prefetch),
            (Tally::Ignored, self.ignored),
            (Tally::ForeignEmbed, self.foreign_embed),
        ]
    }
}

/// Tallies of one page on one day, as a batch adds them to what is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayTallies {
    pub path: PathId,
    pub day: DayNumber,
    pub tallies: Tallies,
}

/// A page of a site with its tallies over a range of days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageTallies {
    pub path: String,
    pub tallies: Tallies,
}

/// What a count badge may show of one page: its calls (visitors) and its
/// proxied views, in all and on one day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BadgeFigures {
    pub visitors_total: u64,
    pub visitors_today: u64,
    pub proxied_total: u64,
    pub proxied_today: u64,
}

/// A count as stored, as the backends bind it.
pub(super) fn to_db(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_add_up_and_filtered_leaves_proxied_out() {
        let mut t = Tallies::default();
        assert!(t.is_empty());
        t.add(Tally::Proxied, 3);
        t.add(Tally::Bot, 2);
        t.add(Tally::ForeignEmbed, 1);
        let mut sum = t;
        sum.merge(&t);
        assert_eq!(t.filtered(), 3);
        assert_eq!((sum.proxied, sum.bot, sum.foreign_embed, sum.filtered()), (6, 4, 2, 6));
        t.add(Tally::Ignored, u64::MAX);
        assert_eq!(t.filtered(), u64::MAX, "saturates, never wraps");
    }
}
