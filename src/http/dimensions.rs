//! `GET /api/dimensions?dim=…` (the whole site) and
//! `GET /api/dimensions/{path}?dim=…` (one page): `[{"value", "count"}]`
//! of one dimension (`browser`, `os`, `device`, `country`, `referrer`)
//! over a range (`from`, `to`, `days`; all days by default), count
//! descending then value. Without the admin token, values seen fewer than
//! `min_dimension_count` times in the range are added to `Other`.
//!
//! Also the dimension panels pages show ([`panels`]), and `GET /count.js`, the script that reports the referrer host: it
//! requests `/call{location.pathname}?r=<host>` from the Footfall (and
//! site prefix) it was loaded from, taken from its own `src`. No cookies
//! (`credentials: "omit"`), no storage, nothing read but the referrer.

use hyper::HeaderMap;

use super::access::bearer;
use super::error::HttpError;
use super::response::{json, script, HttpResponse};
use super::{page_query, SiteRoute};
use crate::read::dimensions::{dimension_panels, Audience, MAX_VALUES};
use crate::read::panels::render_panels;
use crate::read::query::{parse, Accepts, DayRange, QueryError};
use crate::state::AppState;
use crate::store::{Dimension, Scope};

/// The script, under 1 KB (a test checks).
pub const COUNT_JS: &str = include_str!("../../assets/count.js");

const DIMENSIONS: Accepts = Accepts {
    names: &["dim", "from", "to", "days"],
    max_limit: 1,
};

/// `GET /count.js`.
pub fn count_js() -> HttpResponse {
    script(COUNT_JS)
}

/// `GET /api/dimensions`: one dimension over every page of the site.
pub async fn site(
    state: &AppState,
    at: &SiteRoute<'_>,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<HttpResponse, HttpError> {
    let (dimension, rest) = dimension_of(query)?;
    let params = parse(rest.as_deref(), DIMENSIONS, state.today(at.site))?;
    let scope = Scope::Site(at.site.registry.site_id()?);
    answer(state, headers, scope, dimension, params.range).await
}

/// `GET /api/dimensions/{path}`: one dimension of one page.
pub async fn page(
    state: &AppState,
    at: &SiteRoute<'_>,
    headers: &HeaderMap,
    tail: &str,
    query: Option<&str>,
) -> Result<HttpResponse, HttpError> {
    let (dimension, rest) = dimension_of(query)?;
    let (_, id, params) = page_query(state, at, tail, rest.as_deref(), DIMENSIONS)?;
    answer(state, headers, Scope::Page(id), dimension, params.range).await
}

async fn answer(
    state: &AppState,
    headers: &HeaderMap,
    scope: Scope,
    dimension: Dimension,
    range: DayRange,
) -> Result<HttpResponse, HttpError> {
    let audience = audience(state, headers);
    let values = state
        .reads
        .dimension(scope, dimension, range, audience, MAX_VALUES)
        .await?;
    json(&values)
}

/// The dimension panels of `scope` (a page, or the whole site) over
/// `range`, as the public sees them — a browser sends no token — as an
/// HTML fragment; no countries without a GeoIP database. The chart page
/// shows a page's; the dashboard shows `Scope::Site`'s the same way.
///
/// # Errors
/// An [`HttpError`] when the store does not answer.
pub async fn panels(state: &AppState, scope: Scope, range: DayRange) -> Result<String, HttpError> {
    let shown: Vec<Dimension> = Dimension::ALL
        .into_iter()
        .filter(|&d| d != Dimension::Country || state.config.dimensions.geoip.is_some())
        .collect();
    let audience = Audience::Public {
        min_count: state.config.dimensions.min_count,
    };
    let panels = dimension_panels(&state.reads, scope, range, audience, &shown).await?;
    Ok(render_panels(&panels))
}

/// The owner (admin token) sees exact values; everyone else, read tokens
/// included, sees rare ones added to `Other`.
pub fn audience(state: &AppState, headers: &HeaderMap) -> Audience {
    if state.tokens.is_admin(bearer(headers)) {
        Audience::Owner
    } else {
        Audience::Public {
            min_count: state.config.dimensions.min_count,
        }
    }
}

/// The required `dim` parameter, and the query without it for [`parse`].
fn dimension_of(query: Option<&str>) -> Result<(Dimension, Option<String>), QueryError> {
    let mut dimension = None;
    let mut rest = Vec::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=').unwrap_or((pair, "")) {
            ("dim", value) => {
                let names = Dimension::ALL.map(Dimension::name).join(", ");
                let parsed = Dimension::parse(value).ok_or_else(|| QueryError {
                    name: "dim".into(),
                    message: format!("{value:?} is not one of {names}"),
                })?;
                if dimension.replace(parsed).is_some() {
                    return Err(QueryError {
                        name: "dim".into(),
                        message: "given twice".into(),
                    });
                }
            }
            _ => rest.push(pair),
        }
    }
    let dimension = dimension.ok_or_else(|| QueryError {
        name: "dim".into(),
        message: format!("required: one of {}", Dimension::ALL.map(Dimension::name).join(", ")),
    })?;
    Ok((dimension, (!rest.is_empty()).then(|| rest.join("&"))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_is_small_and_keeps_nothing() {
        assert!(COUNT_JS.len() < 1024, "{} bytes", COUNT_JS.len());
        for banned in [
            "cookie",
            "localStorage",
            "sessionStorage",
            "indexedDB",
            "canvas",
            "navigator.",
        ] {
            assert!(!COUNT_JS.contains(banned), "{banned}");
        }
        assert!(COUNT_JS.contains("credentials:\"omit\""));
    }

    #[test]
    fn dim_is_required_known_and_taken_out_of_the_range_parameters() {
        let (dim, rest) = dimension_of(Some("days=7&dim=country")).unwrap();
        assert_eq!((dim, rest.as_deref()), (Dimension::Country, Some("days=7")));
        assert_eq!(dimension_of(Some("dim=os")).unwrap(), (Dimension::Os, None));
        for bad in [None, Some("days=7"), Some("dim=shoe"), Some("dim=os&dim=os")] {
            let error = dimension_of(bad).unwrap_err();
            assert_eq!(error.name, "dim", "{bad:?}");
        }
    }
}
