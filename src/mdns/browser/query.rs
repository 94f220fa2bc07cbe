//! When to ask, and how a query is packed.
//!
//! Owns the continuous-query schedule of RFC 6762 §5.2 (first query after a random 20–120 ms,
//! then 1 s, 2 s, 4 s … doubling up to 60 minutes) and the packing of questions with their
//! known answers (§7.1, §7.2) into datagrams of at most [`MAX_DATAGRAM`] bytes, TC set on all
//! but the last. It never decides what to ask: the browser hands it questions.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use koi_wire::dns::{Class, Header, Message, Name, Question, Record, RecordType};

use super::track::type_of;
use super::Browser;

use crate::base::Prng;
use crate::mdns::{Link, Received, ServiceType, MAX_DATAGRAM};

/// The shortest delay before the first query, in milliseconds (RFC 6762 §5.2).
pub(crate) const FIRST_DELAY_MS: (u64, u64) = (20, 120);
/// The interval after the first query.
pub(crate) const FIRST_INTERVAL: Duration = Duration::from_secs(1);
/// The longest interval between continuous queries.
pub(crate) const MAX_INTERVAL: Duration = Duration::from_secs(3600);
/// The DNS-SD service type enumeration name (RFC 6763 §9).
pub(crate) const SERVICES_NAME: &str = "_services._dns-sd._udp.local";

/// Entries per packing attempt: bounds the clones made for each datagram.
const CHUNK: usize = 128;
/// Datagrams one flush may produce on one link.
const MAX_DATAGRAMS: usize = 64;

/// What a continuous query asks for.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Target {
    /// Every service type (`_services._dns-sd._udp.local` PTR).
    AllTypes,
    /// Instances of one type (`_http._tcp.local` PTR).
    Type(ServiceType),
}

impl Target {
    /// The PTR name this target queries.
    pub(crate) fn name(&self) -> Option<Name> {
        match self {
            Target::AllTypes => Name::from_dotted(SERVICES_NAME).ok(),
            Target::Type(ty) => Name::from_dotted(&ty.local_name()).ok(),
        }
    }
}

/// One continuous query on one link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Schedule {
    /// When to send next.
    pub(crate) next: Instant,
    /// The wait after that send.
    pub(crate) interval: Duration,
}

impl Schedule {
    /// A schedule whose first query goes out 20–120 ms from `now`.
    pub(crate) fn start(now: Instant, prng: &mut Prng) -> Schedule {
        let (lo, hi) = FIRST_DELAY_MS;
        Schedule {
            next: now + Duration::from_millis(prng.range(lo, hi)),
            interval: FIRST_INTERVAL,
        }
    }

    /// Records a query sent (or, §7.3, seen sent by another host) at `now`.
    pub(crate) fn sent(&mut self, now: Instant) {
        self.next = now + self.interval;
        self.interval = (self.interval * 2).min(MAX_INTERVAL);
    }
}

/// Continuous queries by target and link.
#[derive(Default)]
pub(crate) struct Schedules {
    map: BTreeMap<(Target, Link), Schedule>,
}

impl Schedules {
    /// Starts querying `target` on each of `links` that is not already doing so.
    pub(crate) fn start(
        &mut self,
        now: Instant,
        prng: &mut Prng,
        target: &Target,
        links: impl Iterator<Item = Link>,
    ) {
        for link in links {
            self.map
                .entry((target.clone(), link))
                .or_insert_with(|| Schedule::start(now, prng));
        }
    }

    /// Stops every query for `target`.
    pub(crate) fn stop_target(&mut self, target: &Target) {
        self.map.retain(|(t, _), _| t != target);
    }

    /// Stops every query on `link`.
    pub(crate) fn stop_link(&mut self, link: Link) {
        self.map.retain(|(_, l), _| *l != link);
    }

    /// The schedule of `target` on `link`.
    pub(crate) fn get_mut(&mut self, target: &Target, link: Link) -> Option<&mut Schedule> {
        self.map.get_mut(&(target.clone(), link))
    }

    /// The earliest next query.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.map.values().map(|s| s.next).min()
    }

    /// Marks every query due at `now` as sent and returns them.
    pub(crate) fn take_due(&mut self, now: Instant) -> Vec<(Link, Target)> {
        let mut due = Vec::new();
        for ((target, link), s) in &mut self.map {
            if s.next <= now {
                s.sent(now);
                due.push((*link, target.clone()));
            }
        }
        due
    }
}

/// Packs `questions` (QM) and their `known` answers into query datagrams: questions first,
/// then as many answers as fit, continuing in further datagrams with TC set on all but the
/// last (RFC 6762 §7.2). An entry too large for an empty datagram is dropped.
pub(crate) fn pack_query(questions: &[(Name, RecordType)], known: &[Record]) -> Vec<Vec<u8>> {
    let mut qs: Vec<Question> = questions
        .iter()
        .map(|(n, t)| Question::new(n.clone(), *t, Class::IN))
        .collect();
    qs.dedup();
    let mut qs = &qs[..];
    let mut known = known;
    let mut out = Vec::new();
    while (!qs.is_empty() || !known.is_empty()) && out.len() < MAX_DATAGRAMS {
        let msg = Message {
            questions: qs.get(..qs.len().min(CHUNK)).unwrap_or_default().to_vec(),
            answers: known
                .get(..known.len().min(CHUNK))
                .unwrap_or_default()
                .to_vec(),
            ..Message::default()
        };
        let Ok(mut encoded) = msg.encode_truncating(MAX_DATAGRAM) else {
            break;
        };
        let [nq, na, _, _] = encoded.counts.map(usize::from);
        if nq == 0 && na == 0 {
            // Nothing fits alone: skip the first entry.
            if qs.is_empty() {
                known = known.get(1..).unwrap_or_default();
            } else {
                qs = qs.get(1..).unwrap_or_default();
            }
            continue;
        }
        qs = qs.get(nq..).unwrap_or_default();
        known = known.get(na..).unwrap_or_default();
        if !qs.is_empty() || !known.is_empty() {
            set_tc(&mut encoded.bytes);
        }
        out.push(encoded.bytes);
    }
    out
}

/// Sets TC in an encoded header (the high byte of the flags word).
fn set_tc(bytes: &mut [u8]) {
    let [hi, _] = Header::TC.to_be_bytes();
    if let Some(b) = bytes.get_mut(2) {
        *b |= hi;
    }
}

impl Browser {
    /// RFC 6762 §7.3: another host's QM query for one of our PTR questions, whose known
    /// answers are all ones we would send too, counts as ours if ours was due soon (within a
    /// quarter of the next interval).
    pub(super) fn observe_query(&mut self, now: Instant, rx: &Received<'_>, msg: &Message) {
        let own = self
            .links
            .values()
            .any(|l| l.ips().any(|ip| ip == rx.src.ip()));
        if own || rx.is_legacy() || msg.header.tc() {
            return;
        }
        let services = Target::AllTypes.name();
        for q in &msg.questions {
            if q.unicast_response() || (q.qtype != RecordType::PTR && q.qtype != RecordType::ANY) {
                continue;
            }
            let target = if Some(&q.name) == services.as_ref() {
                Target::AllTypes
            } else if let Some(ty) = type_of(&q.name) {
                Target::Type(ty)
            } else {
                continue;
            };
            let ours = self
                .cache
                .known_answers(now, rx.link, &q.name, RecordType::PTR);
            let covered = msg
                .answers
                .iter()
                .filter(|r| r.name == q.name && r.rtype == RecordType::PTR)
                .all(|r| ours.iter().any(|o| o.rdata == r.rdata));
            if let Some(s) = self.schedules.get_mut(&target, rx.link) {
                if covered && s.next <= now + s.interval / 4 {
                    s.sent(now);
                }
            }
        }
    }
}
