//! The counting routes: `GET /call/{path}` answers the configured image,
//! `GET /badge/{path}` a live count badge (options in `badge_options`).
//! Both count through [`count_hit`]; `HEAD` validates the path and answers
//! the same headers without probing or counting. Query parameters a route
//! does not know are ignored: a cache-busting `?v=2` must not cost a count.
//!
//! No oracle: for one client, a counted hit, a repeat and a filtered hit
//! get byte-identical responses, so nobody can learn from a response
//! whether an address visited a page before or how it was classified. Only
//! what the request itself says (an image proxy's user agent) changes the
//! headers.

use std::net::IpAddr;

use bytes::Bytes;
use hyper::header::HeaderValue;
use hyper::{Method, Request, StatusCode};
use jiff::Timestamp;

use super::error::HttpError;
use super::response::{self, HttpResponse};
use super::SiteRoute;
use crate::count::count_hit;
use crate::count::filter::Signals;
use crate::count::path::PagePath;
use crate::read::badge::{render_badge_svg, HIDDEN_COUNT};
use crate::read::badge_options::BadgeOptions;
use crate::state::AppState;
use crate::store::{BadgeFigures, PathId};

pub async fn call<B>(
    state: &AppState,
    at: &SiteRoute<'_>,
    request: &Request<B>,
    tail: &str,
    peer: IpAddr,
) -> Result<HttpResponse, HttpError> {
    let path = PagePath::parse(tail)?;
    let signals = Signals::read(request.headers(), state.counter.agents);
    if request.method() != Method::HEAD {
        count(state, at, request, &path, &signals, peer, state.now()).await?;
    }
    let image = &state.config.response;
    let body = Bytes::clone(&image.bytes);
    Ok(if signals.is_proxied() {
        // A proxy must ask on every view for each view to count.
        response::proxied_image(image.content_type, body)
    } else {
        response::image(image.content_type, state.image_cache_control.clone(), body)
    })
}

pub async fn badge<B>(
    state: &AppState,
    at: &SiteRoute<'_>,
    request: &Request<B>,
    tail: &str,
    peer: IpAddr,
) -> Result<HttpResponse, HttpError> {
    let path = PagePath::parse(tail)?;
    let options = BadgeOptions::parse(request.uri().query());
    // One reading of the clock: the badge's "today" is the day its hit counted in.
    let now = state.now();
    let id = if request.method() == Method::HEAD {
        state.availability.check_ready()?;
        at.site.registry.id_of(&path)
    } else {
        let signals = Signals::read(request.headers(), state.counter.agents);
        Some(count(state, at, request, &path, &signals, peer, now).await?)
    };
    // A private site's badge counts but shows no number, unless the owner allows it.
    let access = &at.site.config.access;
    let svg = if !access.public && !access.public_badge {
        render_badge_svg(&options.label, HIDDEN_COUNT, &options.look)
    } else {
        let figures = match id {
            Some(id) => {
                let today = at.site.config.zone.day_of(now);
                state.reads.badge_figures(id, today).await?
            }
            None => BadgeFigures::default(),
        };
        render_badge_svg(&options.label, &options.value(&figures), &options.look)
    };
    Ok(response::badge(StatusCode::OK, svg))
}

/// Counts the request as a view of `path`, by the visitor it comes from.
async fn count<B>(
    state: &AppState,
    at: &SiteRoute<'_>,
    request: &Request<B>,
    path: &PagePath,
    signals: &Signals<'_>,
    peer: IpAddr,
    now: Timestamp,
) -> Result<PathId, HttpError> {
    let client = client_of(state, request, peer);
    let query = request.uri().query();
    Ok(count_hit(&state.counter, at.site, path, client, signals, query, now).await?)
}

/// The visitor's address: the peer, or what a trusted proxy says.
pub(super) fn client_of<B>(state: &AppState, request: &Request<B>, peer: IpAddr) -> IpAddr {
    let forwarded_for = request
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .map(HeaderValue::as_bytes);
    state.config.trusted_proxies.client_ip(peer, forwarded_for)
}
