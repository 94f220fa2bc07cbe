//! What every listener of one running resolver shares across threads (the zone, the counters,
//! the rate limiter, who may ask), and the handling of one UDP datagram against it.
//!
//! The UDP workers (`super::worker`, one thread per UDP socket) and the executor thread (TCP,
//! the forwarder, the sources feeding the zone) both reach these through [`Locked`]. A guard is
//! never held across I/O or an `await`; a worker holds the zone's read guard for one batch of
//! datagrams at most. Holds no protocol logic: answers come from [`super::answer`].

use super::answer::{self, Context, Kind, Outcome};
use super::fastpath::{plain, AnswerCache};
use super::ratelimit::{RateLimiter, Verdict};
use super::server::Acl;
use super::stats::Stats;
use super::zone::Zone;
use crate::base::log::{enabled, Level};
use koi_wire::dns::Message;
use std::net::SocketAddr;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

/// A value shared between threads. A panic while it was held (in a test build; shipped
/// builds abort) does not make it unusable: the next holder takes it as it is.
#[derive(Debug, Default)]
pub struct Locked<T>(Arc<RwLock<T>>);

impl<T> Clone for Locked<T> {
    fn clone(&self) -> Self {
        Locked(self.0.clone())
    }
}

impl<T> Locked<T> {
    /// Shares `value`.
    pub fn new(value: T) -> Locked<T> {
        Locked(Arc::new(RwLock::new(value)))
    }

    /// Reads it.
    pub fn read(&self) -> RwLockReadGuard<'_, T> {
        self.0.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Changes it.
    pub fn write(&self) -> RwLockWriteGuard<'_, T> {
        self.0.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What the listeners of one running resolver share.
pub struct Lane {
    /// The zone.
    pub zone: Locked<Zone>,
    /// Counters and latency.
    pub stats: Locked<Stats>,
    /// The UDP rate limiter (one for every UDP socket, so a client gains nothing by asking
    /// several of our addresses).
    pub limiter: Locked<RateLimiter>,
    /// Who may ask.
    pub acl: Acl,
}

/// One UDP reader's own state: its answer cache and the round-robin counter.
#[derive(Default)]
pub struct Reader {
    cache: AnswerCache,
    counter: usize,
    /// Answers from the cache since the counters were last updated.
    cached: u64,
}

/// A query to send upstream: the parsed query and the size its answer may take.
pub type ToForward = (Box<Message>, usize);

impl Lane {
    /// Runs one query through the pure handler and counts what happened. `cache` is the UDP
    /// reader's answer cache, where a local answer is kept for the next time; `None` means the
    /// query came over TCP.
    pub fn decide(
        &self,
        zone: &Zone,
        packet: &[u8],
        peer: SocketAddr,
        rotate: usize,
        cache: Option<&mut AnswerCache>,
    ) -> Outcome {
        let ctx = Context {
            tcp: cache.is_none(),
            allowed: self.acl.allows(peer.ip()),
            rotate,
        };
        let outcome = answer::handle(zone, packet, ctx);
        if let (Outcome::Reply(bytes, Kind::Local(_)), Some(cache), true) =
            (&outcome, cache, ctx.allowed)
        {
            if let Some(q) = plain(packet) {
                cache.store(zone.serial(), packet, q, bytes);
            }
        }
        let mut stats = self.stats.write();
        stats.total += 1;
        match &outcome {
            Outcome::Drop => stats.dropped += 1,
            Outcome::Reply(_, Kind::Local(_)) => stats.local += 1,
            Outcome::Reply(_, Kind::Refused) => stats.refused += 1,
            Outcome::Reply(_, Kind::Error) => stats.errors += 1,
            Outcome::Forward(..) => stats.forwarded += 1,
        }
        drop(stats);
        if enabled(Level::Debug) {
            log_query(packet, peer, &outcome);
        }
        outcome
    }

    /// Handles one UDP datagram against `zone` (read once per batch by the caller): appends
    /// the answer to send now to `out`, if any, and returns the query if it goes upstream.
    pub fn on_datagram(
        &self,
        reader: &mut Reader,
        zone: &Zone,
        packet: &[u8],
        peer: SocketAddr,
        now: Instant,
        out: &mut Vec<u8>,
    ) -> Option<ToForward> {
        let verdict = self.limiter.write().check(now, peer.ip());
        if verdict != Verdict::Answer {
            let mut stats = self.stats.write();
            stats.total += 1;
            stats.rate_limited += 1;
            drop(stats);
            if let Some(tc) = (verdict == Verdict::Slip)
                .then(|| answer::truncated(packet))
                .flatten()
            {
                out.extend_from_slice(&tc);
            }
            return None;
        }
        if self.fast(reader, zone.serial(), packet, peer, out) {
            return None;
        }
        reader.counter = reader.counter.wrapping_add(1);
        match self.decide(zone, packet, peer, reader.counter, Some(&mut reader.cache)) {
            Outcome::Drop => None,
            Outcome::Reply(bytes, _) => {
                out.extend_from_slice(&bytes);
                None
            }
            Outcome::Forward(query, cap) => Some((query, cap)),
        }
    }

    /// Appends a cached local answer to a plain query from an allowed client to `out`; false
    /// if there is none.
    fn fast(
        &self,
        reader: &mut Reader,
        serial: u32,
        packet: &[u8],
        peer: SocketAddr,
        out: &mut Vec<u8>,
    ) -> bool {
        let Some(q) = plain(packet) else {
            return false;
        };
        if !self.acl.allows(peer.ip()) || !reader.cache.answer_into(serial, packet, q, out) {
            return false;
        }
        if enabled(Level::Debug) {
            log_query(packet, peer, &Outcome::Reply(Vec::new(), Kind::Local(None)));
        }
        reader.cached += 1;
        true
    }

    /// Adds a batch's figures to the counters: `answered` answers sent, each `took` after its
    /// batch arrived, and the reader's cached answers since the last call.
    pub fn count_batch(&self, reader: &mut Reader, answered: usize, took: std::time::Duration) {
        let mut stats = self.stats.write();
        stats.total += reader.cached;
        stats.local += reader.cached;
        reader.cached = 0;
        stats.latencies(took, answered as u64);
    }
}

fn log_query(packet: &[u8], peer: SocketAddr, outcome: &Outcome) {
    let q = Message::parse(packet)
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
