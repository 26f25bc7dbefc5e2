//! `site_dimensions` (each site's dimension counts per kind, day and value)
//! against what it sums, its pages' `daily_dimensions`, after every kind of
//! writer: batches (also replayed under their id), merging, removing and
//! sweeping pages; the site's bound on values per day, which the pages
//! follow; and the migration that fills it from the pages' rows. Real
//! requests keep it too: `dimensions.rs` and `replicas_dimensions.rs` check
//! `mismatches` after theirs.

use footfall::store::{agent_value, Batch, DimensionCount, Dimensions, Kind, PageMove, Scope, ValueCount};
use footfall::zone::DayNumber;

use crate::dimensions_store::counts;
use crate::helpers::{batch, both_stores, page, Store, TestStore};
use crate::site_days::{merge, SitePages};

/// SQL (both backends) counting the rows where `site_dimensions` and the
/// sums of the site's pages' `daily_dimensions` differ (a site row at 0 or
/// below, which should be gone, counts as one).
pub fn mismatches(prefix: &str) -> String {
    let sums = format!(
        "SELECT p.site_id, d.dimension, d.day, d.value, sum(d.count) \
         FROM {prefix}daily_dimensions d JOIN {prefix}paths p ON p.id = d.path_id \
         GROUP BY p.site_id, d.dimension, d.day, d.value"
    );
    let kept = format!("SELECT site_id, dimension, day, value, count FROM {prefix}site_dimensions");
    format!(
        "SELECT (SELECT count(*) FROM ({sums} EXCEPT {kept}) a) + (SELECT count(*) FROM ({kept} EXCEPT {sums}) b) \
         + (SELECT count(*) FROM {prefix}site_dimensions WHERE count <= 0)"
    )
}

/// 2026-03-01.
const DAY: DayNumber = 20_513;

fn row(path: i64, kind: Kind, day: DayNumber, value: &str, count: u64) -> DimensionCount {
    DimensionCount {
        path,
        kind,
        day,
        value: value.to_owned(),
        count,
    }
}

/// A batch of `rows` (sorted into key order, as the recorder sends them)
/// under the page bound `max_values`.
async fn add(s: &TestStore, rows: &mut [DimensionCount], max_values: u32) {
    rows.sort();
    let one = Batch {
        dimensions: Dimensions { rows, max_values },
        ..batch(&[])
    };
    s.store.record(one).await.expect("record");
}

async fn site(s: &TestStore, site: i64, kind: Kind, from: DayNumber, to: DayNumber) -> Vec<ValueCount> {
    s.store
        .dimension_counts(Scope::Site(site), kind, from, to)
        .await
        .expect("site read")
}

async fn assert_kept(s: &TestStore, step: &str) {
    assert_eq!(
        s.query_i64(&mismatches("")).await,
        0,
        "{step}: site_dimensions differs from its sums"
    );
}

async fn batches_replays_merges_removals_and_sweeps_keep_each_sites_rows(store: Store) {
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
    let firefox = agent_value("Firefox", "Linux", "desktop");
    let mut rows = vec![
        row(a, Kind::Agent, DAY, &firefox, 2),
        row(a, Kind::Country, DAY, "DE", 2),
        row(a, Kind::Country, DAY + 1, "DE", 1),
        row(a, Kind::Referrer, DAY, "news.example", 3),
        row(b, Kind::Agent, DAY, &firefox, 1),
        row(b, Kind::Country, DAY, "DE", 1),
        row(b, Kind::Country, DAY, "FR", 4),
        row(c, Kind::Country, DAY, "JP", 5),
        row(c, Kind::Country, DAY + 2, "DE", 1),
        row(x, Kind::Referrer, DAY, "news.example", 1),
        row(elsewhere, Kind::Country, DAY, "DE", 7),
    ];
    rows.sort();
    let once = Batch {
        dimensions: Dimensions {
            rows: &rows,
            max_values: 10,
        },
        ..batch(&[])
    };
    s.store.record(once).await.expect("record");
    s.store.record(once).await.expect("replayed: a no-op under the same id");
    assert_kept(&s, "a batch, replayed").await;
    let all = |kind| site(&s, s.site, kind, DAY, DAY + 2);
    assert_eq!(
        all(Kind::Country).await,
        counts(&[("DE", 5), ("JP", 5), ("FR", 4)]),
        "once"
    );
    assert_eq!(all(Kind::Agent).await, counts(&[(&firefox, 3)]));
    assert_eq!(all(Kind::Referrer).await, counts(&[("news.example", 4)]));
    assert_eq!(
        site(&s, other, Kind::Country, DAY, DAY).await,
        counts(&[("DE", 7)]),
        "each site its own"
    );

    let merged = merge(&s, "/b", "/a").await;
    assert_eq!(merged, PageMove::Merged { from: b, into: a });
    assert_kept(&s, "a merge").await;
    assert_eq!(all(Kind::Country).await, counts(&[("DE", 5), ("JP", 5), ("FR", 4)]));

    assert_eq!(s.store.delete_page(s.site, &page("/c")).await.expect("remove"), Some(c));
    assert_kept(&s, "a removed page's rows go").await;
    assert_eq!(all(Kind::Country).await, counts(&[("DE", 4), ("FR", 4)]));
    assert_eq!(
        site(&s, s.site, Kind::Country, DAY + 2, DAY + 2).await,
        counts(&[]),
        "a day only the removed page had is gone"
    );
    // Late rows of the removed page belong to no site; swept away, nothing changes.
    add(&s, &mut [row(c, Kind::Country, DAY, "JP", 2)], 10).await;
    assert_kept(&s, "late rows of a removed page").await;
    assert_eq!(all(Kind::Country).await, counts(&[("DE", 4), ("FR", 4)]));
    assert_eq!(s.store.sweep_page(c, None).await.expect("sweep"), 1);
    assert_kept(&s, "swept away").await;

    let merged = merge(&s, "/x", "/a").await;
    assert_eq!(merged, PageMove::Merged { from: x, into: a });
    add(&s, &mut [row(x, Kind::Referrer, DAY, "search.example", 2)], 10).await;
    assert_eq!(
        all(Kind::Referrer).await,
        counts(&[("news.example", 4)]),
        "late, no site"
    );
    s.store.sweep_page(x, Some(a)).await.expect("sweep");
    assert_kept(&s, "swept into its target").await;
    assert_eq!(
        all(Kind::Referrer).await,
        counts(&[("news.example", 4), ("search.example", 2)]),
        "swept into its target, they count for the site"
    );
    assert_eq!(
        site(&s, other, Kind::Country, DAY, DAY).await,
        counts(&[("DE", 7)]),
        "the other site is untouched"
    );
}

/// A site's day keeps at most 10 × `max_dimension_values` values besides
/// `Other` per bounded kind; a page's new value past that adds to the
/// page's `Other` too, so the site's rows stay the sums of the pages'.
async fn a_sites_day_keeps_its_bound_and_its_pages_follow(store: Store) {
    let mut s = TestStore::open(store, "").await;
    s.store.migrate().await.expect("migrate");
    s.ensure_default_site().await;
    let mut pages = Vec::new();
    for i in 0..14 {
        let path = format!("/p{i}");
        pages.push(s.store.register_path(s.site, &page(&path)).await.expect("register"));
    }
    // Page bound 1, so the site's is 10: twelve pages, one new referrer each,
    // in one batch; the ten most frequent get their rows.
    let mut rows: Vec<DimensionCount> = (0..12)
        .map(|i| {
            row(
                pages[i],
                Kind::Referrer,
                DAY,
                &format!("r{i:02}.example"),
                20 - i as u64,
            )
        })
        .collect();
    add(&s, &mut rows, 1).await;
    assert_kept(&s, "one batch past the site's bound").await;
    let day = site(&s, s.site, Kind::Referrer, DAY, DAY).await;
    let named: Vec<&str> = day.iter().map(|v| v.value.as_str()).filter(|v| *v != "Other").collect();
    assert_eq!(named.len(), 10, "{day:?}");
    assert!(
        !named.contains(&"r10.example") && !named.contains(&"r11.example"),
        "{day:?}"
    );
    assert_eq!(day.iter().find(|v| v.value == "Other").map(|v| v.count), Some(10 + 9));
    let page_of = |i: usize| {
        let store = s.store.clone();
        let path = pages[i];
        async move {
            store
                .dimension_counts(Scope::Page(path), Kind::Referrer, DAY, DAY)
                .await
                .expect("page read")
        }
    };
    assert_eq!(page_of(11).await, counts(&[("Other", 9)]), "the page follows its site");
    // Later batches: a new value on a fresh page finds the site full; a
    // value the site has still gets its row on a page with room; another
    // day has room again.
    add(&s, &mut [row(pages[12], Kind::Referrer, DAY, "late.example", 1)], 1).await;
    add(&s, &mut [row(pages[13], Kind::Referrer, DAY, "r00.example", 2)], 1).await;
    add(&s, &mut [row(pages[12], Kind::Referrer, DAY + 1, "late.example", 1)], 1).await;
    assert_kept(&s, "later batches").await;
    assert_eq!(page_of(12).await, counts(&[("Other", 1)]));
    assert_eq!(page_of(13).await, counts(&[("r00.example", 2)]));
    let day = site(&s, s.site, Kind::Referrer, DAY, DAY).await;
    assert_eq!(day.iter().filter(|v| v.value != "Other").count(), 10, "{day:?}");
    assert_eq!(day.first(), Some(&counts(&[("r00.example", 22)])[0]), "{day:?}");
    assert_eq!(
        site(&s, s.site, Kind::Referrer, DAY + 1, DAY + 1).await,
        counts(&[("late.example", 1)])
    );
    // Agent rows are a closed set: no bound.
    let mut agents: Vec<DimensionCount> = (0..12)
        .map(|i| {
            row(
                pages[i],
                Kind::Agent,
                DAY,
                &agent_value(&format!("B{i}"), "Linux", "desktop"),
                1,
            )
        })
        .collect();
    add(&s, &mut agents, 1).await;
    assert_eq!(site(&s, s.site, Kind::Agent, DAY, DAY).await.len(), 12);
    assert_kept(&s, "agents").await;
}

/// The migration fills `site_dimensions` from the pages' rows that are
/// there: a store migrated with rows and no site rows answers as before.
async fn the_migration_fills_the_site_rows_from_the_pages(store: Store) {
    let mut s = TestStore::open(store, "").await;
    s.store.migrate().await.expect("migrate");
    s.ensure_default_site().await;
    let other = s.store.ensure_site("other").await.expect("another site");
    let a = s.store.register_path(s.site, &page("/a")).await.expect("register");
    let b = s.store.register_path(s.site, &page("/b")).await.expect("register");
    let e = s.store.register_path(other, &page("/e")).await.expect("register");
    let firefox = agent_value("Firefox", "Linux", "desktop");
    add(
        &s,
        &mut [
            row(a, Kind::Agent, DAY, &firefox, 2),
            row(b, Kind::Agent, DAY + 1, &firefox, 1),
            row(a, Kind::Country, DAY, "DE", 2),
            row(b, Kind::Country, DAY, "DE", 3),
            row(b, Kind::Referrer, DAY + 1, "news.example", 1),
            row(e, Kind::Country, DAY, "FR", 1),
        ],
        10,
    )
    .await;
    let panels = |s: &TestStore| {
        let store = s.store.clone();
        let site = s.site;
        async move {
            let mut all = Vec::new();
            for (site, kind) in [
                (site, Kind::Agent),
                (site, Kind::Country),
                (site, Kind::Referrer),
                (other, Kind::Country),
            ] {
                for (from, to) in [(DAY, DAY), (DAY, DAY + 1), (DAY + 1, DAY + 9)] {
                    all.push(
                        store
                            .dimension_counts(Scope::Site(site), kind, from, to)
                            .await
                            .expect("read"),
                    );
                }
            }
            all
        }
    };
    let before = panels(&s).await;
    assert_eq!(before[4], counts(&[("DE", 5)]));
    s.execute(
        &format!(
            "DROP TABLE site_dimensions; {}",
            include_str!("../../sql/postgres/0014_site_dimensions.sql")
        ),
        &format!(
            "DROP TABLE site_dimensions; {}",
            include_str!("../../sql/sqlite/0012_site_dimensions.sql")
        ),
    )
    .await;
    assert_kept(&s, "migrated").await;
    assert_eq!(panels(&s).await, before, "the same panels from the filled rows");
}

/// PostgreSQL: a batch carrying only label sums for a page (no hits of its
/// own) that meets the page's removal half-way adds nothing to the site.
/// The removal (done here by hand, in `delete_page`'s order: the page's
/// `paths` row locked first) holds its transaction open while the batch is
/// sent; the batch must wait for it and then find no site, rather than add
/// to the site rows from before the removal while its page rows become late
/// rows (which a sweep would add to a site again).
#[tokio::test]
async fn labels_meeting_their_pages_removal_reach_no_site() {
    let mut s = TestStore::open(Store::Postgres, "").await;
    s.store.migrate().await.expect("migrate");
    s.ensure_default_site().await;
    let a = s.store.register_path(s.site, &page("/a")).await.expect("register");
    add(&s, &mut [row(a, Kind::Country, DAY, "DE", 2)], 10).await;
    let mut removal = s.db.as_ref().expect("a PostgreSQL database").connect().await;
    let tx = removal.transaction().await.expect("begin");
    tx.execute("SELECT id FROM paths WHERE id = $1 FOR UPDATE", &[&a])
        .await
        .expect("lock the page");
    for sql in [
        "DELETE FROM daily_dimensions WHERE path_id = $1",
        "DELETE FROM site_dimensions WHERE site_id = (SELECT site_id FROM paths WHERE id = $1)",
        "DELETE FROM paths WHERE id = $1",
    ] {
        tx.execute(sql, &[&a]).await.expect(sql);
    }
    let store = s.store.clone();
    let labels = tokio::spawn(async move {
        let firefox = agent_value("Firefox", "Linux", "desktop");
        let rows = [
            row(a, Kind::Agent, DAY, &firefox, 1),
            row(a, Kind::Country, DAY, "DE", 3),
        ];
        let one = Batch {
            dimensions: Dimensions {
                rows: &rows,
                max_values: 10,
            },
            ..batch(&[])
        };
        store.record(one).await.map(|_| ())
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    tx.commit().await.expect("commit the removal");
    labels
        .await
        .expect("the batch task")
        .expect("the batch commits after the removal");
    assert_kept(&s, "labels after the removal").await;
    assert_eq!(
        site(&s, s.site, Kind::Country, DAY, DAY).await,
        counts(&[]),
        "no site sums"
    );
    assert_eq!(
        s.query_i64(&format!(
            "SELECT sum(count)::bigint FROM daily_dimensions WHERE path_id = {a}"
        ))
        .await,
        4,
        "the page's sums are late rows"
    );
}

both_stores!(
    batches_replays_merges_removals_and_sweeps_keep_each_sites_rows,
    a_sites_day_keeps_its_bound_and_its_pages_follow,
    the_migration_fills_the_site_rows_from_the_pages,
);
