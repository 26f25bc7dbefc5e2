//! The PostgreSQL store's batch of hits: one transaction in one round trip
//! (most often a single statement) that marks the batch's id, locks its
//! pages, appends its call history and adds its counts, tallies, clicks and
//! labels; and what a failed batch means. A method of `PostgresStore` and
//! the statements that digests and imports share; holds no state of its own.

use std::sync::LazyLock;
use std::time::SystemTime;

use tokio_postgres::types::ToSql;

use super::super::packed::pack_hits;
use super::super::rules::sum_batch;
use super::super::{Batch, Committed, PathId, PgError, Recorded, StoreError};
use super::pool::Checkout;
use super::{digests, dimensions, links, open_days, open_runs, site_days, tallies, PostgresStore};
use crate::zone::DayNumber;

pub(super) const MARK_BATCH: &str = "WITH settled AS (DELETE FROM recorded_batches WHERE id = ANY($2::bigint[])) \
     INSERT INTO recorded_batches (id) VALUES ($1)";
/// Whether a batch id is recorded (see `batch_failed`).
const BATCH_RECORDED: &str = "SELECT EXISTS (SELECT 1 FROM recorded_batches WHERE id = $1)";
/// Locks the batch's `paths` rows in id order, first of its rows after the
/// digests: every batch then takes each kind of row lock (digests, pages,
/// tallies, ..., call history, per-day counts, site days) in one global
/// key order, so concurrent batches from several replicas wait for each
/// other but cannot deadlock. Pages first because the owner's changes
/// (removal, merge, import) lock their pages first too: a batch meeting one
/// waits before it holds any row of the page, instead of holding its
/// per-day count while the change waits for that.
pub(super) const LOCK_PATHS: &str = "SELECT 1 FROM paths WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE";
/// Writes the batch, the last statement before its commit, and for most
/// batches the only one:
/// - `settled`, `marked`: when `$19`, [`MARK_BATCH`]'s work (id `$17`,
///   settled ids `$18`); not when digests were claimed, which marked it.
///   The id's rows conflict with nothing but an earlier attempt of the
///   same batch, so marking it last changes no lock order, and its
///   conflict is still the batch's error;
/// - `updated`: the batch's calls to its pages' totals (`$9`..`$12`),
///   open days (`open_days::ROLL`: each page's latest day in the batch and
///   its calls that day, `$20`, `$21`) and open runs (`open_runs::ROLL`:
///   each page's last run of call times, `$6`..`$8`), and with them [`LOCK_PATHS`]'s
///   work: every other part reads it first (a
///   one-time filter), so the pages are locked before any other row,
///   whatever order PostgreSQL runs the parts in. It locks them in id
///   order too: `$9` is sorted (`rules::sum_batch`), and the only joins a
///   batch's session may plan are nested loops (`BATCH_OPTIONS`), which
///   take the pages either in the order of `$9` or by their primary key.
///   The update's own row lock is the one [`LOCK_PATHS`] takes (an update
///   that changes no key takes `FOR NO KEY UPDATE`), so a separate lock
///   would only cost each page one more index lookup and a lock record in
///   the WAL (measured: new visitors 1.08–1.13× without it). A batch that
///   adds tallies, clicks or labels (statements of their own, before this)
///   locks its pages, and those its labels name, with [`LOCK_PATHS`]
///   before those; here they are its own already;
/// - `appended`: the call history that does not go to the pages' rows
///   (`open_runs::insert_rows`: the batch's other runs `$1`..`$5`, the runs
///   `updated` rolled out, last runs of removed pages); for most batches
///   nothing;
/// - `milestones`: from the rows updated, one `milestone` event per (page,
///   milestone in `$13`) the batch crossed. The old total is the new one
///   minus the batch's calls, so a batch jumping past several milestones
///   fires each once;
/// - `daily`: what goes to `daily_counts`, grouped by (page, day) and in
///   that order: the pages' earlier days in the batch (`$14`..`$16`, a
///   batch across midnight), latest days their row did not keep (late
///   hits, closed days), the days the rows closed, and the latest days of
///   pages without a `paths` row (late hits of a removed page, looked up
///   only when `updated` has fewer rows than the batch has pages). For most
///   batches that is nothing;
/// - `days`: every per-day count of the batch to its pages' sites' days
///   (`site_days::ADD_BATCH`): one row lock per (site, day).
///   The latest days take their page's site from `updated` (measured: the
///   batch's PostgreSQL CPU 0.94× without a second lookup of each page).
///
/// The site's days first read `daily` (a one-time filter), so
/// PostgreSQL writes every per-day row before it locks any `site_days` row:
/// those stay the last rows a batch locks (see `site_days`). A page without
/// a `paths` row has no site, and its per-day rows reach none. One
/// statement for what took six saves five of the batch's messages, each
/// an executor start and a reply; and a batch that is this statement alone
/// needs no `BEGIN` and `COMMIT` (see `record_now`).
static WRITE_HITS: LazyLock<String> = LazyLock::new(|| {
    const AFTER_PAGES: &str = "(SELECT count(*) FROM updated) >= 0";
    // Page `t.id` of the batch has no `paths` row (removed while the batch
    // waited): looked up only when `updated` has fewer rows than the batch
    // has pages.
    const NOT_UPDATED: &str = "(SELECT count(*) FROM updated) < cardinality($9::bigint[]) \
         AND NOT EXISTS (SELECT 1 FROM updated u WHERE u.id = t.id)";
    format!(
        "WITH settled AS (DELETE FROM recorded_batches WHERE $19::boolean AND id = ANY($18::bigint[])), \
         marked AS (INSERT INTO recorded_batches (id) SELECT $17::bigint WHERE $19), \
         updated AS (UPDATE paths SET total = paths.total + t.n, \
         first_call = LEAST(paths.first_call, t.first), last_call = GREATEST(paths.last_call, t.last), \
         {}, {} \
         FROM unnest($9::bigint[], $10::bigint[], $11::timestamptz[], $12::timestamptz[], $20::int[], $21::bigint[], \
         $6::bigint[], $7::int[], $8::bytea[]) AS t(id, n, first, last, d, dn, s, rn, b) \
         WHERE paths.id = t.id \
         RETURNING paths.id, paths.site_id, paths.path, paths.total + paths.start_count AS total, t.n, t.d, t.dn, \
         {} AS kept, paths.rolled_day, paths.rolled_count, {}), \
         appended AS ({}), \
         milestones AS (INSERT INTO events (site_id, kind, data) \
         SELECT u.site_id, 'milestone', json_build_object('path', u.path, 'milestone', ms.m, 'total', u.total)::text \
         FROM updated u CROSS JOIN unnest($13::bigint[]) AS ms(m) \
         WHERE u.total - u.n < ms.m AND u.total >= ms.m ORDER BY u.id, ms.m), \
         daily AS (INSERT INTO daily_counts AS c (path_id, day, count) \
         SELECT p, DATE '1970-01-01' + d, sum(n)::bigint FROM ( \
         SELECT * FROM unnest($14::bigint[], $15::int[], $16::bigint[]) \
         UNION ALL SELECT id, d, dn FROM updated WHERE NOT kept \
         UNION ALL SELECT id, rolled_day - DATE '1970-01-01', rolled_count FROM updated WHERE rolled_count IS NOT NULL \
         UNION ALL SELECT t.id, t.d, t.dn FROM unnest($9::bigint[], $20::int[], $21::bigint[]) AS t(id, d, dn) \
         WHERE {NOT_UPDATED}) AS x(p, d, n) \
         WHERE {AFTER_PAGES} GROUP BY 1, 2 ORDER BY 1, 2 \
         ON CONFLICT (path_id, day) DO UPDATE SET count = c.count + excluded.count RETURNING 1), \
         days AS ({}) \
         SELECT 1",
        *open_days::ROLL,
        *open_runs::ROLL,
        open_days::KEPT,
        open_runs::ROLLED,
        open_runs::insert_rows(AFTER_PAGES, NOT_UPDATED),
        site_days::ADD_BATCH
    )
});
/// The planner settings of the sessions batches run in (see
/// `pool::Connections::checkout_for_batch`). A batch touches a few rows of
/// `paths` and `daily_counts` by key; left alone, the planner joins the
/// small unnest input against a full scan of `paths` (its row estimate for
/// unnest is generic), which makes every commit O(paths). Index lookups
/// are O(batch), and they are all a batch needs, so it gets no other plan:
/// no hash or merge join, no sequential or bitmap scan. With only those
/// left, each statement's generic plan is as good as one made for its
/// arguments, so every statement runs its prepared plan, planned once per
/// connection: left to choose, PostgreSQL planned the batch id's mark
/// afresh for every batch (measured: 4% of its CPU per new visitor), and
/// once ran the pages' lock with a generic plan that took 0.2 ms a batch at 1,000
/// pages, four times its index plan. Set once per session, not per batch:
/// five `SET LOCAL`s cost each batch about 0.03 ms of a 1 ms commit.
pub(super) const BATCH_OPTIONS: &str = "-c enable_hashjoin=off -c enable_mergejoin=off -c enable_seqscan=off \
     -c enable_bitmapscan=off -c plan_cache_mode=force_generic_plan";

impl PostgresStore {
    pub(super) async fn record_now(&self, batch: Batch<'_>) -> Result<Recorded, StoreError> {
        let client = self.connections.checkout_for_batch().await?;
        // With shared dedup the transaction begins by claiming the batch's
        // digests (one round trip more): only hits whose digest is new count.
        let claimed = match digests::claim(&client, &batch).await {
            Ok(claimed) => claimed,
            // No COMMIT was sent: `batch_failed` ends the transaction.
            Err(e) => return batch_failed(client, e, batch.id, true).await.map(Recorded::from),
        };
        let begun = claimed.is_some();
        let hits = claimed.as_ref().map_or(batch.hits, |c| &c.hits);
        let sums = sum_batch(hits);
        let runs = open_runs::BatchRuns::of(pack_hits(hits));
        // Each page's latest day goes with its total; its earlier days
        // (a batch across midnight, late hits) go to `daily_counts`.
        let (latest, earlier) = sums.latest_days();
        let (latest_days, latest_counts): (Vec<DayNumber>, Vec<i64>) = latest.into_iter().unzip();
        let (day_paths, days, day_counts) = earlier.iter().fold(
            (Vec::new(), Vec::new(), Vec::new()),
            |(mut p, mut d, mut n), &(path, day, count)| {
                p.push(path);
                d.push(day);
                n.push(count);
                (p, d, n)
            },
        );
        let total_paths: Vec<PathId> = sums.per_path.iter().map(|s| s.path).collect();
        let totals: Vec<i64> = sums.per_path.iter().map(|s| s.calls).collect();
        let firsts: Vec<SystemTime> = sums.per_path.iter().map(|s| SystemTime::from(s.first)).collect();
        let lasts: Vec<SystemTime> = sums.per_path.iter().map(|s| SystemTime::from(s.last)).collect();
        let tally = tallies::Columns::of(batch.tallies);
        let clicks = links::Columns::of(claimed.as_ref().map_or(batch.clicks, |c| &c.clicks));
        let dims = dimensions::Columns::of(batch.dimensions);

        let prepared = tokio::try_join!(
            client.prepare_cached(LOCK_PATHS),
            client.prepare_cached(tallies::ADD),
            client.prepare_cached(links::UPSERT_LINKS),
            client.prepare_cached(links::ADD_DAYS),
            client.prepare_cached(dimensions::ADD_AGENTS),
            client.prepare_cached(dimensions::ADD_BOUNDED),
            client.prepare_cached(&WRITE_HITS),
        );
        let (lock, add, upsert_links, link_days, add_agents, add_bounded, write_hits) = match prepared {
            Ok(statements) => statements,
            Err(e) => return batch_failed(client, e, batch.id, begun).await.map(Recorded::from),
        };
        // Pages whose label sums the batch adds without hits of its own are
        // locked too. Removing or merging a page locks its `paths` row
        // first, so such a batch goes either before the change, which then
        // takes the rows along, or after it, and then finds no site to add
        // to (its rows are late rows, swept later): never in between, where
        // the site would keep sums its pages no longer have.
        let with_labels: Vec<PathId> = if batch.dimensions.rows.is_empty() {
            Vec::new()
        } else {
            let mut paths = total_paths.clone();
            paths.extend(batch.dimensions.rows.iter().map(|row| row.path));
            paths.sort_unstable();
            paths.dedup();
            paths
        };
        let locked_paths = if with_labels.is_empty() {
            &total_paths
        } else {
            &with_labels
        };
        // Tallies, clicks and labels (rare) go in statements of their own,
        // after the pages are locked by one before them.
        let extras = !tally.paths.is_empty() || !clicks.is_empty() || !batch.dimensions.rows.is_empty();
        // Begun and marked already when digests were claimed.
        let mark = !begun;
        let lock_params: [&(dyn ToSql + Sync); 1] = [locked_paths];
        let [p1, p2, p3, p4, p5, p6, p7, p8] = runs.params();
        let write_params: [&(dyn ToSql + Sync); 22] = [
            p1,
            p2,
            p3,
            p4,
            p5,
            p6,
            p7,
            p8,
            &total_paths,
            &totals,
            &firsts,
            &lasts,
            &batch.milestones,
            &day_paths,
            &days,
            &day_counts,
            &batch.id,
            &batch.settled,
            &mark,
            &latest_days,
            &latest_counts,
            runs.last_pieces(),
        ];
        let [proxied, bot, prefetch, ignored, foreign_embed] = &tally.series;
        let tally_params: [&(dyn ToSql + Sync); 7] = [
            &tally.paths,
            &tally.days,
            proxied,
            bot,
            prefetch,
            ignored,
            foreign_embed,
        ];
        // Most batches carry no tallies: they send no statement for them.
        let add_tallies = async {
            if tally.paths.is_empty() {
                Ok(0)
            } else {
                client.execute(&add, &tally_params).await
            }
        };
        let link_params: [&(dyn ToSql + Sync); 7] = [
            &clicks.sites,
            &clicks.links,
            &clicks.names,
            &clicks.hosts,
            &clicks.totals,
            &clicks.firsts,
            &clicks.lasts,
        ];
        let link_day_params: [&(dyn ToSql + Sync); 4] =
            [&clicks.day_sites, &clicks.day_links, &clicks.days, &clicks.counts];
        // Two futures, each sent when first polled: links before their
        // days, which find them by key. Most batches have no clicks.
        let add_links = async {
            if clicks.is_empty() {
                Ok(0)
            } else {
                client.execute(&upsert_links, &link_params).await
            }
        };
        let add_link_days = async {
            if clicks.is_empty() {
                Ok(0)
            } else {
                client.execute(&link_days, &link_day_params).await
            }
        };
        // The whole transaction goes out in one round trip: tokio-postgres
        // sends each request when first polled, and a biased try_join polls
        // them in order, every time. If a statement fails, PostgreSQL
        // rejects the rest and turns the COMMIT into a rollback, and the
        // first error comes back here: an unbiased try_join starts each poll
        // at another future, and could return a later statement's "current
        // transaction is aborted" instead of the batch id's conflict.
        // A batch of hits alone is one statement, and one statement is a
        // transaction of its own: PostgreSQL commits it at the statement's
        // Sync, before the ReadyForQuery that ends its rows, so `query`
        // returns only once it is committed, and a failed commit is the
        // statement's error. Without `BEGIN` and `COMMIT` such a batch has
        // one reply instead of three (measured: 1.07x new visitors).
        let explicit = begun || extras;
        let begin = async {
            if explicit && !begun {
                client.simple_query("BEGIN").await?;
            }
            Ok(())
        };
        let commit = async {
            if explicit {
                client.simple_query("COMMIT").await?;
            }
            Ok(())
        };
        let lock_pages = async {
            if extras && !locked_paths.is_empty() {
                client.execute(&lock, &lock_params).await
            } else {
                Ok(0)
            }
        };
        // Last: the site's days are the last row locks of the transaction
        // (see `site_days`).
        let write = client.execute(&write_hits, &write_params);
        let outcome = tokio::try_join!(
            biased;
            begin,
            lock_pages,
            add_tallies,
            add_links,
            add_link_days,
            dims.add_agents(&client, &add_agents),
            dims.add_bounded(&client, &add_bounded),
            write,
            commit,
        );
        match outcome {
            Ok(_) => {
                client.release();
                Ok(Recorded {
                    committed: Committed::Now,
                    uncounted: claimed.map(|c| c.uncounted).unwrap_or_default(),
                })
            }
            Err(e) => batch_failed(client, e, batch.id, explicit).await.map(Recorded::from),
        }
    }
}

/// What a batch's failed statement means: its id is taken (an earlier
/// attempt of this batch committed), or the batch failed. A batch that
/// failed drops its connection, which closes it (see `Checkout`) and so
/// ends any transaction the batch left open. Only an error about the id
/// keeps the connection: when a transaction may be `open` (begun
/// explicitly), it is ended first, and the connection goes back to the
/// pool outside any transaction; a batch sent as its one statement ended
/// with it. The error seen is meant to be the first failing statement's,
/// but now and then a later statement's "current transaction is aborted"
/// (25P02) comes back first (seen in tests, about one replayed batch in
/// two; the cause is not found). Then the batch's id row, asked after the
/// rollback, can only be an earlier attempt's: the batch committed earlier
/// exactly when it is there.
async fn batch_failed(
    client: Checkout,
    e: tokio_postgres::Error,
    id: i64,
    open: bool,
) -> Result<Committed, StoreError> {
    let error = PgError(e);
    let taken = error.code() == Some("23505") && error.constraint() == Some("recorded_batches_pkey");
    let aborted = error.code() == Some("25P02");
    if !(taken || aborted) || (open && client.simple_query("ROLLBACK").await.is_err()) {
        return Err(StoreError::Postgres(error));
    }
    let earlier = taken
        || match client.query_one(BATCH_RECORDED, &[&id]).await {
            Ok(row) => row.try_get::<_, bool>(0).unwrap_or(false),
            Err(_) => false,
        };
    if earlier {
        client.release();
        Ok(Committed::Earlier)
    } else {
        Err(StoreError::Postgres(error))
    }
}
