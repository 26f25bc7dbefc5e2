//! `GET /api/filtered`: per page of the site, the proxied views and the hits
//! filtered out by reason over a range (`from`, `to`, `days`; all days by
//! default), by path. Pages without any are left out. Aggregates only: what
//! was filtered and why, never who.

use serde::Serialize;

use super::error::HttpError;
use super::response::{json, HttpResponse};
use super::SiteRoute;
use crate::read::query::{parse, Accepts};
use crate::read::tallies::Filtered;
use crate::state::AppState;

const FILTERED: Accepts = Accepts {
    names: &["from", "to", "days"],
    max_limit: 1,
};

#[derive(Serialize)]
struct PageReport {
    path: String,
    proxied: u64,
    filtered: Filtered,
}

pub async fn filtered(state: &AppState, at: &SiteRoute<'_>, query: Option<&str>) -> Result<HttpResponse, HttpError> {
    let params = parse(query, FILTERED, state.today(at.site))?;
    let pages = state.reads.tallies(at.site.registry.site_id()?, params.range).await?;
    let reports: Vec<PageReport> = pages
        .into_iter()
        .map(|page| PageReport {
            proxied: page.tallies.proxied,
            filtered: Filtered::from(&page.tallies),
            path: page.path,
        })
        .collect();
    json(&reports)
}
