//! One connection's life in hyper, once `head` has its first head: hyper
//! serves it until it ends, and it is closed (hyper's connection dropped)
//! whenever it sits between requests past its head deadline or the gate
//! tells it to go.
//!
//! With `head`, this replaces hyper's `header_read_timeout`, which can
//! neither shorten under load nor tell a half-sent head (which may be dropped
//! at once on shutdown) from a request being answered (which may finish).
//! Knows nothing of routes.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::http::response::HttpBody;
use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::time::{sleep_until, Instant};

use super::gate::{RequestGuard, Status, Ticket};

/// Drives `served` (hyper's connection) until it ends or must be closed.
///
/// Polled by hand rather than with `select!`: after each poll of hyper's
/// connection the status is looked at again, so a request ending (a store in
/// the gate) needs no wake-up, and the deadline timer is moved only when the
/// deadline comes closer or the timer fires: not on every request.
pub(super) async fn run(served: impl Future, ticket: Arc<Ticket>) {
    let ticket: &Ticket = &ticket;
    tokio::pin!(served);
    let woken = ticket.woken();
    tokio::pin!(woken);
    woken.as_mut().enable();
    let timer = sleep_until(Instant::now());
    tokio::pin!(timer);
    let mut armed = false;
    std::future::poll_fn(|cx| loop {
        // Errors are clients going away or sending garbage: not worth a log line.
        if served.as_mut().poll(cx).is_ready() {
            return Poll::Ready(());
        }
        match ticket.status(Instant::now()) {
            Status::Close => return Poll::Ready(()),
            // The timer may fire meanwhile; it is looked at again once the
            // connection waits for a head.
            Status::InRequest => {}
            Status::AwaitingHead(deadline) => {
                if !armed || deadline < timer.deadline() {
                    timer.as_mut().reset(deadline);
                    armed = true;
                }
                if timer.as_mut().poll(cx).is_ready() {
                    // Fired: past the deadline, or at an earlier one that has
                    // since moved on. The status says which.
                    armed = false;
                    continue;
                }
            }
        }
        if woken.as_mut().poll(cx).is_ready() {
            woken.set(ticket.woken());
            woken.as_mut().enable();
            continue;
        }
        return Poll::Pending;
    })
    .await;
}

/// A response body that keeps its connection counted as answering until
/// hyper has taken all of it; the head deadline for the next request (and so
/// the time a client has to read a large answer) starts when it is dropped.
pub(super) struct Answer {
    body: HttpBody,
    _request: RequestGuard,
}

impl Answer {
    pub(super) fn new(body: HttpBody, request: RequestGuard) -> Self {
        Self {
            body,
            _request: request,
        }
    }
}

impl Body for Answer {
    type Data = Bytes;
    /// A streamed body (an export) that stopped midway: hyper then closes
    /// the connection instead of ending the chunked body.
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    // Exact for a whole body, so hyper still sends Content-Length.
    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
