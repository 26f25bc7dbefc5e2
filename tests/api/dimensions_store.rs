//! The dimensions' store contract on both stores: exact ranges per page
//! and per site, a batch's rows stored once under its id, agent rows split
//! on read, and the bound on new values within one batch.

use footfall::store::{agent_value, Batch, DimensionCount, Dimensions, Hit, Kind, Scope, ValueCount};
use footfall::zone::DayNumber;

use crate::helpers::{batch, both_stores, page, Store, TestStore};

/// `(value, count)` pairs as [`ValueCount`]s.
pub fn counts(pairs: &[(&str, u64)]) -> Vec<ValueCount> {
    pairs
        .iter()
        .map(|&(value, count)| ValueCount {
            value: value.to_owned(),
            count,
        })
        .collect()
}

/// 2026-03-01.
const DAY: DayNumber = 20_513;

async fn the_store_sums_exact_ranges_per_page_and_site_once_per_batch(store: Store) {
    let mut s = TestStore::open(store, "").await;
    s.store.migrate().await.expect("migrate");
    s.ensure_default_site().await;
    let a = s.store.register_path(s.site, &page("/a")).await.expect("register");
    let b = s.store.register_path(s.site, &page("/b")).await.expect("register");
    let row = |path, day, value: &str, count| DimensionCount {
        path,
        kind: Kind::Country,
        day,
        value: value.to_owned(),
        count,
    };
    let rows = [
        row(a, DAY, "DE", 2),
        row(a, DAY, "FR", 1),
        row(a, DAY + 1, "DE", 5),
        row(b, DAY, "DE", 1),
        row(b, DAY + 2, "JP", 4),
    ];
    let hit = Hit {
        path: a,
        at: "2026-03-01T10:00:00Z".parse().expect("time"),
        day: DAY,
    };
    let one = Batch {
        dimensions: Dimensions {
            rows: &rows,
            max_values: 10,
        },
        ..batch(std::slice::from_ref(&hit))
    };
    s.store.record(one).await.expect("record");
    s.store.record(one).await.expect("again: a no-op under the same id");
    let of = |scope, from, to| s.store.dimension_counts(scope, Kind::Country, from, to);
    assert_eq!(
        of(Scope::Page(a), DAY, DAY).await.expect("read"),
        counts(&[("DE", 2), ("FR", 1)])
    );
    assert_eq!(
        of(Scope::Page(a), DAY, DAY + 9).await.expect("read"),
        counts(&[("DE", 7), ("FR", 1)])
    );
    assert_eq!(
        of(Scope::Site(s.site), DAY, DAY + 2).await.expect("read"),
        counts(&[("DE", 8), ("JP", 4), ("FR", 1)])
    );
    assert_eq!(
        of(Scope::Site(s.site), DAY + 1, DAY + 1).await.expect("read"),
        counts(&[("DE", 5)])
    );
    assert_eq!(
        of(Scope::Page(a), DAY - 5, DAY - 1).await.expect("read"),
        counts(&[]),
        "days before any"
    );
    // One batch adding three new values to a day that has room for one more.
    let more = [row(b, DAY, "AT", 1), row(b, DAY, "BE", 3), row(b, DAY, "CH", 1)];
    let next = Batch {
        dimensions: Dimensions {
            rows: &more,
            max_values: 2,
        },
        ..batch(&[])
    };
    s.store.record(next).await.expect("record");
    let day = of(Scope::Page(b), DAY, DAY).await.expect("read");
    assert_eq!(day.len(), 3, "DE, one new value and Other: {day:?}");
    assert_eq!(day.iter().map(|v| v.count).sum::<u64>(), 6);
    assert!(day.iter().any(|v| v.value == "Other" && v.count >= 1), "{day:?}");
    // Agent rows are a closed set of combinations: no bound, no Other.
    let agent = |browser, os, device, count| DimensionCount {
        path: b,
        kind: Kind::Agent,
        day: DAY,
        value: agent_value(browser, os, device),
        count,
    };
    let agents = [
        agent("Firefox", "Linux", "desktop", 2),
        agent("Safari", "iOS", "mobile", 3),
        agent("Samsung Internet", "Android", "mobile", 1),
    ];
    let last = Batch {
        dimensions: Dimensions {
            rows: &agents,
            max_values: 1,
        },
        ..batch(&[])
    };
    s.store.record(last).await.expect("record");
    assert_eq!(
        s.store
            .dimension_counts(Scope::Page(b), Kind::Agent, DAY, DAY)
            .await
            .expect("read"),
        counts(&[
            ("Safari|iOS|mobile", 3),
            ("Firefox|Linux|desktop", 2),
            ("Samsung Internet|Android|mobile", 1)
        ])
    );
    assert_eq!(
        of(Scope::Page(b), DAY, DAY).await.expect("read").len(),
        3,
        "countries are a kind of their own"
    );
}

both_stores!(the_store_sums_exact_ranges_per_page_and_site_once_per_batch);
