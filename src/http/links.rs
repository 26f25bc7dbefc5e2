//! Links: `GET /go/<token>` (count the click, `302` to the destination),
//! `GET /api/links` (every link of the site), `GET /api/links/{id}` (one
//! link's clicks per day), `GET /api/links/{id}/plot` (its chart) and the
//! admin's `POST /api/admin/links` (mint one). The dashboard's links
//! section is `dashboard::links`.
//!
//! Never an open redirect: `Location` is only ever the destination of a
//! token [`Links::open`](crate::link::Links::open) accepted. Every invalid
//! token gets the same `400` page without `Location`.
//!
//! `/go` answers the same `302` whether the click was counted, a repeat,
//! filtered, or not committed (no oracle); it is sent after a counted
//! click's commit (or its failure, bounded by the recorder's 2 s), so a
//! `302` for a counted click means it is stored, except when the store
//! fails — then the visitor still reaches the destination: a lost click is
//! better than a broken link in a sent newsletter.

use std::collections::BTreeMap;
use std::net::IpAddr;

use hyper::header::HeaderValue;
use hyper::{HeaderMap, Method, Request, StatusCode};
use serde::{Deserialize, Serialize};

use super::body::{self, JSON_LIMIT};
use super::counting::client_of;
use super::error::HttpError;
use super::response::{self, json, json_status, HttpResponse};
use super::SiteRoute;
use crate::count::click::count_click;
use crate::count::filter::Signals;
use crate::link::token::LinkId;
use crate::link::LinkError;
use crate::owner::links::{mint, LinkRequest};
use crate::state::AppState;

/// `GET /go/<token>`.
pub async fn go<B>(
    state: &AppState,
    request: &Request<B>,
    tail: &str,
    peer: IpAddr,
) -> Result<HttpResponse, HttpError> {
    let token = tail.strip_prefix('/').unwrap_or(tail);
    let now = state.now();
    let opened = state.links.open(token, now).map_err(|_| HttpError::BadLink)?;
    let site = state.site(&opened.payload.site).ok_or(HttpError::BadLink)?;
    let location = HeaderValue::from_str(&opened.payload.url).map_err(|_| HttpError::BadLink)?;
    if request.method() != Method::HEAD {
        let signals = Signals::read(request.headers(), state.counter.agents);
        let client = client_of(state, request, peer);
        // Whatever became of the click, the visitor goes on (see the module doc).
        let _ = count_click(&state.counter, &state.links, site, &opened, client, &signals, now).await;
    }
    Ok(response::found(location))
}

#[derive(Serialize)]
struct LinkReport {
    link: String,
    name: Option<String>,
    host: String,
    total: u64,
    last: Option<String>,
}

/// `GET /api/links`: `[{"link", "name", "host", "total", "last"}]`, total descending.
pub async fn list(state: &AppState, at: &SiteRoute<'_>, query: Option<&str>) -> Result<HttpResponse, HttpError> {
    no_params(query)?;
    state.availability.check_ready()?;
    let zone = &at.site.config.zone;
    let rows = state.reads.links(at.site.registry.site_id()?).await?;
    let report: Vec<LinkReport> = rows
        .into_iter()
        .map(|r| LinkReport {
            link: r.link,
            name: r.name,
            host: r.host,
            total: r.total,
            last: r.last_click.map(|t| zone.rfc3339(t)),
        })
        .collect();
    json(&report)
}

#[derive(Serialize)]
struct DayReport {
    day: String,
    count: u64,
}

/// `GET /api/links/{id}`: `[{"day", "count"}]` from the first click to
/// today; `/api/links/{id}/plot`: the same as a chart.
pub async fn one(
    state: &AppState,
    at: &SiteRoute<'_>,
    tail: &str,
    query: Option<&str>,
) -> Result<HttpResponse, HttpError> {
    no_params(query)?;
    state.availability.check_ready()?;
    let tail = tail.strip_prefix('/').unwrap_or(tail);
    let (id, plot) = match tail.strip_suffix("/plot") {
        Some(id) => (id, true),
        None => (tail, false),
    };
    let id = LinkId::parse(id).ok_or(HttpError::UnknownLink)?;
    let today = state.today_number(at.site);
    let series = state
        .reads
        .link_series(at.site.registry.site_id()?, id.as_str(), today)
        .await?
        .ok_or(HttpError::UnknownLink)?;
    if plot {
        // As a page's chart: bars only, the running total is for `?total=1` there.
        return Ok(response::svg(series.chart(
            &format!("link {}", id.as_str()),
            false,
            today,
        )?));
    }
    let days: Vec<DayReport> = series
        .days
        .iter()
        .map(|&(day, count)| DayReport {
            day: crate::zone::date_of_day(day).to_string(),
            count,
        })
        .collect();
    json(&days)
}

fn no_params(query: Option<&str>) -> Result<(), HttpError> {
    match query.filter(|q| !q.is_empty()) {
        None => Ok(()),
        Some(_) => Err(HttpError::BadBody("this route takes no query parameters".into())),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MintBody {
    url: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    meta: BTreeMap<String, String>,
    #[serde(default)]
    expires: Option<String>,
}

#[derive(Serialize)]
struct Minted<'a> {
    link: &'a str,
    id: &'a str,
    site: &'a str,
}

/// `POST /api/admin/links {"url", "name", "meta", "expires"}`: `201 {"link", "id", "site"}`.
pub async fn mint_link<B>(
    state: &AppState,
    at: &SiteRoute<'_>,
    headers: &HeaderMap,
    body: B,
) -> Result<HttpResponse, HttpError>
where
    B: hyper::body::Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let asked: MintBody = body::json(headers, &body::collect(body, JSON_LIMIT).await?)?;
    let request = LinkRequest {
        url: asked.url,
        name: asked.name,
        meta: asked.meta,
        expires: asked.expires,
    };
    let slug = &at.site.config.slug;
    let (link, id) = mint(&state.links, slug, request, state.now()).map_err(|e| match e {
        LinkError::Off => HttpError::BadBody(e.to_string()),
        LinkError::Mint(m) => HttpError::BadBody(m.0),
    })?;
    json_status(
        StatusCode::CREATED,
        &Minted {
            link: &link,
            id: id.as_str(),
            site: slug,
        },
    )
}
