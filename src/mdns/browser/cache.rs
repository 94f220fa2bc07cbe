//! The record cache: what each link's responders have told us, until its TTL runs out.
//!
//! Owns records keyed by link, name, type, class and data (RFC 6762 §10), their expiry, the
//! goodbye rule (TTL 0 expires a record one second later, §10.1), the cache-flush rule (older
//! records of a flushed set expire one second later, §10.2) and the refresh schedule (80, 85,
//! 90 and 95 % of the TTL plus up to 2 % jitter, §5.2). It decides nothing about what is worth
//! refreshing: it reports due refreshes and every change to the browser.
//!
//! Invariants: never more than [`CacheLimits::max_records`] records, about
//! [`CacheLimits::max_bytes`] bytes of names and data, or [`CacheLimits::max_per_name`] records
//! under one name on one link; when full, the record least recently received goes first.
//! (Not the one expiring soonest: that is always an address record, TTL 120 s, so a full
//! cache would keep names and lose every address; measured, 1 of 10,000 offered services
//! stayed resolvable that way against 4,088 when the oldest go first.) TTLs are clamped to
//! [`MAX_TTL`] so no deadline overflows.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash, Hasher};
use std::time::{Duration, Instant};

use koi_wire::dns::{Class, Name, RData, Record, RecordType};

use super::compact::{hash_labels, CName, Data};
use crate::base::Prng;
use crate::mdns::{Family, Link};

/// The longest TTL the cache honours (one day); longer ones are treated as this.
pub const MAX_TTL: u32 = 86_400;

/// How long a goodbye or flushed record lingers (RFC 6762 §10.1, §10.2), in microseconds.
const LINGER: u64 = 1_000_000;

/// Refresh points in hundredths of a percent of the TTL (RFC 6762 §5.2).
const REFRESH_AT: [u64; 4] = [8000, 8500, 9000, 9500];

/// Bookkeeping bytes charged per record on top of its name and data: the record, its group,
/// both indexes and vector slack. Calibrated with a counting allocator when records were
/// twice as large; now generous (a full default cache of typical services, with its tracked
/// instances, holds about 200 bytes per record in all), so the byte budget only ever binds
/// for large records.
const RECORD_OVERHEAD: usize = 480;

/// Hard limits on what the browser holds, whatever the network sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheLimits {
    /// Records cached over all links.
    pub max_records: usize,
    /// Approximate bytes of cached names, data and bookkeeping.
    pub max_bytes: usize,
    /// Records under one name on one link (a service type name holds one PTR per instance).
    pub max_per_name: usize,
    /// Service instances tracked (resolved or being resolved).
    pub max_instances: usize,
    /// Service types browsed through `_services._dns-sd._udp.local` enumeration.
    pub max_types: usize,
}

impl Default for CacheLimits {
    /// Sized for about 4096 services: five records each (PTR, SRV, TXT, A, AAAA), about
    /// 4 MiB of heap when full with the tracked instances (measured with a counting allocator,
    /// `mdns_hostile`); large TXT records hit the 16 MiB byte budget first.
    fn default() -> CacheLimits {
        CacheLimits {
            max_records: 5 * 4096,
            max_bytes: 16 << 20,
            max_per_name: 512,
            max_instances: 4096,
            max_types: 256,
        }
    }
}

/// "No group" in a hash chain.
const NONE: u32 = u32::MAX;

/// One cached record; its owner name and link are those of its group. Times are microseconds
/// since the cache's base instant.
///
/// 40 bytes: a live record's expiry is its TTL after `received`, so the TTL, or once the
/// record is doomed its expiry, shares one word with the refresh step and the doomed flag.
#[derive(Clone, Debug)]
pub(crate) struct Cached {
    /// Its data (and so its type).
    pub(crate) data: Data,
    received: u64,
    /// Its next refresh point or its expiry, in milliseconds after `received`; its group's
    /// timer is the earliest of its records'.
    due_ms: u32,
    /// Bit 31: a goodbye or cache-flush condemned it (it expires within a second and is not
    /// an answer). Bits 28-30: the next refresh point (an index into `REFRESH_AT`; past the
    /// end: none left). Bits 0-27: while live, the TTL as received (clamped), in seconds;
    /// once doomed, its expiry in milliseconds after `received` (at most `MAX_TTL` s, 27 bits).
    meta: u32,
}

const DOOMED: u32 = 1 << 31;
const STEP_SHIFT: u32 = 28;
const VALUE: u32 = (1 << STEP_SHIFT) - 1;

impl Cached {
    fn live(data: Data, received: u64, ttl: u32) -> Cached {
        Cached {
            data,
            received,
            due_ms: ttl * 1000,
            meta: ttl & VALUE,
        }
    }

    /// Received again at `received`: live, its TTL and refresh points start over.
    fn restart(&mut self, received: u64, ttl: u32) {
        self.received = received;
        self.meta = ttl & VALUE;
    }

    pub(crate) fn rtype(&self) -> RecordType {
        self.data.rtype()
    }

    /// Condemned by a goodbye or cache-flush: it expires within a second and is no answer.
    pub(crate) fn doomed(&self) -> bool {
        self.meta & DOOMED != 0
    }

    /// The TTL as received (clamped), in seconds; 0 once doomed.
    pub(crate) fn ttl(&self) -> u32 {
        if self.doomed() {
            0
        } else {
            self.meta & VALUE
        }
    }

    fn step(&self) -> u8 {
        ((self.meta >> STEP_SHIFT) & 7) as u8
    }

    fn next_step(&mut self) {
        let step = u32::from(self.step()).saturating_add(1).min(7);
        self.meta = (self.meta & !(7 << STEP_SHIFT)) | (step << STEP_SHIFT);
    }

    /// Its expiry, in milliseconds after `received`.
    fn expires_ms(&self) -> u32 {
        if self.doomed() {
            self.meta & VALUE
        } else {
            (self.meta & VALUE) * 1000
        }
    }

    /// Dooms it to expire `ms` after `received` at the latest.
    fn doom_by(&mut self, ms: u32) {
        let ms = self.expires_ms().min(ms);
        self.meta = DOOMED | (self.meta & (7 << STEP_SHIFT)) | (ms & VALUE);
    }

    fn expires(&self) -> u64 {
        self.received + u64::from(self.expires_ms()) * 1000
    }

    fn due(&self) -> u64 {
        self.received + u64::from(self.due_ms) * 1000
    }

    /// Seconds of TTL left at `now` (microseconds since the base).
    fn remaining(&self, now: u64) -> u32 {
        let left = self.expires().saturating_sub(now) / 1_000_000;
        u32::try_from(left).unwrap_or(u32::MAX)
    }
}

/// The records of one name on one link; an empty group is a free slot. 56 bytes: the link's
/// family shares a word with the chain.
struct Group {
    /// The link's interface index.
    ifindex: u32,
    /// Bit 31: the link is IPv6. Bits 0-30: the next group whose (link, name) hashes alike
    /// (all ones: none).
    chain: u32,
    name: CName,
    records: Vec<Cached>,
    /// The earliest due time of its records ([`NO_TIMER`]: none).
    timer: u64,
}

/// A group without a timer.
const NO_TIMER: u64 = u64::MAX;

/// The IPv6 bit and the next group's bits of [`Group::chain`].
const CHAIN_V6: u32 = 1 << 31;
const CHAIN_NEXT: u32 = CHAIN_V6 - 1;

impl Group {
    fn new(link: Link, next: u32, name: CName) -> Group {
        let v6 = if link.family == Family::V6 {
            CHAIN_V6
        } else {
            0
        };
        Group {
            ifindex: link.ifindex,
            chain: v6 | (next & CHAIN_NEXT),
            name,
            records: Vec::new(),
            timer: NO_TIMER,
        }
    }

    fn link(&self) -> Link {
        let family = if self.chain & CHAIN_V6 != 0 {
            Family::V6
        } else {
            Family::V4
        };
        Link {
            ifindex: self.ifindex,
            family,
        }
    }

    /// The next group in its chain ([`NONE`]: none).
    fn next(&self) -> u32 {
        match self.chain & CHAIN_NEXT {
            CHAIN_NEXT => NONE,
            next => next,
        }
    }

    fn set_next(&mut self, next: u32) {
        self.chain = (self.chain & CHAIN_V6) | (next & CHAIN_NEXT);
    }
}

/// What happened to a cached record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChangeKind {
    /// It is new.
    Added,
    /// It arrived again and its TTL restarted.
    Refreshed,
    /// It expired, was evicted, or its link vanished.
    Removed,
}

/// One entry of the change log the browser drains after every call.
#[derive(Clone, Debug)]
pub(crate) struct Change {
    pub(crate) kind: ChangeKind,
    pub(crate) link: Link,
    pub(crate) name: Name,
    pub(crate) rtype: RecordType,
    pub(crate) rdata: RData,
}

/// A refresh point that came due: the browser decides whether to ask again.
#[derive(Clone, Debug)]
pub(crate) struct Refresh {
    pub(crate) link: Link,
    pub(crate) name: Name,
    pub(crate) rtype: RecordType,
}

/// Records per link and name, each name with its next deadline, and eviction candidates by age.
///
/// Groups live in a slab; `index` maps the hash of (link, name) to the first group of a
/// chain, so each name is stored once.
pub(crate) struct Cache {
    limits: CacheLimits,
    base: Option<Instant>,
    hasher: RandomState,
    index: Index,
    groups: Vec<Group>,
    free: Vec<u32>,
    /// No group's timer is earlier than this. A lower bound, not kept exact (a later timer
    /// only costs a spare scan): the groups' own timers are the schedule, with no index by
    /// time beside them (a B-tree of them cost about 25 bytes a name).
    earliest: u64,
    /// Eviction candidates, newest first: the oldest sixteenth of the records as (received,
    /// group) when last scanned. Any record not in it is newer than all of it, and an
    /// entry whose record was refreshed or removed since is skipped, so its last valid entry
    /// is always the record least recently received.
    victims: Vec<(u64, u32)>,
    len: usize,
    bytes: usize,
    log: Vec<Change>,
}

impl Cache {
    pub(crate) fn new(limits: CacheLimits) -> Cache {
        Cache {
            limits,
            base: None,
            hasher: RandomState::new(),
            index: Index::default(),
            groups: Vec::new(),
            free: Vec::new(),
            earliest: NO_TIMER,
            victims: Vec::new(),
            len: 0,
            bytes: 0,
            log: Vec::new(),
        }
    }

    /// How many records are cached.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Pending timers: one per group of records.
    #[cfg(test)]
    pub(crate) fn timer_count(&self) -> usize {
        self.groups.iter().filter(|g| g.timer != NO_TIMER).count()
    }

    /// Groups holding records (names with records on a link).
    #[cfg(test)]
    pub(crate) fn group_count(&self) -> usize {
        self.groups.iter().filter(|g| !g.records.is_empty()).count()
    }

    /// Approximate bytes held.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// The earliest refresh point or expiry (or a little earlier: a spare wake-up).
    pub(crate) fn next_timer(&self) -> Option<Instant> {
        let base = self.base?;
        (self.earliest != NO_TIMER).then(|| base + Duration::from_micros(self.earliest))
    }

    /// Takes the changes since the last call.
    pub(crate) fn drain_log(&mut self) -> Vec<Change> {
        std::mem::take(&mut self.log)
    }

    /// `now` in microseconds since the base (the first instant the cache saw).
    fn micros(&mut self, now: Instant) -> u64 {
        let base = *self.base.get_or_insert(now);
        u64::try_from(now.saturating_duration_since(base).as_micros()).unwrap_or(u64::MAX)
    }

    /// Caches `rec` (class IN, a positive TTL) seen on `link`, or restarts its TTL.
    pub(crate) fn insert(&mut self, now: Instant, prng: &mut Prng, link: Link, rec: &Record) {
        let now = self.micros(now);
        let ttl = rec.ttl.min(MAX_TTL);
        let existing = self.gid(link, &rec.name).and_then(|gid| {
            let g = self.groups.get(gid as usize)?;
            let pos = g.records.iter().position(|c| same(c, &g.name, rec))?;
            Some((gid, pos))
        });
        if let Some((gid, pos)) = existing {
            // Its refresh points restart from this copy (each one used up a refresh step, so
            // a record heard five times was once dropped at 80 % of its TTL).
            let was = self.due_of(gid, pos);
            self.update(gid, pos, |c| c.restart(now, ttl));
            self.reschedule(gid, pos, prng.range(0, 200), was);
            self.record_change(ChangeKind::Refreshed, gid, pos);
            return;
        }
        // Relative to the owner as its group spells it (the first spelling heard).
        let group = existing
            .map(|(gid, _)| gid)
            .or_else(|| self.gid(link, &rec.name))
            .and_then(|gid| self.groups.get(gid as usize));
        let data = match group {
            Some(g) => Data::of(&rec.rdata, g.name.labels()),
            None => Data::of(&rec.rdata, rec.name.labels()),
        };
        let Some(data) = data.filter(|d| d.rtype() == rec.rtype) else {
            return;
        };
        let size = record_size(rec.name.wire_len(), &data);
        if size > self.limits.max_bytes || self.limits.max_records == 0 {
            return;
        }
        if let Some(gid) = self.gid(link, &rec.name) {
            let cap = if rec.rtype == RecordType::PTR {
                // A browsed type holds one PTR per instance.
                self.limits.max_per_name.max(self.limits.max_instances)
            } else {
                self.limits.max_per_name
            };
            let full = self
                .groups
                .get(gid as usize)
                .is_some_and(|g| g.records.len() >= cap.max(1));
            if full {
                self.evict_in_group(gid);
            }
        }
        while self.len >= self.limits.max_records || self.bytes + size > self.limits.max_bytes {
            if !self.evict_oldest() {
                return;
            }
        }
        let gid = match self.gid(link, &rec.name) {
            Some(gid) => gid,
            None => self.new_group(link, &rec.name),
        };
        let cached = Cached::live(data, now, ttl);
        let Some(group) = self.groups.get_mut(gid as usize) else {
            return;
        };
        if group.records.len() < 8 {
            // Most names hold one or two records: no slack.
            group.records.reserve_exact(1);
        }
        group.records.push(cached);
        let pos = group.records.len() - 1;
        self.len += 1;
        self.bytes += size;
        self.reschedule(gid, pos, prng.range(0, 200), NO_TIMER);
        self.record_change(ChangeKind::Added, gid, pos);
    }

    /// A goodbye (TTL 0): the matching record, if cached, expires one second from now.
    pub(crate) fn goodbye(&mut self, now: Instant, link: Link, rec: &Record) {
        let now = self.micros(now);
        let Some(gid) = self.gid(link, &rec.name) else {
            return;
        };
        let pos = self
            .groups
            .get(gid as usize)
            .and_then(|g| g.records.iter().position(|c| same(c, &g.name, rec)));
        if let Some(pos) = pos {
            self.doom(now, gid, pos);
        }
    }

    /// Cache-flush: records of `name`/`rtype` on `link` received more than a second before
    /// `now` expire one second from now.
    pub(crate) fn flush(&mut self, now: Instant, link: Link, name: &Name, rtype: RecordType) {
        let now = self.micros(now);
        let Some(gid) = self.gid(link, name) else {
            return;
        };
        let old: Vec<usize> = self.groups.get(gid as usize).map_or_else(Vec::new, |g| {
            (0..g.records.len())
                .filter(|&i| {
                    g.records.get(i).is_some_and(|c| {
                        c.rtype() == rtype && !c.doomed() && now.saturating_sub(c.received) > LINGER
                    })
                })
                .collect()
        });
        for pos in old {
            self.doom(now, gid, pos);
        }
    }

    /// Forgets everything learned on `link`.
    pub(crate) fn forget_link(&mut self, link: Link) {
        let gids: Vec<u32> = (0..self.groups.len())
            .filter(|&i| {
                self.groups
                    .get(i)
                    .is_some_and(|g| g.link() == link && !g.records.is_empty())
            })
            .filter_map(|i| u32::try_from(i).ok())
            .collect();
        for gid in gids {
            while self
                .groups
                .get(gid as usize)
                .is_some_and(|g| g.link() == link && !g.records.is_empty())
            {
                self.remove(gid, 0);
            }
        }
    }

    /// Runs every refresh point and expiry up to `now`; expiries go to the change log.
    pub(crate) fn pop_due(&mut self, now: Instant, prng: &mut Prng) -> Vec<Refresh> {
        let now = self.micros(now);
        let mut refreshes = Vec::new();
        if self.earliest > now {
            return refreshes;
        }
        // The groups due, earliest first (one scan: a few microseconds at the default limits).
        let mut due: Vec<(u64, u32)> = (self.groups.iter().zip(0u32..))
            .filter(|(g, _)| g.timer <= now)
            .map(|(g, gid)| (g.timer, gid))
            .collect();
        due.sort_unstable();
        for (_, gid) in due {
            // Every record of the group due by now; each is refreshed (a later point) or
            // removed, and a record whose refresh points all passed runs out in this loop.
            while let Some(pos) = self
                .groups
                .get(gid as usize)
                .and_then(|g| g.records.iter().position(|c| c.due() <= now))
            {
                let refresh = self.groups.get(gid as usize).and_then(|g| {
                    let c = g.records.get(pos)?;
                    (usize::from(c.step()) < REFRESH_AT.len() && !c.doomed()).then(|| Refresh {
                        link: g.link(),
                        name: g.name.to_name(),
                        rtype: c.rtype(),
                    })
                });
                match refresh {
                    Some(r) => {
                        refreshes.push(r);
                        let was = self.due_of(gid, pos);
                        self.update(gid, pos, Cached::next_step);
                        self.reschedule(gid, pos, prng.range(0, 200), was);
                    }
                    None => self.remove(gid, pos),
                }
            }
            self.retime(gid);
        }
        self.earliest = self
            .groups
            .iter()
            .map(|g| g.timer)
            .min()
            .unwrap_or(NO_TIMER);
        refreshes
    }

    /// The records of `name`/`rtype` on `link`.
    pub(crate) fn rrset<'a>(
        &'a self,
        link: Link,
        name: &Name,
        rtype: RecordType,
    ) -> impl Iterator<Item = &'a Cached> + 'a {
        self.gid(link, name)
            .and_then(|gid| self.groups.get(gid as usize))
            .into_iter()
            .flat_map(|g| g.records.iter())
            .filter(move |c| c.rtype() == rtype)
    }

    /// Known answers for a question (RFC 6762 §7.1): live records with more than half their
    /// TTL left, carrying the TTL that remains.
    pub(crate) fn known_answers(
        &self,
        now: Instant,
        link: Link,
        name: &Name,
        qtype: RecordType,
    ) -> Vec<Record> {
        let now = self.base.map_or(0, |base| {
            u64::try_from(now.saturating_duration_since(base).as_micros()).unwrap_or(u64::MAX)
        });
        self.gid(link, name)
            .and_then(|gid| self.groups.get(gid as usize))
            .into_iter()
            .flat_map(|g| g.records.iter().map(move |c| (g, c)))
            .filter(|(_, c)| qtype == RecordType::ANY || c.rtype() == qtype)
            .filter(|(_, c)| !c.doomed() && u64::from(c.remaining(now)) * 2 > u64::from(c.ttl()))
            .map(|(g, c)| {
                let ttl = c.remaining(now);
                let rdata = c.data.to_rdata(g.name.labels());
                Record::new(name.clone(), c.rtype(), Class::IN, ttl, rdata)
            })
            .collect()
    }

    /// The chain a (link, name) belongs to: 32 bits of a keyed hash (chains absorb collisions).
    /// A [`Name`] and its [`CName`] hash alike.
    fn hash<'a>(&self, link: Link, labels: impl Iterator<Item = &'a [u8]>) -> u32 {
        let mut h = self.hasher.build_hasher();
        link.hash(&mut h);
        hash_labels(&mut h, labels);
        h.finish() as u32
    }

    fn gid(&self, link: Link, name: &Name) -> Option<u32> {
        let mut gid = *self.index.get(&self.hash(link, name.labels()))?;
        while let Some(g) = self.groups.get(gid as usize) {
            if g.link() == link && g.name.is(name) {
                return Some(gid);
            }
            gid = g.next();
        }
        None
    }

    fn new_group(&mut self, link: Link, name: &Name) -> u32 {
        let h = self.hash(link, name.labels());
        let head = self.index.get(&h).copied().unwrap_or(NONE);
        let group = Group::new(link, head, CName::of(name));
        let gid = match self.free.pop() {
            Some(gid) => {
                if let Some(slot) = self.groups.get_mut(gid as usize) {
                    *slot = group;
                }
                gid
            }
            None => {
                self.groups.push(group);
                u32::try_from(self.groups.len() - 1).unwrap_or(NONE)
            }
        };
        self.index.insert(h, gid);
        gid
    }

    /// Unlinks an emptied group from its chain and frees its slot.
    fn drop_group(&mut self, gid: u32) {
        let Some(g) = self.groups.get(gid as usize) else {
            return;
        };
        let (h, next) = (self.hash(g.link(), g.name.labels()), g.next());
        if self.index.get(&h) == Some(&gid) {
            if next == NONE {
                self.index.remove(&h);
            } else {
                self.index.insert(h, next);
            }
        } else {
            let mut at = self.index.get(&h).copied().unwrap_or(NONE);
            while let Some(g) = self.groups.get_mut(at as usize) {
                if g.next() == gid {
                    g.set_next(next);
                    break;
                }
                at = g.next();
            }
        }
        if let Some(g) = self.groups.get_mut(gid as usize) {
            g.set_next(NONE);
            g.name = CName::default();
            g.records = Vec::new();
            g.timer = NO_TIMER;
        }
        self.free.push(gid);
        if self.free.len() > 64 && self.free.len() * 2 > self.groups.len() {
            self.trim_slab();
        }
    }

    /// Gives back the free slots at the end of the slab.
    fn trim_slab(&mut self) {
        while self.groups.last().is_some_and(|g| g.records.is_empty()) {
            self.groups.pop();
        }
        let len = self.groups.len();
        self.free.retain(|&gid| (gid as usize) < len);
        self.groups.shrink_to(len + len / 8);
        self.free.shrink_to(self.free.len() * 2);
    }

    /// Applies `f` to a record.
    fn update(&mut self, gid: u32, pos: usize, f: impl FnOnce(&mut Cached)) {
        if let Some(c) = self
            .groups
            .get_mut(gid as usize)
            .and_then(|g| g.records.get_mut(pos))
        {
            f(c);
        }
    }

    /// A record's due time ([`NO_TIMER`] if there is no such record).
    fn due_of(&self, gid: u32, pos: usize) -> u64 {
        self.groups
            .get(gid as usize)
            .and_then(|g| g.records.get(pos))
            .map_or(NO_TIMER, Cached::due)
    }

    /// Sets the record's deadline: its next refresh point, or its expiry; `was` is its due
    /// time before it changed ([`NO_TIMER`] for a new record). `jitter` is in hundredths of a
    /// percent of the TTL (0..=200).
    fn reschedule(&mut self, gid: u32, pos: usize, jitter: u64, was: u64) {
        let Some(g) = self.groups.get_mut(gid as usize) else {
            return;
        };
        let Some(c) = g.records.get_mut(pos) else {
            return;
        };
        c.due_ms = match REFRESH_AT.get(usize::from(c.step())) {
            Some(&at) if !c.doomed() => {
                let hundredths = at + jitter.min(200);
                let ms = u64::from(c.ttl()) * 1000 * hundredths / 10_000;
                u32::try_from(ms).unwrap_or(u32::MAX).min(c.expires_ms())
            }
            _ => c.expires_ms(),
        };
        let due = c.due();
        if due < g.timer {
            g.timer = due;
            self.earliest = self.earliest.min(due);
        } else if was == g.timer && due != was {
            // It was (one of) the earliest: a full scan finds the next.
            self.retime(gid);
        }
    }

    /// Re-keys the group's timer to the earliest due time of its records.
    fn retime(&mut self, gid: u32) {
        let Some(g) = self.groups.get_mut(gid as usize) else {
            return;
        };
        g.timer = g.records.iter().map(Cached::due).min().unwrap_or(NO_TIMER);
        self.earliest = self.earliest.min(g.timer);
    }

    fn doom(&mut self, now: u64, gid: u32, pos: usize) {
        let was = self.due_of(gid, pos);
        self.update(gid, pos, |c| {
            // Rounded down to the millisecond: never later than a second from now.
            let linger = (now + LINGER).saturating_sub(c.received) / 1000;
            c.doom_by(u32::try_from(linger).unwrap_or(u32::MAX));
        });
        self.reschedule(gid, pos, 0, was);
    }

    fn evict_in_group(&mut self, gid: u32) {
        let victim = self.groups.get(gid as usize).and_then(|g| {
            (0..g.records.len()).min_by_key(|&i| g.records.get(i).map(|c| c.received))
        });
        if let Some(pos) = victim {
            self.remove(gid, pos);
        }
    }

    fn evict_oldest(&mut self) -> bool {
        loop {
            let Some((received, gid)) = self.victims.pop() else {
                if self.len == 0 {
                    return false;
                }
                self.scan_victims();
                continue;
            };
            // Any record of the group received then is as old as the one listed.
            let pos = self
                .groups
                .get(gid as usize)
                .and_then(|g| g.records.iter().position(|c| c.received == received));
            if let Some(pos) = pos {
                self.remove(gid, pos);
                return true;
            }
        }
    }

    /// Refills `victims` with the oldest sixteenth of the records (at least one).
    fn scan_victims(&mut self) {
        let mut all: Vec<(u64, u32)> = self
            .groups
            .iter()
            .zip(0u32..)
            .flat_map(|(g, gid)| g.records.iter().map(move |c| (c.received, gid)))
            .collect();
        let n = (all.len() / 16).max(1).min(all.len());
        if all.len() > n {
            all.select_nth_unstable(n - 1);
        }
        all.truncate(n);
        all.sort_unstable_by(|a, b| b.cmp(a));
        self.victims = all;
    }

    fn remove(&mut self, gid: u32, pos: usize) {
        self.record_change(ChangeKind::Removed, gid, pos);
        let Some(group) = self.groups.get_mut(gid as usize) else {
            return;
        };
        if pos >= group.records.len() {
            return;
        }
        let c = group.records.swap_remove(pos);
        let empty = group.records.is_empty();
        if group.records.capacity() > 2 * group.records.len() + 4 {
            group
                .records
                .shrink_to(group.records.len() + group.records.len() / 4);
        }
        self.len -= 1;
        let size = self
            .groups
            .get(gid as usize)
            .map_or(0, |g| record_size(g.name.wire_len(), &c.data));
        self.bytes = self.bytes.saturating_sub(size);
        if empty {
            self.drop_group(gid);
        } else if self
            .groups
            .get(gid as usize)
            .is_some_and(|g| c.due() == g.timer)
        {
            self.retime(gid);
        }
    }

    fn record_change(&mut self, kind: ChangeKind, gid: u32, pos: usize) {
        let Some(g) = self.groups.get(gid as usize) else {
            return;
        };
        let Some(c) = g.records.get(pos) else {
            return;
        };
        self.log.push(Change {
            kind,
            link: g.link(),
            name: g.name.to_name(),
            rtype: c.rtype(),
            rdata: c.data.to_rdata(g.name.labels()),
        });
    }
}

/// Chain heads by hash, sorted: 8 bytes a name (a hash map of them costs about twice that
/// with its slack); inserting moves the entries after it, a few microseconds when full.
#[derive(Default)]
struct Index(Vec<(u32, u32)>);

impl Index {
    fn get(&self, h: &u32) -> Option<&u32> {
        let at = self.0.binary_search_by_key(h, |(k, _)| *k).ok()?;
        self.0.get(at).map(|(_, v)| v)
    }

    fn insert(&mut self, h: u32, v: u32) {
        match self.0.binary_search_by_key(&h, |(k, _)| *k) {
            Ok(at) => {
                if let Some(e) = self.0.get_mut(at) {
                    e.1 = v;
                }
            }
            Err(at) => self.0.insert(at, (h, v)),
        }
    }

    fn remove(&mut self, h: &u32) {
        if let Ok(at) = self.0.binary_search_by_key(h, |(k, _)| *k) {
            self.0.remove(at);
            if self.0.capacity() > 64 && self.0.capacity() > 4 * self.0.len() {
                self.0.shrink_to(self.0.len() * 2);
            }
        }
    }
}

/// Bytes charged for one record whose owner name is `name_len` bytes long (wire form).
fn record_size(name_len: usize, data: &Data) -> usize {
    RECORD_OVERHEAD + name_len + data.wire_len(name_len)
}

/// Same type, same data (the class is always IN here; the owner is the group's).
fn same(c: &Cached, owner: &CName, rec: &Record) -> bool {
    c.data.is(&rec.rdata, owner.labels())
}

#[cfg(test)]
mod size {
    use super::*;

    #[test]
    fn records_and_groups_stay_compact() {
        // Four records and two groups a typical service: these sizes are most of its cost.
        assert_eq!(std::mem::size_of::<Cached>(), 40);
        assert_eq!(std::mem::size_of::<Group>(), 56);
        assert_eq!(super::super::resolve::Instances::slot_size(), 80);
    }

    #[test]
    fn a_record_packs_its_ttl_step_and_doom() {
        let ip = std::net::Ipv4Addr::new(10, 0, 0, 1);
        let mut c = Cached::live(Data::A(ip), 5, MAX_TTL);
        let state = |c: &Cached| (c.ttl(), c.expires_ms(), c.step(), c.doomed());
        assert_eq!(state(&c), (MAX_TTL, MAX_TTL * 1000, 0, false));
        for _ in 0..9 {
            c.next_step();
        }
        assert_eq!(c.step(), 7);
        c.doom_by(1500);
        assert_eq!(state(&c), (0, 1500, 7, true));
        c.doom_by(90_000);
        assert_eq!(c.expires_ms(), 1500, "dooming never postpones");
        c.restart(9, 120);
        assert_eq!(state(&c), (120, 120_000, 0, false));
    }
}
