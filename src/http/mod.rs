//! The HTTP edge: every URL Footfall answers, in one `match`, delegating to
//! one file per route group:
//!
//! | route | handler |
//! |---|---|
//! | `/` | `dashboard::dashboard` — the site's chart, figures and pages |
//! | `/healthz`, `/readyz` | `health` |
//! | `/api/sites` | `api::sites` — every site with its pages and count |
//! | `/call/{path}` | `counting::call` — count, answer the image |
//! | `/badge/{path}` | `counting::badge` — count, answer the live badge |
//! | `/plot/{path}` | `pages::plot` — the chart page |
//! | `/api/counts`, `/api/counts/{path}` | `api::counts`, `api::count_of` |
//! | `/api/history` | `api::site_history` — the whole site per day, week or month |
//! | `/api/history/{path}` | `api::history` |
//! | `/api/plot/{path}` | `api::plot` — the chart as SVG |
//! | `/api/filtered` | `filtered::filtered` — proxied views and filtered hits per page |
//! | `/go/<token>` | `links::go` — count a link's click, `302` to its destination |
//! | `/api/links`, `/api/links/{id}[/plot]` | `links::list`, `links::one` — clicks per link |
//! | `/feed.atom` | `notify::feed` — the site's events as an Atom feed |
//! | `/api/dimensions`, `/api/dimensions/{path}` | `dimensions::site`, `dimensions::page` |
//! | `/count.js` | `dimensions::count_js` — the script that reports referrers |
//! | `/api/admin/…` | `admin` — the owner's API (token required) |
//! | `/dashboard`, `/dashboard/plot/{path}` | redirects from OxiTraffic's page URLs |
//! | `/metrics` | `metrics` — Prometheus metrics (unless on `metrics_address`) |
//!
//! Every route but `/healthz`, `/readyz` and `/api/sites` also exists under
//! `/s/{site}/` for each configured site; without the prefix it means
//! `default_site`. A private site's read routes (`access`) answer 404
//! without a token for it.
//!
//! Handlers translate HTTP to a use-case of the write or read path and back;
//! they never call each other. They return `Result<HttpResponse, HttpError>`,
//! and the error's one mapping to a response lives in [`error`]; every
//! response shape lives in [`response`]. Nothing here logs per request.

mod access;
mod admin;
mod api;
mod body;
mod counting;
mod dashboard;
mod dimensions;
mod error;
mod filtered;
mod health;
mod links;
pub(crate) mod metrics;
mod notify;
mod pages;
pub(crate) mod response;
mod transfer;

use std::error::Error;
use std::net::IpAddr;

use hyper::body::Body;
use hyper::{Method, Request};

use self::error::{ErrorFormat, HttpError};
use self::response::HttpResponse;
use crate::count::path::PagePath;
use crate::count::Site;
use crate::metrics::Route;
use crate::read::query::{parse, Accepts, ReadParams};
use crate::state::AppState;
use crate::store::PathId;

/// The site a request is about, and the prefix its links keep: `""` for
/// the unprefixed routes (the default site), `/s/{slug}` otherwise.
pub struct SiteRoute<'a> {
    pub site: &'a Site,
    pub base: String,
}

/// Answers one request. Generic over the body (only the admin routes read
/// one), so tests can call it in-process without a socket. Counts it in
/// the metrics by route group and status class (an atomic add).
pub async fn route<B>(state: &AppState, request: Request<B>, peer: IpAddr) -> HttpResponse
where
    B: Body,
    B::Error: Into<Box<dyn Error + Send + Sync>>,
{
    let full_path = request.uri().path();
    let group = Route::of(locate_path(full_path));
    let response = answer(state, request, peer).await;
    state.metrics.request(group, response.status().as_u16());
    response
}

async fn answer<B>(state: &AppState, request: Request<B>, peer: IpAddr) -> HttpResponse
where
    B: Body,
    B::Error: Into<Box<dyn Error + Send + Sync>>,
{
    let full_path = request.uri().path();
    if full_path == "/metrics" {
        let result = if matches!(*request.method(), Method::GET | Method::HEAD) {
            metrics::on_main(state, request.headers())
        } else {
            Err(HttpError::MethodNotAllowed)
        };
        return result.unwrap_or_else(|error| error.into_response(ErrorFormat::Text));
    }
    let (at, path) = locate(state, full_path);
    if let Some(tail) = under(path, "/api/admin") {
        let tail_from = full_path.len() - tail.len();
        return admin::route(state, at, request, tail_from).await;
    }
    let format = if path.starts_with("/api/") {
        ErrorFormat::Json
    } else if under(path, "/badge").is_some() {
        ErrorFormat::Badge
    } else if path == "/" || under(path, "/plot").is_some() || under(path, "/go").is_some() {
        ErrorFormat::Html
    } else {
        ErrorFormat::Text
    };
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return HttpError::MethodNotAllowed.into_response(format);
    }
    // An unknown site counts nothing and confirms nothing.
    let Some(at) = at else {
        return HttpError::UnknownSite.into_response(format);
    };
    // Nor does a private site to a request without a token for it.
    if access::is_read_route(path) && !access::may_read(state, at.site, request.headers()) {
        return HttpError::UnknownSite.into_response(format);
    }
    let query = request.uri().query();
    let prefixed = !at.base.is_empty();
    let result = match path {
        "/" => dashboard::dashboard(state, &at, query).await,
        "/healthz" if !prefixed => Ok(health::live()),
        "/readyz" if !prefixed => health::ready(state).await,
        "/api/sites" if !prefixed => api::sites(state, access::bearer(request.headers())).await,
        "/api/counts" => api::counts(state, &at, query).await,
        "/api/filtered" => filtered::filtered(state, &at, query).await,
        "/api/links" => links::list(state, &at, query).await,
        "/feed.atom" => notify::feed(state, &at).await,
        "/api/dimensions" => dimensions::site(state, &at, request.headers(), query).await,
        "/count.js" => Ok(dimensions::count_js()),
        // Without a path: the whole site (`/api/history/` is the page `/`).
        "/api/history" => api::site_history(state, &at, query).await,
        // OxiTraffic's page URLs, linked from sites that used it.
        "/dashboard" | "/dashboard/" => Ok(response::redirect(&format!("{}/", at.base))),
        _ => {
            if let Some(tail) = under(path, "/call") {
                counting::call(state, &at, &request, tail, peer).await
            } else if let Some(tail) = under(path, "/badge") {
                counting::badge(state, &at, &request, tail, peer).await
            } else if let Some(tail) = under(path, "/go") {
                links::go(state, &request, tail, peer).await
            } else if let Some(tail) = under(path, "/api/links") {
                links::one(state, &at, tail, query).await
            } else if let Some(tail) = under(path, "/plot") {
                pages::plot(state, &at, tail, query).await
            } else if let Some(tail) = under(path, "/api/counts") {
                api::count_of(state, &at, tail, query).await
            } else if let Some(tail) = under(path, "/api/history") {
                api::history(state, &at, tail, query).await
            } else if let Some(tail) = under(path, "/api/dimensions") {
                dimensions::page(state, &at, request.headers(), tail, query).await
            } else if let Some(tail) = under(path, "/api/plot") {
                api::plot(state, &at, tail, query).await
            } else if let Some(tail) = under(path, "/dashboard/plot") {
                let query = query.map(|q| format!("?{q}")).unwrap_or_default();
                Ok(response::redirect(&format!("{}/plot{tail}{query}", at.base)))
            } else {
                Err(HttpError::NotFound)
            }
        }
    };
    result.unwrap_or_else(|error| error.into_response(format))
}

/// The site a request path names and the route within it: `/s/{site}/…` is
/// the same route table for one site (`None` when no such site is
/// configured); the rest means the default site.
fn locate<'s, 'p>(state: &'s AppState, full_path: &'p str) -> (Option<SiteRoute<'s>>, &'p str) {
    match full_path.strip_prefix("/s/") {
        Some(tail) => {
            let (slug, rest) = tail.find('/').map_or((tail, "/"), |i| tail.split_at(i));
            let at = state.site(slug).map(|site| SiteRoute {
                site,
                base: format!("/s/{slug}"),
            });
            (at, rest)
        }
        None => (
            Some(SiteRoute {
                site: state.default_site(),
                base: String::new(),
            }),
            full_path,
        ),
    }
}

/// The route path of a request path, without its `/s/{site}` prefix.
fn locate_path(full_path: &str) -> &str {
    match full_path.strip_prefix("/s/") {
        Some(tail) => tail.find('/').map_or("/", |i| &tail[i..]),
        None => full_path,
    }
}

/// The page path after `prefix` (`/call` → `""`, `/call/a` → `"/a"`), or
/// `None` when `path` is not under it (`/callx`).
fn under<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    path.strip_prefix(prefix)
        .filter(|tail| tail.is_empty() || tail.starts_with('/'))
}

/// The parameters of the chart routes (`/api/plot`, `/plot`).
const PLOT_PARAMS: Accepts = Accepts {
    names: &["from", "to", "days", "total"],
    max_limit: 1,
};

/// The page a read route names (a valid path the site's registry knows)
/// and the route's query parameters, with "today" in the site's zone.
fn page_query(
    state: &AppState,
    at: &SiteRoute<'_>,
    tail: &str,
    query: Option<&str>,
    accepts: Accepts,
) -> Result<(PagePath, PathId, ReadParams), HttpError> {
    state.availability.check_ready()?;
    let path = PagePath::parse(tail)?;
    let id = at.site.registry.id_of(&path).ok_or(HttpError::UnknownPage)?;
    let params = parse(query, accepts, state.today(at.site))?;
    Ok((path, id, params))
}
