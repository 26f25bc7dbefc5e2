//! `GET /call/{path}`: count one call per visitor per page per window and
//! answer the image.
//!
//! A counted hit and a repeat get byte-identical responses, so nobody can
//! learn from a response whether an address visited a page before. The 200
//! for a counted hit is sent only once the hit is committed.

use std::net::IpAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use hyper::{Method, Request, Response};
use jiff::Timestamp;

use super::HttpResponse;
use crate::app::AppState;
use crate::error::HttpError;
use crate::path::PagePath;
use crate::store::Hit;
use crate::visitors::Admission;

pub const CROSS_ORIGIN_RESOURCE_POLICY: HeaderName = HeaderName::from_static("cross-origin-resource-policy");

pub async fn call(
    state: &AppState,
    request: &Request<Incoming>,
    tail: &str,
    peer: IpAddr,
) -> Result<HttpResponse, HttpError> {
    count(state, request, &PagePath::parse(tail)?, peer).await?;
    Ok(image(state))
}

/// Counts the request as a call of `path` unless this visitor was counted
/// there in the current window, or it is a HEAD request (which never
/// counts). Probes and registers unknown paths first.
pub async fn count(
    state: &AppState,
    request: &Request<Incoming>,
    path: &PagePath,
    peer: IpAddr,
) -> Result<(), HttpError> {
    if request.method() == Method::HEAD {
        return Ok(());
    }
    state.check_ready()?;
    let id = match state.registry.id_of(path) {
        Some(id) => id,
        None => state.registry.resolve(path).await?,
    };
    let forwarded_for = request
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .map(HeaderValue::as_bytes);
    let client = state.config.trusted_proxies.client_ip(peer, forwarded_for);
    let now = Timestamp::now();
    if let Admission::New(key) = state.visitors.admit(now, client, path) {
        let hit = Hit {
            path: id,
            at: now,
            day: state.config.zone.day_of(now),
        };
        if state.recorder.record(hit).await.is_err() {
            // Not counted, so not remembered: the visitor's retry must count.
            state.visitors.forget(key);
            return Err(HttpError::StoreUnavailable);
        }
    }
    Ok(())
}

fn image(state: &AppState) -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::clone(&state.config.response.bytes)));
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(state.config.response.content_type),
    );
    headers.insert(CACHE_CONTROL, state.image_cache_control.clone());
    headers.insert(CROSS_ORIGIN_RESOURCE_POLICY, HeaderValue::from_static("cross-origin"));
    response
}
