//! Export and import at the store: the [`Record`]s an export streams out,
//! the [`Item`]s an import takes in, and [`Pending`], the one way both
//! backends sum up imported items before writing them.
//!
//! An export is one consistent snapshot, in one stable order (sites by
//! slug, then pages by path, then each per-day series in `DAY_SERIES` order
//! — visitors, then the tallies — by page and day, then calls by page and
//! time; text compared by bytes), so the same data always gives the same
//! records. A series' days with a zero count are left out: a tally row
//! holds every tally series, most of them zero. An import is one transaction that adds. Pure: no SQL,
//! no I/O.

use std::collections::BTreeMap;
use std::fmt;

use jiff::Timestamp;

use std::time::Duration;

use super::owner::DAY_SERIES;
use super::PathId;
use crate::count::path::PagePath;
use crate::zone::DayNumber;

/// An export or an import reads or writes every row once; a hung database
/// must still end it.
pub const TRANSFER_DEADLINE: Duration = Duration::from_secs(30 * 60);

/// One record of an export, in export order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Site {
        slug: String,
    },
    Page {
        site: String,
        path: String,
        offset: u64,
        first: Option<Timestamp>,
        last: Option<Timestamp>,
    },
    Day {
        site: String,
        path: String,
        /// A name from [`DAY_SERIES`].
        series: &'static str,
        /// Never zero.
        day: DayNumber,
        count: u64,
    },
    Call {
        site: String,
        path: String,
        at: Timestamp,
    },
}

/// What an export covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportFilter {
    /// One site's slug; `None` for every site.
    pub site: Option<String>,
    /// Whether the raw call times are included.
    pub calls: bool,
}

/// One thing an import adds. Pages named by `Day`, `Call` and `Hit` are
/// registered when they are new, like those of `Page`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Site {
        slug: String,
    },
    /// Adds `offset` to the page's start count; widens its first and last call.
    Page {
        site: String,
        path: PagePath,
        offset: u64,
        first: Option<Timestamp>,
        last: Option<Timestamp>,
    },
    /// Adds `count` to one day of a series (and, for the series of counted
    /// calls, to the page's total).
    Day {
        site: String,
        path: PagePath,
        series: usize,
        day: DayNumber,
        count: u64,
    },
    /// A raw call time only: its count is in the file's `Day` items.
    Call {
        site: String,
        path: PagePath,
        at: Timestamp,
    },
    /// A counted call from another counter: a raw call, one more on its day
    /// (in the site's zone) and in the page's total.
    Hit {
        site: String,
        path: PagePath,
        at: Timestamp,
        day: DayNumber,
    },
}

/// Why an import was refused: the line of the input (0 when the input is
/// not a file, e.g. another counter's database) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ImportError {
    pub line: u64,
    pub message: String,
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            0 => f.write_str(&self.message),
            line => write!(f, "line {line}: {}", self.message),
        }
    }
}

/// How an import ended.
#[derive(Debug)]
pub enum Imported {
    /// Committed, all of it.
    Done(ImportReport),
    /// Nothing changed: the input is malformed at the line named.
    Refused(ImportError),
}

/// What an import added.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
    pub sites_added: u64,
    pub pages_added: u64,
    /// Pages that were there already, to which the import added.
    pub pages_existing: u64,
    /// Per-day counts added (hits from other counters add to their day, not here).
    pub day_counts: u64,
    pub calls: u64,
    /// The sum of start counts added.
    pub offsets: u64,
}

/// Additions to one page's row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageAdd {
    pub total: i64,
    pub offset: i64,
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
}

/// Imported items summed up between two writes, so a write is a few large
/// statements and never touches a row twice; ordered by key, so two writers
/// lock rows in the same order.
#[derive(Debug, Default)]
pub struct Pending {
    pub calls: Vec<(PathId, Timestamp)>,
    /// (series index, page, day) → count to add.
    pub days: BTreeMap<(usize, PathId, DayNumber), i64>,
    pub pages: BTreeMap<PathId, PageAdd>,
    items: usize,
}

/// Items summed before a write: large enough to amortize a statement,
/// small enough that memory stays flat for any size of import.
pub const PENDING_ITEMS: usize = 10_000;

impl Pending {
    /// Adds `item`, which names page `id` (`Site` items change nothing
    /// here); counts beyond `i64` saturate.
    pub fn add(&mut self, item: &Item, id: PathId, report: &mut ImportReport) {
        self.items += 1;
        match item {
            Item::Site { .. } => {}
            Item::Page {
                offset, first, last, ..
            } => {
                let add = self.pages.entry(id).or_default();
                add.offset = add.offset.saturating_add(to_i64(*offset));
                widen(add, *first, *last);
                report.offsets = report.offsets.saturating_add(*offset);
            }
            Item::Day { series, day, count, .. } => {
                let sum = self.days.entry((*series, id, *day)).or_default();
                *sum = sum.saturating_add(to_i64(*count));
                if DAY_SERIES.get(*series).is_some_and(|s| s.in_total) {
                    let add = self.pages.entry(id).or_default();
                    add.total = add.total.saturating_add(to_i64(*count));
                }
                report.day_counts += 1;
            }
            Item::Call { at, .. } => {
                self.calls.push((id, *at));
                report.calls += 1;
            }
            Item::Hit { at, day, .. } => {
                self.calls.push((id, *at));
                let counted = DAY_SERIES.iter().position(|s| s.in_total).unwrap_or(0);
                let sum = self.days.entry((counted, id, *day)).or_default();
                *sum = sum.saturating_add(1);
                let add = self.pages.entry(id).or_default();
                add.total = add.total.saturating_add(1);
                widen(add, Some(*at), Some(*at));
                report.calls += 1;
            }
        }
    }

    /// Whether it is time to write.
    pub fn is_full(&self) -> bool {
        self.items >= PENDING_ITEMS
    }

    /// Takes what is pending, leaving it empty.
    pub fn take(&mut self) -> Self {
        std::mem::take(self)
    }
}

fn widen(add: &mut PageAdd, first: Option<Timestamp>, last: Option<Timestamp>) {
    add.first = [add.first, first].into_iter().flatten().min();
    add.last = [add.last, last].into_iter().flatten().max();
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Item {
    /// The site and page it names (`None` for a `Site`).
    pub fn page(&self) -> Option<(&str, &PagePath)> {
        match self {
            Self::Site { .. } => None,
            Self::Page { site, path, .. }
            | Self::Day { site, path, .. }
            | Self::Call { site, path, .. }
            | Self::Hit { site, path, .. } => Some((site, path)),
        }
    }
}

impl fmt::Display for Imported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Done(r) => write!(
                f,
                "added {} sites, {} new pages and {} to existing pages: {} per-day counts, {} calls, start counts {}",
                r.sites_added, r.pages_added, r.pages_existing, r.day_counts, r.calls, r.offsets
            ),
            Self::Refused(e) => write!(f, "refused, nothing changed: {e}"),
        }
    }
}

/// The receiving end an import reads its items from; a parser on the other
/// end sends each item or the first error.
pub type Items = tokio::sync::mpsc::Receiver<Result<Item, ImportError>>;

/// Where an export writes its records; a closed receiver ends the export early.
pub type Records = tokio::sync::mpsc::Sender<Record>;

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn hits_days_and_pages_sum_up_per_key() {
        let path = PagePath::parse("/a").unwrap();
        let hit = |at: &str, day| Item::Hit {
            site: "s".into(),
            path: path.clone(),
            at: t(at),
            day,
        };
        let mut pending = Pending::default();
        let mut report = ImportReport::default();
        pending.add(&hit("2026-03-01T10:00:00Z", 1), 7, &mut report);
        pending.add(&hit("2026-03-01T09:00:00Z", 1), 7, &mut report);
        let page = Item::Page {
            site: "s".into(),
            path: path.clone(),
            offset: 5,
            first: None,
            last: Some(t("2026-03-02T00:00:00Z")),
        };
        pending.add(&page, 7, &mut report);
        let day = Item::Day {
            site: "s".into(),
            path,
            series: 0,
            day: 1,
            count: 3,
        };
        pending.add(&day, 7, &mut report);
        assert_eq!(pending.days, BTreeMap::from([((0, 7, 1), 5)]));
        assert_eq!(
            pending.pages[&7],
            PageAdd {
                total: 5,
                offset: 5,
                first: Some(t("2026-03-01T09:00:00Z")),
                last: Some(t("2026-03-02T00:00:00Z")),
            }
        );
        assert_eq!(pending.calls.len(), 2);
        assert_eq!((report.calls, report.day_counts, report.offsets), (2, 1, 5));
    }
}
