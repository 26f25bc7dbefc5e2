//! The store contract for tallies, on both stores: a batch adds its tallies
//! per page and day in its own transaction (exactly once, also when it is
//! committed again under its id), ranges sum exact days, and badges read
//! totals and one day.

use footfall::store::{BadgeFigures, Batch, Committed, DayTallies, Hit, PageTallies, Tallies, Tally};
use footfall::zone::DayNumber;

use crate::helpers::{batch, both_stores, page, Store, TestStore};

/// 2026-03-01 and the next two days.
const DAY: DayNumber = 20_513;

fn tallies(series: &[(Tally, u64)]) -> Tallies {
    let mut t = Tallies::default();
    for &(tally, n) in series {
        t.add(tally, n);
    }
    t
}

async fn tallies_add_up_per_page_and_day_exactly_once(store: Store) {
    let mut s = TestStore::open(store, "").await;
    s.store.migrate().await.expect("migrate");
    s.ensure_default_site().await;
    let a = s.store.register_path(s.site, &page("/a")).await.expect("register");
    let b = s.store.register_path(s.site, &page("/b")).await.expect("register");
    let row = |path, day, series: &[(Tally, u64)]| DayTallies {
        path,
        day,
        tallies: tallies(series),
    };
    let first = [
        row(a, DAY, &[(Tally::Bot, 3), (Tally::Proxied, 1)]),
        row(a, DAY + 1, &[(Tally::Prefetch, 2)]),
        row(b, DAY, &[(Tally::Ignored, 1), (Tally::ForeignEmbed, 4)]),
    ];
    let hit = Hit {
        path: a,
        at: "2026-03-01T10:00:00Z".parse().expect("time"),
        day: DAY,
    };
    let one = Batch {
        tallies: &first,
        ..batch(std::slice::from_ref(&hit))
    };
    assert_eq!(s.store.record(one).await.expect("record").committed, Committed::Now);
    assert_eq!(
        s.store.record(one).await.expect("again").committed,
        Committed::Earlier,
        "settled: no double count"
    );
    let second = [row(a, DAY, &[(Tally::Bot, 1)]), row(a, DAY + 2, &[(Tally::Proxied, 5)])];
    let two = Batch {
        tallies: &second,
        ..batch(&[])
    };
    assert_eq!(s.store.record(two).await.expect("record").committed, Committed::Now);

    let of = |from, to| s.store.path_tallies(a, from, to);
    assert_eq!(
        of(DAY, DAY).await.expect("day 1"),
        tallies(&[(Tally::Bot, 4), (Tally::Proxied, 1)])
    );
    assert_eq!(
        of(DAY + 1, DAY + 1).await.expect("day 2"),
        tallies(&[(Tally::Prefetch, 2)])
    );
    assert_eq!(
        of(DAY, DAY + 2).await.expect("all"),
        tallies(&[(Tally::Bot, 4), (Tally::Proxied, 6), (Tally::Prefetch, 2)])
    );
    assert_eq!(of(DAY + 3, DAY + 9).await.expect("none"), Tallies::default());

    let pages = s.store.tallies_between(s.site, DAY + 1, DAY + 2).await.expect("pages");
    assert_eq!(
        pages,
        vec![PageTallies {
            path: "/a".into(),
            tallies: tallies(&[(Tally::Prefetch, 2), (Tally::Proxied, 5)]),
        }],
        "/b has none on these days"
    );
    let both = s.store.tallies_between(s.site, DAY, DAY).await.expect("pages");
    assert_eq!(both.iter().map(|p| p.path.as_str()).collect::<Vec<_>>(), ["/a", "/b"]);
    assert_eq!(both[1].tallies.filtered(), 5);

    assert_eq!(
        s.store.badge_figures(a, DAY + 2).await.expect("badge"),
        BadgeFigures {
            visitors_total: 1,
            visitors_today: 0,
            proxied_total: 6,
            proxied_today: 5,
        }
    );
    assert_eq!(
        s.store.badge_figures(b, DAY).await.expect("badge"),
        BadgeFigures::default(),
        "filtered hits are not shown"
    );
}

both_stores!(tallies_add_up_per_page_and_day_exactly_once);
