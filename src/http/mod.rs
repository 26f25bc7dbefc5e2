//! The route table: every URL Footfall answers, in one `match`, delegating to
//! one file per route group:
//!
//! | route | handler |
//! |---|---|
//! | `/` | `pages::dashboard` |
//! | `/healthz`, `/readyz` | `health` |
//! | `/call/{path}` | `call::call` — count, answer the image |
//! | `/badge/{path}` | `badge::badge` — count, answer the live badge |
//! | `/plot/{path}` | `pages::plot` — the chart page |
//! | `/api/counts`, `/api/counts/{path}` | `api::counts`, `api::count_of` |
//! | `/api/history/{path}` | `api::history` |
//! | `/api/plot/{path}` | `api::plot` — the chart as SVG | Also the small response builders they share.
//!
//! Handlers return `Result<Response, HttpError>`; the error's one mapping to a
//! status lives in `crate::error`. Nothing here logs per request.

mod api;
mod badge;
mod call;
mod health;
mod pages;

use std::net::IpAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};

use crate::app::AppState;
use crate::error::{ErrorFormat, HttpError};

pub type HttpResponse = Response<Full<Bytes>>;

pub async fn route(state: &AppState, request: Request<Incoming>, peer: IpAddr) -> HttpResponse {
    let path = request.uri().path();
    let format = if path.starts_with("/api/") {
        ErrorFormat::Json
    } else {
        ErrorFormat::Text
    };
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return HttpError::MethodNotAllowed.into_response(format);
    }
    let query = request.uri().query();
    let result = match path {
        "/" => pages::dashboard(state).await,
        "/healthz" => Ok(health::live()),
        "/readyz" => health::ready(state).await,
        "/api/counts" => api::counts(state, query).await,
        _ => {
            if let Some(tail) = under(path, "/call") {
                call::call(state, &request, tail, peer).await
            } else if let Some(tail) = under(path, "/badge") {
                badge::badge(state, &request, tail, peer).await
            } else if let Some(tail) = under(path, "/plot") {
                pages::plot(state, tail, query).await
            } else if let Some(tail) = under(path, "/api/counts") {
                api::count_of(state, tail, query).await
            } else if let Some(tail) = under(path, "/api/history") {
                api::history(state, tail, query).await
            } else if let Some(tail) = under(path, "/api/plot") {
                api::plot(state, tail, query).await
            } else {
                Err(HttpError::NotFound)
            }
        }
    };
    result.unwrap_or_else(|error| error.into_response(format))
}

/// The page path after `prefix` (`/call` → `""`, `/call/a` → `"/a"`), or
/// `None` when `path` is not under it (`/callx`).
fn under<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    path.strip_prefix(prefix)
        .filter(|tail| tail.is_empty() || tail.starts_with('/'))
}

pub fn text(status: StatusCode, body: &'static str) -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub fn svg(body: String) -> Result<HttpResponse, HttpError> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("image/svg+xml"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

pub fn json(value: &impl serde::Serialize) -> Result<HttpResponse, HttpError> {
    // Serializing our own plain structs cannot fail; mapped anyway, never unwrapped.
    let body = serde_json::to_vec(value).map_err(|_| HttpError::StoreUnavailable)?;
    let mut response = Response::new(Full::new(Bytes::from(body)));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}
