//! `site_days` (each site's calls per day) against what it sums, the
//! per-day counts of the site's pages, after every kind of writer: batches,
//! merging, removing and sweeping pages, here; imports, rebuild-daily,
//! OxiTraffic adoption and shared dedup's claimed hits in their own test
//! files, with `mismatches`. And the page list's per-page period counts,
//! which read the same per-day counts by day.

use footfall::store::{Hit, PageMove, PathId, SiteId};
use footfall::zone::Zone;

use crate::helpers::{batch, both_stores, page, Store, TestStore};

/// SQL (both backends) counting the (site, day) pairs where `site_days`
/// and the sum of the site's pages' per-day counts differ; `prefix` is the
/// schema (`"footfall."`) where `public` may hold other tables. Rows at 0
/// (every page of a day removed) equal a missing sum.
pub fn mismatches(prefix: &str) -> String {
    let sums = format!(
        "SELECT p.site_id, d.day, sum(d.count) FROM {prefix}day_counts d JOIN {prefix}paths p ON p.id = d.path_id \
         GROUP BY p.site_id, d.day HAVING sum(d.count) <> 0"
    );
    let kept = format!("SELECT site_id, day, count FROM {prefix}site_days WHERE count <> 0");
    format!("SELECT (SELECT count(*) FROM ({sums} EXCEPT {kept}) a) + (SELECT count(*) FROM ({kept} EXCEPT {sums}) b)")
}

pub fn hit(path: i64, at: &str) -> Hit {
    let at: jiff::Timestamp = at.parse().expect("a time");
    Hit {
        path,
        at,
        day: Zone::utc().day_of(at),
    }
}

/// 2026-03-01, 02 and 03.
const DAYS: [&str; 3] = ["2026-03-01T10:00:00Z", "2026-03-02T10:00:00Z", "2026-03-03T10:00:00Z"];

async fn days_of(s: &TestStore, site: i64) -> Vec<u64> {
    let first = hit(0, DAYS[0]).day;
    let daily = s.store.site_daily(site, first, first + 2).await.expect("site days");
    (first..=first + 2)
        .map(|day| daily.iter().find(|(d, _)| *d == day).map_or(0, |(_, n)| *n))
        .collect()
}

async fn assert_kept(s: &TestStore, want: [u64; 3], step: &str) {
    assert_eq!(days_of(s, s.site).await, want, "{step}");
    assert_eq!(
        s.query_i64(&mismatches("")).await,
        0,
        "{step}: site_days differs from its sums"
    );
}

/// Pages `/a`, `/b`, `/c` and `/x` of the site `default` and `/a` of a
/// second site, `other`: what the tests of a site's own tables (here and
/// `site_dimensions.rs`) write to, merge, remove and sweep.
pub struct SitePages {
    pub other: SiteId,
    pub a: PathId,
    pub b: PathId,
    pub c: PathId,
    pub x: PathId,
    pub elsewhere: PathId,
}

impl SitePages {
    /// A migrated store with these pages.
    pub async fn open(store: Store) -> (TestStore, Self) {
        let mut s = TestStore::open(store, "").await;
        s.store.migrate().await.expect("migrate");
        s.ensure_default_site().await;
        let other = s.store.ensure_site("other").await.expect("another site");
        let register = |site, path: &'static str| {
            let store = s.store.clone();
            async move { store.register_path(site, &page(path)).await.expect("register") }
        };
        let pages = Self {
            other,
            a: register(s.site, "/a").await,
            b: register(s.site, "/b").await,
            c: register(s.site, "/c").await,
            x: register(s.site, "/x").await,
            elsewhere: register(other, "/a").await,
        };
        (s, pages)
    }
}

/// Merges page `from` of the site `default` into page `into`.
pub async fn merge(s: &TestStore, from: &str, into: &str) -> PageMove {
    s.store
        .move_page(s.site, &page(from), &page(into))
        .await
        .expect("merge")
}

async fn batches_merges_removals_and_sweeps_keep_each_sites_days(store: Store) {
    let (
        s,
        SitePages {
            other,
            a,
            b,
            c,
            x,
            elsewhere,
        },
    ) = SitePages::open(store).await;
    let [d1, d2, d3] = DAYS;
    let first = [
        hit(a, d1),
        hit(a, d2),
        hit(b, d2),
        hit(c, d1),
        hit(c, d3),
        hit(x, d3),
        hit(elsewhere, d1),
        hit(elsewhere, d1),
    ];
    s.store.record(batch(&first)).await.expect("record");
    assert_kept(&s, [2, 2, 2], "a batch adds per site and day").await;
    assert_eq!(days_of(&s, other).await, [2, 0, 0], "the other site's own days");
    // The page list's period counts, by page id (every site's pages).
    let first_day = hit(0, d1).day;
    let counts = s.store.period_counts(first_day, first_day + 1).await.expect("counts");
    let mut counts: Vec<(i64, u64)> = counts;
    counts.sort_unstable();
    assert_eq!(counts, [(a, 2), (b, 1), (c, 1), (elsewhere, 2)]);
    let token = |from: &str, to: &str| {
        let store = s.store.clone();
        let (from, to) = (hit(0, from).day, hit(0, to).day);
        let site = s.site;
        async move { store.days_token(site, from, to).await.expect("token") }
    };
    let before = token(d1, d2).await;
    assert_eq!(before.calls, 4, "the site's calls on the first two days");

    let merged = merge(&s, "/b", "/a").await;
    assert_eq!(merged, PageMove::Merged { from: b, into: a });
    assert_kept(&s, [2, 2, 2], "a merge moves calls within the site").await;
    let merged_token = token(d1, d2).await;
    assert_eq!(merged_token.calls, before.calls, "a merge keeps the site's calls");
    assert_ne!(merged_token, before, "but its pages' counts moved: the token tells");
    assert_eq!(
        token(d3, d3).await.changes,
        merged_token.changes,
        "one count of changes per site"
    );

    let removed = s.store.delete_page(s.site, &page("/c")).await.expect("remove");
    assert_eq!(removed, Some(c));
    assert_kept(&s, [1, 2, 1], "a removed page's days go").await;
    // A late hit of the removed page belongs to no site; swept away, nothing changes.
    let removed_token = token(d1, d2).await;
    assert_ne!(
        removed_token.changes, merged_token.changes,
        "removing a page is a change"
    );
    s.store.record(batch(&[hit(c, d2)])).await.expect("a late hit");
    assert_kept(&s, [1, 2, 1], "a late hit of a removed page").await;
    assert_eq!(
        token(d1, d2).await,
        removed_token,
        "a late hit of no page changes no page's counts"
    );
    s.store.record(batch(&[hit(a, d2)])).await.expect("a hit of a past day");
    assert_kept(&s, [1, 3, 1], "a hit of a past day").await;
    assert_ne!(token(d1, d2).await, removed_token, "a counted hit of one of the days");
    assert_eq!(token(d3, d3).await.calls, 1, "not of another day");
    assert_eq!(s.store.sweep_page(c, None).await.expect("sweep"), 2);
    assert_kept(&s, [1, 3, 1], "swept away").await;

    let merged = merge(&s, "/x", "/a").await;
    assert_eq!(merged, PageMove::Merged { from: x, into: a });
    s.store.record(batch(&[hit(x, d1)])).await.expect("a late hit");
    assert_kept(&s, [1, 3, 1], "a late hit of a merged page").await;
    let late = token(d1, d3).await;
    s.store.sweep_page(x, Some(a)).await.expect("sweep");
    assert_kept(&s, [2, 3, 1], "swept into its target, it counts for the site").await;
    assert_ne!(
        token(d1, d3).await.changes,
        late.changes,
        "a sweep into a page is a change"
    );
    assert_eq!(days_of(&s, other).await, [2, 0, 0], "the other site is untouched");
}

both_stores!(batches_merges_removals_and_sweeps_keep_each_sites_days);
