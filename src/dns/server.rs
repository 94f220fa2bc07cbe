//! The executor's side of the resolver: the TCP listener, the hand-over of UDP queries to the
//! forwarder, and (where there is no UDP worker thread, off Linux) the UDP listener.
//!
//! Holds no protocol logic: answers come from [`super::answer`] through [`Lane`]. On Linux
//! each UDP socket is read by a worker thread (`super::worker`) that answers local queries
//! itself and passes the rest here through [`relay_upstream`]. UDP replies are sent without
//! blocking (a reply that would block is dropped, like any lost datagram). TCP connections
//! are capped at [`MAX_TCP`]; each message must arrive whole within [`TCP_DEADLINE`] of the
//! previous answer (or of accepting), so a slow-drip client is closed at the deadline; a
//! length of 0 closes the connection; pipelined queries are answered in order. Queries are
//! logged only at debug level.

use super::answer::Outcome;
use super::forward::{Forwarder, ReplyTo, Waiter};
use super::lane::Lane;
#[cfg(not(target_os = "linux"))]
use super::lane::Reader;
use crate::mdns::IfAddr;
use async_executor::LocalExecutor;
use async_io::{Async, Timer};
use futures_lite::{future, AsyncReadExt, AsyncWriteExt};
use koi_wire::dns::Message;
use std::cell::Cell;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// TCP connections served at once.
pub const MAX_TCP: usize = 128;
/// How long one TCP message may take to arrive.
pub const TCP_DEADLINE: Duration = Duration::from_secs(5);

/// Which clients may ask: those inside these subnets, and loopback clients if we listen on a
/// loopback address.
#[derive(Clone, Debug, Default)]
pub struct Acl {
    /// Subnets of the listening interfaces.
    pub subnets: Vec<IfAddr>,
    /// Loopback clients are allowed.
    pub loopback: bool,
}

impl Acl {
    /// Whether `ip` may ask.
    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        if ip.is_loopback() {
            return self.loopback;
        }
        self.subnets.iter().any(|s| s.contains(ip))
    }
}

/// A query a UDP listener passes to the forwarder: the query, its answer's size cap, the
/// client, when it arrived and the socket its answer leaves from.
pub struct Upstream {
    /// The query (ID, question case, EDNS).
    pub query: Box<Message>,
    /// Its answer's size cap.
    pub cap: usize,
    /// The client.
    pub peer: SocketAddr,
    /// When the query arrived (for the latency figures).
    pub started: Instant,
    /// The listening socket the query came in on.
    pub sock: Arc<UdpSocket>,
}

/// What the executor's side of one running resolver shares: the cross-thread [`Lane`], the
/// forwarder and the TCP connection count.
pub struct Shared {
    /// The zone, counters, rate limiter and ACL, shared with the UDP workers.
    pub lane: Arc<Lane>,
    /// The forwarder.
    pub forwarder: Rc<Forwarder>,
    /// The executor forwarded queries run on.
    pub ex: Rc<LocalExecutor<'static>>,
    tcp_open: Cell<usize>,
    /// The round-robin counter of TCP answers (each UDP worker has its own).
    tcp_rotate: Cell<usize>,
}

impl Shared {
    /// Bundles what the listeners need.
    pub fn new(
        lane: Arc<Lane>,
        forwarder: Rc<Forwarder>,
        ex: Rc<LocalExecutor<'static>>,
    ) -> Shared {
        Shared {
            lane,
            forwarder,
            ex,
            tcp_open: Cell::new(0),
            tcp_rotate: Cell::new(0),
        }
    }

    fn forward(&self, job: Upstream) {
        let waiter = Waiter {
            query: *job.query,
            cap: job.cap,
            reply: ReplyTo::Udp(job.sock, job.peer),
            started: job.started,
        };
        self.forwarder.forward(&self.ex, waiter);
    }
}

/// Hands the UDP listeners' upstream queries to the forwarder until the task is dropped.
pub async fn relay_upstream(rx: async_channel::Receiver<Upstream>, shared: Rc<Shared>) {
    while let Ok(job) = rx.recv().await {
        shared.forward(job);
    }
}

/// Serves one UDP socket until the task is dropped (where there is no UDP worker thread).
#[cfg(not(target_os = "linux"))]
pub async fn serve_udp(sock: Arc<UdpSocket>, shared: Rc<Shared>) {
    let Ok(sock_async) = sock.try_clone().and_then(Async::new) else {
        return;
    };
    let mut buf = vec![0u8; 65535];
    let mut out = Vec::new();
    let mut reader = Reader::default();
    loop {
        let Ok((len, peer)) = sock_async.recv_from(&mut buf).await else {
            continue;
        };
        let started = Instant::now();
        let Some(packet) = buf.get(..len) else {
            continue;
        };
        out.clear();
        let zone = shared.lane.zone.read();
        let ask = shared
            .lane
            .on_datagram(&mut reader, &zone, packet, peer, started, &mut out);
        drop(zone);
        if let Some((query, cap)) = ask {
            shared.forward(Upstream {
                query,
                cap,
                peer,
                started,
                sock: sock.clone(),
            });
        }
        if !out.is_empty() {
            let _ = sock.send_to(&out, peer);
        }
        shared
            .lane
            .count_batch(&mut reader, usize::from(!out.is_empty()), started.elapsed());
    }
}

/// Accepts TCP connections until the task is dropped.
pub async fn serve_tcp(listener: Async<TcpListener>, shared: Rc<Shared>) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            Timer::after(Duration::from_millis(50)).await;
            continue;
        };
        if shared.tcp_open.get() >= MAX_TCP {
            continue; // dropped: closes at once
        }
        shared.tcp_open.set(shared.tcp_open.get() + 1);
        let s = shared.clone();
        shared
            .ex
            .spawn(async move {
                connection(stream, peer, &s).await;
                s.tcp_open.set(s.tcp_open.get().saturating_sub(1));
            })
            .detach();
    }
}

async fn read_message(stream: &mut Async<TcpStream>, deadline: Instant) -> Option<Vec<u8>> {
    let work = async {
        let mut len = [0u8; 2];
        stream.read_exact(&mut len).await.ok()?;
        let len = usize::from(u16::from_be_bytes(len));
        if len == 0 {
            return None;
        }
        let mut body = vec![0u8; len];
        stream.read_exact(&mut body).await.ok()?;
        Some(body)
    };
    future::or(work, async {
        Timer::at(deadline).await;
        None
    })
    .await
}

async fn connection(mut stream: Async<TcpStream>, peer: SocketAddr, shared: &Rc<Shared>) {
    loop {
        let deadline = Instant::now() + TCP_DEADLINE;
        let Some(packet) = read_message(&mut stream, deadline).await else {
            return;
        };
        let started = Instant::now();
        let rotate = shared.tcp_rotate.get().wrapping_add(1);
        shared.tcp_rotate.set(rotate);
        let outcome = {
            let zone = shared.lane.zone.read();
            shared.lane.decide(&zone, &packet, peer, rotate, None)
        };
        let (bytes, local) = match outcome {
            Outcome::Drop => continue,
            Outcome::Reply(bytes, _) => (bytes, true),
            Outcome::Forward(query, cap) => {
                let (tx, rx) = async_channel::bounded(1);
                let waiter = Waiter {
                    query: *query,
                    cap,
                    reply: ReplyTo::Channel(tx),
                    started,
                };
                shared.forwarder.forward(&shared.ex, waiter);
                // The forwarder records this answer's latency itself.
                match rx.recv().await {
                    Ok(b) => (b, false),
                    Err(_) => return,
                }
            }
        };
        let Ok(len) = u16::try_from(bytes.len()) else {
            return;
        };
        let framed = [&len.to_be_bytes()[..], &bytes[..]].concat();
        let write = async { stream.write_all(&framed).await.is_ok() };
        let ok = future::or(write, async {
            Timer::at(Instant::now() + TCP_DEADLINE).await;
            false
        })
        .await;
        if !ok {
            return;
        }
        if local {
            shared.lane.stats.write().latency(started.elapsed());
        }
    }
}
