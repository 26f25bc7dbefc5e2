//! `GET /badge/{path}`: counts exactly like `/call/{path}` (same probing,
//! dedup and durability), then answers a live count badge instead of the
//! configured image. `?label=` changes the left text.

use std::net::IpAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use hyper::{Request, Response};

use super::call::{count, CROSS_ORIGIN_RESOURCE_POLICY};
use super::HttpResponse;
use crate::app::AppState;
use crate::badge::render_badge_svg;
use crate::error::HttpError;
use crate::path::PagePath;
use crate::query::{parse, Accepts};

const DEFAULT_LABEL: &str = "views";
const BADGE: Accepts = Accepts {
    names: &["label"],
    max_limit: 1,
};

pub async fn badge(
    state: &AppState,
    request: &Request<Incoming>,
    tail: &str,
    peer: IpAddr,
) -> Result<HttpResponse, HttpError> {
    let path = PagePath::parse(tail)?;
    let params = parse(request.uri().query(), BADGE, state.today())?;
    count(state, request, &path, peer).await?;
    let total = match state.registry.id_of(&path) {
        Some(id) => state.observe(state.store.summary(id).await)?.total,
        None => 0,
    };
    let svg = render_badge_svg(params.label.as_deref().unwrap_or(DEFAULT_LABEL), total);
    let mut response = Response::new(Full::new(Bytes::from(svg)));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("image/svg+xml"));
    // The number changes with every visitor: browsers must ask again.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(CROSS_ORIGIN_RESOURCE_POLICY, HeaderValue::from_static("cross-origin"));
    Ok(response)
}
