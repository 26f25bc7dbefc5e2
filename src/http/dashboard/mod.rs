//! The dashboard (`/`, `/s/{site}/`): the site's chart for a period, its
//! figures against the period before, the top pages, and the page list
//! searched (`q`), sorted (`sort`) and paged (`page`, 50 rows each).
//!
//! Server-rendered HTML, no JavaScript; every user-derived string (paths,
//! the search) goes through `escape_xml`, and links are built with form
//! encoding. The site's dimension panels (referrers, browsers, …) sit in
//! the `panels` row next to "Top pages", ranked lists like them.
//! The page list's table, search form and pager are `list`; the site's
//! links and their clicks, under the list, are `links`.

use std::cmp::Reverse;
use std::fmt::Write as _;

use hyper::StatusCode;

mod links;
mod list;

use super::error::HttpError;
use super::response::{html, HttpResponse};
use super::SiteRoute;
use crate::config::DEFAULT_SLUG;
use crate::count::path::PagePath;
use crate::count::Site;
use crate::markup::escape_xml;
use crate::read::format::group_thousands;
use crate::read::overview::{change, listed_pages, page_of, site_days, ListedPage};
use crate::read::panels::ranked_panel;
use crate::read::query::{parse, Accepts, DayRange, ReadParams, Sort};
use crate::read::series::{earliest_day, DailySeries};
use crate::state::AppState;
use crate::store::{Scope, SiteId};
use crate::zone::{date_of_day, day_bounds, day_number, DayNumber};

const DASHBOARD: Accepts = Accepts {
    names: &["from", "to", "days", "period", "sort", "q", "page"],
    max_limit: 1,
};
/// The period without parameters: a week reads well and keeps the page
/// cheap on large sites (the page counts cost pages × days).
const DEFAULT_DAYS: i64 = 7;
/// The period links: (label, query).
const PERIODS: [(&str, &str); 4] = [
    ("7 days", "days=7"),
    ("30 days", "days=30"),
    ("12 months", "days=365"),
    ("All", "period=all"),
];
const TOP_PAGES: usize = 10;

/// `GET /`: the site overview.
pub async fn dashboard(state: &AppState, at: &SiteRoute<'_>, query: Option<&str>) -> Result<HttpResponse, HttpError> {
    state.availability.check_ready()?;
    let today = state.today(at.site);
    let today_number = day_number(today);
    let params = parse(query, DASHBOARD, today)?;
    let range = if params.all_time {
        DayRange::default()
    } else if params.range.is_bounded() {
        params.range
    } else {
        DayRange {
            from: today.checked_sub(jiff::Span::new().days(DEFAULT_DAYS - 1)).ok(),
            to: Some(today),
        }
    };
    let period_days = range
        .is_bounded()
        .then(|| day_bounds(range.from, range.to, earliest_day(), today_number));
    // Independent reads: on PostgreSQL they run on several connections at once.
    let site_id = at.site.registry.site_id()?;
    let (site_days, pages, links_section, dimension_panels) = tokio::try_join!(
        async { Ok::<_, HttpError>(site_days(&state.reads, at.site, range, today_number, true).await?) },
        async { Ok::<_, HttpError>(listed_pages(&state.reads, at.site, period_days, today_number).await?) },
        links::dashboard_section(state, at),
        site_panels(state, site_id, range),
    )?;
    let view = View { at, params: &params };
    // What needs every page is taken before the list consumes them.
    let with_calls = pages.iter().filter(|p| p.period > 0).count();
    let page_count = pages.len();
    let top_pages = view.top_pages(&pages);
    let list = page_of(
        pages,
        params.q.as_deref(),
        params.sort.unwrap_or_default(),
        params.page.unwrap_or(1),
    );

    let name = site_name(at.site);
    let mut body = format!("<h1>{}</h1>", escape_xml(&name));
    body.push_str(&site_switcher(state, at));
    body.push_str(&view.periods(query));
    let in_period = site_days.total();
    let day_count = site_days.days.len().max(1) as u64;
    body.push_str("<dl class=\"stats\">");
    let mut card = |label: &str, value: String, note: String| {
        let _ = write!(
            body,
            "<div><dt>{label}</dt><dd>{value}<small>{}</small></dd></div>",
            escape_xml(&note)
        );
    };
    card(
        "Calls in period",
        group_thousands(in_period),
        period_name(&site_days.days),
    );
    match site_days.previous {
        Some(previous) => card(
            "Change",
            change(in_period, previous),
            format!("vs {} in the {day_count} days before", group_thousands(previous)),
        ),
        None => card("Change", "–".to_owned(), "no earlier period".to_owned()),
    }
    card(
        "Daily average",
        format!("{:.1}", in_period as f64 / day_count as f64),
        format!("over {day_count} days"),
    );
    card(
        "Pages called",
        group_thousands(with_calls as u64),
        format!("of {} pages", group_thousands(page_count as u64)),
    );
    body.push_str("</dl>");
    let chart = DailySeries {
        days: site_days.days,
        total_before: 0,
    }
    .charts(&name, false, today_number)?;
    let _ = write!(body, "<div class=\"card chart\">{chart}</div>");
    // One row of ranked panels: the top pages, then the site's dimensions.
    body.push_str("<div class=\"panels\">");
    body.push_str(&top_pages);
    body.push_str(&dimension_panels);
    body.push_str("</div>");
    body.push_str(&view.page_table(&list, &at.site.config.zone));
    body.push_str(&links_section);
    Ok(html(StatusCode::OK, &format!("{name} · Footfall"), &body))
}

/// The site's dimension panels over `range`, from the site's own per-day
/// rows (days × the site's values). Should that read fail or pass the
/// store's deadline (the failure is logged where it happens), the rest of
/// the overview does not depend on it, so the page still answers, saying so.
async fn site_panels(state: &AppState, site: SiteId, range: DayRange) -> Result<String, HttpError> {
    Ok(super::dimensions::panels(state, Scope::Site(site), range)
        .await
        .unwrap_or_else(|_| {
            "<section class=\"card panel\"><h2>Where visitors come from</h2>\
             <p>Not available for this period: the store did not answer in time.</p></section>"
                .to_owned()
        }))
}

/// "2026-03-01 – 2026-03-07", or one day.
fn period_name(days: &[(DayNumber, u64)]) -> String {
    match (days.first(), days.last()) {
        (Some((first, _)), Some((last, _))) if first != last => {
            format!("{} – {}", date_of_day(*first), date_of_day(*last))
        }
        (Some((day, _)), _) => date_of_day(*day).to_string(),
        _ => String::new(),
    }
}

/// What a request asked for, to build links that change one thing.
struct View<'a> {
    at: &'a SiteRoute<'a>,
    params: &'a ReadParams,
}

impl View<'_> {
    /// A link to the dashboard with the current period, search and sort,
    /// changed by `sort` and `page` when given.
    fn link(&self, sort: Option<Sort>, page: Option<usize>) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        self.period_pairs(&mut query);
        if let Some(q) = &self.params.q {
            query.append_pair("q", q);
        }
        if let Some(sort) = sort.or(self.params.sort).filter(|s| *s != Sort::default()) {
            query.append_pair("sort", sort.name());
        }
        if let Some(page) = page.filter(|p| *p > 1) {
            query.append_pair("page", &page.to_string());
        }
        let query = query.finish();
        let sep = if query.is_empty() { "" } else { "?" };
        escape_xml(&format!("{}/{sep}{query}", self.at.base))
    }

    fn period_pairs(&self, query: &mut form_urlencoded::Serializer<'_, String>) {
        let p = self.params;
        if p.all_time {
            query.append_pair("period", "all");
        }
        for (name, date) in [("from", p.range.from), ("to", p.range.to)] {
            if let Some(date) = date {
                query.append_pair(name, &date.to_string());
            }
        }
    }

    fn periods(&self, query: Option<&str>) -> String {
        let mut nav = String::from("<nav class=\"ranges\" aria-label=\"Period\">");
        let query = query.unwrap_or("");
        let current = |range: &str| {
            query.split('&').any(|pair| pair == range)
                || (range == "days=7" && !self.params.all_time && !self.params.range.is_bounded())
        };
        let mut any = false;
        for (label, range) in PERIODS {
            let mark = if current(range) {
                any = true;
                " aria-current=\"page\""
            } else {
                ""
            };
            let _ = write!(
                nav,
                "<a href=\"{}/?{range}\"{mark}>{label}</a>",
                escape_xml(&self.at.base)
            );
        }
        if !any {
            // A `from`/`to` of its own: shown, not linked.
            let p = self.params.range;
            let show = |d: Option<jiff::civil::Date>| d.map_or_else(|| "…".to_owned(), |d| d.to_string());
            let _ = write!(
                nav,
                "<span aria-current=\"page\">{} – {}</span>",
                show(p.from),
                show(p.to)
            );
        }
        nav.push_str("</nav>");
        nav
    }

    /// The pages with the most calls in the period, as a ranked list.
    fn top_pages(&self, pages: &[ListedPage]) -> String {
        let mut top: Vec<&ListedPage> = pages.iter().filter(|p| p.period > 0).collect();
        top.sort_unstable_by(|a, b| (Reverse(a.period), &a.path).cmp(&(Reverse(b.period), &b.path)));
        top.truncate(TOP_PAGES);
        let items: Vec<(String, Option<String>, u64)> = top
            .iter()
            .map(|p| (p.path.clone(), Some(self.plot_href(&p.path)), p.period))
            .collect();
        ranked_panel("Top pages", &items)
    }

    fn plot_href(&self, path: &str) -> String {
        PagePath::from_stored(path)
            .map(|p| format!("{}/plot{}", self.at.base, p.to_url_path()))
            .unwrap_or_default()
    }
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
