//! Server-rendered HTML: the chart page behind each badge (`/plot/{path}`);
//! the dashboard (`/`) is `dashboard`. Small inline CSS, no JavaScript, readable on a
//! phone. Every user-derived string (paths are user input) goes through
//! `escape_xml`; links use the percent-encoded path.

use std::fmt::Write as _;

use hyper::StatusCode;

use super::error::HttpError;
use super::response::{html, HttpResponse};
use super::{page_query, SiteRoute, PLOT_PARAMS};
use crate::markup::escape_xml;
use crate::read::format::format_count;
use crate::read::series::daily_series;
use crate::state::AppState;
use crate::store::{Scope, Tallies};

/// The range links on a chart page: (label, query).
const RANGES: [(&str, &str); 4] = [
    ("7 days", "days=7"),
    ("30 days", "days=30"),
    ("365 days", "days=365"),
    ("All", ""),
];

/// `GET /plot/{path}`: one page's history.
pub async fn plot(
    state: &AppState,
    at: &SiteRoute<'_>,
    tail: &str,
    query: Option<&str>,
) -> Result<HttpResponse, HttpError> {
    let (path, id, params) = page_query(state, at, tail, query, PLOT_PARAMS)?;
    let summary = state.reads.summary(id).await?;
    let today = state.today_number(at.site);
    let series = daily_series(&state.reads, id, params.range, today).await?;
    let tallies = state.reads.path_tallies(id, params.range).await?;
    let chart = series.charts(path.as_str(), params.total, today)?;
    let panels = super::dimensions::panels(state, Scope::Page(id), params.range).await?;
    let zone = &at.site.config.zone;
    let in_range: u64 = series.days.iter().map(|(_, n)| n).sum();
    let days_in_range = series.days.len().max(1) as u64;
    let when = |at: Option<jiff::Timestamp>| at.map_or_else(|| "–".to_owned(), |t| short_time(&zone.rfc3339(t)));
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
    let mut cards = Vec::with_capacity(5);
    // Over "All" the range is the whole history, so its calls would only
    // repeat the total.
    if params.range.is_bounded() {
        cards.push(("Calls in range".to_owned(), format_count(in_range)));
    }
    cards.push((
        "Daily average in range".to_owned(),
        format!("{:.1}", in_range as f64 / days_in_range as f64),
    ));
    let since = summary.first.map(|t| zone.date_of(t));
    cards.push((
        since.map_or_else(|| "Total calls".to_owned(), |day| format!("Total since {day}")),
        format_count(summary.total),
    ));
    cards.push(("Proxied views".to_owned(), format_count(tallies.proxied)));
    cards.push(("Last call".to_owned(), when(summary.last)));
    for (label, value) in cards {
        let _ = write!(
            body,
            "<div><dt>{}</dt><dd>{}</dd></div>",
            escape_xml(&label),
            card_value(&value)
        );
    }
    body.push_str("</dl>");
    body.push_str(&filtered_summary(&tallies));
    body.push_str("<nav class=\"ranges\" aria-label=\"Range\">");
    let current = query.unwrap_or("");
    let base = format!("{}/plot{}", at.base, path.to_url_path());
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
        "</nav><div class=\"card chart\">{chart}</div><div class=\"panels\">{panels}</div>\
         <p><a href=\"{toggle}\">{toggle_label}</a> · \
         <a href=\"{site}/api/history{url}?bucket=day\">Daily counts as JSON</a> · \
         <a href=\"{site}/api/counts{url}\">Summary as JSON</a> · <a href=\"{site}/\">All pages</a></p>",
        site = escape_xml(&at.base),
        url = escape_xml(&path.to_url_path()),
        toggle = escape_xml(&total_toggle(&base, current)),
        toggle_label = if params.total {
            "Hide the running total"
        } else {
            "Show the running total"
        },
    );
    Ok(html(StatusCode::OK, &format!("{} · Footfall", path.as_str()), &body))
}

/// The chart page's own address with the running total switched: `total=1`
/// added to the query, or taken out of it.
fn total_toggle(base: &str, query: &str) -> String {
    let shown = query.split('&').any(|pair| pair == "total=1");
    let mut rest: Vec<&str> = query
        .split('&')
        .filter(|pair| !pair.is_empty() && !pair.starts_with("total="))
        .collect();
    if !shown {
        rest.push("total=1");
    }
    if rest.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", rest.join("&"))
    }
}

/// One line on what was not counted as visitors in the range, and why.
fn filtered_summary(tallies: &Tallies) -> String {
    if tallies.filtered() == 0 {
        return "<p>Nothing filtered out in this range.</p>".to_owned();
    }
    let parts: Vec<String> = [
        (tallies.bot, "bot", "bots"),
        (tallies.prefetch, "prefetch", "prefetches"),
        (tallies.ignored, "ignored address", "ignored addresses"),
        (tallies.foreign_embed, "foreign embed", "foreign embeds"),
    ]
    .into_iter()
    .filter(|(n, _, _)| *n > 0)
    .map(|(n, one, many)| format!("{} {}", format_count(n), if n == 1 { one } else { many }))
    .collect();
    format!("<p>Filtered out, not counted: {}.</p>", parts.join(" · "))
}

/// `2026-03-01T10:00:00.123+01:00` → `2026-03-01 10:00 (+01:00)`.
fn short_time(rfc3339: &str) -> String {
    let (date, rest) = rfc3339.split_once('T').unwrap_or((rfc3339, ""));
    let offset = rest.get(rest.len().saturating_sub(6)..).unwrap_or("");
    format!("{date} {} ({offset})", rest.get(..5).unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filtered_summary_names_each_reason_seen() {
        let mut tallies = Tallies {
            proxied: 5,
            ..Tallies::default()
        };
        assert_eq!(filtered_summary(&tallies), "<p>Nothing filtered out in this range.</p>");
        tallies.bot = 3;
        tallies.foreign_embed = 1;
        assert_eq!(
            filtered_summary(&tallies),
            "<p>Filtered out, not counted: 3 bots · 1 foreign embed.</p>"
        );
    }

    #[test]
    fn the_total_toggle_keeps_the_range() {
        assert_eq!(total_toggle("/plot/a", ""), "/plot/a?total=1");
        assert_eq!(total_toggle("/plot/a", "days=7"), "/plot/a?days=7&total=1");
        assert_eq!(total_toggle("/plot/a", "days=7&total=1"), "/plot/a?days=7");
        assert_eq!(total_toggle("/plot/a", "total=1"), "/plot/a");
    }

    #[test]
    fn times_are_shortened_for_people() {
        assert_eq!(short_time("2026-03-01T10:00:00.123+01:00"), "2026-03-01 10:00 (+01:00)");
        assert_eq!(short_time("2026-03-01T10:00:00+00:00"), "2026-03-01 10:00 (+00:00)");
    }
}
