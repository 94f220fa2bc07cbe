//! Running one check: resolve, connect, and for HTTP(S) send one GET and read the status line.
//!
//! Owns the probes and the words of their reasons: `refused`, `timeout`, `TLS: certificate
//! expired`, `HTTP 502, expected 200-399`. Every probe ends by its deadline (each read, write
//! and connect is bounded by it, and the whole probe is raced against it too). It reads at most
//! the response head (16 KiB) plus what came with its last 4 KiB read (over TLS, at most one
//! decrypted record more), then closes the connection. It must never follow redirects, never
//! keep a connection open between runs, and never block the executor (host names are resolved
//! on a short-lived thread).

mod http;
mod tcp;
mod tls;

pub use tls::{load_roots, TlsConfig};

use super::model::{CheckSpec, Outcome, Probe};
use async_io::{Async, Timer};
use futures_lite::{future, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use std::io;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Size of one read.
const CHUNK: usize = 4096;

/// Runs `spec` once, ending by `deadline`.
pub async fn run(spec: &CheckSpec, tls: &TlsConfig, deadline: Instant) -> Outcome {
    let timeout = spec.timeout;
    let probe = async {
        match &spec.probe {
            Probe::Tcp { host, port } => tcp::probe(host, *port, deadline, timeout).await,
            Probe::Http(t) => http::probe(t, spec.expect, tls, deadline, timeout).await,
        }
    };
    let late = async {
        Timer::at(deadline).await;
        timed_out(timeout, "")
    };
    future::or(probe, late).await
}

/// The outcome of a deadline that passed while doing `what`.
fn timed_out(timeout: Duration, what: &str) -> Outcome {
    let t = crate::base::format_duration(timeout);
    let what = if what.is_empty() {
        String::new()
    } else {
        format!(" {what}")
    };
    Outcome::down("timeout", format!("timeout: no answer within {t}{what}"))
}

/// Resolves `host` to one address without blocking the executor.
async fn resolve(host: &str, port: u16, deadline: Instant) -> Result<SocketAddr, Outcome> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    if host.eq_ignore_ascii_case("localhost") {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    let (tx, rx) = async_channel::bounded(1);
    let name = format!("{host}:{port}");
    let spawned = std::thread::Builder::new()
        .name("koi-resolve".into())
        .spawn(move || {
            let r = std::net::ToSocketAddrs::to_socket_addrs(&name)
                .map(|mut a| a.next())
                .map_err(|e| e.to_string());
            let _ = tx.try_send(r);
        });
    if let Err(e) = spawned {
        return Err(Outcome::down(
            "error",
            format!("cannot resolve {host}: {e}"),
        ));
    }
    let got = future::or(async { rx.recv().await.ok() }, async {
        Timer::at(deadline).await;
        None
    })
    .await;
    match got {
        Some(Ok(Some(a))) => Ok(a),
        Some(Ok(None)) | Some(Err(_)) => Err(Outcome::down(
            "unresolved",
            format!("DNS: {host} does not resolve"),
        )),
        None => Err(Outcome::down(
            "timeout",
            format!("timeout: resolving {host}"),
        )),
    }
}

/// Connects by `deadline`, naming the failure.
async fn connect(
    addr: SocketAddr,
    deadline: Instant,
    timeout: Duration,
) -> Result<Async<TcpStream>, Outcome> {
    let attempt = async { Some(Async::<TcpStream>::connect(addr).await) };
    let late = async {
        Timer::at(deadline).await;
        None
    };
    match future::or(attempt, late).await {
        Some(Ok(s)) => Ok(s),
        Some(Err(e)) => Err(connect_error(addr, &e)),
        None => Err(timed_out(timeout, &format!("connecting to {addr}"))),
    }
}

fn connect_error(addr: SocketAddr, e: &io::Error) -> Outcome {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => {
            Outcome::down("refused", format!("refused: nothing listens on {addr}"))
        }
        io::ErrorKind::TimedOut => {
            Outcome::down("timeout", format!("timeout: connecting to {addr}"))
        }
        _ => Outcome::down("unreachable", format!("cannot connect to {addr}: {e}")),
    }
}

/// Reads once (appending at most [`CHUNK`] bytes); `Ok(0)` at end of stream.
async fn read_some<S: AsyncRead + Unpin>(
    s: &mut S,
    buf: &mut Vec<u8>,
    deadline: Instant,
) -> io::Result<usize> {
    let mut chunk = [0u8; CHUNK];
    let read = async { Some(s.read(&mut chunk).await) };
    let late = async {
        Timer::at(deadline).await;
        None
    };
    match future::or(read, late).await {
        Some(Ok(n)) => {
            buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
            Ok(n)
        }
        Some(Err(e)) => Err(e),
        None => Err(io::ErrorKind::TimedOut.into()),
    }
}

/// Writes everything by `deadline`.
async fn write_all<S: AsyncWrite + Unpin>(
    s: &mut S,
    bytes: &[u8],
    deadline: Instant,
) -> io::Result<()> {
    let write = async { Some(s.write_all(bytes).await) };
    let late = async {
        Timer::at(deadline).await;
        None
    };
    match future::or(write, late).await {
        Some(r) => r,
        None => Err(io::ErrorKind::TimedOut.into()),
    }
}
