//! The HTTP/1 server loop: accepts every connection it can, lets the gate
//! decide whether to keep it, serves it with hyper, and on shutdown closes
//! what is between requests at once and drains the rest within a time limit.
//!
//! - `address`: what the per-address cap counts (IPv6 by /64).
//! - `gate`: per-address and global connection caps, shedding, the head
//!   deadline under load, the shutdown signal (bookkeeping only).
//! - `head`: a connection's first head, read before hyper allocates buffers.
//! - `connection`: one connection's life in hyper, and its head deadline.
//! - `metrics`: the separate `metrics_address` listener (`/metrics` only).
//!
//! Owns connection hygiene (head deadlines, which also bound idle keep-alive
//! connections; head size; connection caps). Knows nothing about routes:
//! every request goes to [`crate::http::route`]. Never logs a peer address.

mod address;
mod connection;
mod gate;
mod head;
pub(crate) mod metrics;

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::time::Instant;

use self::gate::Gate;
use crate::config::ConnectionLimits;
use crate::state::AppState;

/// Request heads larger than this are refused (hyper's minimum is 8 KiB);
/// a counter request is a few hundred bytes.
const MAX_HEAD_BYTES: usize = 16 * 1024;

/// The kernel's queue of connections not yet accepted. Slow clients that
/// reconnect all at once overflow tokio's 1024, and a dropped SYN costs a
/// visitor a 1 s retransmit. Linux caps it at `net.core.somaxconn` (4096 by
/// default since 5.4).
const ACCEPT_BACKLOG: i32 = 4096;

const LOAD_WARNING_EVERY: Duration = Duration::from_secs(60);

/// Serves `listener` until `shutdown` resolves. Then connections between
/// requests (idle, or with a half-sent head) are closed at once, requests
/// being answered get up to `drain` to finish, and what is left is dropped.
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    limits: ConnectionLimits,
    drain: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = http1::Builder::new();
    builder
        // `head` and `connection` keep the head deadline; hyper's could not
        // shorten under load.
        .header_read_timeout(None)
        .max_buf_size(MAX_HEAD_BYTES)
        .keep_alive(true);
    let builder = Arc::new(builder);
    // Listening again on a listening socket only changes its backlog (Linux;
    // nginx does the same on reload). The caller need not know.
    if let Err(error) = socket2::SockRef::from(&listener).listen(ACCEPT_BACKLOG) {
        tracing::warn!(%error, "cannot enlarge the accept backlog");
    }
    let gate = Arc::new(Gate::new(&limits));
    let graceful = GracefulShutdown::new();
    let mut load_warned = None;
    tokio::pin!(shutdown);

    loop {
        let (stream, peer) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Usually out of file descriptors: back off instead of spinning.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        // The cap keys on the TCP peer: X-Forwarded-For is not read yet, and
        // a client could forge it anyway.
        let trusted = state.config.trusted_proxies.trusts(peer.ip());
        let admitted = gate.admit(peer.ip(), trusted, Instant::now());
        log_load(&gate, &limits, &mut load_warned);
        let Ok(ticket) = admitted else {
            // Dropping the stream closes it now: the client learns at once
            // instead of waiting in the backlog, and costs nothing more.
            continue;
        };
        let ticket = Arc::new(ticket);
        let _ = stream.set_nodelay(true);
        let service = {
            let (state, ticket) = (Arc::clone(&state), Arc::clone(&ticket));
            service_fn(move |request| {
                // hyper calls this once a whole head is in: from here until the
                // body is handed over, no head deadline applies.
                let request_guard = ticket.begin_request();
                let state = Arc::clone(&state);
                async move {
                    let response = crate::http::route(&state, request, peer.ip()).await;
                    Ok::<_, Infallible>(response.map(|body| connection::Answer::new(body, request_guard)))
                }
            })
        };
        let (builder, watcher) = (Arc::clone(&builder), graceful.watcher());
        tokio::spawn(async move {
            let Some(io) = head::read_first(stream, &ticket, MAX_HEAD_BYTES).await else {
                return;
            };
            // Boxed: hyper's connection state is allocated only now, so a task
            // still waiting for its first head stays small.
            let served = Box::pin(watcher.watch(builder.serve_connection(TokioIo::new(io), service)));
            connection::run(served, ticket).await;
        });
    }

    drop(listener);
    // Between requests, a connection has nothing to finish: close it now,
    // whether idle or halfway through sending a head. `graceful` then lets
    // requests being answered finish, without keep-alive.
    gate.shut_down();
    if tokio::time::timeout(drain, graceful.shutdown()).await.is_err() {
        tracing::warn!("some connections did not finish in time and were dropped");
    }
}

/// A warning when connections near the cap and head deadlines shorten, at
/// most one a minute: an attack can flip the state every few seconds.
fn log_load(gate: &Gate, limits: &ConnectionLimits, last_warned: &mut Option<Instant>) {
    if !gate.under_load() || last_warned.is_some_and(|at| at.elapsed() < LOAD_WARNING_EVERY) {
        return;
    }
    *last_warned = Some(Instant::now());
    tracing::warn!(
        max_connections = limits.max_connections,
        "connections near the cap: head deadlines shortened, the longest-waiting connections make room"
    );
}
