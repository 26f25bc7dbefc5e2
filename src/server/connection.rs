//! One connection's life in hyper, once `head` has its first head: hyper
//! serves it until it ends, and it is closed (hyper's connection dropped)
//! whenever it sits between requests past its head deadline or the gate
//! tells it to go.
//!
//! With `head`, this replaces hyper's `header_read_timeout`, which can
//! neither shorten under load nor tell a half-sent head (which may be dropped
//! at once on shutdown) from a request being answered (which may finish).
//! Knows nothing of routes.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::{Body, Frame, SizeHint};
use tokio::time::{sleep_until, Instant};

use super::gate::{RequestGuard, Status, Ticket};

/// Drives `served` (hyper's connection) until it ends or must be closed.
pub(super) async fn run(served: impl Future, ticket: Arc<Ticket>) {
    tokio::pin!(served);
    loop {
        let deadline = match ticket.status(Instant::now()) {
            Status::Close => return,
            Status::AwaitingHead(deadline) => Some(deadline),
            Status::InRequest => None,
        };
        tokio::select! {
            biased;
            // Errors are clients going away or sending garbage: not worth a log line.
            _ = &mut served => return,
            () = ticket.woken() => {}
            () = sleep_until_some(deadline) => {}
        }
    }
}

async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// A response body that keeps its connection counted as answering until
/// hyper has taken all of it; the head deadline for the next request (and so
/// the time a client has to read a large answer) starts when it is dropped.
pub(super) struct Answer {
    body: Full<Bytes>,
    _request: RequestGuard,
}

impl Answer {
    pub(super) fn new(body: Full<Bytes>, request: RequestGuard) -> Self {
        Self {
            body,
            _request: request,
        }
    }
}

impl Body for Answer {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    // Exact for a full body, so hyper still sends Content-Length.
    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
