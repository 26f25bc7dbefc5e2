//! The tracked site: a real local HTTP server the tests control. It counts
//! every page probe it receives, per path (not Footfall's start-up check of
//! its root, which has its own user agent).
//!
//! Paths starting with `/missing` get 404, `/slow` answers after 300 ms,
//! `/to-inside` redirects to `/inside` on itself, `/to-outside` redirects to
//! another origin; everything else is 200 — unless the site is set to fail,
//! when everything is 503.

#![allow(clippy::disallowed_methods)] // a stand-in for the tracked site: its responses are not Footfall's

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Response, StatusCode};
use hyper_util::rt::TokioIo;

#[derive(Clone)]
pub struct TrackedSite {
    pub addr: SocketAddr,
    probes: Arc<Mutex<HashMap<String, usize>>>,
    failing: Arc<AtomicBool>,
}

impl TrackedSite {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the tracked site");
        let addr = listener.local_addr().expect("tracked site address");
        let probes: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let seen = Arc::clone(&probes);
        let failing: Arc<AtomicBool> = Arc::default();
        let fail = Arc::clone(&failing);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let seen = Arc::clone(&seen);
                let fail = Arc::clone(&fail);
                tokio::spawn(async move {
                    let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                        let seen = Arc::clone(&seen);
                        let failing = fail.load(Ordering::SeqCst);
                        async move {
                            let path = request.uri().path().to_owned();
                            // Footfall's one check of the root at start is not a page probe.
                            let site_check = request
                                .headers()
                                .get("user-agent")
                                .is_some_and(|ua| ua.as_bytes().ends_with(b"(site check)"));
                            if !site_check {
                                *seen.lock().expect("probe counter").entry(path.clone()).or_default() += 1;
                            }
                            let mut response = answer(&path, addr).await;
                            if failing {
                                *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
                            }
                            Ok::<_, Infallible>(response)
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { addr, probes, failing }
    }

    /// While failing, the site answers 503 to everything.
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Probes received for one (encoded) path.
    pub fn probes_of(&self, path: &str) -> usize {
        self.probes
            .lock()
            .expect("probe counter")
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    pub fn total_probes(&self) -> usize {
        self.probes.lock().expect("probe counter").values().sum()
    }
}

async fn answer(path: &str, own: SocketAddr) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(b"<html>a page</html>")));
    if path.starts_with("/missing") {
        *response.status_mut() = StatusCode::NOT_FOUND;
    } else if path.starts_with("/slow") {
        tokio::time::sleep(Duration::from_millis(300)).await;
    } else if path.starts_with("/to-inside") {
        *response.status_mut() = StatusCode::FOUND;
        let location = format!("http://{own}/inside");
        response
            .headers_mut()
            .insert("location", location.parse().expect("location"));
    } else if path.starts_with("/to-outside") {
        *response.status_mut() = StatusCode::FOUND;
        // Another origin: the same host on a different port.
        let location = format!("http://localhost:{}/inside", own.port());
        response
            .headers_mut()
            .insert("location", location.parse().expect("location"));
    }
    response
}
