//! The async shell of the resolver: UDP and TCP listeners that move bytes between sockets and
//! [`answer::handle`], the rate limiter, the forwarder and the statistics.
//!
//! Holds no protocol logic. UDP replies are sent with a non-blocking `send_to` (a reply that
//! would block is dropped, like any lost datagram). TCP connections are capped at
//! [`MAX_TCP`]; each message must arrive whole within [`TCP_DEADLINE`] of the previous answer
//! (or of accepting), so a slow-drip client is closed at the deadline; a length of 0 closes
//! the connection; pipelined queries are answered in order. Queries are logged only at debug
//! level.

use super::answer::{self, Context, Kind, Outcome};
use super::fastpath::{plain, AnswerCache};
use super::forward::{Forwarder, ReplyTo, Waiter};
use super::ratelimit::{RateLimiter, Verdict};
use super::stats::Stats;
use super::zone::Zone;
use crate::base::log::{enabled, Level};
use crate::mdns::IfAddr;
use async_executor::LocalExecutor;
use async_io::{Async, Timer};
use futures_lite::{future, AsyncReadExt, AsyncWriteExt};
use std::cell::{Cell, RefCell};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::rc::Rc;
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

/// What the listeners of one running resolver share.
pub struct Shared {
    /// The zone.
    pub zone: Rc<RefCell<Zone>>,
    /// Counters and latency.
    pub stats: Rc<RefCell<Stats>>,
    /// The UDP rate limiter.
    pub limiter: RefCell<RateLimiter>,
    /// Who may ask.
    pub acl: Acl,
    /// The forwarder.
    pub forwarder: Rc<Forwarder>,
    /// The executor forwarded queries run on.
    pub ex: Rc<LocalExecutor<'static>>,
    cache: RefCell<AnswerCache>,
    counter: Cell<usize>,
    tcp_open: Cell<usize>,
}

impl Shared {
    /// Bundles what the listeners need.
    pub fn new(
        zone: Rc<RefCell<Zone>>,
        stats: Rc<RefCell<Stats>>,
        limiter: RateLimiter,
        acl: Acl,
        forwarder: Rc<Forwarder>,
        ex: Rc<LocalExecutor<'static>>,
    ) -> Shared {
        Shared {
            zone,
            stats,
            limiter: RefCell::new(limiter),
            acl,
            forwarder,
            ex,
            cache: RefCell::new(AnswerCache::default()),
            counter: Cell::new(0),
            tcp_open: Cell::new(0),
        }
    }

    /// Appends a cached local answer to a plain query from an allowed client to `out` (UDP
    /// only); false if there is none.
    fn fast(&self, packet: &[u8], peer: SocketAddr, out: &mut Vec<u8>) -> bool {
        let Some(q) = plain(packet) else {
            return false;
        };
        if !self.acl.allows(peer.ip()) {
            return false;
        }
        let serial = self.zone.borrow().serial();
        if !self.cache.borrow_mut().answer_into(serial, packet, q, out) {
            return false;
        }
        if enabled(Level::Debug) {
            log_query(packet, peer, &Outcome::Reply(Vec::new(), Kind::Local(None)));
        }
        let mut stats = self.stats.borrow_mut();
        stats.total += 1;
        stats.local += 1;
        true
    }

    /// Runs one query through the pure handler and counts what happened.
    fn decide(&self, packet: &[u8], peer: SocketAddr, tcp: bool) -> Outcome {
        let n = self.counter.get().wrapping_add(1);
        self.counter.set(n);
        let ctx = Context {
            tcp,
            allowed: self.acl.allows(peer.ip()),
            rotate: n,
        };
        let zone = self.zone.borrow();
        let outcome = answer::handle(&zone, packet, ctx);
        if let (Outcome::Reply(bytes, Kind::Local(_)), false, true) = (&outcome, tcp, ctx.allowed) {
            if let Some(q) = plain(packet) {
                self.cache
                    .borrow_mut()
                    .store(zone.serial(), packet, q, bytes);
            }
        }
        drop(zone);
        let mut stats = self.stats.borrow_mut();
        stats.total += 1;
        match &outcome {
            Outcome::Drop => stats.dropped += 1,
            Outcome::Reply(_, Kind::Local(_)) => stats.local += 1,
            Outcome::Reply(_, Kind::Refused) => stats.refused += 1,
            Outcome::Reply(_, Kind::Error) => stats.errors += 1,
            Outcome::Forward(..) => stats.forwarded += 1,
        }
        if enabled(Level::Debug) {
            log_query(packet, peer, &outcome);
        }
        outcome
    }
}

fn log_query(packet: &[u8], peer: SocketAddr, outcome: &Outcome) {
    let q = koi_wire::dns::Message::parse(packet)
        .ok()
        .and_then(|m| {
            m.questions
                .first()
                .map(|q| format!("{} {}", q.name, q.qtype))
        })
        .unwrap_or_else(|| "(undecodable)".into());
    let what = match outcome {
        Outcome::Drop => "dropped".to_string(),
        Outcome::Reply(_, k) => format!("{k:?}"),
        Outcome::Forward(..) => "forwarded".to_string(),
    };
    crate::log!(Debug, "dns", "query from {peer}: {q} -> {what}");
}

/// Handles one UDP datagram: appends the answer to send now to `out`, if any (forwarded
/// queries are answered later by the forwarder).
fn on_datagram(
    shared: &Shared,
    sock: &Rc<Async<UdpSocket>>,
    packet: &[u8],
    peer: SocketAddr,
    started: Instant,
    out: &mut Vec<u8>,
) {
    let verdict = shared.limiter.borrow_mut().check(started, peer.ip());
    if verdict != Verdict::Answer {
        let mut stats = shared.stats.borrow_mut();
        stats.total += 1;
        stats.rate_limited += 1;
        drop(stats);
        if let Some(tc) = (verdict == Verdict::Slip)
            .then(|| answer::truncated(packet))
            .flatten()
        {
            out.extend_from_slice(&tc);
        }
        return;
    }
    if shared.fast(packet, peer, out) {
        return;
    }
    match shared.decide(packet, peer, false) {
        Outcome::Drop => {}
        Outcome::Reply(bytes, _) => out.extend_from_slice(&bytes),
        Outcome::Forward(query, cap) => {
            let waiter = Waiter {
                query: *query,
                cap,
                reply: ReplyTo::Udp(sock.clone(), peer),
                started,
            };
            shared.forwarder.forward(&shared.ex, waiter);
        }
    }
}

/// Serves one UDP socket until the task is dropped, a batch of datagrams per system call.
#[cfg(target_os = "linux")]
pub async fn serve_udp(sock: Rc<Async<UdpSocket>>, shared: Rc<Shared>) {
    use std::os::fd::AsRawFd;
    let fd = sock.get_ref().as_raw_fd();
    let mut batch = super::batch::Batch::new();
    let mut out = super::batch::Replies::default();
    let mut errors: u32 = 0;
    loop {
        let n = match batch.recv(fd) {
            Ok(0) => {
                let _ = sock.readable().await;
                continue;
            }
            Ok(n) => n,
            // An ICMP error queued on the socket: read on (pausing if errors persist).
            Err(_) => {
                errors += 1;
                if errors % 64 == 0 {
                    Timer::after(Duration::from_millis(10)).await;
                }
                continue;
            }
        };
        let started = Instant::now();
        for i in 0..n {
            if let Some((packet, peer)) = batch.get(i) {
                let start = out.data.len();
                on_datagram(&shared, &sock, packet, peer, started, &mut out.data);
                out.commit(i, start);
            }
        }
        batch.send(fd, &out);
        let mut stats = shared.stats.borrow_mut();
        let took = started.elapsed();
        for _ in 0..out.len() {
            stats.latency(took);
        }
        drop(stats);
        out.clear();
    }
}

/// Serves one UDP socket until the task is dropped.
#[cfg(not(target_os = "linux"))]
pub async fn serve_udp(sock: Rc<Async<UdpSocket>>, shared: Rc<Shared>) {
    let mut buf = vec![0u8; 65535];
    let mut out = Vec::new();
    loop {
        let Ok((len, peer)) = sock.recv_from(&mut buf).await else {
            continue;
        };
        let started = Instant::now();
        let Some(packet) = buf.get(..len) else {
            continue;
        };
        out.clear();
        on_datagram(&shared, &sock, packet, peer, started, &mut out);
        if !out.is_empty() {
            let _ = sock.get_ref().send_to(&out, peer);
            shared.stats.borrow_mut().latency(started.elapsed());
        }
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
        let (bytes, local) = match shared.decide(&packet, peer, true) {
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
            shared.stats.borrow_mut().latency(started.elapsed());
        }
    }
}
