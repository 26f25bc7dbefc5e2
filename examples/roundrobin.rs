//! The benchmark's load balancer: a plain TCP round-robin in front of
//! several Footfall replicas, loopback only. Each accepted connection goes
//! to the next backend in turn and its bytes are copied both ways, nothing
//! parsed (so `X-Forwarded-For` from the load generator passes through, as
//! it would through an L4 balancer behind a trusted proxy).
//!
//! Usage: `cargo run --release --example roundrobin -- 127.0.0.1:8090 127.0.0.1:8091 127.0.0.1:8092`
//! (listen address first, then the backends).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use anyhow::Context as _;
use tokio::net::{TcpListener, TcpStream};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let listen: SocketAddr = args.next().context("a listen address")?.parse()?;
    let backends: Vec<SocketAddr> = args.map(|a| a.parse()).collect::<Result<_, _>>()?;
    anyhow::ensure!(!backends.is_empty(), "at least one backend address");
    anyhow::ensure!(
        listen.ip().is_loopback() && backends.iter().all(|b| b.ip().is_loopback()),
        "loopback addresses only: this is a benchmark tool"
    );
    let listener = TcpListener::bind(listen).await?;
    let backends = Arc::new(backends);
    let next = Arc::new(AtomicUsize::new(0));
    loop {
        let (mut client, _) = listener.accept().await?;
        let backend = backends[next.fetch_add(1, Ordering::Relaxed) % backends.len()];
        tokio::spawn(async move {
            let Ok(mut server) = TcpStream::connect(backend).await else {
                return; // the client sees the connection close
            };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
        });
    }
}
