//! The admin API under `/api/admin/` (and `/s/{site}/api/admin/`, for one
//! site; without the prefix, the default site): manage pages (here), export
//! and import (`transfer`), mint links (`links`). JSON in and out.
//!
//! Every request needs the admin token as `Authorization: Bearer <token>`
//! (401 otherwise, the same answer whatever was wrong); without an
//! `admin_token` configured, every admin route is 404. Handlers translate to
//! the use-cases in `owner` and back; they never log the token.

use std::error::Error;

use hyper::body::Body;
use hyper::{Method, Request, StatusCode};
use serde::{Deserialize, Serialize};

use super::access::bearer;
use super::body::{self, JSON_LIMIT};
use super::error::{ErrorFormat, HttpError};
use super::response::{self, json, json_status, HttpResponse};
use super::{links, notify, transfer, SiteRoute};
use crate::count::path::PagePath;
use crate::owner::pages::{self, Moved, Registered};
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PageBody {
    path: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RenameBody {
    from: String,
    to: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OffsetBody {
    count: u64,
}

#[derive(Serialize)]
struct PageReport<'a> {
    site: &'a str,
    path: &'a str,
}

#[derive(Serialize)]
struct MoveReport<'a> {
    site: &'a str,
    from: &'a str,
    to: &'a str,
    merged: bool,
}

#[derive(Serialize)]
struct OffsetReport<'a> {
    site: &'a str,
    path: &'a str,
    offset: u64,
}

/// Answers one admin request; `tail_from` is where the route after
/// `/api/admin` starts in the request's path.
pub async fn route<B>(
    state: &AppState,
    at: Option<SiteRoute<'_>>,
    request: Request<B>,
    tail_from: usize,
) -> HttpResponse
where
    B: Body,
    B::Error: Into<Box<dyn Error + Send + Sync>>,
{
    let answer = async {
        if !state.tokens.admin_enabled() {
            return Err(HttpError::NotFound);
        }
        if !state.tokens.is_admin(bearer(request.headers())) {
            return Err(HttpError::Unauthorized);
        }
        let at = at.ok_or(HttpError::UnknownSite)?;
        let (parts, body) = request.into_parts();
        let tail = parts.uri.path().get(tail_from..).unwrap_or("");
        let method = &parts.method;
        match tail {
            "/pages" if method == Method::POST => {
                let page: PageBody = body::json(&parts.headers, &body::collect(body, JSON_LIMIT).await?)?;
                register(state, &at, &page.path).await
            }
            "/webhooks" if matches!(*method, Method::GET | Method::HEAD) => notify::webhooks(state, &at).await,
            "/links" if method == Method::POST => links::mint_link(state, &at, &parts.headers, body).await,
            "/pages/rename" if method == Method::POST => {
                let pair: RenameBody = body::json(&parts.headers, &body::collect(body, JSON_LIMIT).await?)?;
                rename(state, &at, &pair).await
            }
            "/import" if method == Method::POST => transfer::import(state, &at, parts.uri.query(), body).await,
            "/export" if matches!(*method, Method::GET | Method::HEAD) => {
                transfer::export(state, &at, parts.uri.query())
            }
            "/pages" | "/import" | "/links" => Err(HttpError::MethodNotAllowedHere("POST")),
            "/export" => Err(HttpError::MethodNotAllowedHere("GET, HEAD")),
            _ => match tail.strip_prefix("/pages") {
                Some(page) if page.starts_with('/') => {
                    let offset = page.strip_suffix("/offset").filter(|_| method == Method::PUT);
                    if let Some(page) = offset {
                        let count: OffsetBody = body::json(&parts.headers, &body::collect(body, JSON_LIMIT).await?)?;
                        set_offset(state, &at, page, count.count).await
                    } else if method == Method::DELETE {
                        remove(state, &at, page).await
                    } else {
                        Err(HttpError::MethodNotAllowedHere("DELETE, PUT"))
                    }
                }
                _ => Err(HttpError::NotFound),
            },
        }
    };
    answer
        .await
        .unwrap_or_else(|error| error.into_response(ErrorFormat::Json))
}

/// `POST /api/admin/pages {"path"}`: 201 when registered now, 200 when it existed.
async fn register(state: &AppState, at: &SiteRoute<'_>, raw: &str) -> Result<HttpResponse, HttpError> {
    let path = PagePath::parse(raw)?;
    let status = match pages::register(state, at.site, &path).await? {
        Registered::New => StatusCode::CREATED,
        Registered::Existing => StatusCode::OK,
    };
    json_status(
        status,
        &PageReport {
            site: &at.site.config.slug,
            path: path.as_str(),
        },
    )
}

/// `DELETE /api/admin/pages/{path}`: 204, or 404 when there is no such page.
async fn remove(state: &AppState, at: &SiteRoute<'_>, tail: &str) -> Result<HttpResponse, HttpError> {
    let path = PagePath::parse(tail)?;
    pages::remove(state, at.site, &path).await?;
    Ok(response::no_content())
}

/// `POST /api/admin/pages/rename {"from", "to"}`: renames, or merges into an existing `to`.
async fn rename(state: &AppState, at: &SiteRoute<'_>, pair: &RenameBody) -> Result<HttpResponse, HttpError> {
    let (from, to) = (PagePath::parse(&pair.from)?, PagePath::parse(&pair.to)?);
    let moved = pages::rename(state, at.site, &from, &to).await?;
    json(&MoveReport {
        site: &at.site.config.slug,
        from: from.as_str(),
        to: to.as_str(),
        merged: moved == Moved::Merged,
    })
}

/// `PUT /api/admin/pages/{path}/offset {"count"}`: the page's start count.
async fn set_offset(state: &AppState, at: &SiteRoute<'_>, tail: &str, count: u64) -> Result<HttpResponse, HttpError> {
    let path = PagePath::parse(tail)?;
    pages::set_offset(state, at.site, &path, count).await?;
    json(&OffsetReport {
        site: &at.site.config.slug,
        path: path.as_str(),
        offset: count,
    })
}
