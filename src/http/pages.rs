//! Server-rendered HTML: the chart page behind each badge (`/plot/{path}`)
//! and the dashboard (`/`). Small inline CSS, no JavaScript, readable on a
//! phone. Every user-derived string (paths are user input) goes through
//! `escape_xml`; links use the percent-encoded path.

use std::collections::HashMap;
use std::fmt::Write as _;

use hyper::StatusCode;

use super::error::HttpError;
use super::response::{html, HttpResponse};
use super::{page_query, SiteRoute, PLOT_PARAMS};
use crate::config::DEFAULT_SLUG;
use crate::count::path::PagePath;
use crate::count::Site;
use crate::markup::escape_xml;
use crate::read::format::format_count;
use crate::read::query::DayRange;
use crate::read::series::{daily_series, page_counts};
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
    let series = daily_series(&state.reads, id, params.range, state.today_number(at.site)).await?;
    let tallies = state.reads.path_tallies(id, params.range).await?;
    let chart = series.chart(path.as_str())?;
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
        ("Proxied views", format_count(tallies.proxied)),
        ("First call", when(summary.first)),
        ("Last call", when(summary.last)),
    ] {
        let _ = write!(body, "<div><dt>{label}</dt><dd>{}</dd></div>", card_value(&value));
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
        "</nav><div class=\"card chart\">{chart}</div>{panels}\
         <p><a href=\"{site}/api/history{url}?bucket=day\">Daily counts as JSON</a> · \
         <a href=\"{site}/api/counts{url}\">Summary as JSON</a> · <a href=\"{site}/\">All pages</a></p>",
        site = escape_xml(&at.base),
        url = escape_xml(&path.to_url_path()),
    );
    Ok(html(StatusCode::OK, &format!("{} · Footfall", path.as_str()), &body))
}

/// `GET /`: every page with its total and last 7 days, by total.
pub async fn dashboard(state: &AppState, at: &SiteRoute<'_>) -> Result<HttpResponse, HttpError> {
    let today = state.today(at.site);
    let today_number = state.today_number(at.site);
    let totals = page_counts(&state.reads, at.site, DayRange::default(), today_number).await?;
    let week = DayRange {
        from: today.checked_sub(jiff::Span::new().days(6)).ok(),
        to: Some(today),
    };
    let last_week: HashMap<String, u64> = page_counts(&state.reads, at.site, week, today_number)
        .await?
        .into_iter()
        .map(|c| (c.path, c.count))
        .collect();
    let site = site_name(at.site);
    let mut body = format!("<h1>{}</h1>", escape_xml(&site));
    body.push_str(&site_switcher(state, at));
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
            let href = PagePath::from_stored(&count.path)
                .map(|p| format!("{}/plot{}", at.base, p.to_url_path()))
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
    body.push_str(&super::links::dashboard_section(state, at).await?);
    Ok(html(StatusCode::OK, &format!("{site} · Footfall"), &body))
}

/// The host of the site's tracked URL, else its slug (or "Footfall" for
/// the one unnamed default site).
fn site_name(site: &Site) -> String {
    site.config
        .tracked_base_url
        .as_ref()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| match site.config.slug.as_str() {
            DEFAULT_SLUG => "Footfall".to_owned(),
            slug => slug.to_owned(),
        })
}

/// Links to every site's dashboard, when there is more than one. Links
/// always use the prefixed form, so each site has one address.
fn site_switcher(state: &AppState, at: &SiteRoute<'_>) -> String {
    if state.sites.len() < 2 {
        return String::new();
    }
    let mut nav = String::from("<nav class=\"ranges\" aria-label=\"Sites\">");
    for site in &state.sites {
        let slug = &site.config.slug;
        let mark = if std::ptr::eq(site, at.site) {
            " aria-current=\"page\""
        } else {
            ""
        };
        let _ = write!(
            nav,
            "<a href=\"/s/{}/\"{mark}>{}</a>",
            escape_xml(slug),
            escape_xml(slug)
        );
    }
    nav.push_str("</nav>");
    nav
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
    fn times_are_shortened_for_people() {
        assert_eq!(short_time("2026-03-01T10:00:00.123+01:00"), "2026-03-01 10:00 (+01:00)");
        assert_eq!(short_time("2026-03-01T10:00:00+00:00"), "2026-03-01 10:00 (+00:00)");
    }
}
