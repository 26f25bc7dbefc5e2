//! Server-rendered HTML: the chart page behind each badge (`/plot/{path}`)
//! and the dashboard (`/`). Small inline CSS, no JavaScript, readable on a
//! phone. Every user-derived string (paths are user input) goes through
//! `escape_xml`; links use the percent-encoded path.

use std::collections::HashMap;
use std::fmt::Write as _;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use hyper::{Response, StatusCode};

use super::api::{daily_series, known_path, path_counts, render_chart, PLOT};
use super::HttpResponse;
use crate::app::AppState;
use crate::badge::format_count;
use crate::buckets::rfc3339;
use crate::error::HttpError;
use crate::markup::escape_xml;
use crate::query::{parse, DayRange, ReadParams};

const STYLE: &str = "\
:root{color-scheme:light dark;--fg:#1f2937;--muted:#6b7280;--bg:#f9fafb;--card:#fff;--line:#e5e7eb;--accent:#2563eb}\
@media (prefers-color-scheme:dark){:root{--fg:#e5e7eb;--muted:#9ca3af;--bg:#111827;--card:#1f2937;--line:#374151;--accent:#60a5fa}}\
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif;color:var(--fg);background:var(--bg)}\
main{max-width:60rem;margin:0 auto;padding:1rem}h1{font-size:1.4rem;margin:.5rem 0 1rem;overflow-wrap:anywhere}\
a{color:var(--accent)}.card{background:var(--card);border:1px solid var(--line);border-radius:.6rem;padding:1rem;margin:0 0 1rem}\
.stats{display:grid;grid-template-columns:repeat(auto-fit,minmax(9rem,1fr));gap:.75rem;margin:0 0 1rem;padding:0}\
.stats div{background:var(--card);border:1px solid var(--line);border-radius:.6rem;padding:.6rem .8rem}\
.stats dt{color:var(--muted);font-size:.85rem}.stats dd{margin:0;font-size:1.2rem;font-weight:600;overflow-wrap:anywhere}\
.stats dd small{display:block;font-size:.8rem;font-weight:400;color:var(--muted)}\
.chart{overflow-x:auto}.chart svg{display:block;width:100%;min-width:36rem;height:auto;background:#fff;border-radius:.4rem}\
nav.ranges{display:flex;flex-wrap:wrap;gap:.5rem;margin:0 0 1rem}nav.ranges a{padding:.25rem .7rem;border:1px solid var(--line);border-radius:1rem;text-decoration:none}\
nav.ranges a[aria-current]{background:var(--accent);color:#fff;border-color:var(--accent)}\
table{width:100%;border-collapse:collapse}th,td{padding:.45rem .5rem;border-bottom:1px solid var(--line);text-align:right}\
th:first-child,td:first-child{text-align:left;overflow-wrap:anywhere}th{color:var(--muted);font-weight:500;font-size:.85rem}\
footer{color:var(--muted);font-size:.85rem;text-align:center;padding:1rem}";

/// The range links on a chart page: (label, query).
const RANGES: [(&str, &str); 4] = [
    ("7 days", "days=7"),
    ("30 days", "days=30"),
    ("365 days", "days=365"),
    ("All", ""),
];

/// `GET /plot/{path}`: one page's history.
pub async fn plot(state: &AppState, tail: &str, query: Option<&str>) -> Result<HttpResponse, HttpError> {
    let (path, id) = match known_path(state, tail) {
        Err(HttpError::UnknownPage) => return Ok(not_found(state, tail)),
        other => other?,
    };
    let params = parse(query, PLOT, state.today())?;
    let summary = state.observe(state.store.summary(id).await)?;
    let series = daily_series(state, id, &params).await?;
    let chart = render_chart(&path, &series)?;
    let zone = &state.config.zone;
    let in_range: u64 = series.days.iter().map(|(_, n)| n).sum();
    let days_in_range = series.days.len().max(1) as u64;
    let when = |at: Option<jiff::Timestamp>| at.map_or_else(|| "–".to_owned(), |t| short_time(&rfc3339(t, zone)));
    // Times carry their offset on a second, quieter line.
    let card_value = |value: &str| match value.split_once(" (") {
        Some((time, offset)) => format!(
            "{}<small>UTC{}</small>",
            escape_xml(time),
            escape_xml(offset.trim_end_matches(')'))
        ),
        None => escape_xml(value),
    };

    let title = escape_xml(path.as_str());
    let mut body = format!("<h1>{title}</h1><dl class=\"stats\">");
    for (label, value) in [
        ("Total calls", format_count(summary.total)),
        (
            if params.range.is_bounded() {
                "In this range"
            } else {
                "Since the first call"
            },
            format_count(in_range),
        ),
        (
            "Average per day",
            format!("{:.1}", in_range as f64 / days_in_range as f64),
        ),
        ("First call", when(summary.first)),
        ("Last call", when(summary.last)),
    ] {
        let _ = write!(body, "<div><dt>{label}</dt><dd>{}</dd></div>", card_value(&value));
    }
    body.push_str("</dl><nav class=\"ranges\" aria-label=\"Range\">");
    let current = query.unwrap_or("");
    let base = format!("/plot{}", path.to_url_path());
    for (label, range) in RANGES {
        let href = if range.is_empty() {
            base.clone()
        } else {
            format!("{base}?{range}")
        };
        let mark = if current == range { " aria-current=\"page\"" } else { "" };
        let _ = write!(body, "<a href=\"{}\"{mark}>{label}</a>", escape_xml(&href));
    }
    let _ = write!(
        body,
        "</nav><div class=\"card chart\">{chart}</div>\
         <p><a href=\"/api/history{url}?bucket=day\">Daily counts as JSON</a> · \
         <a href=\"/api/counts{url}\">Summary as JSON</a> · <a href=\"/\">All pages</a></p>",
        url = escape_xml(&path.to_url_path()),
    );
    Ok(html(StatusCode::OK, &format!("{} · Footfall", path.as_str()), &body))
}

/// `GET /`: every page with its total and last 7 days, by total.
pub async fn dashboard(state: &AppState) -> Result<HttpResponse, HttpError> {
    state.check_ready()?;
    let totals = path_counts(state, &ReadParams::default()).await?;
    let today = state.today();
    let week = ReadParams {
        range: DayRange {
            from: today.checked_sub(jiff::Span::new().days(6)).ok(),
            to: Some(today),
        },
        ..ReadParams::default()
    };
    let last_week: HashMap<String, u64> = path_counts(state, &week)
        .await?
        .into_iter()
        .map(|c| (c.path, c.count))
        .collect();
    let site = site_name(state);
    let mut body = format!("<h1>{}</h1>", escape_xml(&site));
    if totals.is_empty() {
        body.push_str("<div class=\"card\"><p>No calls yet. Embed <code>/call/your/page</code> as an image on your pages.</p></div>");
    } else {
        let total: u64 = totals.iter().map(|c| c.count).sum();
        let _ = write!(
            body,
            "<p>{} pages · {} calls</p><div class=\"card\"><table><thead><tr><th>Page</th><th>Last 7 days</th>\
             <th>Total</th></tr></thead><tbody>",
            format_count(totals.len() as u64),
            format_count(total)
        );
        for count in &totals {
            let href = crate::path::PagePath::from_stored(&count.path)
                .map(|p| format!("/plot{}", p.to_url_path()))
                .unwrap_or_default();
            let _ = write!(
                body,
                "<tr><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td></tr>",
                escape_xml(&href),
                escape_xml(&count.path),
                format_count(last_week.get(&count.path).copied().unwrap_or(0)),
                format_count(count.count),
            );
        }
        body.push_str("</tbody></table></div>");
    }
    Ok(html(StatusCode::OK, &format!("{site} · Footfall"), &body))
}

fn not_found(state: &AppState, tail: &str) -> HttpResponse {
    let body = format!(
        "<h1>No such page</h1><div class=\"card\"><p>Footfall has not counted a call to <code>{}</code> yet.</p>\
         <p><a href=\"/\">See all pages of {}</a></p></div>",
        escape_xml(&String::from_utf8_lossy(
            &crate::path::percent_decode(tail.as_bytes()).unwrap_or_default()
        )),
        escape_xml(&site_name(state)),
    );
    html(StatusCode::NOT_FOUND, "Not found · Footfall", &body)
}

fn site_name(state: &AppState) -> String {
    state
        .config
        .tracked_base_url
        .as_ref()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "Footfall".to_owned())
}

/// `2026-03-01T10:00:00.123+01:00` → `2026-03-01 10:00 (+01:00)`.
fn short_time(rfc3339: &str) -> String {
    let (date, rest) = rfc3339.split_once('T').unwrap_or((rfc3339, ""));
    let offset = rest.get(rest.len().saturating_sub(6)..).unwrap_or("");
    format!("{date} {} ({offset})", rest.get(..5).unwrap_or(""))
}

fn html(status: StatusCode, title: &str, body: &str) -> HttpResponse {
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{}</title>\
         <style>{STYLE}</style></head><body><main>{body}</main>\
         <footer>Counted by Footfall · no cookies, no IP addresses stored</footer></body></html>",
        escape_xml(title)
    );
    let mut response = Response::new(Full::new(Bytes::from(page)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; img-src 'self'"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shortened_for_people() {
        assert_eq!(short_time("2026-03-01T10:00:00.123+01:00"), "2026-03-01 10:00 (+01:00)");
        assert_eq!(short_time("2026-03-01T10:00:00+00:00"), "2026-03-01 10:00 (+00:00)");
    }
}
