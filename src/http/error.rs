//! The HTTP error enum and its one mapping to status codes, headers and
//! bodies (text, JSON or an HTML page).
//!
//! Handlers return [`HttpError`]; this is the only place that decides what a
//! client sees. Internal causes are logged where they happen and never sent
//! to the client, and no message carries a client address.

use bytes::Bytes;
use hyper::header::{HeaderValue, ALLOW, RETRY_AFTER, WWW_AUTHENTICATE};
use hyper::StatusCode;

use super::response::{self, HttpResponse};
use crate::availability::Unavailable;
use crate::count::path::PathError;
use crate::count::probe::ProbeError;
use crate::count::registry::RegisterError;
use crate::count::CountError;
use crate::markup::escape_xml;
use crate::owner::pages::PageError;
use crate::read::badge::render_error_badge;
use crate::read::chart::ChartError;
use crate::read::query::QueryError;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("bad path: {0}")]
    BadPath(#[from] PathError),
    #[error("not a page of the tracked site")]
    NotAPage,
    #[error("no such page")]
    NotFound,
    #[error("no such site")]
    UnknownSite,
    #[error("this page has not been counted")]
    UnknownPage,
    #[error("{0}")]
    BadParameter(#[from] QueryError),
    #[error("internal error")]
    Internal,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("too many new pages are being checked right now; try again shortly")]
    ProbeBudget,
    #[error("the store is unavailable; try again shortly")]
    StoreUnavailable,
    #[error("the tracked site did not answer; try again shortly")]
    SiteUnavailable,
    #[error("starting up; try again shortly")]
    NotReady,
    /// `/readyz`'s answer: the reason class, never a secret.
    #[error("not ready: {0}")]
    NotReadyBecause(String),
    /// No, a wrong or a malformed admin token: one answer for all three.
    #[error("this needs the admin token, sent as `Authorization: Bearer <token>`")]
    Unauthorized,
    /// A method an admin route does not take; the methods it does.
    #[error("method not allowed here")]
    MethodNotAllowedHere(&'static str),
    #[error("the request body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("send the request body as application/json")]
    NotJson,
    /// A request body that cannot be used; says why (a field, a line).
    #[error("{0}")]
    BadBody(String),
    #[error("`from` and `to` are the same page")]
    SamePage,
    /// Any `/go/` token that does not redirect; one answer for every reason.
    #[error("this link is not valid")]
    BadLink,
    #[error("no such link")]
    UnknownLink,
}

impl From<PageError> for HttpError {
    fn from(e: PageError) -> Self {
        match e {
            PageError::Unavailable(e) => e.into(),
            PageError::NoSuchPage => Self::UnknownPage,
            PageError::SamePage => Self::SamePage,
        }
    }
}

impl From<CountError> for HttpError {
    fn from(e: CountError) -> Self {
        match e {
            CountError::Unavailable(e) => e.into(),
            CountError::Register(e) => e.into(),
            CountError::NotCommitted => Self::StoreUnavailable,
        }
    }
}

impl From<RegisterError> for HttpError {
    fn from(e: RegisterError) -> Self {
        match e {
            RegisterError::NotAPage | RegisterError::TooManyPaths => Self::NotAPage,
            RegisterError::Probe(ProbeError::OverBudget) => Self::ProbeBudget,
            RegisterError::Probe(ProbeError::SiteUnavailable) => Self::SiteUnavailable,
            RegisterError::StoreUnavailable => Self::StoreUnavailable,
        }
    }
}

impl From<ChartError> for HttpError {
    fn from(_: ChartError) -> Self {
        // Logged where it happened (`DailySeries::chart`).
        Self::Internal
    }
}

impl From<Unavailable> for HttpError {
    fn from(e: Unavailable) -> Self {
        match e {
            Unavailable::NotReady => Self::NotReady,
            Unavailable::StoreDown => Self::StoreUnavailable,
        }
    }
}

/// How an error body is written: JSON under `/api/`, an HTML page for the
/// pages people open, a badge image for `/badge` (an `<img>` never shows a
/// text), plain text elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorFormat {
    Text,
    Json,
    Html,
    Badge,
}

impl HttpError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadPath(_) | Self::BadParameter(_) | Self::BadBody(_) | Self::SamePage | Self::BadLink => {
                StatusCode::BAD_REQUEST
            }
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::NotJson => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::NotAPage | Self::NotFound | Self::UnknownSite | Self::UnknownPage | Self::UnknownLink => {
                StatusCode::NOT_FOUND
            }
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::MethodNotAllowed | Self::MethodNotAllowedHere(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::ProbeBudget
            | Self::StoreUnavailable
            | Self::SiteUnavailable
            | Self::NotReady
            | Self::NotReadyBecause(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// Seconds a client should wait before retrying, for 503s.
    fn retry_after(&self) -> Option<&'static str> {
        match self {
            Self::ProbeBudget | Self::NotReady | Self::NotReadyBecause(_) => Some("1"),
            Self::StoreUnavailable | Self::SiteUnavailable => Some("5"),
            _ => None,
        }
    }

    /// The methods a route allows, for 405s.
    fn allow(&self) -> Option<&'static str> {
        match self {
            Self::MethodNotAllowed => Some("GET, HEAD"),
            Self::MethodNotAllowedHere(methods) => Some(methods),
            _ => None,
        }
    }

    /// The value side of an error badge: a word or two, never a cause.
    fn badge_text(&self) -> &'static str {
        match self.status() {
            StatusCode::BAD_REQUEST => "bad path",
            StatusCode::NOT_FOUND => "not found",
            StatusCode::SERVICE_UNAVAILABLE => "try again",
            _ => "error",
        }
    }

    /// The title of the HTML error page.
    fn title(&self) -> &'static str {
        match self.status() {
            StatusCode::NOT_FOUND => "No such page",
            StatusCode::BAD_REQUEST => "Bad request",
            StatusCode::SERVICE_UNAVAILABLE => "Try again shortly",
            StatusCode::METHOD_NOT_ALLOWED => "Method not allowed",
            StatusCode::UNAUTHORIZED => "Not allowed",
            _ => "Something went wrong",
        }
    }

    pub fn into_response(self, format: ErrorFormat) -> HttpResponse {
        let status = self.status();
        let mut response = match format {
            ErrorFormat::Text => response::text(status, format!("{self}\n")),
            ErrorFormat::Json => response::json_bytes(
                status,
                HeaderValue::from_static("no-store"),
                Bytes::from(serde_json::json!({ "error": self.to_string() }).to_string()),
            ),
            ErrorFormat::Html => {
                let body = format!(
                    "<h1>{}</h1><div class=\"card\"><p>{}.</p><p><a href=\"/\">See all pages</a></p></div>",
                    self.title(),
                    escape_xml(&capitalized(&self.to_string())),
                );
                let mut page = response::html(status, &format!("{} · Footfall", self.title()), &body);
                page.headers_mut()
                    .insert(hyper::header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                page
            }
            ErrorFormat::Badge => response::badge(status, render_error_badge(self.badge_text())),
        };
        let headers = response.headers_mut();
        if let Some(seconds) = self.retry_after() {
            headers.insert(RETRY_AFTER, HeaderValue::from_static(seconds));
        }
        if let Some(methods) = self.allow() {
            headers.insert(ALLOW, HeaderValue::from_static(methods));
        }
        if matches!(self, Self::Unauthorized) {
            headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_variant() -> Vec<HttpError> {
        vec![
            HttpError::BadPath(PathError::TooLong),
            HttpError::NotAPage,
            HttpError::NotFound,
            HttpError::UnknownSite,
            HttpError::UnknownPage,
            HttpError::BadParameter(QueryError {
                name: "days".into(),
                message: "must be a number".into(),
            }),
            HttpError::Internal,
            HttpError::MethodNotAllowed,
            HttpError::ProbeBudget,
            HttpError::StoreUnavailable,
            HttpError::SiteUnavailable,
            HttpError::NotReady,
            HttpError::NotReadyBecause("writes fail: disk full".into()),
            HttpError::Unauthorized,
            HttpError::MethodNotAllowedHere("POST"),
            HttpError::TooLarge(10),
            HttpError::NotJson,
            HttpError::BadBody("line 2: no such page".into()),
            HttpError::SamePage,
            HttpError::BadLink,
            HttpError::UnknownLink,
        ]
    }

    #[test]
    fn each_variant_has_its_status_retry_after_and_allow_in_every_format() {
        let expected: [(u16, Option<&str>, Option<&str>); 19] = [
            (400, None, None),
            (404, None, None),
            (404, None, None),
            (404, None, None),
            (404, None, None),
            (400, None, None),
            (500, None, None),
            (405, None, Some("GET, HEAD")),
            (503, Some("1"), None),
            (503, Some("5"), None),
            (503, Some("5"), None),
            (503, Some("1"), None),
            (503, Some("1"), None),
            (401, None, None),
            (405, None, Some("POST")),
            (413, None, None),
            (415, None, None),
            (400, None, None),
            (400, None, None),
        ];
        for format in [ErrorFormat::Text, ErrorFormat::Json, ErrorFormat::Html] {
            for (error, (status, retry, allow)) in every_variant().into_iter().zip(expected) {
                let name = format!("{error:?} as {format:?}");
                let response = error.into_response(format);
                let header = |h| response.headers().get(h).map(|v: &HeaderValue| v.to_str().unwrap());
                assert_eq!(response.status().as_u16(), status, "{name}");
                assert_eq!(header(RETRY_AFTER), retry, "{name}");
                assert_eq!(header(ALLOW), allow, "{name}");
                assert_eq!(header(hyper::header::CACHE_CONTROL), Some("no-store"), "{name}");
            }
        }
    }

    #[test]
    fn badge_errors_are_never_cached_svg_images_with_their_status() {
        for (error, text) in [
            (HttpError::BadPath(PathError::TooLong), "bad path"),
            (HttpError::NotAPage, "not found"),
            (HttpError::StoreUnavailable, "try again"),
            (HttpError::MethodNotAllowed, "error"),
        ] {
            let status = error.status();
            let response = error.into_response(ErrorFormat::Badge);
            let header = |h| response.headers()[h].to_str().unwrap().to_owned();
            assert_eq!(response.status(), status);
            assert_eq!(header(hyper::header::CONTENT_TYPE), "image/svg+xml");
            assert_eq!(header(hyper::header::CACHE_CONTROL), "no-cache, no-store");
            let body = format!("{:?}", response.body());
            assert!(body.contains(&format!("views: {text}")), "{body}");
        }
    }

    #[test]
    fn only_a_401_asks_for_a_bearer_token() {
        for error in every_variant() {
            let unauthorized = matches!(error, HttpError::Unauthorized);
            let response = error.into_response(ErrorFormat::Json);
            let header = response
                .headers()
                .get(WWW_AUTHENTICATE)
                .map(|v| v.to_str().unwrap().to_owned());
            assert_eq!(header.as_deref(), unauthorized.then_some("Bearer"));
        }
    }

    #[test]
    fn bodies_follow_the_format() {
        let content_type = |format| {
            HttpError::UnknownPage.into_response(format).headers()[hyper::header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(content_type(ErrorFormat::Json), "application/json");
        assert_eq!(content_type(ErrorFormat::Text), "text/plain; charset=utf-8");
        assert_eq!(content_type(ErrorFormat::Html), "text/html; charset=utf-8");
    }
}
