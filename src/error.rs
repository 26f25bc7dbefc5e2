//! The HTTP error enum and its one mapping to status codes and bodies.
//!
//! Handlers return [`HttpError`]; this is the only place that decides what a
//! client sees. Internal causes are logged where they happen and never sent
//! to the client, and no message carries a client address.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, ALLOW, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use hyper::{Response, StatusCode};

use crate::path::PathError;
use crate::query::QueryError;
use crate::registry::RegisterError;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("bad path: {0}")]
    BadPath(#[from] PathError),
    #[error("not a page of the tracked site")]
    NotAPage,
    #[error("no such page")]
    NotFound,
    #[error("this page has not been counted")]
    UnknownPage,
    #[error("{0}")]
    BadParameter(String),
    #[error("internal error")]
    Internal,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("too many new pages are being checked right now; try again shortly")]
    ProbeBudget,
    #[error("the store is unavailable; try again shortly")]
    StoreUnavailable,
    #[error("starting up; try again shortly")]
    NotReady,
}

impl From<QueryError> for HttpError {
    fn from(e: QueryError) -> Self {
        Self::BadParameter(e.to_string())
    }
}

impl From<RegisterError> for HttpError {
    fn from(e: RegisterError) -> Self {
        match e {
            RegisterError::NotAPage | RegisterError::TooManyPaths => Self::NotAPage,
            RegisterError::Probe(_) => Self::ProbeBudget,
            RegisterError::StoreUnavailable => Self::StoreUnavailable,
        }
    }
}

/// How an error body is written: JSON under `/api/`, plain text elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorFormat {
    Text,
    Json,
}

impl HttpError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadPath(_) | Self::BadParameter(_) => StatusCode::BAD_REQUEST,
            Self::NotAPage | Self::NotFound | Self::UnknownPage => StatusCode::NOT_FOUND,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::ProbeBudget | Self::StoreUnavailable | Self::NotReady => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// Seconds a client should wait before retrying, for 503s.
    fn retry_after(&self) -> Option<&'static str> {
        match self {
            Self::ProbeBudget | Self::NotReady => Some("1"),
            Self::StoreUnavailable => Some("5"),
            _ => None,
        }
    }

    pub fn into_response(self, format: ErrorFormat) -> Response<Full<Bytes>> {
        let (body, content_type) = match format {
            ErrorFormat::Text => (format!("{self}\n"), "text/plain; charset=utf-8"),
            ErrorFormat::Json => (
                serde_json::json!({ "error": self.to_string() }).to_string(),
                "application/json",
            ),
        };
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(seconds) = self.retry_after() {
            headers.insert(RETRY_AFTER, HeaderValue::from_static(seconds));
        }
        if matches!(self, Self::MethodNotAllowed) {
            headers.insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        }
        response
    }
}
