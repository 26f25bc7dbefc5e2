//! The read use-cases behind the charts, the pages and the bucketed API:
//! a page's zero-filled per-day series over a range, and all pages' counts
//! over a range. Reads go through [`Reads`]; "today" is passed in.

use jiff::Timestamp;

use super::buckets::fill_days;
use super::chart::{render_history_svg, ChartError, ChartOptions, DayCount};
use super::query::DayRange;
use super::Reads;
use crate::availability::Unavailable;
use crate::count::Site;
use crate::store::{PathCount, PathId};
use crate::zone::{date_of_day, day_bounds, day_number, DayNumber};

/// A page's zero-filled per-day counts over a range (by default from its
/// first call to today), and its calls before that range.
pub struct DailySeries {
    pub days: Vec<(DayNumber, u64)>,
    pub total_before: u64,
}

/// # Errors
/// [`Unavailable`] when the store is not ready or does not answer.
pub async fn daily_series(
    reads: &Reads,
    id: PathId,
    range: DayRange,
    today: DayNumber,
) -> Result<DailySeries, Unavailable> {
    let rows = reads.daily(id).await?;
    let first = rows.first().map_or(today, |&(d, _)| d.min(today));
    let (from, to) = day_bounds(range.from, range.to, first, today);
    let total_before = rows.iter().filter(|(d, _)| *d < from).map(|(_, n)| n).sum();
    Ok(DailySeries {
        days: fill_days(&rows, from, to),
        total_before,
    })
}

/// Every page's count on `site`: its total, or its calls in `range` when
/// bounded; count descending, then path.
///
/// # Errors
/// [`Unavailable`] when the store is not ready or does not answer.
pub async fn page_counts(
    reads: &Reads,
    site: &Site,
    range: DayRange,
    today: DayNumber,
) -> Result<Vec<PathCount>, Unavailable> {
    let days = range
        .is_bounded()
        .then(|| day_bounds(range.from, range.to, earliest_day(), today));
    reads.counts(site.registry.site_id()?, days).await
}

/// The first day any range can name.
pub fn earliest_day() -> DayNumber {
    day_number(jiff::civil::date(1, 1, 1))
}

/// The bounds of the open-ended ranges, inside what both stores can hold.
pub fn earliest() -> Timestamp {
    Timestamp::from_second(-62_135_596_800).unwrap_or(Timestamp::MIN) // 0001-01-01
}

pub fn latest() -> Timestamp {
    Timestamp::from_second(253_370_764_800).unwrap_or(Timestamp::MAX) // 9999-01-01
}

impl DailySeries {
    /// The series as the history chart titled `title`, with the running
    /// total when asked for; a series that ends on `today` ends in a bar
    /// drawn as "so far".
    ///
    /// # Errors
    /// A [`ChartError`] (not expected for an in-memory SVG), logged here.
    pub fn chart(&self, title: &str, running_total: bool, today: DayNumber) -> Result<String, ChartError> {
        self.render(title, running_total, today, false)
    }

    /// The chart twice, for a page: the wide canvas and the narrow one
    /// (classes `wide` and `narrow`), of which the page's CSS shows one.
    ///
    /// # Errors
    /// A [`ChartError`] (not expected for an in-memory SVG), logged here.
    pub fn charts(&self, title: &str, running_total: bool, today: DayNumber) -> Result<String, ChartError> {
        let wide = self.render(title, running_total, today, false)?;
        Ok(wide + &self.render(title, running_total, today, true)?)
    }

    fn render(&self, title: &str, running_total: bool, today: DayNumber, narrow: bool) -> Result<String, ChartError> {
        let options = ChartOptions {
            running_total,
            ends_today: self.days.last().is_some_and(|&(day, _)| day == today),
            narrow,
        };
        let days: Vec<DayCount> = self
            .days
            .iter()
            .map(|&(day, count)| DayCount {
                day: date_of_day(day),
                count,
            })
            .collect();
        render_history_svg(title, &days, self.total_before, options).inspect_err(|error| {
            tracing::error!(%error, "rendering a chart failed");
        })
    }
}
