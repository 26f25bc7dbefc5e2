//! Every response shape Footfall sends — the counter image, SVG, JSON, HTML
//! pages, plain text, redirects, streamed downloads — built in one place, so
//! each shape carries the same headers wherever it is used. `Response::new`
//! appears nowhere else.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::{Either, Full};
use hyper::body::{Body, Frame};
use hyper::header::{HeaderName, HeaderValue, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, LOCATION};
use hyper::{Response, StatusCode};
use tokio::sync::mpsc;

use super::error::HttpError;
use crate::markup::escape_xml;

/// A whole body in memory, or one sent as it is produced ([`Chunks`]).
pub type HttpBody = Either<Full<Bytes>, Chunks>;
pub type HttpResponse = Response<HttpBody>;

/// A body sent chunk by chunk as a producer writes it into a bounded
/// channel, so memory stays flat however long it is. A producer that fails
/// midway sends an error: the connection is then closed without the end of
/// the chunked body, so the client sees a broken download, never a short
/// one that looks complete.
#[derive(Debug)]
pub struct Chunks(mpsc::Receiver<Result<Bytes, ChunkError>>);

/// Why a streamed body stopped before its end (logged where it happened).
#[derive(Debug, thiserror::Error)]
#[error("the response could not be completed")]
pub struct ChunkError;

impl Chunks {
    /// The producer's end and the body, with room for `capacity` chunks.
    pub fn channel(capacity: usize) -> (mpsc::Sender<Result<Bytes, ChunkError>>, Self) {
        let (sender, receiver) = mpsc::channel(capacity);
        (sender, Self(receiver))
    }
}

impl Body for Chunks {
    type Data = Bytes;
    type Error = ChunkError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, ChunkError>>> {
        self.0.poll_recv(cx).map(|chunk| chunk.map(|c| c.map(Frame::data)))
    }
}

const CROSS_ORIGIN_RESOURCE_POLICY: HeaderName = HeaderName::from_static("cross-origin-resource-policy");
const REFERRER_POLICY: HeaderName = HeaderName::from_static("referrer-policy");
const CONTENT_SECURITY_POLICY: HeaderName = HeaderName::from_static("content-security-policy");

/// What may change how often: the `Cache-Control` of every shape.
const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");
const NO_CACHE: HeaderValue = HeaderValue::from_static("no-cache");
/// Ask again every time, and keep no copy: what badges and images served to
/// an image proxy carry, so a proxy never shows a stale count or an error.
const ASK_EVERY_TIME: HeaderValue = HeaderValue::from_static("no-cache, no-store");

fn build(status: StatusCode, content_type: &'static str, cache: HeaderValue, body: Bytes) -> HttpResponse {
    #[allow(clippy::disallowed_methods)] // the one place responses are built
    let mut response = Response::new(Either::Left(Full::new(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, cache);
    response
}

/// `/count.js`: a static script other sites load, cached for a day.
pub fn script(body: &'static str) -> HttpResponse {
    let mut response = build(
        StatusCode::OK,
        "text/javascript; charset=utf-8",
        HeaderValue::from_static("public, max-age=86400"),
        Bytes::from_static(body.as_bytes()),
    );
    response
        .headers_mut()
        .insert(CROSS_ORIGIN_RESOURCE_POLICY, HeaderValue::from_static("cross-origin"));
    response
}

/// An image embedded on other sites (`/call`, `/badge`): other origins may
/// load it.
pub fn image(content_type: &'static str, cache: HeaderValue, body: Bytes) -> HttpResponse {
    let mut response = build(StatusCode::OK, content_type, cache, body);
    response
        .headers_mut()
        .insert(CROSS_ORIGIN_RESOURCE_POLICY, HeaderValue::from_static("cross-origin"));
    response
}

/// The `/call` image for an image proxy (Camo, a mail provider): it must
/// ask again on every view, so each view reaches the counter.
pub fn proxied_image(content_type: &'static str, body: Bytes) -> HttpResponse {
    image(content_type, ASK_EVERY_TIME, body)
}

/// A live SVG chart: browsers must ask again each time.
pub fn svg(body: String) -> HttpResponse {
    build(StatusCode::OK, "image/svg+xml", NO_CACHE, Bytes::from(body))
}

/// The live badge, or an error drawn as one (`status` then says which): an
/// SVG image other origins embed, never cached.
pub fn badge(status: StatusCode, body: String) -> HttpResponse {
    let mut response = image("image/svg+xml", ASK_EVERY_TIME, Bytes::from(body));
    *response.status_mut() = status;
    response
}

/// # Errors
/// [`HttpError::Internal`] if `value` cannot be serialized (our own plain
/// structs always can).
pub fn json(value: &impl serde::Serialize) -> Result<HttpResponse, HttpError> {
    let body = serde_json::to_vec(value).map_err(|error| {
        tracing::error!(%error, "serializing a response failed");
        HttpError::Internal
    })?;
    Ok(json_bytes(StatusCode::OK, NO_CACHE, Bytes::from(body)))
}

/// JSON with a status other than 200 (a 201 for something created).
///
/// # Errors
/// As [`json`].
pub fn json_status(status: StatusCode, value: &impl serde::Serialize) -> Result<HttpResponse, HttpError> {
    let mut response = json(value)?;
    *response.status_mut() = status;
    Ok(response)
}

/// A streamed download named `file_name`; never cached (it is made per request).
pub fn download(content_type: &'static str, file_name: &'static str, body: Chunks) -> HttpResponse {
    #[allow(clippy::disallowed_methods)] // the one place responses are built
    let mut response = Response::new(Either::Right(body));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, NO_STORE);
    if let Ok(disposition) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        headers.insert(CONTENT_DISPOSITION, disposition);
    }
    response
}

/// `204 No Content`: a change that has nothing to report.
pub fn no_content() -> HttpResponse {
    build(
        StatusCode::NO_CONTENT,
        "text/plain; charset=utf-8",
        NO_STORE,
        Bytes::new(),
    )
}

/// A permanent redirect to `location` (a path of ours, already encoded).
pub fn redirect(location: &str) -> HttpResponse {
    let mut response = text(StatusCode::MOVED_PERMANENTLY, format!("moved to {location}\n"));
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, value);
    }
    response
}

/// A `302` to a link's destination (`location`: a URL `/go` validated).
/// Not stored by any cache, so every click reaches Footfall; no referrer
/// is passed on, so the destination does not learn the token.
pub fn found(location: HeaderValue) -> HttpResponse {
    let mut response = build(StatusCode::FOUND, "text/plain; charset=utf-8", NO_STORE, Bytes::new());
    let headers = response.headers_mut();
    headers.insert(LOCATION, location);
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// An Atom feed; readers poll it, so it is not cached for long.
pub fn atom(body: String) -> HttpResponse {
    build(
        StatusCode::OK,
        "application/atom+xml; charset=utf-8",
        NO_CACHE,
        Bytes::from(body),
    )
}

pub fn json_bytes(status: StatusCode, cache: HeaderValue, body: Bytes) -> HttpResponse {
    build(status, "application/json", cache, body)
}

/// The metrics, in the OpenMetrics text format Prometheus scrapes.
pub fn metrics(body: String) -> HttpResponse {
    build(
        StatusCode::OK,
        crate::metrics::CONTENT_TYPE,
        NO_STORE,
        Bytes::from(body),
    )
}

pub fn text(status: StatusCode, body: impl Into<Bytes>) -> HttpResponse {
    build(status, "text/plain; charset=utf-8", NO_STORE, body.into())
}

const STYLE: &str = "\
:root{color-scheme:light dark;--fg:#1f2937;--muted:#6b7280;--bg:#f9fafb;--card:#fff;--line:#e5e7eb;--accent:#2563eb}\
@media (prefers-color-scheme:dark){:root{--fg:#e5e7eb;--muted:#9ca3af;--bg:#111827;--card:#1f2937;--line:#374151;--accent:#60a5fa}}\
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif;color:var(--fg);background:var(--bg)}\
main{max-width:60rem;margin:0 auto;padding:1rem}h1{font-size:1.4rem;margin:.5rem 0 1rem;overflow-wrap:anywhere}\
a{color:var(--accent)}.card{background:var(--card);border:1px solid var(--line);border-radius:.6rem;padding:1rem;margin:0 0 1rem}\
.stats{display:grid;grid-template-columns:repeat(auto-fit,minmax(9rem,1fr));gap:.75rem;margin:0 0 1rem;padding:0}\
.stats div{background:var(--card);border:1px solid var(--line);border-radius:.6rem;padding:.6rem .8rem}\
.stats dt{color:var(--muted);font-size:.85rem}.stats dd{margin:0;font-size:1.2rem;font-weight:600;overflow-wrap:anywhere}\
.stats dd small{display:block;font-size:.8rem;font-weight:400;color:var(--muted)}\
.chart{padding:.5rem}.chart svg{display:block;width:100%;max-width:100%;height:auto;border-radius:.4rem}\
.chart svg.narrow{display:none}@media (max-width:40rem){.chart svg.wide{display:none}.chart svg.narrow{display:block}}\
h2{font-size:1.05rem;margin:0 0 .6rem}.panels{display:grid;grid-template-columns:repeat(auto-fit,minmax(16rem,1fr));gap:0 1rem}\
ol.ranked{list-style:none;margin:0;padding:0}ol.ranked li{display:flex;gap:.5rem;justify-content:space-between;padding:.2rem .4rem;margin:.15rem 0;\
background:linear-gradient(90deg,color-mix(in srgb,var(--accent) 16%,transparent) var(--share),transparent 0);border-radius:.3rem}\
ol.ranked a{overflow-wrap:anywhere;min-width:0}ol.ranked span{font-variant-numeric:tabular-nums}\
form[role=search]{display:flex;gap:.5rem;margin:0 0 .75rem}form input[type=search]{flex:1;min-width:0;padding:.35rem .5rem;font:inherit;\
color:inherit;background:var(--bg);border:1px solid var(--line);border-radius:.4rem}form button{font:inherit;padding:.35rem .8rem}\
nav.pager{display:flex;flex-wrap:wrap;gap:1rem;align-items:center;margin-top:.75rem}td{font-variant-numeric:tabular-nums}\
td small{display:block;color:var(--muted)}th a{color:inherit}th[aria-sort] a{color:var(--accent)}\
@media (max-width:30rem){main{padding:.5rem}.card{padding:.6rem}th,td{padding:.35rem .25rem;font-size:.9rem}}\
nav.ranges{display:flex;flex-wrap:wrap;gap:.5rem;margin:0 0 1rem}nav.ranges a{padding:.25rem .7rem;border:1px solid var(--line);border-radius:1rem;text-decoration:none}\
nav.ranges a[aria-current]{background:var(--accent);color:#fff;border-color:var(--accent)}nav.ranges span{padding:.25rem .7rem}\
table{width:100%;border-collapse:collapse}th,td{padding:.45rem .5rem;border-bottom:1px solid var(--line);text-align:right}\
th:first-child,td:first-child{text-align:left;overflow-wrap:anywhere}th{color:var(--muted);font-weight:500;font-size:.85rem}\
footer{color:var(--muted);font-size:.85rem;text-align:center;padding:1rem}";

/// A whole HTML page: `body` is trusted markup (its user-derived parts
/// already escaped by the caller); `title` is escaped here. No scripts: the
/// policy allows only inline styles and our own images.
pub fn html(status: StatusCode, title: &str, body: &str) -> HttpResponse {
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{}</title>\
         <style>{STYLE}</style></head><body><main>{body}</main>\
         <footer>Counted by Footfall · no cookies, no IP addresses stored</footer></body></html>",
        escape_xml(title)
    );
    let mut response = build(status, "text/html; charset=utf-8", NO_CACHE, Bytes::from(page));
    response.headers_mut().insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; img-src 'self'"),
    );
    response
}
