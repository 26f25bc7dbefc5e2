//! The HTTP edge: every URL Footfall answers, in one `match`, delegating to
//! one file per route group:
//!
//! | route | handler |
//! |---|---|
//! | `/` | `pages::dashboard` |
//! | `/healthz`, `/readyz` | `health` |
//! | `/call/{path}` | `counting::call` — count, answer the image |
//! | `/badge/{path}` | `counting::badge` — count, answer the live badge |
//! | `/plot/{path}` | `pages::plot` — the chart page |
//! | `/api/counts`, `/api/counts/{path}` | `api::counts`, `api::count_of` |
//! | `/api/history/{path}` | `api::history` |
//! | `/api/plot/{path}` | `api::plot` — the chart as SVG |
//!
//! Handlers translate HTTP to a use-case of the write or read path and back;
//! they never call each other. They return `Result<HttpResponse, HttpError>`,
//! and the error's one mapping to a response lives in [`error`]; every
//! response shape lives in [`response`]. Nothing here logs per request.

mod api;
mod counting;
mod error;
mod health;
mod pages;
mod response;

use std::net::IpAddr;

use hyper::{Method, Request};

use self::error::{ErrorFormat, HttpError};
use self::response::HttpResponse;
use crate::count::path::PagePath;
use crate::read::query::Accepts;
use crate::state::AppState;
use crate::store::PathId;

/// Answers one request. Generic over the body (Footfall reads none), so
/// tests can call it in-process without a socket.
pub async fn route<B>(state: &AppState, request: Request<B>, peer: IpAddr) -> HttpResponse {
    let path = request.uri().path();
    let format = if path.starts_with("/api/") {
        ErrorFormat::Json
    } else if path == "/" || under(path, "/plot").is_some() {
        ErrorFormat::Html
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
                counting::call(state, &request, tail, peer).await
            } else if let Some(tail) = under(path, "/badge") {
                counting::badge(state, &request, tail, peer).await
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

/// The parameters of the chart routes (`/api/plot`, `/plot`).
const PLOT_PARAMS: Accepts = Accepts {
    names: &["from", "to", "days"],
    max_limit: 1,
};

/// The page a read route names: a valid path the registry knows.
fn known_page(state: &AppState, tail: &str) -> Result<(PagePath, PathId), HttpError> {
    state.availability.check_ready()?;
    let path = PagePath::parse(tail)?;
    let id = state.registry.id_of(&path).ok_or(HttpError::UnknownPage)?;
    Ok((path, id))
}
