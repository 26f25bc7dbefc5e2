//! The route table: every URL Footfall answers, in one `match`, delegating to
//! one file per route group. Also the small response builders they share.
//!
//! Handlers return `Result<Response, HttpError>`; the error's one mapping to a
//! status lives in `crate::error`. Nothing here logs per request.

mod api;
mod call;
mod health;

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
    let result = match path {
        "/healthz" => Ok(health::live()),
        "/readyz" => health::ready(state).await,
        "/api/counts" => api::counts(state).await,
        _ => match path.strip_prefix("/call") {
            Some(tail) if tail.is_empty() || tail.starts_with('/') => call::call(state, &request, tail, peer).await,
            _ => Err(HttpError::NotFound),
        },
    };
    result.unwrap_or_else(|error| error.into_response(format))
}

pub fn text(status: StatusCode, body: &'static str) -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
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
