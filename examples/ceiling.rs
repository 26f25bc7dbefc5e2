//! The benchmark ceiling: the least work a hyper 1 service can do per request.
//!
//! It answers every request, whatever its method or path, with the same bytes
//! and headers as Footfall's `GET /call/<path>` (the built-in 1x1 transparent
//! GIF). It has no routing, no state, no logging and no shutdown handling, so
//! its requests/s and latency are the most any hyper server on this machine
//! can reach; `bench/run.sh` reports Footfall as a ratio of this.
//!
//! Usage: `cargo run --release --example ceiling -- 127.0.0.1:8099`

use std::convert::Infallible;
use std::net::SocketAddr;

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// A 1x1 transparent GIF (43 bytes), the same image Footfall serves by default.
const PIXEL_GIF: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, // "GIF89a"
    0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, // 1x1, 2-colour global table
    0x00, 0x00, 0x00, 0xff, 0xff, 0xff, // the table: black, white
    0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, // colour 0 is transparent
    0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, // image descriptor
    0x02, 0x02, 0x44, 0x01, 0x00, // LZW-coded pixel
    0x3b, // trailer
];

/// Builds the one response. Headers are static values, so this cannot fail.
#[allow(clippy::disallowed_methods)] // the ceiling is a bare hyper server, not Footfall
fn pixel() -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(PIXEL_GIF)));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("image/gif"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("private, max-age=86400"));
    headers.insert("cross-origin-resource-policy", HeaderValue::from_static("cross-origin"));
    response
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .context("usage: ceiling <listen address, e.g. 127.0.0.1:8099>")?
        .parse()
        .context("the listen address must look like 127.0.0.1:8099")?;
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    eprintln!("ceiling listening on {}", listener.local_addr()?);

    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            // Running out of file descriptors must not end the benchmark.
            Err(e) => {
                eprintln!("accept: {e}");
                continue;
            }
        };
        // Small responses: never let Nagle's algorithm hold one back.
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let service = service_fn(|_req: Request<Incoming>| async { Ok::<_, Infallible>(pixel()) });
            // A client hanging up mid-request is normal under load; ignore it.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
