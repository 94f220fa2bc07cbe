//! Forwarding non-local queries to the upstream resolvers (spec §5.2): no recursion of our
//! own and no cache.
//!
//! Every upstream query gets a fresh random ID and a fresh socket (so a kernel-chosen random
//! source port), connected to the upstream so the kernel drops datagrams from any other
//! address or port; a reply counts only if its ID matches and its question is exactly ours
//! (name bytes, type, class). A truncated reply is asked again over TCP; no reply before the
//! timeout moves on to the next upstream, and the last one failing is SERVFAIL. At most one
//! upstream query is outstanding per (name, type, class): later askers wait for the same
//! answer (the dnsmasq "DNSpooq" class of cache-poisoning attacks needs many). At most
//! [`MAX_INFLIGHT`] distinct questions are outstanding; past that, SERVFAIL at once.
//!
//! Answers to UDP clients wait in an outbox until the executor has run every task that is
//! ready, then leave in one `sendmmsg` per listening socket (on Linux): answers that arrive
//! together (a coalesced question's waiters, upstream replies read in one reactor turn) cost
//! one system call and one wake-up of the client instead of one each.

use super::answer::{encode_capped, reply_to};
use super::lane::Locked;
use super::stats::Stats;
use crate::base::{OsRandom, RandomSource};
use async_executor::LocalExecutor;
use async_io::{Async, Timer};
use futures_lite::{future, AsyncReadExt, AsyncWriteExt};
use koi_wire::dns::{Edns, Header, Message, Name, Question, Rcode, RecordType};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Distinct questions outstanding at once.
pub const MAX_INFLIGHT: usize = 1024;
/// Askers waiting on one question.
const MAX_WAITERS: usize = 64;

/// Where to send the answer of one asker.
pub enum ReplyTo {
    /// Over a UDP listener, to this client.
    Udp(Arc<UdpSocket>, SocketAddr),
    /// To a TCP connection's task.
    Channel(async_channel::Sender<Vec<u8>>),
}

/// One client waiting for an upstream answer.
pub struct Waiter {
    /// Its query (ID, question case, EDNS).
    pub query: Message,
    /// Its size cap.
    pub cap: usize,
    /// Where the answer goes.
    pub reply: ReplyTo,
    /// When its query arrived (for the latency figures).
    pub started: Instant,
}

type Key = (Name, RecordType, u16);
/// A UDP answer waiting in the outbox: the listening socket, the bytes, the client.
type Outgoing = (Arc<UdpSocket>, Vec<u8>, SocketAddr);

/// The forwarder; one per running resolver.
pub struct Forwarder {
    upstreams: Vec<SocketAddr>,
    timeout: Duration,
    inflight: RefCell<HashMap<Key, Vec<Waiter>>>,
    stats: Locked<Stats>,
    outbox: RefCell<Vec<Outgoing>>,
    flush_scheduled: Cell<bool>,
}

impl Forwarder {
    /// A forwarder to `upstreams`, tried in order, each for at most `timeout`.
    pub fn new(upstreams: Vec<SocketAddr>, timeout: Duration, stats: Locked<Stats>) -> Forwarder {
        Forwarder {
            upstreams,
            timeout,
            inflight: RefCell::new(HashMap::new()),
            stats,
            outbox: RefCell::new(Vec::new()),
            flush_scheduled: Cell::new(false),
        }
    }

    /// The upstreams.
    pub fn upstreams(&self) -> &[SocketAddr] {
        &self.upstreams
    }

    /// Questions outstanding now.
    pub fn inflight(&self) -> usize {
        self.inflight.borrow().len()
    }

    /// Forwards `waiter`'s question, joining an outstanding upstream query for it if any.
    pub fn forward(self: &Rc<Self>, ex: &Rc<LocalExecutor<'static>>, waiter: Waiter) {
        let Some(q) = waiter.query.questions.first().cloned() else {
            return;
        };
        let key = (q.name.clone(), q.qtype, q.qclass);
        {
            let mut inflight = self.inflight.borrow_mut();
            if let Some(list) = inflight.get_mut(&key) {
                if list.len() < MAX_WAITERS {
                    list.push(waiter);
                } else {
                    drop(inflight);
                    self.answer(ex, &waiter, None);
                }
                return;
            }
            if inflight.len() >= MAX_INFLIGHT {
                drop(inflight);
                self.answer(ex, &waiter, None);
                return;
            }
            inflight.insert(key.clone(), vec![waiter]);
        }
        let me = self.clone();
        let exc = ex.clone();
        ex.spawn(async move {
            let answer = ask_upstreams(&me.upstreams, &q, me.timeout).await;
            let waiters = me.inflight.borrow_mut().remove(&key).unwrap_or_default();
            for w in &waiters {
                me.answer(&exc, w, answer.as_ref());
            }
        })
        .detach();
    }

    /// Sends one waiter the upstream's answer (or SERVFAIL) under its own ID and question.
    fn answer(
        self: &Rc<Self>,
        ex: &Rc<LocalExecutor<'static>>,
        w: &Waiter,
        upstream: Option<&Message>,
    ) {
        let bytes = match upstream {
            Some(m) => relay(&w.query, m, w.cap),
            None => {
                self.stats.write().errors += 1;
                let mut r = reply_to(&w.query, w.query.edns());
                r.header.set(Header::RA, true);
                r.header.set_rcode(Rcode::SERVFAIL);
                encode_capped(&r, w.cap)
            }
        };
        let Some(bytes) = bytes else { return };
        match &w.reply {
            ReplyTo::Udp(sock, peer) => {
                self.outbox.borrow_mut().push((sock.clone(), bytes, *peer));
                self.flush_soon(ex);
            }
            ReplyTo::Channel(tx) => {
                let _ = tx.try_send(bytes);
            }
        }
        self.stats.write().latency(w.started.elapsed());
    }
}

impl Forwarder {
    /// Schedules one flush of the outbox after the tasks that are ready now.
    fn flush_soon(self: &Rc<Self>, ex: &Rc<LocalExecutor<'static>>) {
        if self.flush_scheduled.replace(true) {
            return;
        }
        let me = self.clone();
        ex.spawn(async move {
            future::yield_now().await;
            me.flush_scheduled.set(false);
            me.flush();
        })
        .detach();
    }

    /// Sends every waiting UDP answer, batched per listening socket.
    fn flush(&self) {
        let mut out = std::mem::take(&mut *self.outbox.borrow_mut());
        while let Some((sock, _, _)) = out.first() {
            let sock = sock.clone();
            let (mine, rest): (Vec<_>, Vec<_>) =
                out.into_iter().partition(|(s, _, _)| Arc::ptr_eq(s, &sock));
            out = rest;
            send_batch(&sock, mine.into_iter().map(|(_, b, p)| (b, p)).collect());
        }
    }
}

/// Sends datagrams from one listening socket, without blocking (what would block is lost).
#[cfg(target_os = "linux")]
fn send_batch(sock: &UdpSocket, out: Vec<(Vec<u8>, SocketAddr)>) {
    use std::os::fd::AsRawFd;
    super::batch::send_all(sock.as_raw_fd(), &out);
}

#[cfg(not(target_os = "linux"))]
fn send_batch(sock: &UdpSocket, out: Vec<(Vec<u8>, SocketAddr)>) {
    for (bytes, peer) in out {
        let _ = sock.send_to(&bytes, peer);
    }
}

/// The upstream's answer rewritten for one client: its ID and question, our OPT if it sent
/// one (the upstream's extended RCODE kept), RA set, within its size cap.
pub fn relay(query: &Message, upstream: &Message, cap: usize) -> Option<Vec<u8>> {
    let mut r = upstream.clone();
    r.header.id = query.header.id;
    r.header.set(Header::RA, true);
    r.header.set(Header::AA, false);
    r.questions = query.questions.clone();
    let ext = upstream.edns().map_or(0, |e| e.extended_rcode);
    r.additionals.retain(|rec| !rec.is_opt());
    if query.edns().is_some() {
        r.additionals.push(
            Edns {
                udp_payload_size: super::answer::MAX_UDP,
                extended_rcode: ext,
                version: 0,
                flags: 0,
            }
            .to_record(Vec::new()),
        );
    }
    encode_capped(&r, cap)
}

/// Asks each upstream in turn; the first valid answer wins.
pub async fn ask_upstreams(
    upstreams: &[SocketAddr],
    q: &Question,
    timeout: Duration,
) -> Option<Message> {
    for up in upstreams {
        if let Some(m) = ask_one(*up, q, timeout).await {
            return Some(m);
        }
    }
    None
}

thread_local! {
    /// Random bytes from the OS, read 512 at a time (one read per 256 query IDs).
    static POOL: RefCell<(Vec<u8>, usize)> = const { RefCell::new((Vec::new(), 0)) };
}

/// A query ID from the OS CSPRNG.
fn random_id() -> u16 {
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        let (buf, at) = &mut *pool;
        if *at + 2 > buf.len() {
            buf.resize(512, 0);
            if OsRandom.fill(buf).is_err() {
                // /dev/urandom missing: the clock's low bits are better than a constant.
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.subsec_nanos());
                return nanos as u16;
            }
            *at = 0;
        }
        let id = u16::from_be_bytes([buf[*at], buf[*at + 1]]);
        *at += 2;
        id
    })
}

/// The query we send upstream: a fresh ID, RD, the question as asked, EDNS with our size.
fn upstream_query(id: u16, q: &Question) -> Option<Vec<u8>> {
    let mut m = Message::default();
    m.header.id = id;
    m.header.set(Header::RD, true);
    m.questions.push(q.clone());
    m.additionals.push(
        Edns {
            udp_payload_size: super::answer::MAX_UDP,
            ..Edns::default()
        }
        .to_record(Vec::new()),
    );
    m.encode(512).ok()
}

/// Whether `reply` answers exactly the query with `id` and question `q`.
pub fn is_answer_to(reply: &Message, id: u16, q: &Question) -> bool {
    reply.header.qr()
        && reply.header.id == id
        && matches!(reply.questions.as_slice(), [r] if r.qtype == q.qtype
            && r.qclass == q.qclass
            && r.name == q.name
            && r.name.to_string() == q.name.to_string())
}

/// A fresh UDP socket connected to `up`: `connect` binds it to a random ephemeral port the
/// kernel picks, and the kernel drops datagrams from any other address or port. Three system
/// calls (socket, connect, epoll registration) instead of six (no separate bind, no
/// non-blocking switch after the fact).
fn upstream_socket(up: SocketAddr) -> std::io::Result<Async<UdpSocket>> {
    use socket2::{Domain, Protocol, Socket, Type};
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    let s = Socket::new(
        Domain::for_address(up),
        Type::DGRAM.nonblocking().cloexec(),
        Some(Protocol::UDP),
    )?;
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
    let s = {
        let s = Socket::new(Domain::for_address(up), Type::DGRAM, Some(Protocol::UDP))?;
        s.set_nonblocking(true)?;
        s
    };
    s.connect(&up.into())?;
    Async::new_nonblocking(UdpSocket::from(s))
}

async fn ask_one(up: SocketAddr, q: &Question, timeout: Duration) -> Option<Message> {
    let deadline = Instant::now() + timeout;
    let id = random_id();
    let packet = upstream_query(id, q)?;
    let sock = upstream_socket(up).ok()?;
    sock.send(&packet).await.ok()?;
    let mut buf = vec![0u8; 4096];
    let got = future::or(
        async {
            loop {
                let Ok(n) = sock.recv(&mut buf).await else {
                    // ICMP port unreachable and the like: wait out the timeout for a real reply.
                    continue;
                };
                let Some(data) = buf.get(..n) else { continue };
                match Message::parse(data) {
                    Ok(m) if is_answer_to(&m, id, q) => return Some(m),
                    _ => continue,
                }
            }
        },
        async {
            Timer::at(deadline).await;
            None
        },
    )
    .await?;
    if got.header.tc() {
        return ask_tcp(up, q, deadline).await;
    }
    Some(got)
}

async fn ask_tcp(up: SocketAddr, q: &Question, deadline: Instant) -> Option<Message> {
    let id = random_id();
    let packet = upstream_query(id, q)?;
    let work = async {
        let mut s = Async::<TcpStream>::connect(up).await.ok()?;
        let len = u16::try_from(packet.len()).ok()?.to_be_bytes();
        s.write_all(&[&len[..], &packet[..]].concat()).await.ok()?;
        let mut l = [0u8; 2];
        s.read_exact(&mut l).await.ok()?;
        let mut body = vec![0u8; usize::from(u16::from_be_bytes(l))];
        s.read_exact(&mut body).await.ok()?;
        let m = Message::parse(&body).ok()?;
        is_answer_to(&m, id, q).then_some(m)
    };
    future::or(work, async {
        Timer::at(deadline).await;
        None
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use koi_wire::dns::Class;

    #[test]
    fn only_exact_answers_count() {
        let q = Question::new(
            Name::from_dotted("Example.com").unwrap(),
            RecordType::A,
            Class::IN,
        );
        let mut r = Message::default();
        r.header.id = 7;
        r.header.set(Header::QR, true);
        r.questions.push(q.clone());
        assert!(is_answer_to(&r, 7, &q));
        assert!(!is_answer_to(&r, 8, &q));
        let mut other = r.clone();
        other.questions[0].name = Name::from_dotted("example.com").unwrap();
        assert!(!is_answer_to(&other, 7, &q), "case differs");
        let mut other = r.clone();
        other.questions[0].qtype = RecordType::AAAA;
        assert!(!is_answer_to(&other, 7, &q));
        let mut other = r.clone();
        other.header.set(Header::QR, false);
        assert!(!is_answer_to(&other, 7, &q));
    }
}
