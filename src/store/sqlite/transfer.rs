//! Export and import on SQLite (see `store::transfer`).
//!
//! An export reads through a connection of its own in one read transaction
//! (a snapshot, thanks to WAL), so it holds back neither writes nor the
//! server's reads. An import is one IMMEDIATE transaction on the writer
//! connection: hits that arrive meanwhile wait, and are committed after it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior};

use super::super::owner::{DaySeries, DAY_SERIES};
use super::super::packed::CallRecords;
use super::super::rules::{count_from_db, time_from_micros};
use super::super::transfer::{
    ExportFilter, ImportReport, Imported, Item, Items, Pending, Record, Records, TRANSFER_DEADLINE,
};
use super::super::{within, PathId, SiteId, StoreError, StoreFuture};
use super::SqliteStore;
use crate::sync::lock;

// CROSS JOIN fixes the loop order (sites, then their pages, then each
// page's rows), so the unique indexes and each page's index deliver rows
// already in export order: no sort of all calls.
const SITES: &str = "SELECT slug FROM sites WHERE ?1 IS NULL OR slug = ?1 ORDER BY slug";
const PAGES: &str = "SELECT s.slug, p.path, p.start_count, p.first_call, p.last_call \
     FROM sites s CROSS JOIN paths p ON p.site_id = s.id WHERE ?1 IS NULL OR s.slug = ?1 ORDER BY s.slug, p.path";
const CALLS: &str = "SELECT s.slug, p.path, c.path_id, c.slot, c.times FROM sites s CROSS JOIN paths p \
     ON p.site_id = s.id CROSS JOIN call_times c ON c.path_id = p.id WHERE ?1 IS NULL OR s.slug = ?1 \
     ORDER BY s.slug, p.path, c.slot, c.part";

/// One series' rows in export order; days it counted nothing on (a tally
/// row holds every tally series) are left out.
fn days_sql(series: &DaySeries) -> String {
    let (table, column) = (series.table, series.column);
    format!(
        "SELECT s.slug, p.path, d.day, d.{column} FROM sites s CROSS JOIN paths p ON p.site_id = s.id \
         CROSS JOIN {table} d ON d.path_id = p.id WHERE (?1 IS NULL OR s.slug = ?1) AND d.{column} <> 0 \
         ORDER BY s.slug, p.path, d.day"
    )
}

/// Sends each row of `sql` as a record; `false` once the receiver is gone.
fn send_rows(
    conn: &Connection,
    sql: &str,
    site: Option<&str>,
    records: &Records,
    mut record: impl FnMut(&rusqlite::Row<'_>) -> Result<Record, StoreError>,
) -> Result<bool, StoreError> {
    let mut statement = conn.prepare(sql)?;
    let mut rows = statement.query([site])?;
    while let Some(row) = rows.next()? {
        if records.blocking_send(record(row)?).is_err() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Sends every call in export order: a page's rows, slot by slot, each
/// slot's calls sorted.
fn send_calls(conn: &Connection, site: Option<&str>, records: &Records) -> Result<(), StoreError> {
    let mut statement = conn.prepare(CALLS)?;
    let mut rows = statement.query([site])?;
    let mut calls = CallRecords::default();
    while let Some(row) = rows.next()? {
        let site = row.get_ref(0)?.as_str().map_err(rusqlite::Error::from)?;
        let path = row.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?;
        for record in calls.push(
            row.get(2)?,
            site,
            path,
            row.get(3)?,
            row.get_ref(4)?.as_blob().map_err(rusqlite::Error::from)?,
        )? {
            if records.blocking_send(record).is_err() {
                return Ok(());
            }
        }
    }
    for record in calls.finish()? {
        if records.blocking_send(record).is_err() {
            return Ok(());
        }
    }
    Ok(())
}

fn export(file: &PathBuf, filter: &ExportFilter, records: &Records) -> Result<(), StoreError> {
    let mut conn =
        Connection::open_with_flags(file, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.busy_timeout(Duration::from_secs(1))?;
    // One read transaction: every section comes from the same snapshot.
    let tx = conn.transaction()?;
    let site = filter.site.as_deref();
    let time = |micros: Option<i64>, what: &str| micros.map(|m| time_from_micros(m, what)).transpose();
    let mut more = send_rows(&tx, SITES, site, records, |r| Ok(Record::Site { slug: r.get(0)? }))?
        && send_rows(&tx, PAGES, site, records, |r| {
            Ok(Record::Page {
                site: r.get(0)?,
                path: r.get(1)?,
                offset: count_from_db(r.get(2)?),
                first: time(r.get(3)?, "paths.first_call")?,
                last: time(r.get(4)?, "paths.last_call")?,
            })
        })?;
    for series in DAY_SERIES {
        more = more
            && send_rows(&tx, &days_sql(series), site, records, |r| {
                Ok(Record::Day {
                    site: r.get(0)?,
                    path: r.get(1)?,
                    series: series.name,
                    day: r.get(2)?,
                    count: count_from_db(r.get(3)?),
                })
            })?;
    }
    if more && filter.calls {
        send_calls(&tx, site, records)?;
    }
    Ok(())
}

/// Site and page ids met so far in an import.
#[derive(Default)]
struct Ids {
    sites: HashMap<String, SiteId>,
    pages: HashMap<(SiteId, String), PathId>,
}

impl Ids {
    fn site(&mut self, tx: &Transaction<'_>, slug: &str, report: &mut ImportReport) -> Result<SiteId, StoreError> {
        if let Some(&id) = self.sites.get(slug) {
            return Ok(id);
        }
        let found: Option<SiteId> = tx
            .query_row("SELECT id FROM sites WHERE slug = ?1", [slug], |r| r.get(0))
            .optional()?;
        let id = match found {
            Some(id) => id,
            None => {
                report.sites_added += 1;
                tx.query_row("INSERT INTO sites (slug) VALUES (?1) RETURNING id", [slug], |r| {
                    r.get(0)
                })?
            }
        };
        self.sites.insert(slug.to_owned(), id);
        Ok(id)
    }

    fn page(
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
        let found: Option<PathId> = tx
            .prepare_cached("SELECT id FROM paths WHERE site_id = ?1 AND path = ?2")?
            .query_row(params![site, path], |r| r.get(0))
            .optional()?;
        let id = match found {
            Some(id) => {
                report.pages_existing += 1;
                id
            }
            None => {
                report.pages_added += 1;
                tx.prepare_cached(concat!(
                    "INSERT INTO paths (site_id, path, registered_at) VALUES (?1, ?2, ",
                    now_micros!(),
                    ") RETURNING id"
                ))?
                .query_row(params![site, path], |r| r.get(0))?
            }
        };
        self.pages.insert(key, id);
        Ok(id)
    }
}

/// Writes what is pending.
fn write(tx: &Transaction<'_>, pending: Pending) -> Result<(), StoreError> {
    super::history::append(tx, pending.calls.iter().copied())?;
    for ((series, path, day), count) in &pending.days {
        let Some(&DaySeries { table, column, .. }) = DAY_SERIES.get(*series) else {
            return Err(StoreError::Task(format!("no day series number {series}")));
        };
        tx.prepare_cached(&format!(
            "INSERT INTO {table} (path_id, day, {column}) VALUES (?1, ?2, ?3) \
             ON CONFLICT (path_id, day) DO UPDATE SET {column} = {column} + excluded.{column}"
        ))?
        .execute(params![path, day, count])?;
    }
    let mut update = tx.prepare_cached(
        "UPDATE paths SET total = total + ?2, start_count = start_count + ?3, \
         first_call = min(coalesce(first_call, ?4), coalesce(?4, first_call)), \
         last_call = max(coalesce(last_call, ?5), coalesce(?5, last_call)) WHERE id = ?1",
    )?;
    for (path, add) in &pending.pages {
        let micros = |t: Option<jiff::Timestamp>| t.map(|t| t.as_microsecond());
        update.execute(params![
            path,
            add.total,
            add.offset,
            micros(add.first),
            micros(add.last)
        ])?;
    }
    let counted: Vec<_> = pending
        .days
        .iter()
        .filter(|((series, _, _), _)| DAY_SERIES.get(*series).is_some_and(|s| s.in_total))
        .map(|(&(_, path, day), &count)| (path, day, count))
        .collect();
    let mut pages: Vec<PathId> = counted.iter().map(|&(path, _, _)| path).collect();
    pages.dedup();
    for page in pages {
        super::site_days::changed(tx, page)?;
    }
    super::site_days::add(tx, &counted)?;
    Ok(())
}

fn import(conn: &mut Connection, mut items: Items) -> Result<Imported, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let (mut ids, mut pending, mut report) = (Ids::default(), Pending::default(), ImportReport::default());
    while let Some(item) = items.blocking_recv() {
        // Returning drops the transaction: everything rolls back.
        let item = match item {
            Ok(item) => item,
            Err(refused) => return Ok(Imported::Refused(refused)),
        };
        if let Item::Site { slug } = &item {
            ids.site(&tx, slug, &mut report)?;
            continue;
        }
        if let Some((site, path)) = item.page() {
            let site = ids.site(&tx, site, &mut report)?;
            let id = ids.page(&tx, site, path.as_str(), &mut report)?;
            pending.add(&item, id, &mut report);
        }
        if pending.is_full() {
            write(&tx, pending.take())?;
        }
    }
    write(&tx, pending.take())?;
    tx.commit()?;
    Ok(Imported::Done(report))
}

impl SqliteStore {
    pub(super) fn export_now(&self, filter: ExportFilter, records: Records) -> StoreFuture<'_, ()> {
        let file = lock(&self.reader).path().map(PathBuf::from);
        Box::pin(within(TRANSFER_DEADLINE, async move {
            let file = file.ok_or_else(|| StoreError::Task("the SQLite store has no file to export from".into()))?;
            tokio::task::spawn_blocking(move || export(&file, &filter, &records))
                .await
                .map_err(|e| StoreError::Task(e.to_string()))?
        }))
    }

    pub(super) fn import_now(&self, items: Items) -> StoreFuture<'_, Imported> {
        Box::pin(within(
            TRANSFER_DEADLINE,
            Self::with(&self.writer, move |conn| import(conn, items)),
        ))
    }
}
