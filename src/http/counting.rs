//! The counting routes: `GET /call/{path}` answers the configured image,
//! `GET /badge/{path}` a live count badge (`?label=` changes its left text).
//! Both count through [`count_hit`]; `HEAD` validates the path and answers
//! the same headers without probing or counting.
//!
//! A counted hit and a repeat get byte-identical responses, so nobody can
//! learn from a response whether an address visited a page before.

use std::net::IpAddr;

use bytes::Bytes;
use hyper::header::HeaderValue;
use hyper::{Method, Request};

use super::error::HttpError;
use super::response::{self, HttpResponse};
use super::SiteRoute;
use crate::count::count_hit;
use crate::count::path::PagePath;
use crate::read::badge::{render_badge_svg, render_badge_text, HIDDEN_COUNT};
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
    if request.method() != Method::HEAD {
        count_hit(state, at.site, &path, client_of(state, request, peer), state.now()).await?;
    }
    let image = &state.config.response;
    Ok(response::image(
        image.content_type,
        state.image_cache_control.clone(),
        Bytes::clone(&image.bytes),
    ))
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
        Some(count_hit(state, at.site, &path, client_of(state, request, peer), state.now()).await?)
    };
    let label = params.label.as_deref().unwrap_or(DEFAULT_LABEL);
    // A private site's badge counts but shows no number, unless the owner allows it.
    let access = &at.site.config.access;
    if !access.public && !access.public_badge {
        return Ok(response::badge(render_badge_text(label, HIDDEN_COUNT)));
    }
    let total = match id {
        Some(id) => state.reads.summary(id).await?.total,
        None => 0,
    };
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
