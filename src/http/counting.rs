//! The counting routes: `GET /call/{path}` answers the configured image,
//! `GET /badge/{path}` a live count badge (`?label=` changes its left text).
//! Both count through [`count_hit`]; `HEAD` validates the path and answers
//! the same headers without probing or counting.
//!
//! No oracle: for one client, a counted hit, a repeat and a filtered hit
//! get byte-identical responses, so nobody can learn from a response
//! whether an address visited a page before or how it was classified. Only
//! what the request itself says (an image proxy's user agent) changes the
//! headers.

use std::net::IpAddr;

use bytes::Bytes;
use hyper::header::HeaderValue;
use hyper::{Method, Request};

use super::error::HttpError;
use super::response::{self, HttpResponse};
use super::SiteRoute;
use crate::count::count_hit;
use crate::count::filter::Signals;
use crate::count::path::PagePath;
use crate::read::badge::render_badge_svg;
use crate::read::query::{parse, Accepts};
use crate::state::AppState;
use crate::store::PathId;

const DEFAULT_LABEL: &str = "views";
const BADGE: Accepts = Accepts {
    names: &["label"],
    max_limit: 1,
};

pub async fn call<B>(
    state: &AppState,
    at: &SiteRoute<'_>,
    request: &Request<B>,
    tail: &str,
    peer: IpAddr,
) -> Result<HttpResponse, HttpError> {
    let path = PagePath::parse(tail)?;
    let signals = Signals::read(request.headers(), state.agents);
    if request.method() != Method::HEAD {
        let client = client_of(state, request, peer);
        count_hit(state, at.site, &path, client, &signals, state.now()).await?;
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
    let params = parse(request.uri().query(), BADGE, state.today(at.site))?;
    let id: Option<PathId> = if request.method() == Method::HEAD {
        state.availability.check_ready()?;
        at.site.registry.id_of(&path)
    } else {
        let signals = Signals::read(request.headers(), state.agents);
        let client = client_of(state, request, peer);
        Some(count_hit(state, at.site, &path, client, &signals, state.now()).await?)
    };
    let total = match id {
        Some(id) => state.reads.summary(id).await?.total,
        None => 0,
    };
    let label = params.label.as_deref().unwrap_or(DEFAULT_LABEL);
    Ok(response::badge(render_badge_svg(label, total)))
}

/// The visitor's address: the peer, or what a trusted proxy says.
fn client_of<B>(state: &AppState, request: &Request<B>, peer: IpAddr) -> IpAddr {
    let forwarded_for = request
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .map(HeaderValue::as_bytes);
    state.config.trusted_proxies.client_ip(peer, forwarded_for)
}
