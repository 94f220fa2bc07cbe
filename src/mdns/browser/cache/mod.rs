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

mod record;
mod store;

pub(crate) use record::Cached;
use record::*;
use store::{record_size, same, Index};

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
