//! Answering queries (RFC 6762 §5.4, §6, §6.7, §7).
//!
//! Owns when and where an answer leaves (what goes in it is [`lookup`](super::lookup)'s):
//! unique answers at once, anything
//! with a shared record after a random 20–120 ms (400–500 ms when the query has TC), pending
//! answers aggregated per link; QU answers unicast unless the record has not been multicast on
//! the link within a quarter of its TTL; at most one multicast per record per second per link
//! (250 ms when defending against a probe). Legacy queries (source port ≠ 5353) get one
//! unicast datagram to exactly that address and port, ID and questions echoed, TTL ≤ 10 s, no
//! cache-flush bits, and nothing multicast.

use std::collections::{HashMap, HashSet};
use std::mem;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use koi_wire::dns::{Message, Question, Record};

use super::{packet, records, LinkState, Responder};
use crate::mdns::{Destination, Received, OTHER_TTL};

/// §6: one multicast per record per link per second ...
const RATE_GAP: Duration = Duration::from_secs(1);
/// ... or per quarter second when answering a probe.
const PROBE_DEFENCE_GAP: Duration = Duration::from_millis(250);
/// §6.7: TTL cap of legacy replies.
const LEGACY_TTL: u32 = 10;
/// Unicast replies waiting per link; more are dropped.
const MAX_REPLIES: usize = 16;
/// How often the multicast log is pruned of entries no rule looks at any more.
const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// The longest any rule looks back: a quarter of the longest TTL.
const LOG_HORIZON: Duration = Duration::from_secs(OTHER_TTL as u64 / 4);

/// A record waiting to be multicast on one link.
#[derive(Clone, Debug)]
pub(super) struct Pending {
    fp: u64,
    record: Record,
    pub(super) due: Instant,
    /// Answer section (rate-limited by deferral) or additional (dropped when rate-limited).
    answer: bool,
    gap: Duration,
}

/// A unicast reply waiting for its delay.
#[derive(Clone, Debug)]
pub(super) struct Reply {
    pub(super) due: Instant,
    to: SocketAddr,
    /// For a legacy reply: the query's ID and questions.
    legacy: Option<(u16, Vec<Question>)>,
    answers: Vec<Record>,
    additionals: Vec<Record>,
}

/// Whether `r` was multicast on `link` less than `gap` ago.
pub(super) fn multicast_within(link: &LinkState, r: &Record, now: Instant, gap: Duration) -> bool {
    link.last_multicast
        .get(&records::fp(r))
        .is_some_and(|t| now.saturating_duration_since(*t) < gap)
}

/// Drops `records` from everything waiting on `link` and from its multicast log.
pub(super) fn forget(link: &mut LinkState, gone: &[Record]) {
    let gone: HashSet<u64> = gone.iter().map(records::fp).collect();
    link.pending.retain(|p| !gone.contains(&p.fp));
    for reply in &mut link.replies {
        reply.answers.retain(|r| !gone.contains(&records::fp(r)));
        reply
            .additionals
            .retain(|r| !gone.contains(&records::fp(r)));
    }
    link.replies.retain(|r| !r.answers.is_empty());
    link.last_multicast.retain(|fp, _| !gone.contains(fp));
}

/// Drops pending multicasts that `seen` makes moot: known answers of a question-less
/// continuation packet (§7.2, with at least half our TTL), or another responder's answers
/// (§7.4, `duplicate`: with at least our TTL).
pub(super) fn suppress(link: &mut LinkState, seen: &[Record], duplicate: bool) {
    let seen = Known::new(seen);
    link.pending.retain(|p| {
        let ours = u64::from(p.record.ttl);
        let moot = |ttl: u32| {
            let ttl = u64::from(ttl);
            if duplicate {
                ttl >= ours
            } else {
                ttl * 2 >= ours
            }
        };
        !seen.matches(p.fp, &p.record, moot)
    });
}

/// Known answers of a query (or answers seen from another responder), by fingerprint.
pub(super) struct Known<'a>(HashMap<u64, Vec<&'a Record>>);

impl<'a> Known<'a> {
    pub(super) fn new(records: &'a [Record]) -> Known<'a> {
        let mut map: HashMap<u64, Vec<&'a Record>> = HashMap::new();
        for r in records {
            map.entry(records::fp(r)).or_default().push(r);
        }
        Known(map)
    }

    /// §7.1: whether sending `ours` (fingerprint `fp`) is unnecessary: the querier knows it
    /// with at least half its TTL. Matches are confirmed record by record, so a peer cannot
    /// suppress an answer with a forged fingerprint collision.
    pub(super) fn covers(&self, fp: u64, ours: &Record) -> bool {
        self.matches(fp, ours, |ttl| u64::from(ttl) * 2 >= u64::from(ours.ttl))
    }

    /// Whether `ours` is among these records with a TTL that `ttl_ok` accepts.
    fn matches(&self, fp: u64, ours: &Record, ttl_ok: impl Fn(u32) -> bool) -> bool {
        self.0.get(&fp).is_some_and(|known| {
            known
                .iter()
                .any(|k| records::same_rr(k, ours) && ttl_ok(k.ttl))
        })
    }
}

impl Responder {
    /// A query on link `li`.
    pub(super) fn handle_query(
        &mut self,
        now: Instant,
        li: usize,
        rx: &Received<'_>,
        msg: &Message,
    ) {
        let legacy = rx.is_legacy();
        let probe = !msg.authorities.is_empty();
        if probe && !legacy {
            self.tiebreak(now, li, msg);
        }
        if msg.questions.is_empty() {
            if let (false, Some(link)) = (legacy, self.links.get_mut(li)) {
                suppress(link, &msg.answers, false);
            }
            return;
        }
        let (answers, extra) = self.collect(li, msg, !rx.to_group());
        if answers.is_empty() {
            return;
        }
        let delay = if msg.header.tc() {
            self.jitter(400, 500)
        } else if answers.iter().any(|(r, _)| !r.cache_flush()) {
            self.jitter(20, 120)
        } else {
            Duration::ZERO
        };
        let due = now + delay;
        let Some(link) = self.links.get_mut(li) else {
            return;
        };
        if legacy {
            let fix = |mut r: Record| {
                r.ttl = r.ttl.min(LEGACY_TTL);
                r.set_cache_flush(false);
                r
            };
            let reply = Reply {
                due,
                to: rx.src,
                legacy: Some((msg.header.id, msg.questions.clone())),
                answers: answers.into_iter().map(|(r, _)| fix(r)).collect(),
                additionals: extra.into_iter().map(fix).collect(),
            };
            queue_reply(link, reply);
            return;
        }
        let gap = if probe { PROBE_DEFENCE_GAP } else { RATE_GAP };
        let (uni, multi): (Vec<_>, Vec<_>) = answers.into_iter().partition(|(r, unicast_ok)| {
            let quarter = Duration::from_secs(u64::from(r.ttl) / 4);
            *unicast_ok && multicast_within(link, r, now, quarter)
        });
        let extra_to_multicast = !multi.is_empty();
        let mut items: Vec<(Record, bool)> = multi.into_iter().map(|(r, _)| (r, true)).collect();
        if extra_to_multicast {
            items.extend(extra.iter().map(|r| (r.clone(), false)));
        }
        enqueue(link, items, due, gap);
        if !uni.is_empty() {
            let reply = Reply {
                due,
                to: rx.src,
                legacy: None,
                answers: uni.into_iter().map(|(r, _)| r).collect(),
                additionals: if extra_to_multicast {
                    Vec::new()
                } else {
                    extra
                },
            };
            queue_reply(link, reply);
        }
    }

    /// Sends whatever is due on every link: multicast answers (re-checking the rate limit)
    /// and unicast replies.
    pub(super) fn flush(&mut self, now: Instant) {
        for link in &mut self.links {
            let mut answers = Vec::new();
            let mut extra = Vec::new();
            for mut p in mem::take(&mut link.pending) {
                if p.due > now {
                    link.pending.push(p);
                    continue;
                }
                if let Some(last) = link.last_multicast.get(&p.fp) {
                    let next = *last + p.gap;
                    if now < next {
                        if p.answer {
                            p.due = next;
                            link.pending.push(p);
                        }
                        continue;
                    }
                }
                if p.answer {
                    answers.push(p.record);
                } else {
                    extra.push(p.record);
                }
            }
            // Additionals whose answers were suppressed or deferred are not worth a datagram.
            if !answers.is_empty() {
                let dest = Destination::Multicast(link.info.link);
                packet::response(dest, &answers, &extra, &mut self.transmits);
                for r in answers.iter().chain(&extra) {
                    link.last_multicast.insert(records::fp(r), now);
                }
            }
            let (due, later): (Vec<_>, Vec<_>) = mem::take(&mut link.replies)
                .into_iter()
                .partition(|r| r.due <= now);
            link.replies = later;
            for reply in due {
                let dest = Destination::Unicast {
                    link: link.info.link,
                    to: reply.to,
                };
                match &reply.legacy {
                    Some((id, questions)) => {
                        let t = packet::legacy(
                            dest,
                            *id,
                            questions,
                            &reply.answers,
                            &reply.additionals,
                        );
                        self.transmits.extend(t);
                    }
                    None => packet::response(
                        dest,
                        &reply.answers,
                        &reply.additionals,
                        &mut self.transmits,
                    ),
                }
            }
            if now >= link.next_prune {
                link.next_prune = now + PRUNE_EVERY;
                link.last_multicast
                    .retain(|_, t| now.saturating_duration_since(*t) < LOG_HORIZON);
            }
        }
    }
}

/// Adds records (each flagged answer or additional) to the link's pending multicasts, merging
/// with the entry already there for the same record.
fn enqueue(link: &mut LinkState, items: Vec<(Record, bool)>, due: Instant, gap: Duration) {
    let mut index: HashMap<u64, usize> = link
        .pending
        .iter()
        .enumerate()
        .map(|(i, p)| (p.fp, i))
        .collect();
    for (record, answer) in items {
        let fp = records::fp(&record);
        if let Some(p) = index.get(&fp).and_then(|i| link.pending.get_mut(*i)) {
            p.due = p.due.min(due);
            p.answer |= answer;
            p.gap = p.gap.min(gap);
            continue;
        }
        index.insert(fp, link.pending.len());
        link.pending.push(Pending {
            fp,
            record,
            due,
            answer,
            gap,
        });
    }
}

fn queue_reply(link: &mut LinkState, reply: Reply) {
    if link.replies.len() < MAX_REPLIES {
        link.replies.push(reply);
    }
}
