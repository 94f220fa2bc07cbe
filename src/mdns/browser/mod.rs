//! The mDNS querier: continuous browsing, its record cache, and service resolution.
//!
//! [`Browser`] is a pure state machine in the style of quinn-proto: the shell feeds it links,
//! parsed datagrams and timeouts, each with `now`, and drains [`Transmit`]s (multicast from
//! port 5353), [`BrowseEvent`]s and the next deadline. It owns:
//!
//! - continuous queries for each browsed type on every link, 20–120 ms after the start, then
//!   1 s, 2 s, 4 s … up to 60 minutes apart (RFC 6762 §5.2), carrying known answers (§7.1,
//!   split over TC datagrams, §7.2) and skipped when another host just asked the same (§7.3);
//! - the cache (`cache.rs`): TTL expiry, goodbyes (§10.1), cache-flush (§10.2), and refresh
//!   queries at 80–95 % of the TTL for records of services being browsed (§5.2);
//! - resolution (`resolve.rs`, `track.rs`): PTR → SRV + TXT → A/AAAA, with one-shot
//!   queries for the missing pieces, merged per interface;
//! - type enumeration through `_services._dns-sd._udp.local` (RFC 6763 §9).
//!
//! It never opens a socket, reads a clock, sleeps, or answers a query; it caches only records
//! of responses with opcode and rcode 0 from port 5353 on known links. Everything it holds is
//! bounded by [`CacheLimits`], whatever arrives; no count read from the wire sizes anything.
//!
//! Not done, knowingly: QU questions (§5.4; every query is QM), passive observation of
//! failures (§10.5), negative answers from NSEC (§6.1), caching of other record types, and
//! TTLs beyond [`MAX_TTL`].

mod cache;
mod compact;
mod query;
mod resolve;
mod track;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::net::IpAddr;
use std::time::Instant;

use koi_wire::dns::{Class, Message, Name, Opcode, Rcode, RecordType};

pub use cache::{CacheLimits, MAX_TTL};

use crate::base::Prng;
use crate::mdns::{Destination, Link, LinkInfo, Received, ServiceInstance, ServiceType, Transmit};
use cache::Cache;
use query::{pack_query, Schedules, Target};
use resolve::{Assembly, Instances};
use track::type_of;

/// Datagrams waiting for the shell; more are dropped (the shell drains after every call).
const MAX_TRANSMITS: usize = 1024;
/// Links considered; further ones are ignored.
const MAX_LINKS: usize = 64;

/// A handle to one `browse` or `browse_all` call, for [`Browser::stop`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BrowseId(u64);

/// What the browser learned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BrowseEvent {
    /// An instance became resolvable: PTR, SRV and at least one address are cached.
    Found(ServiceInstance),
    /// Its host, port, TXT or addresses changed.
    Updated(ServiceInstance),
    /// Its PTR or SRV went (goodbye, expiry, eviction, link gone, browse stopped), or its
    /// host has no address left.
    Removed {
        /// The instance name.
        instance: String,
        /// Its type.
        service_type: ServiceType,
        /// The interface it was seen on ([`ServiceInstance::scope`]).
        scope: u32,
    },
    /// A host's addresses on one link arrived (new or refreshed): a sign of life.
    HostSeen {
        /// The host name, e.g. `stone-05.local`.
        host: String,
        /// All its addresses cached on `link`.
        addrs: Vec<IpAddr>,
        /// Where they were seen.
        link: Link,
    },
    /// The last address of a host on one link expired or said goodbye.
    HostLost {
        /// The host name.
        host: String,
        /// The link.
        link: Link,
    },
}

#[derive(Clone, Copy, Debug, Default)]
struct Want {
    explicit: u32,
    via_all: bool,
}

/// The querier; see the module docs.
pub struct Browser {
    prng: Prng,
    limits: CacheLimits,
    links: BTreeMap<Link, LinkInfo>,
    cache: Cache,
    browses: BTreeMap<BrowseId, Option<ServiceType>>,
    wanted: BTreeMap<ServiceType, Want>,
    all: usize,
    schedules: Schedules,
    instances: Instances,
    events: VecDeque<BrowseEvent>,
    transmits: VecDeque<Transmit>,
    next_id: u64,
}

impl Browser {
    /// A browser with no links and nothing browsed.
    pub fn new(prng: Prng, limits: CacheLimits) -> Browser {
        Browser {
            prng,
            limits,
            links: BTreeMap::new(),
            cache: Cache::new(limits),
            browses: BTreeMap::new(),
            wanted: BTreeMap::new(),
            all: 0,
            schedules: Schedules::default(),
            instances: Instances::new(limits.max_instances),
            events: VecDeque::new(),
            transmits: VecDeque::new(),
            next_id: 0,
        }
    }

    /// Replaces the set of links: new ones start every browse afresh, vanished ones take
    /// their cache entries (and the instances only they supported) with them.
    pub fn set_links(&mut self, now: Instant, links: &[LinkInfo]) {
        let new: BTreeMap<Link, LinkInfo> = links
            .iter()
            .take(MAX_LINKS)
            .map(|l| (l.link, l.clone()))
            .collect();
        let gone: Vec<Link> = self
            .links
            .keys()
            .filter(|l| !new.contains_key(l))
            .copied()
            .collect();
        let added: Vec<Link> = new
            .keys()
            .filter(|l| !self.links.contains_key(l))
            .copied()
            .collect();
        self.links = new;
        for link in gone {
            self.cache.forget_link(link);
            self.schedules.stop_link(link);
        }
        for target in self.targets() {
            self.schedules
                .start(now, &mut self.prng, &target, added.iter().copied());
        }
        self.settle(now);
    }

    /// Browses `ty` continuously until [`Self::stop`]; instances already cached are reported
    /// at once.
    pub fn browse(&mut self, now: Instant, ty: ServiceType) -> BrowseId {
        let id = self.fresh_id();
        self.browses.insert(id, Some(ty.clone()));
        let want = self.wanted.entry(ty.clone()).or_default();
        want.explicit += 1;
        if want.explicit == 1 && !want.via_all {
            self.start_type(now, &ty);
        }
        id
    }

    /// Enumerates every type through `_services._dns-sd._udp.local` and browses each one
    /// found (up to [`CacheLimits::max_types`]).
    pub fn browse_all(&mut self, now: Instant) -> BrowseId {
        let id = self.fresh_id();
        self.browses.insert(id, None);
        self.all += 1;
        if self.all == 1 {
            let links: Vec<Link> = self.links.keys().copied().collect();
            self.schedules.start(
                now,
                &mut self.prng,
                &Target::AllTypes,
                links.iter().copied(),
            );
            let types: Vec<ServiceType> = Target::AllTypes
                .name()
                .map(|name| {
                    links
                        .iter()
                        .flat_map(|l| self.cache.rrset(*l, &name, RecordType::PTR))
                        .filter_map(|c| type_of(&c.data.ptr_target(name.labels())?))
                        .collect()
                })
                .unwrap_or_default();
            for ty in types {
                self.want_via_all(now, ty);
            }
        }
        id
    }

    /// Ends one browse; types no other browse wants stop being queried, and their reported
    /// instances are announced [`BrowseEvent::Removed`].
    pub fn stop(&mut self, id: BrowseId) {
        match self.browses.remove(&id) {
            None => {}
            Some(Some(ty)) => {
                if let Some(w) = self.wanted.get_mut(&ty) {
                    w.explicit = w.explicit.saturating_sub(1);
                    if w.explicit == 0 && !w.via_all {
                        self.drop_type(&ty);
                    }
                }
            }
            Some(None) => {
                self.all = self.all.saturating_sub(1);
                if self.all == 0 {
                    self.schedules.stop_target(&Target::AllTypes);
                    let via_all: Vec<ServiceType> = self
                        .wanted
                        .iter()
                        .filter(|(_, w)| w.via_all)
                        .map(|(t, _)| t.clone())
                        .collect();
                    for ty in via_all {
                        let explicit = self.wanted.get_mut(&ty).map_or(0, |w| {
                            w.via_all = false;
                            w.explicit
                        });
                        if explicit == 0 {
                            self.drop_type(&ty);
                        }
                    }
                }
            }
        }
    }

    /// Takes in one parsed datagram: responses feed the cache; others' queries may stand in
    /// for ours (RFC 6762 §7.3).
    pub fn handle(&mut self, now: Instant, rx: &Received<'_>, msg: &Message) {
        if !self.links.contains_key(&rx.link)
            || msg.header.opcode() != Opcode::QUERY
            || msg.rcode() != Rcode::NOERROR
        {
            return;
        }
        if !msg.header.qr() {
            self.observe_query(now, rx, msg);
            return;
        }
        if rx.is_legacy() {
            return; // RFC 6762 §6: responses not from port 5353 are ignored.
        }
        let link = rx.link;
        let mut flushed = HashSet::new();
        let mut hosts = Vec::new();
        let mut seen_hosts = HashSet::new();
        for rec in msg.answers.iter().chain(&msg.additionals) {
            let cached = matches!(
                rec.rtype,
                RecordType::A
                    | RecordType::AAAA
                    | RecordType::PTR
                    | RecordType::SRV
                    | RecordType::TXT
            );
            if !cached || rec.class() != Class::IN || rec.rdata.rtype() != Some(rec.rtype) {
                continue;
            }
            if rec.ttl == 0 {
                self.cache.goodbye(now, link, rec);
                continue;
            }
            self.cache.insert(now, &mut self.prng, link, rec);
            if rec.cache_flush() {
                flushed.insert((rec.name.clone(), rec.rtype));
            }
            if matches!(rec.rtype, RecordType::A | RecordType::AAAA) && seen_hosts.insert(&rec.name)
            {
                hosts.push(rec.name.clone());
            }
        }
        for (name, rtype) in flushed {
            self.cache.flush(now, link, &name, rtype);
        }
        self.settle(now);
        for host in hosts {
            let addrs = self.host_addrs(link, &host);
            if !addrs.is_empty() {
                let host = host.to_string();
                self.push_event(BrowseEvent::HostSeen { host, addrs, link });
            }
        }
    }

    /// Runs expiries, refreshes, continuous queries and resolution retries due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let refreshes = self.cache.pop_due(now, &mut self.prng);
        self.settle(now);
        let mut asks = Asks::default();
        if !refreshes.is_empty() {
            let targets = self.targets_by_name();
            for r in refreshes {
                if self.worth_refreshing(&r, &targets) {
                    asks.push(r.link, r.name, r.rtype);
                }
            }
        }
        for (link, target) in self.schedules.take_due(now) {
            if let Some(name) = target.name() {
                asks.push(link, name, RecordType::PTR);
            }
        }
        let links: Vec<Link> = self.links.keys().copied().collect();
        for (name, scope) in self.instances.take_due(now) {
            let a = Assembly::read(&self.cache, &links, &name, scope);
            for (qname, qtype) in a.missing(&name) {
                for link in links.iter().filter(|l| l.ifindex == scope) {
                    asks.push(*link, qname.clone(), qtype);
                }
            }
        }
        for (link, questions) in asks.by_link {
            let known: Vec<_> = questions
                .iter()
                .flat_map(|(n, t)| self.cache.known_answers(now, link, n, *t))
                .collect();
            for bytes in pack_query(&questions, &known) {
                if self.transmits.len() < MAX_TRANSMITS {
                    let dest = Destination::Multicast(link);
                    self.transmits.push_back(Transmit { dest, bytes });
                }
            }
        }
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<BrowseEvent> {
        self.events.pop_front()
    }

    /// When [`Self::handle_timeout`] should next run.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.cache.next_timer(),
            self.schedules.next(),
            self.instances.next_retry(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Every instance currently resolved.
    pub fn services(&self) -> Vec<ServiceInstance> {
        let links: Vec<Link> = self.links.keys().copied().collect();
        let mut out: Vec<ServiceInstance> = self
            .instances
            .iter()
            .filter(|(_, _, t)| t.resolved())
            .filter_map(|(name, scope, t)| {
                let name = name.to_name(&t.ty);
                Assembly::read(&self.cache, &links, &name, scope).instance(&name, &t.ty, scope)
            })
            .collect();
        out.sort_by(|a, b| {
            (a.service_type(), a.instance(), a.scope()).cmp(&(
                b.service_type(),
                b.instance(),
                b.scope(),
            ))
        });
        out
    }

    /// How many records are cached.
    pub fn cache_len(&self) -> usize {
        self.cache.len()
    }

    fn fresh_id(&mut self) -> BrowseId {
        self.next_id += 1;
        BrowseId(self.next_id)
    }

    fn push_event(&mut self, e: BrowseEvent) {
        // Above what one call can produce while the shell drains after each call.
        if self.events.len() < 2 * self.limits.max_instances + 1024 {
            self.events.push_back(e);
        }
    }

    /// Every continuous-query target in force.
    fn targets(&self) -> Vec<Target> {
        let all = (self.all > 0).then_some(Target::AllTypes);
        all.into_iter()
            .chain(self.wanted.keys().cloned().map(Target::Type))
            .collect()
    }
}

/// Questions to send, per link, without repeats.
#[derive(Default)]
struct Asks {
    by_link: BTreeMap<Link, Vec<(Name, RecordType)>>,
    seen: HashSet<(Link, Name, RecordType)>,
}

impl Asks {
    fn push(&mut self, link: Link, name: Name, rtype: RecordType) {
        if self.seen.insert((link, name.clone(), rtype)) {
            self.by_link.entry(link).or_default().push((name, rtype));
        }
    }
}
