//! The site overview behind the dashboard and the site-wide history: the
//! site's calls per day over a period with the period before it, and the
//! page list searched, sorted and cut into pages.
//!
//! Reads go through [`Reads`]; "today" is passed in. The list is a row per
//! page (its `paths` row) with, for a bounded period, the page's calls in it
//! (`read::period`: past days' sums kept while unchanged, today's read);
//! searching, sorting and paging are plain work on that list in memory
//! (10,000 pages sort in about a millisecond), so a page of 50 rows costs
//! the same reads as the whole list would, and renders 50 rows instead of
//! all. The sort by the period's calls, the top pages and "pages called"
//! need every page's period count anyway.

use std::cmp::Reverse;

use jiff::Timestamp;

use super::buckets::fill_days;
use super::query::{DayRange, Sort};
use super::series::earliest_day;
use super::Reads;
use crate::availability::Unavailable;
use crate::count::Site;
use crate::store::PageRow;
use crate::zone::{day_number, DayNumber};

/// Rows of the page list on one page.
pub const PAGE_ROWS: usize = 50;

/// The site's calls per day over a period, and over the period of the same
/// length just before it (`None` for "all").
pub struct SiteDays {
    /// Zero-filled, oldest first; from the first day with calls for "all".
    pub days: Vec<(DayNumber, u64)>,
    pub previous: Option<u64>,
}

impl SiteDays {
    pub fn total(&self) -> u64 {
        self.days.iter().map(|(_, n)| n).sum()
    }
}

/// The site's zero-filled calls per day over `range` (without `from`:
/// from its first day with calls) and, `with_previous` and with a `from`,
/// the sum of the same number of days before it, in one store read.
///
/// # Errors
/// [`Unavailable`] when the store is not ready or does not answer.
pub async fn site_days(
    reads: &Reads,
    site: &Site,
    range: DayRange,
    today: DayNumber,
    with_previous: bool,
) -> Result<SiteDays, Unavailable> {
    let id = site.registry.site_id()?;
    let to = range.to.map_or(today, day_number);
    let Some(from) = range.from.map(day_number) else {
        let rows = reads.site_daily(id, earliest_day(), to).await?;
        let first = rows.first().map_or(to, |&(d, _)| d.min(to));
        return Ok(SiteDays {
            days: fill_days(&rows, first, to),
            previous: None,
        });
    };
    if !with_previous {
        let rows = reads.site_daily(id, from, to).await?;
        return Ok(SiteDays {
            days: fill_days(&rows, from, to),
            previous: None,
        });
    }
    let length = to - from + 1;
    let before = from.saturating_sub(length).max(earliest_day());
    let rows = reads.site_daily(id, before, to).await?;
    let previous = rows.iter().filter(|(d, _)| *d < from).map(|(_, n)| n).sum();
    Ok(SiteDays {
        days: fill_days(&rows, from, to),
        previous: Some(previous),
    })
}

/// One row of the page list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedPage {
    pub path: String,
    /// Calls in the period.
    pub period: u64,
    pub total: u64,
    pub last: Option<Timestamp>,
}

/// One page of the page list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageList {
    pub rows: Vec<ListedPage>,
    /// Pages matching the search, on all pages of the list.
    pub matching: usize,
    /// The page shown, 1-based, at most `pages`.
    pub page: usize,
    pub pages: usize,
}

/// Every page of `site` with its calls in the period (`period`: the
/// pages' counts in a bounded period, `today` the site's today; `None`
/// means all time, the totals).
///
/// # Errors
/// [`Unavailable`] when the store is not ready or does not answer.
pub async fn listed_pages(
    reads: &Reads,
    site: &Site,
    period: Option<(DayNumber, DayNumber)>,
    today: DayNumber,
) -> Result<Vec<ListedPage>, Unavailable> {
    let id = site.registry.site_id()?;
    let counts = async {
        match period {
            Some(days) => reads.period_counts(id, days, today).await.map(Some),
            None => Ok(None),
        }
    };
    // Independent reads: on PostgreSQL they run on two connections at once.
    let (rows, counts) = tokio::try_join!(reads.page_rows(id), counts)?;
    Ok(rows
        .into_iter()
        .map(|PageRow { id, path, total, last }| ListedPage {
            // All time: the total, start count included.
            period: counts.as_ref().map_or(total, |counts| counts.of(id)),
            path,
            total,
            last,
        })
        .collect())
}

/// The `page`-th page of `pages` whose path contains `q` (ignoring case),
/// in `sort` order; ties go by path, so the order is total and pages never
/// overlap. A page past the end shows the last one.
pub fn page_of(mut pages: Vec<ListedPage>, q: Option<&str>, sort: Sort, page: usize) -> PageList {
    if let Some(q) = q {
        let q = q.to_lowercase();
        pages.retain(|p| p.path.to_lowercase().contains(&q));
    }
    match sort {
        Sort::Period => pages.sort_unstable_by(|a, b| (Reverse(a.period), &a.path).cmp(&(Reverse(b.period), &b.path))),
        Sort::Total => pages.sort_unstable_by(|a, b| (Reverse(a.total), &a.path).cmp(&(Reverse(b.total), &b.path))),
        Sort::Name => pages.sort_unstable_by(|a, b| a.path.cmp(&b.path)),
        Sort::Last => pages.sort_unstable_by(|a, b| (Reverse(a.last), &a.path).cmp(&(Reverse(b.last), &b.path))),
    }
    let matching = pages.len();
    let page_count = matching.div_ceil(PAGE_ROWS).max(1);
    let page = page.clamp(1, page_count);
    let rows = pages.into_iter().skip((page - 1) * PAGE_ROWS).take(PAGE_ROWS).collect();
    PageList {
        rows,
        matching,
        page,
        pages: page_count,
    }
}

/// The change from `previous` to `now` as people read it: `+25%`, `−10%`,
/// `±0%`, or `new` when there was nothing before.
pub fn change(now: u64, previous: u64) -> String {
    if previous == 0 {
        return if now == 0 { "±0%".to_owned() } else { "new".to_owned() };
    }
    let percent = ((now as f64 - previous as f64) / previous as f64 * 100.0).round();
    match percent {
        p if p > 0.0 => format!("+{p:.0}%"),
        p if p < 0.0 => format!("−{:.0}%", -p),
        _ => "±0%".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(path: &str, period: u64, total: u64, last: i64) -> ListedPage {
        ListedPage {
            path: path.to_owned(),
            period,
            total,
            last: Some(Timestamp::from_second(last).unwrap()),
        }
    }

    fn paths(list: &PageList) -> Vec<&str> {
        list.rows.iter().map(|r| r.path.as_str()).collect()
    }

    #[test]
    fn each_sort_orders_with_ties_by_path() {
        let pages = vec![
            listed("/b", 5, 10, 300),
            listed("/a", 5, 20, 100),
            listed("/c", 9, 1, 200),
        ];
        let by = |sort| paths(&page_of(pages.clone(), None, sort, 1)).join(" ");
        assert_eq!(by(Sort::Period), "/c /a /b");
        assert_eq!(by(Sort::Total), "/a /b /c");
        assert_eq!(by(Sort::Name), "/a /b /c");
        assert_eq!(by(Sort::Last), "/b /c /a");
    }

    #[test]
    fn search_ignores_case_and_pages_hold_fifty() {
        let pages: Vec<ListedPage> = (0..120)
            .map(|i| {
                listed(
                    &format!("/{}/{i:03}", if i % 2 == 0 { "Blog" } else { "docs" }),
                    0,
                    0,
                    i,
                )
            })
            .collect();
        let blog = page_of(pages.clone(), Some("blog/"), Sort::Name, 2);
        assert_eq!((blog.matching, blog.pages, blog.page), (60, 2, 2));
        assert_eq!(paths(&blog).first(), Some(&"/Blog/100"));
        assert_eq!(blog.rows.len(), 10);
        let all = page_of(pages.clone(), None, Sort::Name, 9_999);
        assert_eq!((all.page, all.pages, all.rows.len()), (3, 3, 20));
        let none = page_of(pages, Some("nothing"), Sort::Name, 1);
        assert_eq!((none.matching, none.page, none.pages, none.rows.len()), (0, 1, 1, 0));
    }

    #[test]
    fn changes_read_as_people_say_them() {
        assert_eq!(change(125, 100), "+25%");
        assert_eq!(change(90, 100), "−10%");
        assert_eq!(change(100, 100), "±0%");
        assert_eq!(change(5, 0), "new");
        assert_eq!(change(0, 0), "±0%");
        assert_eq!(change(0, 7), "−100%");
    }
}
