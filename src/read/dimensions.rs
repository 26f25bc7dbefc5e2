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
use crate::store::{fold, project, Dimension, Kind, Scope, ValueCount};

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
        let stored = self.stored_values(scope, dimension.stored().0, range).await?;
        Ok(shown(project(dimension, stored), audience, limit))
    }

    /// The stored values of `kind` in `scope` over `range`.
    async fn stored_values(&self, scope: Scope, kind: Kind, range: DayRange) -> Result<Vec<ValueCount>, Unavailable> {
        let (from, to) = days_of(range);
        self.run(self.store.dimension_counts(scope, kind, from, to)).await
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
    // Browsers, systems and devices are one kind of row: read once.
    let mut stored: Vec<(Kind, Vec<ValueCount>)> = Vec::new();
    let mut panels = Vec::with_capacity(dimensions.len());
    for &dimension in dimensions {
        let kind = dimension.stored().0;
        let values = match stored.iter().find(|(k, _)| *k == kind) {
            Some((_, values)) => values.clone(),
            None => {
                let values = reads.stored_values(scope, kind, range).await?;
                stored.push((kind, values.clone()));
                values
            }
        };
        let values = shown(project(dimension, values), audience, PANEL_ROWS);
        panels.push(Panel {
            title: title(dimension).to_owned(),
            rows: values.into_iter().map(|v| (v.value, v.count)).collect(),
        });
    }
    Ok(panels)
}

/// What `audience` sees of `values`: sorted, at most `limit` (and
/// [`MAX_VALUES`]) besides `Other`, rare values folded for the public.
fn shown(values: Vec<ValueCount>, audience: Audience, limit: usize) -> Vec<ValueCount> {
    let limit = limit.min(MAX_VALUES);
    match audience {
        Audience::Owner => fold(values, |_| true, limit),
        Audience::Public { min_count } => fold(values, |v| v.count >= min_count, limit),
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
            shown(stored.clone(), Audience::Public { min_count: 3 }, 10),
            counts(&[("DE", 9), ("Other", 4), ("FR", 3)])
        );
        assert_eq!(
            shown(stored.clone(), Audience::Owner, 10),
            counts(&[("DE", 9), ("FR", 3), ("IS", 2), ("LI", 1), ("Other", 1)])
        );
        assert_eq!(
            shown(stored, Audience::Owner, 1),
            counts(&[("DE", 9), ("Other", 7)]),
            "past the limit, values are added to Other"
        );
    }
}
