//! Reads of the dimension aggregates through the [`Reads`] facade: each
//! value of one dimension for a page or a whole site over a range, sorted by
//! count. Public reads add values seen fewer than `min_dimension_count`
//! times in the range to `Other`, so a rare value (one visitor's country or
//! referrer) is not shown on its own; the owner sees exact values.
//!
//! Aggregates of per-day rows, so every read costs O(pages × days × values
//! kept per day), never O(visitors).

use super::panels::Panel;
use super::query::DayRange;
use super::tallies::days_of;
use super::Reads;
use crate::availability::Unavailable;
use crate::store::{fold, Dimension, Scope, ValueCount};

/// Values one answer holds at most; the rest are added to `Other`.
pub const MAX_VALUES: usize = 1_000;

/// Who is reading, for what a dimension shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Values seen fewer than this many times in the range are added to `Other`.
    Public { min_count: u64 },
    /// The admin token: every value as counted.
    Owner,
}

impl Reads {
    /// Each value of `dimension` in `scope` over `range`, count descending
    /// then value, at most `limit` (and [`MAX_VALUES`]) of them besides `Other`.
    ///
    /// # Errors
    /// [`Unavailable`] when the store is not ready or does not answer.
    pub async fn dimension(
        &self,
        scope: Scope,
        dimension: Dimension,
        range: DayRange,
        audience: Audience,
        limit: usize,
    ) -> Result<Vec<ValueCount>, Unavailable> {
        let (from, to) = days_of(range);
        let limit = limit.min(MAX_VALUES);
        let values = self
            .run(self.store.dimension_counts(scope, dimension, from, to, limit))
            .await?;
        Ok(shown(values, audience))
    }
}

/// Rows a panel shows at most besides `Other`.
pub const PANEL_ROWS: usize = 8;

/// The heading of a dimension's panel.
pub fn title(dimension: Dimension) -> &'static str {
    match dimension {
        Dimension::Browser => "Browsers",
        Dimension::Os => "Operating systems",
        Dimension::Device => "Devices",
        Dimension::Country => "Countries",
        Dimension::Referrer => "Referrers",
    }
}

/// One panel per dimension of `dimensions` for `scope` over `range`, as
/// `audience` may see them: what the chart page (and the dashboard) show.
///
/// # Errors
/// [`Unavailable`] when the store is not ready or does not answer.
pub async fn dimension_panels(
    reads: &Reads,
    scope: Scope,
    range: DayRange,
    audience: Audience,
    dimensions: &[Dimension],
) -> Result<Vec<Panel>, Unavailable> {
    let mut panels = Vec::with_capacity(dimensions.len());
    for &dimension in dimensions {
        let values = reads.dimension(scope, dimension, range, audience, PANEL_ROWS).await?;
        panels.push(Panel {
            title: title(dimension).to_owned(),
            rows: values.into_iter().map(|v| (v.value, v.count)).collect(),
        });
    }
    Ok(panels)
}

/// What `audience` sees of `values` (already sorted and bounded).
fn shown(values: Vec<ValueCount>, audience: Audience) -> Vec<ValueCount> {
    match audience {
        Audience::Owner => values,
        Audience::Public { min_count } => fold(values, |v| v.count >= min_count, usize::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::counts;

    #[test]
    fn the_public_sees_rare_values_as_other_and_the_owner_sees_them_all() {
        let stored = counts(&[("DE", 9), ("FR", 3), ("Other", 1), ("IS", 2), ("LI", 1)]);
        assert_eq!(
            shown(stored.clone(), Audience::Public { min_count: 3 }),
            counts(&[("DE", 9), ("Other", 4), ("FR", 3)])
        );
        assert_eq!(shown(stored.clone(), Audience::Owner), stored);
    }
}
