//! Export and import on PostgreSQL (see `store::transfer`).
//!
//! An export is one REPEATABLE READ, READ ONLY transaction (a snapshot)
//! whose rows are fetched through portals a thousand at a time, so memory
//! stays flat however many calls there are. An import is one transaction
//! that writes summed-up items a few thousand at a time with array
//! statements; the pages it adds to are locked until it commits.

use std::collections::HashMap;
use std::time::SystemTime;

use deadpool_postgres::Transaction;
use tokio_postgres::types::ToSql;
use tokio_postgres::{IsolationLevel, Row};

use super::super::owner::{DaySeries, DAY_SERIES};
use super::super::packed::CallRecords;
use super::super::rules::{count_from_db, time_from_system};
use super::super::transfer::{
    ExportFilter, ImportReport, Imported, Item, Items, Pending, Record, Records, TRANSFER_DEADLINE,
};
use super::super::{within, PathId, SiteId, StoreError, StoreFuture};
use super::batch::LOCK_PATHS;
use super::{history, open_days, set_local_statement_timeout, site_days, PostgresStore};

/// Rows fetched per round trip of an export.
const FETCH: i32 = 1000;

// `COLLATE "C"`: text in byte order, whatever the database's locale, so
// exports of both backends list things in the same order.
const SITES: &str = r#"SELECT slug FROM sites WHERE $1::text IS NULL OR slug = $1 ORDER BY slug COLLATE "C""#;
const PAGES: &str = r#"SELECT s.slug, p.path, p.start_count, p.first_call, p.last_call
     FROM paths p JOIN sites s ON s.id = p.site_id WHERE $1::text IS NULL OR s.slug = $1
     ORDER BY s.slug COLLATE "C", p.path COLLATE "C""#;
const CALLS: &str = r#"SELECT s.slug, p.path, c.path_id, c.slot, c.times FROM call_rows c
     JOIN paths p ON p.id = c.path_id JOIN sites s ON s.id = p.site_id WHERE $1::text IS NULL OR s.slug = $1
     ORDER BY s.slug COLLATE "C", p.path COLLATE "C", c.slot, c.part"#;

/// One series' rows in export order; days it counted nothing on (a tally
/// row holds every tally series) are left out.
fn days_sql(series: &DaySeries) -> String {
    let (table, column) = (open_days::source(series), series.column);
    format!(
        r#"SELECT s.slug, p.path, d.day - DATE '1970-01-01', d.{column} FROM {table} d
         JOIN paths p ON p.id = d.path_id JOIN sites s ON s.id = p.site_id
         WHERE ($1::text IS NULL OR s.slug = $1) AND d.{column} <> 0
         ORDER BY s.slug COLLATE "C", p.path COLLATE "C", d.day"#
    )
}

/// Sends each row of `sql` as a record; `false` once the receiver is gone.
async fn send_rows(
    tx: &Transaction<'_>,
    sql: &str,
    site: Option<&str>,
    records: &Records,
    record: impl Fn(&Row) -> Result<Record, StoreError>,
) -> Result<bool, StoreError> {
    let portal = tx.bind(sql, &[&site]).await?;
    loop {
        let rows = tx.query_portal(&portal, FETCH).await?;
        if rows.is_empty() {
            return Ok(true);
        }
        for row in &rows {
            if records.send(record(row)?).await.is_err() {
                return Ok(false);
            }
        }
    }
}

/// Sends every call in export order: a page's rows, slot by slot, each
/// slot's calls sorted.
async fn send_calls(tx: &Transaction<'_>, site: Option<&str>, records: &Records) -> Result<(), StoreError> {
    let portal = tx.bind(CALLS, &[&site]).await?;
    let mut calls = CallRecords::default();
    loop {
        let rows = tx.query_portal(&portal, FETCH).await?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            let done = calls.push(
                row.try_get(2)?,
                row.try_get(0)?,
                row.try_get(1)?,
                row.try_get(3)?,
                row.try_get(4)?,
            )?;
            for record in done {
                if records.send(record).await.is_err() {
                    return Ok(());
                }
            }
        }
    }
    for record in calls.finish()? {
        if records.send(record).await.is_err() {
            return Ok(());
        }
    }
    Ok(())
}

fn time(stored: Option<SystemTime>, what: &str) -> Result<Option<jiff::Timestamp>, StoreError> {
    stored.map(|t| time_from_system(t, what)).transpose()
}

/// Site and page ids met so far in an import.
#[derive(Default)]
struct Ids {
    sites: HashMap<String, SiteId>,
    pages: HashMap<(SiteId, String), PathId>,
}

impl Ids {
    async fn site(
        &mut self,
        tx: &Transaction<'_>,
        slug: &str,
        report: &mut ImportReport,
    ) -> Result<SiteId, StoreError> {
        if let Some(&id) = self.sites.get(slug) {
            return Ok(id);
        }
        let id = match tx.query_opt("SELECT id FROM sites WHERE slug = $1", &[&slug]).await? {
            Some(row) => row.try_get(0)?,
            None => {
                report.sites_added += 1;
                // Another process may add it at the same moment: take its id then.
                tx.query_one(
                    "INSERT INTO sites (slug) VALUES ($1) ON CONFLICT (slug) DO UPDATE SET slug = excluded.slug RETURNING id",
                    &[&slug],
                )
                .await?
                .try_get(0)?
            }
        };
        self.sites.insert(slug.to_owned(), id);
        Ok(id)
    }

    async fn page(
        &mut self,
        tx: &Transaction<'_>,
        site: SiteId,
        path: &str,
        report: &mut ImportReport,
    ) -> Result<PathId, StoreError> {
        let key = (site, path.to_owned());
        if let Some(&id) = self.pages.get(&key) {
            return Ok(id);
        }
        let found = tx
            .query_opt("SELECT id FROM paths WHERE site_id = $1 AND path = $2", &[&site, &path])
            .await?;
        let id = match found {
            Some(row) => {
                report.pages_existing += 1;
                row.try_get(0)?
            }
            None => {
                report.pages_added += 1;
                tx.query_one(super::REGISTER_PATH, &[&site, &path]).await?.try_get(0)?
            }
        };
        self.pages.insert(key, id);
        Ok(id)
    }
}

/// Writes what is pending in a few array statements, its pages locked
/// first, in id order, as a batch locks them (see `batch::LOCK_PATHS`).
/// Within one write that is the batches' order; an import of several
/// writes can still meet a batch in a cycle across them, which PostgreSQL
/// ends by failing one of the two, changing nothing.
async fn write(tx: &Transaction<'_>, pending: Pending) -> Result<(), StoreError> {
    let mut pages: Vec<PathId> = pending
        .calls
        .iter()
        .map(|&(page, _)| page)
        .chain(pending.days.keys().map(|&(_, page, _)| page))
        .chain(pending.pages.keys().copied())
        .collect();
    pages.sort_unstable();
    pages.dedup();
    tx.execute(LOCK_PATHS, &[&pages]).await?;
    open_days::fold(tx, &pages).await?;
    history::append(tx, pending.calls.iter().copied()).await?;
    let mut counted = (Vec::new(), Vec::new(), Vec::new());
    for (index, series) in DAY_SERIES.iter().enumerate() {
        let rows: Vec<_> = pending.days.iter().filter(|((s, _, _), _)| *s == index).collect();
        let paths: Vec<PathId> = rows.iter().map(|((_, p, _), _)| *p).collect();
        let days: Vec<i32> = rows.iter().map(|((_, _, d), _)| *d).collect();
        let counts: Vec<i64> = rows.iter().map(|(_, n)| **n).collect();
        if rows.is_empty() {
            continue;
        }
        let (table, column) = (series.table, series.column);
        let sql = format!(
            "INSERT INTO {table} (path_id, day, {column}) \
             SELECT p, DATE '1970-01-01' + d, n FROM unnest($1::bigint[], $2::int[], $3::bigint[]) AS t(p, d, n) \
             ON CONFLICT (path_id, day) DO UPDATE SET {column} = {table}.{column} + excluded.{column}"
        );
        tx.execute(&sql, &[&paths, &days, &counts]).await?;
        if series.in_total {
            counted = (paths, days, counts);
        }
    }
    let ids: Vec<PathId> = pending.pages.keys().copied().collect();
    let totals: Vec<i64> = pending.pages.values().map(|a| a.total).collect();
    let starts: Vec<i64> = pending.pages.values().map(|a| a.offset).collect();
    let firsts: Vec<Option<SystemTime>> = pending.pages.values().map(|a| a.first.map(SystemTime::from)).collect();
    let lasts: Vec<Option<SystemTime>> = pending.pages.values().map(|a| a.last.map(SystemTime::from)).collect();
    let params: [&(dyn ToSql + Sync); 5] = [&ids, &totals, &starts, &firsts, &lasts];
    tx.execute(
        "UPDATE paths SET total = paths.total + t.total, start_count = paths.start_count + t.start, \
         first_call = LEAST(paths.first_call, t.first), last_call = GREATEST(paths.last_call, t.last) \
         FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::timestamptz[], $5::timestamptz[]) \
         AS t(id, total, start, first, last) WHERE paths.id = t.id",
        &params,
    )
    .await?;
    open_days::seal(tx, &pages).await?;
    // The sites' days last (see `site_days`), from the counted series.
    site_days::changed(tx, &counted.0).await?;
    site_days::add(tx, &counted.0, &counted.1, &counted.2).await?;
    Ok(())
}

impl PostgresStore {
    async fn export_now(&self, filter: ExportFilter, records: Records) -> Result<(), StoreError> {
        let mut client = self.connections.checkout().await?;
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        set_local_statement_timeout(&tx, TRANSFER_DEADLINE).await?;
        let site = filter.site.as_deref();
        let mut more = send_rows(&tx, SITES, site, &records, |r| Ok(Record::Site { slug: r.try_get(0)? })).await?
            && send_rows(&tx, PAGES, site, &records, |r| {
                Ok(Record::Page {
                    site: r.try_get(0)?,
                    path: r.try_get(1)?,
                    offset: count_from_db(r.try_get(2)?),
                    first: time(r.try_get(3)?, "paths.first_call")?,
                    last: time(r.try_get(4)?, "paths.last_call")?,
                })
            })
            .await?;
        for series in DAY_SERIES {
            more = more
                && send_rows(&tx, &days_sql(series), site, &records, |r| {
                    Ok(Record::Day {
                        site: r.try_get(0)?,
                        path: r.try_get(1)?,
                        series: series.name,
                        day: r.try_get(2)?,
                        count: count_from_db(r.try_get(3)?),
                    })
                })
                .await?;
        }
        if more && filter.calls {
            send_calls(&tx, site, &records).await?;
        }
        tx.commit().await?;
        client.release();
        Ok(())
    }

    async fn import_now(&self, mut items: Items) -> Result<Imported, StoreError> {
        let mut client = self.connections.checkout().await?;
        let tx = client.transaction().await?;
        set_local_statement_timeout(&tx, TRANSFER_DEADLINE).await?;
        let (mut ids, mut pending, mut report) = (Ids::default(), Pending::default(), ImportReport::default());
        while let Some(item) = items.recv().await {
            // Returning drops the transaction: everything rolls back.
            let item = match item {
                Ok(item) => item,
                Err(refused) => return Ok(Imported::Refused(refused)),
            };
            if let Item::Site { slug } = &item {
                ids.site(&tx, slug, &mut report).await?;
                continue;
            }
            if let Some((site, path)) = item.page() {
                let site = ids.site(&tx, site, &mut report).await?;
                let id = ids.page(&tx, site, path.as_str(), &mut report).await?;
                pending.add(&item, id, &mut report);
            }
            if pending.is_full() {
                write(&tx, pending.take()).await?;
            }
        }
        write(&tx, pending.take()).await?;
        tx.commit().await?;
        client.release();
        Ok(Imported::Done(report))
    }

    pub(super) fn export_within(&self, filter: ExportFilter, records: Records) -> StoreFuture<'_, ()> {
        Box::pin(within(TRANSFER_DEADLINE, self.export_now(filter, records)))
    }

    pub(super) fn import_within(&self, items: Items) -> StoreFuture<'_, Imported> {
        Box::pin(within(TRANSFER_DEADLINE, self.import_now(items)))
    }
}
