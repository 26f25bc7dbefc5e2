//! The dimensions' part of the storage contract: what a batch adds (per
//! page, dimension, day and value, a count) and the bound that keeps a
//! day's values few. Aggregates only: nothing here names a visitor.

use super::PathId;
use crate::zone::DayNumber;

/// The value that takes every value past a day's bound (and, on public
/// reads, the rare ones).
pub const OTHER: &str = "Other";

/// What counted visitors are described by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dimension {
    Browser,
    Os,
    Device,
    Country,
    Referrer,
}

impl Dimension {
    pub const ALL: [Self; 5] = [Self::Browser, Self::Os, Self::Device, Self::Country, Self::Referrer];

    /// The name in URLs (`?dim=`) and on pages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Browser => "browser",
            Self::Os => "os",
            Self::Device => "device",
            Self::Country => "country",
            Self::Referrer => "referrer",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.name() == name)
    }

    /// The number stored in the `dimension` column (never reused).
    pub fn code(self) -> i16 {
        match self {
            Self::Browser => 0,
            Self::Os => 1,
            Self::Device => 2,
            Self::Country => 3,
            Self::Referrer => 4,
        }
    }
}

/// How many counted visitors of `path` on `day` had `value`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DimensionCount {
    pub path: PathId,
    pub dimension: Dimension,
    pub day: DayNumber,
    pub value: String,
    pub count: u64,
}

/// A batch's dimension counts, in key order, and the bound they are stored under.
#[derive(Debug, Clone, Copy)]
pub struct Dimensions<'a> {
    pub rows: &'a [DimensionCount],
    /// A (page, dimension, day) keeps at most this many values besides
    /// [`OTHER`]; a new value past it is added to [`OTHER`].
    pub max_values: u32,
}

impl Dimensions<'_> {
    /// A batch without dimension counts.
    pub const NONE: Dimensions<'static> = Dimensions {
        rows: &[],
        max_values: 0,
    };
}

/// What a dimension read covers: one page, or every page of a site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Page(PathId),
    Site(super::SiteId),
}

/// One value's count over a range.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ValueCount {
    pub value: String,
    pub count: u64,
}

/// `values` sorted by count descending, then value (by bytes, the same on
/// both backends), with each value that is not `kept`, and each past the
/// first `limit`, added to [`OTHER`] (which sorts by its count like the rest).
pub fn fold(values: Vec<ValueCount>, kept: impl Fn(&ValueCount) -> bool, limit: usize) -> Vec<ValueCount> {
    let mut other = 0u64;
    let mut named: Vec<ValueCount> = Vec::with_capacity(values.len().min(limit));
    for value in values {
        if value.value == OTHER || !kept(&value) {
            other = other.saturating_add(value.count);
        } else {
            named.push(value);
        }
    }
    named.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    for rest in named.drain(limit.min(named.len())..) {
        other = other.saturating_add(rest.count);
    }
    if other > 0 {
        let at = named.partition_point(|v| v.count > other || (v.count == other && v.value.as_str() < OTHER));
        named.insert(
            at,
            ValueCount {
                value: OTHER.to_owned(),
                count: other,
            },
        );
    }
    named
}

/// `(value, count)` pairs as [`ValueCount`]s, for the unit tests.
#[cfg(test)]
pub(crate) fn counts(pairs: &[(&str, u64)]) -> Vec<ValueCount> {
    pairs
        .iter()
        .map(|&(value, count)| ValueCount {
            value: value.to_owned(),
            count,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_sorts_by_count_and_adds_the_rare_and_the_surplus_to_other() {
        let values = counts(&[("b", 5), ("a", 5), ("rare", 1), ("Other", 2), ("c", 4), ("d", 3)]);
        assert_eq!(
            fold(values.clone(), |_| true, 10),
            counts(&[("a", 5), ("b", 5), ("c", 4), ("d", 3), ("Other", 2), ("rare", 1)])
        );
        assert_eq!(
            fold(values.clone(), |v| v.count >= 3, 10),
            counts(&[("a", 5), ("b", 5), ("c", 4), ("Other", 3), ("d", 3)])
        );
        assert_eq!(fold(values, |_| true, 2), counts(&[("Other", 10), ("a", 5), ("b", 5)]));
        assert_eq!(fold(Vec::new(), |_| true, 2), counts(&[]));
    }

    #[test]
    fn every_dimension_has_its_own_code_and_parses_back_from_its_name() {
        let mut codes: Vec<i16> = Dimension::ALL.iter().map(|d| d.code()).collect();
        codes.dedup();
        assert_eq!(codes, [0, 1, 2, 3, 4]);
        for d in Dimension::ALL {
            assert_eq!(Dimension::parse(d.name()), Some(d));
        }
        assert_eq!(Dimension::parse("Browser"), None);
    }
}
