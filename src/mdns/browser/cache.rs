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

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use koi_wire::dns::{Class, Name, RData, Record, RecordType};

use crate::base::Prng;
use crate::mdns::Link;

/// The longest TTL the cache honours (one day); longer ones are treated as this.
pub const MAX_TTL: u32 = 86_400;

/// How long a goodbye or flushed record lingers (RFC 6762 §10.1, §10.2).
const LINGER: Duration = Duration::from_secs(1);

/// Refresh points in hundredths of a percent of the TTL (RFC 6762 §5.2).
const REFRESH_AT: [u64; 4] = [8000, 8500, 9000, 9500];

/// Bookkeeping bytes charged per record on top of its name and data: the record, its group,
/// both indexes and vector slack, calibrated with a counting allocator (a full default cache
/// of typical services holds about 550 bytes per record in all).
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
    /// 11 MiB of heap when full (measured with a counting allocator); large TXT records hit
    /// the 16 MiB byte budget first. Tracked instances add about 1.5 KiB each.
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

/// One cached record; its owner name and link are those of its group.
#[derive(Clone, Debug)]
pub(crate) struct Cached {
    id: u64,
    pub(crate) rtype: RecordType,
    pub(crate) rdata: RData,
    /// The TTL as received (clamped), in seconds.
    pub(crate) ttl: u32,
    pub(crate) received: Instant,
    pub(crate) expires: Instant,
    /// A goodbye or cache-flush condemned it: it expires within a second and is not an answer.
    pub(crate) doomed: bool,
    /// The next refresh point (an index into `REFRESH_AT`; past the end: none left).
    step: usize,
    /// The key of this record in `timers`.
    due: Instant,
    size: usize,
}

impl Cached {
    /// Seconds of TTL left at `now`.
    pub(crate) fn remaining(&self, now: Instant) -> u32 {
        let left = self.expires.saturating_duration_since(now).as_secs();
        u32::try_from(left).unwrap_or(u32::MAX)
    }
}

struct Group {
    link: Link,
    name: Name,
    records: Vec<Cached>,
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

/// Records per link and name, with an index by deadline and one by age.
pub(crate) struct Cache {
    limits: CacheLimits,
    index: HashMap<Link, HashMap<Name, u64>>,
    groups: HashMap<u64, Group>,
    /// (next refresh point or expiry, group, record).
    timers: BTreeSet<(Instant, u64, u64)>,
    /// (received, record, group): eviction order, oldest first.
    age: BTreeSet<(Instant, u64, u64)>,
    len: usize,
    bytes: usize,
    next_id: u64,
    log: Vec<Change>,
}

impl Cache {
    pub(crate) fn new(limits: CacheLimits) -> Cache {
        Cache {
            limits,
            index: HashMap::new(),
            groups: HashMap::new(),
            timers: BTreeSet::new(),
            age: BTreeSet::new(),
            len: 0,
            bytes: 0,
            next_id: 0,
            log: Vec::new(),
        }
    }

    /// How many records are cached.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Approximate bytes held.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// The earliest refresh point or expiry.
    pub(crate) fn next_timer(&self) -> Option<Instant> {
        self.timers.first().map(|t| t.0)
    }

    /// Takes the changes since the last call.
    pub(crate) fn drain_log(&mut self) -> Vec<Change> {
        std::mem::take(&mut self.log)
    }

    /// Caches `rec` (class IN, a positive TTL) seen on `link`, or restarts its TTL.
    pub(crate) fn insert(&mut self, now: Instant, prng: &mut Prng, link: Link, rec: &Record) {
        let ttl = rec.ttl.min(MAX_TTL);
        let existing = self.gid(link, &rec.name).and_then(|gid| {
            let g = self.groups.get(&gid)?;
            let pos = g.records.iter().position(|c| same(c, rec))?;
            Some((gid, pos))
        });
        if let Some((gid, pos)) = existing {
            self.update(gid, pos, |c| {
                c.ttl = ttl;
                c.received = now;
                c.expires = now + Duration::from_secs(u64::from(ttl));
                c.doomed = false;
                c.step = 0;
            });
            self.reschedule(gid, pos, prng.range(0, 200));
            self.record_change(ChangeKind::Refreshed, gid, pos);
            return;
        }
        let size = RECORD_OVERHEAD + rec.name.wire_len() + rdata_len(&rec.rdata);
        if size > self.limits.max_bytes || self.limits.max_records == 0 {
            return;
        }
        if let Some(gid) = self.gid(link, &rec.name) {
            let full = self
                .groups
                .get(&gid)
                .is_some_and(|g| g.records.len() >= self.limits.max_per_name.max(1));
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
            None => {
                let gid = self.fresh_id();
                let names = self.index.entry(link).or_default();
                names.insert(rec.name.clone(), gid);
                let group = Group {
                    link,
                    name: rec.name.clone(),
                    records: Vec::new(),
                };
                self.groups.insert(gid, group);
                gid
            }
        };
        let id = self.fresh_id();
        let expires = now + Duration::from_secs(u64::from(ttl));
        let cached = Cached {
            id,
            rtype: rec.rtype,
            rdata: rec.rdata.clone(),
            ttl,
            received: now,
            expires,
            doomed: false,
            step: 0,
            due: expires,
            size,
        };
        let Some(group) = self.groups.get_mut(&gid) else {
            return;
        };
        group.records.push(cached);
        let pos = group.records.len() - 1;
        self.len += 1;
        self.bytes += size;
        self.timers.insert((expires, gid, id));
        self.age.insert((now, id, gid));
        self.reschedule(gid, pos, prng.range(0, 200));
        self.record_change(ChangeKind::Added, gid, pos);
    }

    /// A goodbye (TTL 0): the matching record, if cached, expires one second from now.
    pub(crate) fn goodbye(&mut self, now: Instant, link: Link, rec: &Record) {
        let Some(gid) = self.gid(link, &rec.name) else {
            return;
        };
        let pos = self
            .groups
            .get(&gid)
            .and_then(|g| g.records.iter().position(|c| same(c, rec)));
        if let Some(pos) = pos {
            self.doom(now, gid, pos);
        }
    }

    /// Cache-flush: records of `name`/`rtype` on `link` received more than a second before
    /// `now` expire one second from now.
    pub(crate) fn flush(&mut self, now: Instant, link: Link, name: &Name, rtype: RecordType) {
        let Some(gid) = self.gid(link, name) else {
            return;
        };
        let old: Vec<usize> = self.groups.get(&gid).map_or_else(Vec::new, |g| {
            (0..g.records.len())
                .filter(|&i| {
                    g.records.get(i).is_some_and(|c| {
                        c.rtype == rtype
                            && !c.doomed
                            && now.saturating_duration_since(c.received) > LINGER
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
        let gids: Vec<u64> = self
            .index
            .get(&link)
            .map_or_else(Vec::new, |names| names.values().copied().collect());
        for gid in gids {
            while self.groups.get(&gid).is_some_and(|g| !g.records.is_empty()) {
                self.remove(gid, 0);
            }
        }
    }

    /// Runs every refresh point and expiry up to `now`; expiries go to the change log.
    pub(crate) fn pop_due(&mut self, now: Instant, prng: &mut Prng) -> Vec<Refresh> {
        let mut refreshes = Vec::new();
        while let Some(&(at, gid, id)) = self.timers.first() {
            if at > now {
                break;
            }
            let Some(pos) = self.position(gid, id) else {
                self.timers.remove(&(at, gid, id));
                continue;
            };
            let refresh = self.groups.get(&gid).and_then(|g| {
                let c = g.records.get(pos)?;
                (c.step < REFRESH_AT.len() && !c.doomed).then(|| Refresh {
                    link: g.link,
                    name: g.name.clone(),
                    rtype: c.rtype,
                })
            });
            match refresh {
                Some(r) => {
                    refreshes.push(r);
                    self.update(gid, pos, |c| c.step += 1);
                    self.reschedule(gid, pos, prng.range(0, 200));
                }
                None => self.remove(gid, pos),
            }
        }
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
            .and_then(|gid| self.groups.get(&gid))
            .into_iter()
            .flat_map(|g| g.records.iter())
            .filter(move |c| c.rtype == rtype)
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
        self.gid(link, name)
            .and_then(|gid| self.groups.get(&gid))
            .into_iter()
            .flat_map(|g| g.records.iter().map(move |c| (g, c)))
            .filter(|(_, c)| qtype == RecordType::ANY || c.rtype == qtype)
            .filter(|(_, c)| !c.doomed && u64::from(c.remaining(now)) * 2 > u64::from(c.ttl))
            .map(|(g, c)| {
                let ttl = c.remaining(now);
                Record::new(g.name.clone(), c.rtype, Class::IN, ttl, c.rdata.clone())
            })
            .collect()
    }

    fn gid(&self, link: Link, name: &Name) -> Option<u64> {
        self.index.get(&link)?.get(name).copied()
    }

    fn fresh_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn position(&self, gid: u64, id: u64) -> Option<usize> {
        self.groups
            .get(&gid)?
            .records
            .iter()
            .position(|c| c.id == id)
    }

    /// Applies `f` to a record, keeping the age index in step.
    fn update(&mut self, gid: u64, pos: usize, f: impl FnOnce(&mut Cached)) {
        let Some(c) = self
            .groups
            .get_mut(&gid)
            .and_then(|g| g.records.get_mut(pos))
        else {
            return;
        };
        self.age.remove(&(c.received, c.id, gid));
        f(c);
        self.age.insert((c.received, c.id, gid));
    }

    /// Sets the record's deadline: its next refresh point, or its expiry.
    /// `jitter` is in hundredths of a percent of the TTL (0..=200).
    fn reschedule(&mut self, gid: u64, pos: usize, jitter: u64) {
        let Some(c) = self
            .groups
            .get_mut(&gid)
            .and_then(|g| g.records.get_mut(pos))
        else {
            return;
        };
        self.timers.remove(&(c.due, gid, c.id));
        c.due = match REFRESH_AT.get(c.step) {
            Some(&at) if !c.doomed => {
                let hundredths = at + jitter.min(200);
                let ms = u64::from(c.ttl) * 1000 * hundredths / 10_000;
                (c.received + Duration::from_millis(ms)).min(c.expires)
            }
            _ => c.expires,
        };
        self.timers.insert((c.due, gid, c.id));
    }

    fn doom(&mut self, now: Instant, gid: u64, pos: usize) {
        self.update(gid, pos, |c| {
            c.expires = c.expires.min(now + LINGER);
            c.doomed = true;
        });
        self.reschedule(gid, pos, 0);
    }

    fn evict_in_group(&mut self, gid: u64) {
        let victim = self.groups.get(&gid).and_then(|g| {
            (0..g.records.len()).min_by_key(|&i| g.records.get(i).map(|c| (c.received, c.id)))
        });
        if let Some(pos) = victim {
            self.remove(gid, pos);
        }
    }

    fn evict_oldest(&mut self) -> bool {
        let Some(&(_, id, gid)) = self.age.first() else {
            return false;
        };
        match self.position(gid, id) {
            Some(pos) => self.remove(gid, pos),
            None => {
                self.age.pop_first();
            }
        }
        true
    }

    fn remove(&mut self, gid: u64, pos: usize) {
        self.record_change(ChangeKind::Removed, gid, pos);
        let Some(group) = self.groups.get_mut(&gid) else {
            return;
        };
        if pos >= group.records.len() {
            return;
        }
        let c = group.records.swap_remove(pos);
        self.timers.remove(&(c.due, gid, c.id));
        self.age.remove(&(c.received, c.id, gid));
        self.len -= 1;
        self.bytes -= c.size;
        if group.records.is_empty() {
            if let Some(names) = self.index.get_mut(&group.link) {
                names.remove(&group.name);
                if names.is_empty() {
                    self.index.remove(&group.link);
                }
            }
            self.groups.remove(&gid);
        }
    }

    fn record_change(&mut self, kind: ChangeKind, gid: u64, pos: usize) {
        let Some(g) = self.groups.get(&gid) else {
            return;
        };
        let Some(c) = g.records.get(pos) else {
            return;
        };
        self.log.push(Change {
            kind,
            link: g.link,
            name: g.name.clone(),
            rtype: c.rtype,
            rdata: c.rdata.clone(),
        });
    }
}

/// Same type, same data (the class is always IN here; the owner is the group's).
fn same(c: &Cached, rec: &Record) -> bool {
    c.rtype == rec.rtype && c.rdata == rec.rdata
}

/// Approximate heap bytes of record data.
fn rdata_len(rdata: &RData) -> usize {
    match rdata {
        RData::A(_) => 4,
        RData::Aaaa(_) => 16,
        RData::Ptr(n) | RData::Ns(n) | RData::Cname(n) => n.wire_len(),
        RData::Srv { target, .. } => 6 + target.wire_len(),
        RData::Txt(strings) => strings.iter().map(|s| s.len() + 24).sum(),
        RData::Unknown(bytes) => bytes.len(),
        _ => 64,
    }
}
