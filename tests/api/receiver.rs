//! A webhook receiver for the tests: a real local HTTP server that records
//! every delivery (headers and body) and can be set to fail (503) or to be
//! unreachable in effect (it still answers, with 503, so attempts show).

#![allow(clippy::disallowed_methods)] // a stand-in receiver: its responses are not Footfall's

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Response, StatusCode};
use hyper_util::rt::TokioIo;

/// One delivery as received.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: String,
}

#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    accepted: Arc<Mutex<Vec<Delivery>>>,
    attempts: Arc<AtomicUsize>,
    down: Arc<AtomicBool>,
    /// When set, every request is answered `307` to this URL, accepting nothing.
    redirect_to: Arc<Mutex<Option<String>>>,
}

impl Receiver {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let receiver = Self {
            addr,
            accepted: Arc::default(),
            attempts: Arc::default(),
            down: Arc::default(),
            redirect_to: Arc::default(),
        };
        let shared = receiver.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let shared = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                        let shared = shared.clone();
                        async move {
                            shared.attempts.fetch_add(1, Ordering::SeqCst);
                            let header = |name: &str| {
                                request
                                    .headers()
                                    .get(name)
                                    .and_then(|v| v.to_str().ok())
                                    .unwrap_or("")
                                    .to_owned()
                            };
                            let (id, timestamp, signature) = (
                                header("webhook-id"),
                                header("webhook-timestamp"),
                                header("webhook-signature"),
                            );
                            let body = request
                                .into_body()
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            let mut response = Response::new(Full::new(Bytes::new()));
                            let redirect = shared.redirect_to.lock().unwrap().clone();
                            let status = if let Some(to) = redirect {
                                response
                                    .headers_mut()
                                    .insert("location", to.parse().expect("a header value"));
                                StatusCode::TEMPORARY_REDIRECT
                            } else if shared.down.load(Ordering::SeqCst) {
                                StatusCode::SERVICE_UNAVAILABLE
                            } else {
                                shared.accepted.lock().unwrap().push(Delivery {
                                    id,
                                    timestamp,
                                    signature,
                                    body: String::from_utf8_lossy(&body).into_owned(),
                                });
                                StatusCode::NO_CONTENT
                            };
                            *response.status_mut() = status;
                            Ok::<_, Infallible>(response)
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        receiver
    }

    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    pub fn redirect_to(&self, url: &str) {
        *self.redirect_to.lock().unwrap() = Some(url.to_owned());
    }

    pub fn attempts(&self) -> usize {
        self.attempts.load(Ordering::SeqCst)
    }

    pub fn accepted(&self) -> Vec<Delivery> {
        self.accepted.lock().unwrap().clone()
    }

    /// Waits until at least `n` deliveries were accepted (10 s at most).
    pub async fn wait_for(&self, n: usize) -> Vec<Delivery> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let accepted = self.accepted();
            if accepted.len() >= n {
                return accepted;
            }
            assert!(
                Instant::now() < deadline,
                "only {} deliveries: {accepted:#?}",
                accepted.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
