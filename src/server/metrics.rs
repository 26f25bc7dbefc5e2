//! The `metrics_address` listener: `GET /metrics` and nothing else, for a
//! scraper on an address of its own (a private interface, a sidecar).
//!
//! Kept apart from the main loop and its gate: a handful of connections at
//! most, each with hyper's own head deadline; anything but `/metrics` is
//! 404. Never logs a peer address.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::http::metrics::scrape;
use crate::http::response;
use crate::state::AppState;

/// Scrapers open one or two connections; more are closed at once.
const MAX_CONNECTIONS: usize = 16;
const HEAD_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves `/metrics` on `listener` until the task is aborted.
pub async fn serve(listener: TcpListener, state: Arc<AppState>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok((stream, _peer)) = listener.accept().await else {
            // Out of file descriptors and the like: try again shortly.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            continue; // dropped: closed
        };
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                let answer = if request.uri().path() == "/metrics" && request.method() == Method::GET {
                    scrape(&state)
                } else {
                    response::text(StatusCode::NOT_FOUND, "not found\n")
                };
                async move { Ok::<_, Infallible>(answer) }
            });
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEAD_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            drop(slot);
        });
    }
}
