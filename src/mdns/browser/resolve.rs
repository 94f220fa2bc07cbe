//! Turning cached PTR, SRV, TXT, A and AAAA records into [`ServiceInstance`]s.
//!
//! Owns the set of tracked instances (one per instance name and interface, so the IPv4 and
//! IPv6 links of one interface merge into one instance), what was last reported for each,
//! and the retry schedule of the one-shot queries for missing pieces. It reads the cache and
//! never writes it.
//!
//! An instance is complete when its PTR, an SRV record and at least one address of the SRV
//! target are cached; a missing TXT reads as empty (and is asked for). At most
//! [`CacheLimits::max_instances`](super::CacheLimits) are tracked; a new one displaces the
//! oldest never-resolved one, or is ignored.

use std::collections::hash_map::{DefaultHasher, RandomState};
use std::hash::{BuildHasher, Hash, Hasher};
use std::net::IpAddr;
use std::num::NonZeroU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use koi_wire::dns::{Name, RecordType};

use super::cache::Cache;
use super::compact::{hash_labels, Data, InstanceName};
use crate::base::Prng;
use crate::mdns::{Link, ServiceInstance, ServiceType};

/// Addresses reported per instance.
const MAX_ADDRS: usize = 16;
/// One-shot query rounds for an incomplete instance before waiting for news.
const MAX_TRIES: u8 = 4;

/// An instance name on one interface.
pub(crate) type Key = (Name, u32);

/// What the browser knows about one instance. What was reported is not kept, only its
/// fingerprint: the cache still holds it (the browser settles after every change), so
/// [`Assembly::read`] rebuilds it when asked.
#[derive(Clone, Debug)]
pub(crate) struct Tracked {
    /// Shared by every instance of the type.
    pub(crate) ty: Arc<ServiceType>,
    /// The fingerprint of the SRV target last seen ([`name_print`]; 0: none), to notice its
    /// address records changing. A collision only costs a spare re-assembly or refresh.
    pub(crate) target: u64,
    /// When to ask for missing pieces next.
    retry: Option<Stamp>,
    /// Tracking order (older first).
    since: u64,
    /// The fingerprint of what was last reported; 0: nothing (not resolved).
    reported: u64,
    tries: u8,
    /// The interface (kept here, in what would be padding).
    scope: u32,
}

impl Tracked {
    /// Whether it is currently reported as resolved.
    pub(crate) fn resolved(&self) -> bool {
        self.reported != 0
    }
}

/// A non-zero fingerprint of a name (ASCII case ignored).
pub(crate) fn name_print(name: &Name) -> u64 {
    let mut h = DefaultHasher::new();
    name.hash(&mut h);
    h.finish() | 1
}

/// A non-zero fingerprint of a reported instance.
pub(crate) fn fingerprint(s: &ServiceInstance) -> u64 {
    let mut h = DefaultHasher::new();
    s.hash(&mut h);
    h.finish() | 1
}

/// The pieces of one instance found in the cache.
#[derive(Debug, Default)]
pub(crate) struct Assembly {
    pub(crate) ptr: bool,
    pub(crate) srv: Option<(u16, Name)>,
    pub(crate) txt: Option<Vec<Vec<u8>>>,
    pub(crate) addrs: Vec<IpAddr>,
}

impl Assembly {
    /// Reads the cache on every link of interface `scope`.
    pub(crate) fn read(cache: &Cache, links: &[Link], name: &Name, scope: u32) -> Assembly {
        let mut a = Assembly::default();
        let Some(type_name) = name.parent() else {
            return a;
        };
        let on_scope = || links.iter().copied().filter(|l| l.ifindex == scope);
        a.ptr = on_scope().any(|l| {
            cache
                .rrset(l, &type_name, RecordType::PTR)
                .any(|c| c.data.points_to(name, type_name.labels()))
        });
        let srvs = live_first(on_scope().flat_map(|l| cache.rrset(l, name, RecordType::SRV)));
        a.srv = srvs
            .iter()
            .filter_map(|c| match &c.data {
                Data::Srv {
                    priority,
                    weight,
                    port,
                    target,
                } => Some(((*priority, u16::MAX - weight), *port, target)),
                _ => None,
            })
            .min_by_key(|(rank, _, _)| *rank)
            .map(|(_, port, target)| (port, target.to_name()));
        let txts = live_first(on_scope().flat_map(|l| cache.rrset(l, name, RecordType::TXT)));
        a.txt = txts.first().map(|c| {
            let mut strings = c.data.txt().unwrap_or_default();
            strings.retain(|s| !s.is_empty());
            strings
        });
        if let Some((_, target)) = &a.srv {
            for rtype in [RecordType::A, RecordType::AAAA] {
                let set = live_first(on_scope().flat_map(|l| cache.rrset(l, target, rtype)));
                a.addrs.extend(set.iter().filter_map(|c| c.data.ip()));
            }
            a.addrs.sort_unstable();
            a.addrs.dedup();
            a.addrs.truncate(MAX_ADDRS);
        }
        a
    }

    /// The instance, if every required piece is there.
    pub(crate) fn instance(
        &self,
        name: &Name,
        ty: &ServiceType,
        scope: u32,
    ) -> Option<ServiceInstance> {
        let (port, target) = self.srv.as_ref().filter(|_| self.ptr)?;
        if self.addrs.is_empty() {
            return None;
        }
        Some(ServiceInstance::new(
            &String::from_utf8_lossy(name.first_label()?),
            ty.clone(),
            &target.to_string(),
            *port,
            &self.addrs,
            self.txt.as_deref().unwrap_or_default(),
            scope,
        ))
    }

    /// The questions that would fill the gaps.
    pub(crate) fn missing(&self, name: &Name) -> Vec<(Name, RecordType)> {
        let mut q = Vec::new();
        if self.srv.is_none() {
            q.push((name.clone(), RecordType::SRV));
        }
        if self.txt.is_none() {
            q.push((name.clone(), RecordType::TXT));
        }
        if let (Some((_, target)), true) = (&self.srv, self.addrs.is_empty()) {
            q.push((target.clone(), RecordType::A));
            q.push((target.clone(), RecordType::AAAA));
        }
        q
    }
}

/// Records not condemned by a goodbye or cache-flush, or the condemned ones if that is all.
fn live_first<'a>(
    it: impl Iterator<Item = &'a super::cache::Cached>,
) -> Vec<&'a super::cache::Cached> {
    let all: Vec<_> = it.collect();
    if all.iter().any(|c| !c.doomed()) {
        all.into_iter().filter(|c| !c.doomed()).collect()
    } else {
        all
    }
}

/// An instant as microseconds after a base instant, plus one (so that `Option` is free).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp(NonZeroU64);

impl Stamp {
    fn of(base: Instant, at: Instant) -> Stamp {
        let us = at.saturating_duration_since(base).as_micros();
        let us = u64::try_from(us).unwrap_or(u64::MAX - 1);
        Stamp(NonZeroU64::MIN.saturating_add(us))
    }

    fn at(self, base: Instant) -> Instant {
        base + Duration::from_micros(self.0.get() - 1)
    }
}

/// One tracked instance in the slab.
struct Slot {
    name: InstanceName,
    t: Tracked,
}

/// The tracked instances, sorted by a keyed 64-bit hash of (name, scope) and found by binary
/// search (the stored name is checked, so a collision can only refuse tracking, never mix two
/// instances up). About 72 bytes an instance plus its name, against 80 bytes times the hash
/// table's slack plus a [`Name`] for a map keyed by [`Key`].
pub(crate) struct Instances {
    slots: Vec<(u64, Slot)>,
    hasher: RandomState,
    /// One shared copy of each tracked type.
    types: Vec<Arc<ServiceType>>,
    seq: u64,
    cap: usize,
    /// The instant the retry stamps count from.
    base: Option<Instant>,
    /// No retry is due before this (a lower bound; a stale one only causes a spare wake-up).
    next_retry: Option<Instant>,
}

impl Instances {
    pub(crate) fn new(cap: usize) -> Instances {
        Instances {
            slots: Vec::new(),
            hasher: RandomState::new(),
            types: Vec::new(),
            seq: 0,
            cap,
            base: None,
            next_retry: None,
        }
    }

    #[cfg(test)]
    pub(crate) fn slot_size() -> usize {
        std::mem::size_of::<(u64, Slot)>()
    }

    fn hash<'a>(&self, labels: impl Iterator<Item = &'a [u8]>, scope: u32) -> u64 {
        let mut h = self.hasher.build_hasher();
        hash_labels(&mut h, labels);
        h.write_u32(scope);
        h.finish()
    }

    /// The position of `key`.
    fn find(&self, key: &Key) -> Option<usize> {
        let h = self.hash(key.0.labels(), key.1);
        let at = self.slots.binary_search_by_key(&h, |(k, _)| *k).ok()?;
        self.slots
            .get(at)
            .filter(|(_, s)| s.t.scope == key.1 && s.name.is(&key.0, &s.t.ty))
            .map(|_| at)
    }

    pub(crate) fn get(&self, key: &Key) -> Option<&Tracked> {
        self.find(key)
            .and_then(|at| self.slots.get(at))
            .map(|(_, s)| &s.t)
    }

    /// Every tracked instance: its name, interface and state.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&InstanceName, u32, &Tracked)> {
        self.slots.iter().map(|(_, s)| (&s.name, s.t.scope, &s.t))
    }

    pub(crate) fn remove(&mut self, key: &Key) -> Option<Tracked> {
        let at = self.find(key)?;
        let (_, gone) = self.slots.remove(at);
        if self.slots.capacity() > 64 && self.slots.capacity() > 4 * self.slots.len() {
            self.slots.shrink_to(self.slots.len() * 2);
        }
        Some(gone.t)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    pub(crate) fn next_retry(&self) -> Option<Instant> {
        self.next_retry
    }

    /// Starts tracking `key` unless it is tracked already; false if there is no room.
    pub(crate) fn track(&mut self, now: Instant, key: Key, ty: &ServiceType) -> bool {
        let h = self.hash(key.0.labels(), key.1);
        if let Ok(at) = self.slots.binary_search_by_key(&h, |(k, _)| *k) {
            // Tracked, or (practically never: the hash is keyed) another name's hash.
            return self
                .slots
                .get(at)
                .is_some_and(|(_, s)| s.t.scope == key.1 && s.name.is(&key.0, &s.t.ty));
        }
        if self.slots.len() >= self.cap && !self.displace_unresolved() {
            return false;
        }
        let _ = now;
        let ty = self.intern(ty);
        self.seq += 1;
        let t = Tracked {
            ty,
            target: 0,
            retry: None,
            since: self.seq,
            reported: 0,
            tries: 0,
            scope: key.1,
        };
        let slot = Slot {
            name: InstanceName::of(&key.0, &t.ty),
            t,
        };
        // Displacing may have moved slots: search again.
        let at = match self.slots.binary_search_by_key(&h, |(k, _)| *k) {
            Ok(at) | Err(at) => at,
        };
        self.slots.insert(at, (h, slot));
        true
    }

    /// The shared copy of `ty`; unused copies are dropped on the way.
    fn intern(&mut self, ty: &ServiceType) -> Arc<ServiceType> {
        if let Some(t) = self.types.iter().find(|t| ***t == *ty) {
            return Arc::clone(t);
        }
        self.types.retain(|t| Arc::strong_count(t) > 1);
        let t = Arc::new(ty.clone());
        self.types.push(Arc::clone(&t));
        t
    }

    /// Drops the oldest never-resolved sixteenth of the table (at least one) so that a flood
    /// of unresolvable names costs one scan per many insertions; false if all are resolved.
    fn displace_unresolved(&mut self) -> bool {
        let mut idle: Vec<(u64, usize)> = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, (_, s))| !s.t.resolved())
            .map(|(at, (_, s))| (s.t.since, at))
            .collect();
        let n = (self.cap / 16).clamp(1, idle.len().max(1));
        if idle.len() > n {
            idle.select_nth_unstable_by_key(n - 1, |(since, _)| *since);
        }
        let victims: Vec<Key> = idle
            .iter()
            .take(n)
            .filter_map(|(_, at)| self.slots.get(*at))
            .map(|(_, s)| (s.name.to_name(&s.t.ty), s.t.scope))
            .collect();
        for key in &victims {
            self.remove(key);
        }
        !victims.is_empty()
    }

    /// Lets an incomplete instance ask again from the first round.
    pub(crate) fn reset_tries(&mut self, key: &Key) {
        if let Some((_, s)) = self.find(key).and_then(|at| self.slots.get_mut(at)) {
            s.t.tries = 0;
        }
    }

    /// Stores what was assembled and the fingerprint of what was reported (0: nothing);
    /// returns the previous fingerprint.
    pub(crate) fn settle(
        &mut self,
        now: Instant,
        prng: &mut Prng,
        key: &Key,
        target: u64,
        report: u64,
        complete: bool,
    ) -> u64 {
        let base = *self.base.get_or_insert(now);
        let Some((_, t)) = self.find(key).and_then(|at| self.slots.get_mut(at)) else {
            return 0;
        };
        let t = &mut t.t;
        if t.target != target {
            // A new SRV target: its addresses are worth asking for at once.
            t.retry = None;
            t.tries = 0;
        }
        t.target = target;
        if complete {
            t.retry = None;
            t.tries = 0;
        } else if t.retry.is_none() && t.tries < MAX_TRIES {
            let at = now + Duration::from_millis(prng.range(20, 120));
            t.retry = Some(Stamp::of(base, at));
            self.next_retry = Some(self.next_retry.map_or(at, |n| n.min(at)));
        }
        std::mem::replace(&mut t.reported, report)
    }

    /// The instances whose retry is due at `now`, each moved to its next round.
    pub(crate) fn take_due(&mut self, now: Instant) -> Vec<Key> {
        if self.next_retry.is_none_or(|n| n > now) {
            return Vec::new();
        }
        let base = *self.base.get_or_insert(now);
        let mut due = Vec::new();
        let mut next: Option<Instant> = None;
        for (_, slot) in &mut self.slots {
            let t = &mut slot.t;
            if let Some(at) = t.retry.map(|s| s.at(base)) {
                if at <= now {
                    due.push((slot.name.to_name(&t.ty), t.scope));
                    t.tries += 1;
                    t.retry = (t.tries < MAX_TRIES)
                        .then(|| Stamp::of(base, now + Duration::from_secs(1 << (t.tries - 1))));
                }
            }
            if let Some(at) = t.retry.map(|s| s.at(base)) {
                next = Some(next.map_or(at, |n| n.min(at)));
            }
        }
        self.next_retry = next;
        due
    }
}
