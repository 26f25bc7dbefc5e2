//! The JSON API for scripts and `curl`, and the chart as SVG. Reads only;
//! served from per-path totals and per-day counts (raw calls only for the
//! paged history and hour buckets, through the calls index), so cost follows
//! paths or days, never the number of calls.

use hyper::header::{HeaderName, HeaderValue, LINK};
use jiff::Timestamp;
use serde::Serialize;

use super::error::HttpError;
use super::response::{json, svg, HttpResponse};
use super::{page_query, SiteRoute, PLOT_PARAMS};
use crate::count::path::PagePath;
use crate::read::buckets::{group_days, group_hours};
use crate::read::overview::site_days;
use crate::read::query::{parse, Accepts, Bucket, DayRange, QueryError, ReadParams};
use crate::read::series::{daily_series, earliest, earliest_day, latest, page_counts};
use crate::read::tallies::Filtered;
use crate::state::AppState;
use crate::store::PathId;
use crate::zone::{date_of_day, day_bounds, day_number, Zone};

/// Says that raw calls before this time were deleted by retention, on
/// answers read from raw calls whose range reaches back before it.
const CALLS_DELETED_BEFORE: HeaderName = HeaderName::from_static("footfall-calls-deleted-before");

/// Adds [`CALLS_DELETED_BEFORE`] when the raw calls read from `from` on are
/// not all there any more (per-day counts, and so `bucket=day`, still are).
fn note_deleted_calls(response: &mut HttpResponse, state: &AppState, zone: &Zone, from: Timestamp) {
    if let Some(since) = state.calls_kept.since().filter(|since| from < *since) {
        if let Ok(value) = HeaderValue::from_str(&zone.rfc3339(since)) {
            response.headers_mut().insert(CALLS_DELETED_BEFORE, value);
        }
    }
}

/// The most timestamps in one history response; page on with `after`.
pub const MAX_HISTORY_ITEMS: usize = 10_000;
/// The widest range `bucket=hour` serves (it reads raw calls).
pub const MAX_HOUR_BUCKET_DAYS: i64 = 31;

const COUNTS: Accepts = Accepts {
    names: &["from", "to", "days", "limit"],
    max_limit: 1_000_000,
};
const COUNT: Accepts = Accepts {
    names: &["from", "to", "days"],
    max_limit: 1,
};
const HISTORY: Accepts = Accepts {
    names: &["from", "to", "days", "limit", "after", "bucket"],
    max_limit: MAX_HISTORY_ITEMS,
};

/// `GET /api/counts`: `[{"path", "count"}]`, count descending, then path.
pub async fn counts(state: &AppState, at: &SiteRoute<'_>, query: Option<&str>) -> Result<HttpResponse, HttpError> {
    let params = parse(query, COUNTS, state.today(at.site))?;
    let mut counts = page_counts(&state.reads, at.site, params.range, state.today_number(at.site)).await?;
    if let Some(limit) = params.limit {
        counts.truncate(limit);
    }
    json(&counts)
}

#[derive(Serialize)]
struct SiteReport<'a> {
    site: &'a str,
    tracked_base_url: Option<&'a str>,
    pages: usize,
    count: u64,
}

/// `GET /api/sites`: every configured site `token` may read (without one,
/// the public sites) with its pages and total count, by slug.
pub async fn sites(state: &AppState, token: Option<&str>) -> Result<HttpResponse, HttpError> {
    let mut reports = Vec::with_capacity(state.sites.len());
    for site in state.sites.iter().filter(|s| state.tokens.may_read(&s.config, token)) {
        let counts = page_counts(&state.reads, site, DayRange::default(), state.today_number(site)).await?;
        reports.push(SiteReport {
            site: &site.config.slug,
            tracked_base_url: site.config.tracked_base_url.as_ref().map(reqwest::Url::as_str),
            pages: counts.len(),
            count: counts.iter().map(|c| c.count).sum(),
        });
    }
    json(&reports)
}

#[derive(Serialize)]
struct PathReport {
    path: String,
    count: u64,
    first: Option<String>,
    last: Option<String>,
    proxied: u64,
    filtered: Filtered,
}

/// `GET /api/counts/{path}`: `{"path", "count", "first", "last", "proxied",
/// "filtered"}`, all over the range.
pub async fn count_of(
    state: &AppState,
    at: &SiteRoute<'_>,
    tail: &str,
    query: Option<&str>,
) -> Result<HttpResponse, HttpError> {
    let (path, id, params) = page_query(state, at, tail, query, COUNT)?;
    let zone = &at.site.config.zone;
    let mut reaches_back = None;
    let (count, first_and_last) = if params.range.is_bounded() {
        let (from, to) = day_bounds(
            params.range.from,
            params.range.to,
            earliest_day(),
            state.today_number(at.site),
        );
        let daily = state.reads.daily(id).await?;
        let count = daily
            .iter()
            .filter(|(d, _)| (from..=to).contains(d))
            .map(|(_, n)| n)
            .sum();
        let (start, end) = (zone.start_of(date_of_day(from)), zone.start_of(date_of_day(to + 1)));
        reaches_back = Some(start);
        (count, state.reads.first_and_last(id, start, end).await?)
    } else {
        let summary = state.reads.summary(id).await?;
        (summary.total, summary.first.zip(summary.last))
    };
    let tallies = state.reads.path_tallies(id, params.range).await?;
    let mut response = json(&PathReport {
        path: path.to_string(),
        count,
        first: first_and_last.map(|(f, _)| zone.rfc3339(f)),
        last: first_and_last.map(|(_, l)| zone.rfc3339(l)),
        proxied: tallies.proxied,
        filtered: Filtered::from(&tallies),
    })?;
    if let Some(start) = reaches_back {
        // `first` and `last` in a range come from raw calls.
        note_deleted_calls(&mut response, state, zone, start);
    }
    Ok(response)
}

#[derive(Serialize)]
struct BucketCount {
    start: String,
    count: u64,
}

const SITE_HISTORY: Accepts = Accepts {
    names: &["from", "to", "days", "bucket"],
    max_limit: 1,
};

/// `GET /api/history` (no path): the calls of all the site's pages per
/// `bucket` (day, week or month; day by default), zero-filled, over the
/// range (by default from the site's first day with calls to today).
pub async fn site_history(
    state: &AppState,
    at: &SiteRoute<'_>,
    query: Option<&str>,
) -> Result<HttpResponse, HttpError> {
    state.availability.check_ready()?;
    let params = parse(query, SITE_HISTORY, state.today(at.site))?;
    let bucket = match params.bucket {
        None => Bucket::Day,
        Some(Bucket::Hour) => {
            return Err(HttpError::BadParameter(QueryError {
                name: "bucket".into(),
                message: "hour buckets are per page: use /api/history/{path}?bucket=hour".into(),
            }))
        }
        Some(bucket) => bucket,
    };
    let zone = &at.site.config.zone;
    let site = site_days(&state.reads, at.site, params.range, state.today_number(at.site), false).await?;
    json(
        &group_days(&site.days, bucket)
            .into_iter()
            .map(|(date, count)| BucketCount {
                start: zone.rfc3339(zone.start_of(date)),
                count,
            })
            .collect::<Vec<_>>(),
    )
}

/// `GET /api/history/{path}`: call times (paged), or `?bucket=` counts.
pub async fn history(
    state: &AppState,
    at: &SiteRoute<'_>,
    tail: &str,
    query: Option<&str>,
) -> Result<HttpResponse, HttpError> {
    let (path, id, params) = page_query(state, at, tail, query, HISTORY)?;
    let zone = &at.site.config.zone;
    match params.bucket {
        None => call_times(state, at, &path, id, &params).await,
        Some(Bucket::Hour) => {
            let today = state.today_number(at.site);
            let (from, to) = day_bounds(params.range.from, params.range.to, today - 1, today);
            if i64::from(to - from) >= MAX_HOUR_BUCKET_DAYS {
                return Err(HttpError::BadParameter(QueryError {
                    name: "bucket".into(),
                    message: format!("hour buckets cover at most {MAX_HOUR_BUCKET_DAYS} days; narrow `from`/`to`"),
                }));
            }
            let (start, end) = (zone.start_of(date_of_day(from)), zone.start_of(date_of_day(to + 1)));
            let slots = state.reads.slots(id, start, end).await?;
            let hours = group_hours(&slots, zone, start, end);
            let mut response = json(
                &hours
                    .into_iter()
                    .map(|(at, count)| BucketCount {
                        start: zone.rfc3339(at),
                        count,
                    })
                    .collect::<Vec<_>>(),
            )?;
            note_deleted_calls(&mut response, state, zone, start);
            Ok(response)
        }
        Some(bucket) => {
            let days = daily_series(&state.reads, id, params.range, state.today_number(at.site))
                .await?
                .days;
            let groups = group_days(&days, bucket);
            json(
                &groups
                    .into_iter()
                    .map(|(date, count)| BucketCount {
                        start: zone.rfc3339(zone.start_of(date)),
                        count,
                    })
                    .collect::<Vec<_>>(),
            )
        }
    }
}

/// The OxiTraffic-compatible history: an array of RFC 3339 call times,
/// oldest first, at most `limit`; a `Link: rel="next"` header when more follow.
async fn call_times(
    state: &AppState,
    at: &SiteRoute<'_>,
    path: &PagePath,
    id: PathId,
    params: &ReadParams,
) -> Result<HttpResponse, HttpError> {
    let zone = &at.site.config.zone;
    let limit = params.limit.unwrap_or(MAX_HISTORY_ITEMS);
    let start = params.range.from.map_or_else(earliest, |d| zone.start_of(d));
    let end = params
        .range
        .to
        .map_or_else(latest, |d| zone.start_of(date_of_day(day_number(d) + 1)));
    // `after` is exclusive; one microsecond before the start includes the start.
    let before_start = start.checked_sub(jiff::SignedDuration::from_micros(1)).unwrap_or(start);
    let after = params.after.map_or(before_start, |a| a.max(before_start));
    let calls = state.reads.calls(id, after, end, limit).await?;
    let times: Vec<String> = calls.iter().map(|&at| zone.rfc3339(at)).collect();
    let mut response = json(&times)?;
    note_deleted_calls(&mut response, state, zone, after);
    if let (true, Some(last)) = (calls.len() == limit, times.last()) {
        let mut next = format!(
            "<{}/api/history{}?after={}&limit={limit}",
            at.base,
            path.to_url_path(),
            last.replace('+', "%2B")
        );
        for (name, date) in [("from", params.range.from), ("to", params.range.to)] {
            if let Some(date) = date {
                next.push_str(&format!("&{name}={date}"));
            }
        }
        next.push_str(">; rel=\"next\"");
        if let Ok(value) = HeaderValue::from_str(&next) {
            response.headers_mut().insert(LINK, value);
        }
    }
    Ok(response)
}

/// `GET /api/plot/{path}`: the history chart as SVG.
pub async fn plot(
    state: &AppState,
    at: &SiteRoute<'_>,
    tail: &str,
    query: Option<&str>,
) -> Result<HttpResponse, HttpError> {
    let (path, id, params) = page_query(state, at, tail, query, PLOT_PARAMS)?;
    let today = state.today_number(at.site);
    let series = daily_series(&state.reads, id, params.range, today).await?;
    Ok(svg(series.chart(path.as_str(), params.total, today)?))
}
