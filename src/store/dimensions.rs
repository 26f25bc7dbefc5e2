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

    /// Where the dimension is stored: its kind of row, and for the agent
    /// row, which part of the value it is.
    pub fn stored(self) -> (Kind, Option<usize>) {
        match self {
            Self::Browser => (Kind::Agent, Some(0)),
            Self::Os => (Kind::Agent, Some(1)),
            Self::Device => (Kind::Agent, Some(2)),
            Self::Country => (Kind::Country, None),
            Self::Referrer => (Kind::Referrer, None),
        }
    }
}

/// The rows a counted visitor adds to: browser, OS and device together in
/// one agent row (`Firefox|Linux|desktop`), so a hit touches at most three
/// rows, not five; a read of one of the three splits the values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Agent,
    Country,
    Referrer,
}

impl Kind {
    /// The number stored in the `dimension` column (never reused).
    pub fn code(self) -> i16 {
        match self {
            Self::Agent => 0,
            Self::Country => 1,
            Self::Referrer => 2,
        }
    }

    /// Whether its values per (page, day) are bounded by
    /// `max_dimension_values`: not the agent's, which are combinations of
    /// a few families (7 browsers × 6 systems × 3 devices) by construction.
    pub fn bounded(self) -> bool {
        self != Self::Agent
    }
}

/// Separates the browser, OS and device in an agent row's value; no family
/// name contains it.
const AGENT_SEPARATOR: char = '|';

/// The value of an agent row.
pub fn agent_value(browser: &str, os: &str, device: &str) -> String {
    format!("{browser}{AGENT_SEPARATOR}{os}{AGENT_SEPARATOR}{device}")
}

/// How many counted visitors of `path` on `day` had `value`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DimensionCount {
    pub path: PathId,
    pub kind: Kind,
    pub day: DayNumber,
    pub value: String,
    pub count: u64,
}

/// A batch's dimension counts, in key order, and the bound they are stored under.
#[derive(Debug, Clone, Copy)]
pub struct Dimensions<'a> {
    pub rows: &'a [DimensionCount],
    /// A (page, kind, day) of a [`Kind::bounded`] kind keeps at most this
    /// many values besides [`OTHER`]; a new value past it adds to [`OTHER`].
    pub max_values: u32,
}

/// How many values besides [`OTHER`] a site keeps per [`Kind::bounded`]
/// kind and day, for each value a page may keep (`max_values`): the site's
/// rows (`site_dimensions`) are read for the site's panels, and without a
/// bound of their own referrer spam spread over many pages would grow them
/// with the number of pages. A page's new value gets its row only while the
/// site's day has room too (else both add to [`OTHER`]), so a site's rows
/// stay exactly the sums of its pages' rows.
pub const SITE_VALUES_PER_PAGE_VALUE: u32 = 10;

/// The bound on a site's values per bounded kind and day (see
/// [`SITE_VALUES_PER_PAGE_VALUE`]).
pub fn site_max_values(max_values: u32) -> u32 {
    max_values.saturating_mul(SITE_VALUES_PER_PAGE_VALUE)
}

impl Dimensions<'_> {
    /// A batch without dimension counts.
    pub const NONE: Dimensions<'static> = Dimensions {
        rows: &[],
        max_values: 0,
    };
}

/// The values of `dimension` from the stored values of its kind (summed
/// over a range): for the agent, the dimension's part of each value, added
/// up per part.
pub fn project(dimension: Dimension, stored: Vec<ValueCount>) -> Vec<ValueCount> {
    let (_, Some(part)) = dimension.stored() else {
        return stored;
    };
    let mut sums: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    for row in stored {
        let value = row.value.split(AGENT_SEPARATOR).nth(part).unwrap_or(OTHER);
        let sum = sums.entry(value.to_owned()).or_default();
        *sum = sum.saturating_add(row.count);
    }
    sums.into_iter()
        .map(|(value, count)| ValueCount { value, count })
        .collect()
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
    fn a_sites_bound_is_ten_pages_worth_and_never_overflows() {
        assert_eq!(site_max_values(100), 1_000);
        assert_eq!(site_max_values(1), 10);
        assert_eq!(site_max_values(u32::MAX), u32::MAX);
    }

    #[test]
    fn every_dimension_parses_back_from_its_name_and_each_kind_has_its_own_code() {
        for d in Dimension::ALL {
            assert_eq!(Dimension::parse(d.name()), Some(d));
        }
        assert_eq!(Dimension::parse("Browser"), None);
        let codes: Vec<i16> = [Kind::Agent, Kind::Country, Kind::Referrer].map(Kind::code).to_vec();
        assert_eq!(codes, [0, 1, 2]);
    }

    #[test]
    fn agent_rows_split_into_browsers_systems_and_devices() {
        let stored = vec![
            ValueCount {
                value: agent_value("Firefox", "Linux", "desktop"),
                count: 2,
            },
            ValueCount {
                value: agent_value("Firefox", "Android", "mobile"),
                count: 3,
            },
            ValueCount {
                value: agent_value("Safari", "iOS", "mobile"),
                count: 1,
            },
        ];
        assert_eq!(
            project(Dimension::Browser, stored.clone()),
            counts(&[("Firefox", 5), ("Safari", 1)])
        );
        assert_eq!(
            project(Dimension::Os, stored.clone()),
            counts(&[("Android", 3), ("Linux", 2), ("iOS", 1)])
        );
        assert_eq!(
            project(Dimension::Device, stored.clone()),
            counts(&[("desktop", 2), ("mobile", 4)])
        );
        assert_eq!(project(Dimension::Referrer, stored.clone()), stored);
    }
}
