//! Per-day counts through every kind of write, on both stores: random
//! batches (today's hits, late hits, batches across midnight, days that
//! move on), merges, imports and rebuild-daily, each followed by a check of
//! every page's per-day counts against a model. On PostgreSQL a page's
//! open day lives in its `paths` row; here it must never be counted twice
//! or lost, whatever writes meet it.

use std::collections::BTreeMap;

use footfall::store::{Hit, Imported, Item, PageMove, PathId};

use crate::compact::at;
use crate::compact_history::Rng;
use crate::helpers::{batch, both_stores, page, Store, TestStore};

const DAY_MICROS: i64 = 86_400_000_000;
/// 2026-03-01, the first day a page is hit.
const FIRST_DAY: i64 = 20_513;

/// A hit on `day`, `micros` into it.
fn hit_on(path: PathId, day: i64, micros: i64) -> Hit {
    Hit {
        path,
        at: at(day * DAY_MICROS + micros),
        day: i32::try_from(day).expect("a day number"),
    }
}

/// What the store must say: per page name, its calls per day.
type Model = BTreeMap<String, BTreeMap<i64, u64>>;

async fn check(s: &TestStore, ids: &BTreeMap<String, PathId>, model: &Model, step: &str) {
    for (name, id) in ids {
        let stored: Vec<(i64, u64)> = s
            .store
            .daily(*id)
            .await
            .expect("daily")
            .into_iter()
            .map(|(d, n)| (i64::from(d), n))
            .collect();
        let want: Vec<(i64, u64)> = model[name].iter().map(|(&d, &n)| (d, n)).collect();
        assert_eq!(stored, want, "{step}: page {name}");
    }
    let days: BTreeMap<i64, u64> = model.values().flatten().fold(BTreeMap::new(), |mut sum, (&d, &n)| {
        *sum.entry(d).or_default() += n;
        sum
    });
    let first = i32::try_from(FIRST_DAY - 10).expect("day");
    let site: Vec<(i64, u64)> = s
        .store
        .site_daily(s.site, first, first + 400)
        .await
        .expect("site days")
        .into_iter()
        .map(|(d, n)| (i64::from(d), n))
        .collect();
    assert_eq!(site, days.into_iter().collect::<Vec<_>>(), "{step}: the site's days");
    if s.db.is_some() {
        let twice = s
            .query_i64(
                "SELECT count(*) FROM paths p JOIN daily_counts d ON d.path_id = p.id AND d.day = p.open_day \
                 WHERE p.open_count > 0",
            )
            .await;
        assert_eq!(twice, 0, "{step}: an open day is also a closed one");
    }
}

async fn per_day_counts_follow_batches_merges_imports_and_rebuilds(store: Store) {
    let mut s = TestStore::open(store, "").await;
    s.store.migrate().await.expect("migrate");
    s.ensure_default_site().await;
    let names = ["/a", "/b", "/c", "/d"];
    let mut ids = BTreeMap::new();
    let mut model: Model = BTreeMap::new();
    for name in names {
        let id = s.store.register_path(s.site, &page(name)).await.expect("register");
        ids.insert(name.to_owned(), id);
        model.insert(name.to_owned(), BTreeMap::new());
    }
    let mut rng = Rng(0x0ddd_a7e5_2026_1127);
    let mut today = FIRST_DAY;
    for step in 0..120 {
        let what = rng.below(20);
        let label = format!("step {step} ({what}, day {today})");
        match what {
            // A merge of one page into another; the merged page's name
            // comes back as a new page.
            0 => {
                let from = names[rng.below(4) as usize];
                let into = names[rng.below(4) as usize];
                if from == into {
                    continue;
                }
                let moved = s
                    .store
                    .move_page(s.site, &page(from), &page(into))
                    .await
                    .expect("merge");
                assert!(matches!(moved, PageMove::Merged { .. }), "{label}: {moved:?}");
                let gone = std::mem::take(model.get_mut(from).expect("page"));
                for (day, n) in gone {
                    *model.get_mut(into).expect("page").entry(day).or_default() += n;
                }
                let id = s.store.register_path(s.site, &page(from)).await.expect("again");
                ids.insert(from.to_owned(), id);
            }
            // An import of a few hits, on any day so far.
            1 => {
                let (items, received) = tokio::sync::mpsc::channel(8);
                for _ in 0..1 + rng.below(5) {
                    let name = names[rng.below(4) as usize];
                    let day = today - rng.below(4) as i64;
                    let one = hit_on(0, day, rng.below(DAY_MICROS as u64) as i64);
                    let item = Item::Hit {
                        site: "default".into(),
                        path: page(name),
                        at: one.at,
                        day: one.day,
                    };
                    items.send(Ok(item)).await.expect("queue");
                    *model.get_mut(name).expect("page").entry(day).or_default() += 1;
                }
                drop(items);
                let imported = s.store.import(received).await.expect("import");
                assert!(matches!(imported, Imported::Done(_)), "{label}: {imported:?}");
            }
            // Rebuild-daily: the counts again from the call history.
            2 => {
                let zone = s.config.sites[0].zone.clone();
                s.store.rebuild_daily(s.site, zone).await.expect("rebuild");
            }
            // The next day (some days are skipped).
            3..=4 => today += 1 + rng.below(2) as i64,
            // A batch: mostly today's hits, some late, some tomorrow's (a
            // batch across midnight), which then becomes today.
            _ => {
                let mut hits = Vec::new();
                let mut next = false;
                for _ in 0..1 + rng.below(30) {
                    let name = names[rng.below(4) as usize];
                    let day = match rng.below(10) {
                        0 => today - 1 - rng.below(3) as i64,
                        1 => {
                            next = true;
                            today + 1
                        }
                        _ => today,
                    };
                    hits.push(hit_on(ids[name], day, rng.below(DAY_MICROS as u64) as i64));
                    *model.get_mut(name).expect("page").entry(day).or_default() += 1;
                }
                s.store.record(batch(&hits)).await.expect("record");
                if next {
                    today += 1;
                }
            }
        }
        check(&s, &ids, &model, &label).await;
    }
    assert!(today > FIRST_DAY + 10, "the days moved on: {today}");
}

both_stores!(per_day_counts_follow_batches_merges_imports_and_rebuilds);

/// Eight stores on one database (eight replicas) record batches at once on
/// the same pages while the days move on: each store's days run a little
/// ahead of or behind the others', so one store's batch opens a day while
/// another's adds to the one before (late hits) or waits on the same page
/// rows and then finds them changed. Every call counts on its own day, once.
async fn concurrent_writers_roll_days_over_without_losing_or_doubling(store: Store) {
    let mut s = TestStore::open(store, "").await;
    s.store.migrate().await.expect("migrate");
    s.ensure_default_site().await;
    let names = ["/a", "/b"];
    let mut ids = BTreeMap::new();
    for name in names {
        let id = s.store.register_path(s.site, &page(name)).await.expect("register");
        ids.insert(name.to_owned(), id);
    }
    let mut writers = Vec::new();
    for writer in 0..8 {
        let store = s.open_again();
        let ids = ids.clone();
        writers.push(tokio::spawn(async move {
            let mut rng = Rng(0x0ddd_a7e5_0000_0001 + writer * 7919);
            let mut made: Model = names.iter().map(|n| ((*n).to_owned(), BTreeMap::new())).collect();
            for step in 0..80 {
                let hits: Vec<Hit> = (0..1 + rng.below(12))
                    .map(|_| {
                        let name = names[rng.below(2) as usize];
                        let day = FIRST_DAY + step / 2 + rng.below(3) as i64 - 1;
                        *made.get_mut(name).expect("page").entry(day).or_default() += 1;
                        hit_on(ids[name], day, rng.below(DAY_MICROS as u64) as i64)
                    })
                    .collect();
                // Eight SQLite stores on one file may find it locked past
                // their busy timeout on a loaded machine: such a batch is
                // rolled back, so it is sent again, a few times at most;
                // any other outcome fails.
                let mut busy = 0;
                loop {
                    match store.record(batch(&hits)).await {
                        Ok(_) => break,
                        Err(e) if busy < 10 && e.rolled_back() && format!("{e:?}").contains("DatabaseBusy") => {
                            busy += 1
                        }
                        Err(e) => panic!("record: {e:?}"),
                    }
                }
            }
            made
        }));
    }
    let mut model: Model = BTreeMap::new();
    for writer in writers {
        for (name, days) in writer.await.expect("a writer") {
            let page = model.entry(name).or_default();
            for (day, n) in days {
                *page.entry(day).or_default() += n;
            }
        }
    }
    check(&s, &ids, &model, "four writers at once").await;
}

both_stores!(concurrent_writers_roll_days_over_without_losing_or_doubling);
