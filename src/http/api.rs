//! The JSON API for scripts and `curl`, and the chart as SVG. Reads only;
//! served from per-path totals and per-day counts (raw calls only for the
//! paged history and hour buckets, through the calls index), so cost follows
//! paths or days, never the number of calls.

use hyper::header::{HeaderValue, LINK};
use jiff::Timestamp;
use serde::Serialize;

use super::{json, svg, HttpResponse};
use crate::app::AppState;
use crate::buckets::{day_bounds, fill_days, group_days, group_hours, rfc3339};
use crate::chart::{render_history_svg, DayCount};
use crate::error::HttpError;
use crate::path::PagePath;
use crate::query::{parse, Accepts, Bucket, ReadParams};
use crate::store::{PathCount, PathId};
use crate::zone::{date_of_day, day_number, DayNumber};

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
pub const PLOT: Accepts = Accepts {
    names: &["from", "to", "days"],
    max_limit: 1,
};

/// `GET /api/counts`: `[{"path", "count"}]`, count descending, then path.
pub async fn counts(state: &AppState, query: Option<&str>) -> Result<HttpResponse, HttpError> {
    state.check_ready()?;
    let params = parse(query, COUNTS, state.today())?;
    let mut counts = path_counts(state, &params).await?;
    if let Some(limit) = params.limit {
        counts.truncate(limit);
    }
    json(&counts)
}

/// All paths' counts, in the range if one is given.
pub async fn path_counts(state: &AppState, params: &ReadParams) -> Result<Vec<PathCount>, HttpError> {
    let counts = if params.range.is_bounded() {
        let (from, to) = day_bounds(params.range.from, params.range.to, earliest_day(), state.today_number());
        state.store.counts_between(from, to).await
    } else {
        state.store.counts().await
    };
    state.observe(counts)
}

#[derive(Serialize)]
struct PathReport {
    path: String,
    count: u64,
    first: Option<String>,
    last: Option<String>,
}

/// `GET /api/counts/{path}`: `{"path", "count", "first", "last"}`.
pub async fn count_of(state: &AppState, tail: &str, query: Option<&str>) -> Result<HttpResponse, HttpError> {
    let (path, id) = known_path(state, tail)?;
    let params = parse(query, COUNT, state.today())?;
    let (count, first_and_last) = if params.range.is_bounded() {
        let (from, to) = day_bounds(params.range.from, params.range.to, earliest_day(), state.today_number());
        let daily = state.observe(state.store.daily(id).await)?;
        let count = daily
            .iter()
            .filter(|(d, _)| (from..=to).contains(d))
            .map(|(_, n)| n)
            .sum();
        let (start, end) = (state.start_of_day(from), state.start_of_day(to + 1));
        (count, state.observe(state.store.first_and_last(id, start, end).await)?)
    } else {
        let summary = state.observe(state.store.summary(id).await)?;
        (summary.total, summary.first.zip(summary.last))
    };
    let zone = &state.config.zone;
    json(&PathReport {
        path: path.to_string(),
        count,
        first: first_and_last.map(|(f, _)| rfc3339(f, zone)),
        last: first_and_last.map(|(_, l)| rfc3339(l, zone)),
    })
}

#[derive(Serialize)]
struct BucketCount {
    start: String,
    count: u64,
}

/// `GET /api/history/{path}`: call times (paged), or `?bucket=` counts.
pub async fn history(state: &AppState, tail: &str, query: Option<&str>) -> Result<HttpResponse, HttpError> {
    let (path, id) = known_path(state, tail)?;
    let params = parse(query, HISTORY, state.today())?;
    let zone = &state.config.zone;
    match params.bucket {
        None => call_times(state, &path, id, &params).await,
        Some(Bucket::Hour) => {
            let today = state.today_number();
            let (from, to) = day_bounds(params.range.from, params.range.to, today - 1, today);
            if i64::from(to - from) >= MAX_HOUR_BUCKET_DAYS {
                return Err(HttpError::BadParameter(format!(
                    "parameter `bucket`: hour buckets cover at most {MAX_HOUR_BUCKET_DAYS} days; narrow `from`/`to`"
                )));
            }
            let (start, end) = (state.start_of_day(from), state.start_of_day(to + 1));
            let slots = state.observe(state.store.slots(Some(id), start, end).await)?;
            let hours = group_hours(&slots, zone, start, end);
            json(
                &hours
                    .into_iter()
                    .map(|(at, count)| BucketCount {
                        start: rfc3339(at, zone),
                        count,
                    })
                    .collect::<Vec<_>>(),
            )
        }
        Some(bucket) => {
            let days = daily_series(state, id, &params).await?.days;
            let groups = group_days(&days, bucket);
            json(
                &groups
                    .into_iter()
                    .map(|(date, count)| BucketCount {
                        start: rfc3339(state.start_of_day(day_number(date)), zone),
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
    path: &PagePath,
    id: PathId,
    params: &ReadParams,
) -> Result<HttpResponse, HttpError> {
    let limit = params.limit.unwrap_or(MAX_HISTORY_ITEMS);
    let start = params
        .range
        .from
        .map_or_else(earliest, |d| state.start_of_day(day_number(d)));
    let end = params
        .range
        .to
        .map_or_else(latest, |d| state.start_of_day(day_number(d) + 1));
    // `after` is exclusive; one microsecond before the start includes the start.
    let before_start = start.checked_sub(jiff::SignedDuration::from_micros(1)).unwrap_or(start);
    let after = params.after.map_or(before_start, |a| a.max(before_start));
    let calls = state.observe(state.store.calls(id, after, end, limit).await)?;
    let zone = &state.config.zone;
    let times: Vec<String> = calls.iter().map(|&at| rfc3339(at, zone)).collect();
    let mut response = json(&times)?;
    if let (true, Some(last)) = (calls.len() == limit, times.last()) {
        let mut next = format!(
            "</api/history{}?after={}&limit={limit}",
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
pub async fn plot(state: &AppState, tail: &str, query: Option<&str>) -> Result<HttpResponse, HttpError> {
    let (path, id) = known_path(state, tail)?;
    let params = parse(query, PLOT, state.today())?;
    let series = daily_series(state, id, &params).await?;
    svg(render_chart(&path, &series)?)
}

/// A path's zero-filled per-day counts over the requested range (by default
/// from its first call to today), and the calls before that range.
pub struct DailySeries {
    pub days: Vec<(DayNumber, u64)>,
    pub total_before: u64,
}

pub async fn daily_series(state: &AppState, id: PathId, params: &ReadParams) -> Result<DailySeries, HttpError> {
    let rows = state.observe(state.store.daily(id).await)?;
    let today = state.today_number();
    let first = rows.first().map_or(today, |&(d, _)| d.min(today));
    let (from, to) = day_bounds(params.range.from, params.range.to, first, today);
    let total_before = rows.iter().filter(|(d, _)| *d < from).map(|(_, n)| n).sum();
    Ok(DailySeries {
        days: fill_days(&rows, from, to),
        total_before,
    })
}

pub fn render_chart(path: &PagePath, series: &DailySeries) -> Result<String, HttpError> {
    let days: Vec<DayCount> = series
        .days
        .iter()
        .map(|&(day, count)| DayCount {
            day: date_of_day(day),
            count,
        })
        .collect();
    render_history_svg(path.as_str(), &days, series.total_before).map_err(|e| {
        tracing::error!(error = %e, "rendering a chart failed");
        HttpError::Internal
    })
}

/// The page behind `tail`, if it is a known one.
pub fn known_path(state: &AppState, tail: &str) -> Result<(PagePath, PathId), HttpError> {
    state.check_ready()?;
    let path = PagePath::parse(tail)?;
    let id = state.registry.id_of(&path).ok_or(HttpError::UnknownPage)?;
    Ok((path, id))
}

fn earliest_day() -> DayNumber {
    day_number(jiff::civil::date(1, 1, 1))
}

/// The bounds of the open-ended ranges, inside what both stores can hold.
fn earliest() -> Timestamp {
    Timestamp::from_second(-62_135_596_800).unwrap_or(Timestamp::MIN) // 0001-01-01
}

fn latest() -> Timestamp {
    Timestamp::from_second(253_370_764_800).unwrap_or(Timestamp::MAX) // 9999-01-01
}
