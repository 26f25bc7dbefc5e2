//! A connection's first request head, read before hyper is involved.
//!
//! hyper allocates about 16 KiB of buffers for every connection it serves; a
//! client that never finishes its head should cost far less. So the first
//! head is read here, into a buffer that grows only with what arrives, and
//! hyper gets the connection once the head is complete, replaying those
//! bytes first ([`Prefixed`]). Only looks for the blank line that ends a
//! head: parsing, and refusing oversized heads, stay hyper's.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{sleep_until, Instant};

use super::gate::{Status, Ticket};

/// Bytes asked of the socket per read: a whole typical head.
const READ_CHUNK: usize = 1024;

/// Waits until `stream` has sent a whole head (or `max_bytes`, for hyper to
/// refuse), within the ticket's head deadline. `None` when the client went
/// away, the deadline passed or the gate said to close.
pub(super) async fn read_first(stream: TcpStream, ticket: &Ticket, max_bytes: usize) -> Option<Prefixed> {
    let mut head = Vec::new();
    loop {
        // Nothing is answered before hyper has the connection, so the
        // alternative to a deadline here is only ever `Close`.
        let Status::AwaitingHead(deadline) = ticket.status(Instant::now()) else {
            return None;
        };
        tokio::select! {
            biased;
            ready = stream.readable() => {
                ready.ok()?;
                if head.capacity() == head.len() {
                    head.reserve(READ_CHUNK);
                }
                let scanned = head.len().saturating_sub(2);
                match stream.try_read_buf(&mut head) {
                    Ok(0) => return None,
                    Ok(_) if ends_head(&head[scanned..]) || head.len() >= max_bytes => {
                        return Some(Prefixed { prefix: Bytes::from(head), stream });
                    }
                    Ok(_) => {}
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                    Err(_) => return None,
                }
            }
            () = ticket.woken() => {}
            () = sleep_until(deadline) => {}
        }
    }
}

/// Whether `bytes` holds the end of a head: an empty line, which httparse
/// also accepts with bare `\n` line endings.
fn ends_head(bytes: &[u8]) -> bool {
    bytes
        .windows(2)
        .enumerate()
        .any(|(i, pair)| pair == b"\n\n" || (pair == b"\n\r" && bytes.get(i + 2) == Some(&b'\n')))
}

/// The connection as hyper sees it: the bytes read ahead, then the socket.
pub(super) struct Prefixed {
    prefix: Bytes,
    stream: TcpStream,
}

impl AsyncRead for Prefixed {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.prefix.is_empty() {
            return Pin::new(&mut this.stream).poll_read(cx, buf);
        }
        let n = this.prefix.len().min(buf.remaining());
        buf.put_slice(&this.prefix[..n]);
        this.prefix.advance(n);
        if this.prefix.is_empty() {
            this.prefix = Bytes::new(); // frees the read-ahead buffer
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Prefixed {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_ends_at_an_empty_line_with_either_line_ending() {
        assert!(ends_head(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
        assert!(ends_head(b"GET / HTTP/1.1\nHost: x\n\n"));
        assert!(ends_head(b"GET / HTTP/1.1\r\n\r\nnext"));
        assert!(!ends_head(b"GET / HTTP/1.1\r\nHost: x\r\n"));
        assert!(!ends_head(b"GET / HTTP/1.1\r\nHost: x\r\n\r"));
    }
}
