//! The registry of discovered services and hosts that DNS, health, certmesh CA discovery and
//! the proxy read.
//!
//! Owns one [`Entry`] per instance name and type (ASCII case ignored) and one [`HostEntry`]
//! per host name, built from the browser's [`BrowseEvent`]s, and the in-process subscriptions
//! that hear every change as a [`RegistryEvent`]. Entries are not dropped when their service
//! goes away: they turn stale and keep `last_seen`, so health can say "last seen 4h ago".
//! Single-threaded: it lives on the agent's one executor (share it as `Rc<RefCell<_>>`).
//!
//! Invariants: at most `capacity` entries and `capacity` hosts; when full, the stale entry seen
//! longest ago goes first, then the live one seen longest ago. Each subscriber has a bounded
//! channel of [`SUBSCRIBER_BUFFER`] events; one that falls that far behind is dropped (its
//! receiver closes once drained), so a slow reader never grows memory. It never reads a clock
//! (callers pass `wall`) and never blocks.
//!
//! Memory: each service is held once, in the shared allocation of its [`ServiceInstance`] that
//! its entry, its other interfaces' copies and the events handed to subscribers share; a
//! service seen on one interface and a host on one link allocate nothing beyond their data. Services and hosts are slots in Vecs
//! sorted by a keyed 64-bit hash of the lowercased name (binary search, no index beside them;
//! the stored name is checked on every look-up, so a collision can only ever evict, never mix
//! two entries up), and the eviction order is found by a scan when the registry is full
//! instead of being kept in a second index. A service's and a host's strings and addresses are
//! packed in one allocation each: about 330 bytes of heap a service with its own host (it was
//! 570 with a `String` or `Vec` per field).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash, Hasher};
use std::net::IpAddr;

use async_channel::{Receiver, Sender, TrySendError};

use crate::base::UnixTime;
use crate::mdns::browser::BrowseEvent;
use crate::mdns::packed::{PackWriter, Packed};
use crate::mdns::{Link, ServiceInstance, ServiceType, OTHER_TTL};

/// Entries (and hosts) a registry holds by default.
pub const DEFAULT_CAPACITY: usize = 4096;
/// Events a subscriber may fall behind before it is dropped.
pub const SUBSCRIBER_BUFFER: usize = 256;
/// Subscribers at once; beyond this, [`Registry::subscribe`] hands out a closed receiver.
pub const MAX_SUBSCRIBERS: usize = 64;
/// Interfaces remembered per service, links per host, and addresses per link.
const MAX_PER_ENTRY: usize = 16;

/// A discovered service, live or stale.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The service as last resolved (one of its interfaces if it is seen on several); shared
    /// with the registry, so cloning an entry is cheap.
    pub service: ServiceInstance,
    /// When it was first resolved.
    pub first_seen: UnixTime,
    /// When it was last found or changed; unchanged when it goes stale.
    pub last_seen: UnixTime,
    /// The TTL to hand out when answering from the registry: DNS-SD's 4500 s (RFC 6762 §10).
    pub ttl: u32,
    /// Its PTR or SRV went (goodbye or expiry): kept as history, not as a live service.
    pub stale: bool,
}

/// A host whose address records were seen.
#[derive(Clone, PartialEq, Eq)]
pub struct HostEntry {
    /// Its name and addresses, in one allocation.
    packed: Packed,
    /// When its addresses were first seen.
    pub first_seen: UnixTime,
    /// When they were last seen, refreshes included: the host's heartbeat.
    pub last_seen: UnixTime,
    /// No address of it is cached on any link any more.
    pub stale: bool,
}

impl HostEntry {
    /// The host name, e.g. `stone-05.local`.
    pub fn host(&self) -> &str {
        self.packed.reader().str()
    }

    /// Its addresses over all links (the last known ones once stale), sorted.
    pub fn addrs(&self) -> impl Iterator<Item = IpAddr> + Clone + '_ {
        let mut r = self.packed.reader();
        r.bytes();
        r.addrs()
    }

    fn set_addrs(&mut self, addrs: &[IpAddr]) {
        self.packed = pack_host(self.host(), addrs);
    }
}

fn pack_host(host: &str, addrs: &[IpAddr]) -> Packed {
    PackWriter::default()
        .bytes(host.as_bytes())
        .addrs(addrs.iter().copied())
        .finish()
}

impl std::fmt::Debug for HostEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostEntry")
            .field("host", &self.host())
            .field("addrs", &self.addrs().collect::<Vec<_>>())
            .field("first_seen", &self.first_seen)
            .field("last_seen", &self.last_seen)
            .field("stale", &self.stale)
            .finish()
    }
}

/// A change, as subscribers hear it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegistryEvent {
    /// An entry became live: new, or back after being stale.
    Added(Entry),
    /// A live entry's host, port, TXT, addresses or interface changed.
    Updated(Entry),
    /// An entry went stale.
    Stale(Entry),
    /// An entry was dropped to make room.
    Evicted {
        /// The instance name.
        instance: String,
        /// Its type.
        service_type: ServiceType,
    },
    /// A host became live or its addresses changed.
    HostUp(HostEntry),
    /// A host has no address left on any link.
    HostStale(HostEntry),
}

/// Eviction order: stale before live, then least recently seen, then oldest change.
type Order = (bool, UnixTime, u64);

#[derive(Debug)]
struct Slot {
    entry: Entry,
    /// The instance as seen on each other interface it is live on (the entry's own service is
    /// live on its scope unless the entry is stale); empty, so not allocated, for the usual
    /// service seen on one interface.
    others: Box<[ServiceInstance]>,
    /// When it last moved in the eviction order.
    seq: u64,
}

impl Slot {
    fn order(&self) -> Order {
        (!self.entry.stale, self.entry.last_seen, self.seq)
    }

    fn is(&self, instance: &str, ty: &ServiceType) -> bool {
        let s = &self.entry.service;
        s.instance().eq_ignore_ascii_case(instance) && s.service_type() == ty
    }
}

/// Links with their addresses.
type LinkAddrs = Vec<(Link, Box<[IpAddr]>)>;

#[derive(Debug)]
struct HostSlot {
    entry: HostEntry,
    /// The one link it is live on, when there is no `more` (its addresses are the entry's).
    only: Link,
    /// With two or more live links: each one's addresses (sorted, deduplicated).
    more: Option<Box<LinkAddrs>>,
    seq: u64,
}

impl HostSlot {
    fn order(&self) -> Order {
        (!self.entry.stale, self.entry.last_seen, self.seq)
    }
}

/// Slots sorted by a keyed 64-bit hash: a look-up is a binary search, and there is no index
/// beside them (a hash map would hold each slot, or an index entry, times the table's slack and
/// spread its writes over every page of it). Inserting or removing moves the slots after it,
/// a few microseconds at the default capacity.
#[derive(Debug)]
struct Slab<T> {
    items: Vec<(u64, T)>,
}

impl<T> Slab<T> {
    fn new() -> Slab<T> {
        Slab { items: Vec::new() }
    }

    fn len(&self) -> usize {
        self.items.len()
    }

    fn iter(&self) -> impl Iterator<Item = &T> {
        self.items.iter().map(|(_, t)| t)
    }

    fn find(&self, key: u64) -> Result<usize, usize> {
        self.items.binary_search_by_key(&key, |(k, _)| *k)
    }

    fn get(&self, key: u64) -> Option<&T> {
        let at = self.find(key).ok()?;
        self.items.get(at).map(|(_, t)| t)
    }

    fn get_mut(&mut self, key: u64) -> Option<&mut T> {
        let at = self.find(key).ok()?;
        self.items.get_mut(at).map(|(_, t)| t)
    }

    fn insert(&mut self, key: u64, item: T) {
        match self.find(key) {
            Ok(at) => {
                if let Some(old) = self.items.get_mut(at) {
                    old.1 = item;
                }
            }
            Err(at) => self.items.insert(at, (key, item)),
        }
    }

    fn remove(&mut self, key: u64) -> Option<T> {
        let at = self.find(key).ok()?;
        let (_, gone) = self.items.remove(at);
        if self.items.capacity() > 64 && self.items.capacity() > 4 * self.items.len() {
            self.items.shrink_to(self.items.len() * 2);
        }
        Some(gone)
    }

    /// The key of the item `order` ranks first.
    fn min_by<O: Ord>(&self, order: impl Fn(&T) -> O) -> Option<u64> {
        self.items
            .iter()
            .min_by_key(|(_, t)| order(t))
            .map(|(k, _)| *k)
    }
}

/// The registry; see the module docs.
#[derive(Debug)]
pub struct Registry {
    capacity: usize,
    /// Keyed by [`Self::service_key`].
    services: Slab<Slot>,
    /// Keyed by [`Self::host_key`].
    hosts: Slab<HostSlot>,
    /// Seeds the name hashes, so no sender can aim for a collision.
    keys: RandomState,
    subscribers: Vec<Sender<RegistryEvent>>,
    seq: u64,
}

impl Registry {
    /// An empty registry holding at most `capacity` services and `capacity` hosts.
    pub fn new(capacity: usize) -> Registry {
        Registry {
            capacity: capacity.max(1),
            services: Slab::new(),
            hosts: Slab::new(),
            keys: RandomState::new(),
            subscribers: Vec::new(),
            seq: 0,
        }
    }

    /// Folds one browser event in: Found/Updated make an entry live, Removed makes it stale
    /// once no interface still has it; HostSeen/HostLost do the same for hosts.
    pub fn apply(&mut self, wall: UnixTime, event: &BrowseEvent) {
        match event {
            BrowseEvent::Found(s) | BrowseEvent::Updated(s) => self.seen(wall, s),
            BrowseEvent::Removed {
                instance,
                service_type,
                scope,
            } => {
                self.removed(instance, service_type, *scope);
            }
            BrowseEvent::HostSeen { host, addrs, link } => self.host_seen(wall, host, addrs, *link),
            BrowseEvent::HostLost { host, link } => self.host_lost(host, *link),
        }
    }

    /// Every entry, live and stale, in no particular order.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.services.iter().map(|s| &s.entry)
    }

    /// Every host, live and stale, in no particular order.
    pub fn hosts(&self) -> impl Iterator<Item = &HostEntry> {
        self.hosts.iter().map(|h| &h.entry)
    }

    /// The entry of `instance` (ASCII case ignored) of type `ty`.
    pub fn get(&self, instance: &str, ty: &ServiceType) -> Option<&Entry> {
        let key = self.service_key(instance, ty);
        self.services
            .get(key)
            .filter(|s| s.is(instance, ty))
            .map(|s| &s.entry)
    }

    /// (live, stale) entry counts.
    pub fn counts(&self) -> (usize, usize) {
        let stale = self.entries().filter(|e| e.stale).count();
        (self.services.len() - stale, stale)
    }

    /// A receiver of every change from now on. A subscriber more than [`SUBSCRIBER_BUFFER`]
    /// events behind is dropped: its receiver yields what is buffered, then reports closed;
    /// it should then subscribe again and re-read [`Self::entries`] and [`Self::hosts`].
    /// Past [`MAX_SUBSCRIBERS`] the receiver is closed from the start.
    pub fn subscribe(&mut self) -> Receiver<RegistryEvent> {
        self.subscribers.retain(|tx| !tx.is_closed());
        let (tx, rx) = async_channel::bounded(SUBSCRIBER_BUFFER);
        if self.subscribers.len() >= MAX_SUBSCRIBERS {
            tx.close();
        } else {
            self.subscribers.push(tx);
        }
        rx
    }

    fn publish(&mut self, event: RegistryEvent) {
        self.subscribers
            .retain(|tx| match tx.try_send(event.clone()) {
                Ok(()) => true,
                Err(TrySendError::Full(_)) => {
                    tx.close();
                    false
                }
                Err(TrySendError::Closed(_)) => false,
            });
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// The map key of a service: a keyed hash of its lowercased instance name and its type.
    fn service_key(&self, instance: &str, ty: &ServiceType) -> u64 {
        service_key(&self.keys, instance, ty)
    }

    /// The map key of a host: a keyed hash of its lowercased name.
    fn host_key(&self, host: &str) -> u64 {
        host_key(&self.keys, host)
    }

    fn evict_service(&mut self, key: u64) {
        if let Some(slot) = self.services.remove(key) {
            let s = &slot.entry.service;
            self.publish(RegistryEvent::Evicted {
                instance: s.instance().to_string(),
                service_type: s.service_type().clone(),
            });
        }
    }

    fn seen(&mut self, wall: UnixTime, s: &ServiceInstance) {
        let key = self.service_key(s.instance(), s.service_type());
        let seq = self.next_seq();
        match self.services.get_mut(key) {
            Some(slot) if slot.is(s.instance(), s.service_type()) => {
                let was_stale = slot.entry.stale;
                let changed = slot.entry.service != *s;
                if changed {
                    let new = s.clone();
                    let old = std::mem::replace(&mut slot.entry.service, new);
                    let mut others = std::mem::take(&mut slot.others).into_vec();
                    others.retain(|i| i.scope() != s.scope());
                    if was_stale {
                        others.clear();
                    } else if old.scope() != s.scope() && others.len() + 1 < MAX_PER_ENTRY {
                        // Still live on its own interface: kept as one of the others.
                        others.push(old);
                    }
                    slot.others = others.into_boxed_slice();
                }
                slot.entry.stale = false;
                slot.entry.last_seen = wall;
                slot.seq = seq;
                let entry = slot.entry.clone();
                if was_stale {
                    self.publish(RegistryEvent::Added(entry));
                } else if changed {
                    self.publish(RegistryEvent::Updated(entry));
                }
                return;
            }
            // A hash collision with another name (practically never: the hash is keyed).
            Some(_) => self.evict_service(key),
            None => {}
        }
        while self.services.len() >= self.capacity {
            let Some(victim) = self.services.min_by(Slot::order) else {
                break;
            };
            self.evict_service(victim);
        }
        let entry = Entry {
            service: s.clone(),
            first_seen: wall,
            last_seen: wall,
            ttl: OTHER_TTL,
            stale: false,
        };
        let slot = Slot {
            entry: entry.clone(),
            others: Box::default(),
            seq,
        };
        self.services.insert(key, slot);
        self.publish(RegistryEvent::Added(entry));
    }

    fn removed(&mut self, instance: &str, ty: &ServiceType, scope: u32) {
        let key = self.service_key(instance, ty);
        let Some(slot) = self.services.get_mut(key).filter(|s| s.is(instance, ty)) else {
            return;
        };
        if slot.entry.stale {
            return;
        }
        if slot.entry.service.scope() != scope {
            let mut others = std::mem::take(&mut slot.others).into_vec();
            others.retain(|i| i.scope() != scope);
            slot.others = others.into_boxed_slice();
            return;
        }
        let event = if slot.others.is_empty() {
            slot.entry.stale = true;
            self.seq += 1;
            slot.seq = self.seq;
            RegistryEvent::Stale(slot.entry.clone())
        } else {
            // Still live elsewhere: the longest-known other interface's copy stands in.
            let mut others = std::mem::take(&mut slot.others).into_vec();
            slot.entry.service = others.remove(0);
            slot.others = others.into_boxed_slice();
            RegistryEvent::Updated(slot.entry.clone())
        };
        self.publish(event);
    }

    fn host_seen(&mut self, wall: UnixTime, host: &str, addrs: &[IpAddr], link: Link) {
        let key = self.host_key(host);
        let seq = self.next_seq();
        // Sorted and deduplicated, as their union over all links is.
        let mut addrs: Vec<IpAddr> = addrs.iter().take(MAX_PER_ENTRY).copied().collect();
        addrs.sort_unstable();
        addrs.dedup();
        addrs.shrink_to_fit();
        let known = self
            .hosts
            .get(key)
            .map(|h| h.entry.host().eq_ignore_ascii_case(host));
        if known != Some(true) {
            // A new host, or (practically never: the hash is keyed) a collision with another.
            if known == Some(false) {
                self.hosts.remove(key);
            }
            while self.hosts.len() >= self.capacity {
                let Some(victim) = self.hosts.min_by(HostSlot::order) else {
                    break;
                };
                self.hosts.remove(victim);
            }
            let entry = HostEntry {
                packed: pack_host(host, &[]),
                first_seen: wall,
                last_seen: wall,
                stale: true,
            };
            let slot = HostSlot {
                entry,
                only: link,
                more: None,
                seq,
            };
            self.hosts.insert(key, slot);
        }
        let Some(slot) = self.hosts.get_mut(key) else {
            return;
        };
        let union = match &mut slot.more {
            None if slot.entry.stale || slot.only == link => {
                // The only link: its addresses are the host's, held once (in the entry).
                slot.only = link;
                addrs
            }
            None => {
                let only = (slot.only, slot.entry.addrs().collect());
                let more = vec![only, (link, addrs.into())];
                let union = union_of(&more);
                slot.more = Some(Box::new(more));
                union
            }
            Some(more) => {
                upsert(more, |(l, _)| *l == link, (link, addrs.into()));
                union_of(more)
            }
        };
        let same = slot.entry.addrs().eq(union.iter().copied());
        if !same {
            slot.entry.set_addrs(&union);
        }
        let news = slot.entry.stale || !same;
        slot.entry.stale = false;
        slot.entry.last_seen = wall;
        slot.seq = seq;
        if news {
            let entry = slot.entry.clone();
            self.publish(RegistryEvent::HostUp(entry));
        }
    }

    fn host_lost(&mut self, host: &str, link: Link) {
        let key = self.host_key(host);
        let Some(slot) = self
            .hosts
            .get_mut(key)
            .filter(|h| h.entry.host().eq_ignore_ascii_case(host))
        else {
            return;
        };
        if slot.entry.stale {
            return;
        }
        let event = if let Some(more) = &mut slot.more {
            let before = more.len();
            more.retain(|(l, _)| *l != link);
            if more.len() == before {
                return;
            }
            let union = if let [(only, addrs)] = more.as_mut_slice() {
                // One link left: its addresses become the entry's alone.
                slot.only = *only;
                let union = std::mem::take(addrs).into_vec();
                slot.more = None;
                union
            } else {
                union_of(more)
            };
            if slot.entry.addrs().eq(union.iter().copied()) {
                return;
            }
            slot.entry.set_addrs(&union);
            RegistryEvent::HostUp(slot.entry.clone())
        } else {
            if slot.only != link {
                return;
            }
            slot.entry.stale = true;
            self.seq += 1;
            slot.seq = self.seq;
            RegistryEvent::HostStale(slot.entry.clone())
        };
        self.publish(event);
    }
}

/// A keyed hash of a service's lowercased instance name and its type.
fn service_key(keys: &RandomState, instance: &str, ty: &ServiceType) -> u64 {
    let mut h = keys.build_hasher();
    for b in instance.bytes() {
        h.write_u8(b.to_ascii_lowercase());
    }
    h.write_u8(0xff);
    ty.hash(&mut h);
    h.finish()
}

/// A keyed hash of a host's lowercased name.
fn host_key(keys: &RandomState, host: &str) -> u64 {
    let mut h = keys.build_hasher();
    h.write_u8(0xfe);
    for b in host.bytes() {
        h.write_u8(b.to_ascii_lowercase());
    }
    h.finish()
}

impl Default for Registry {
    fn default() -> Registry {
        Registry::new(DEFAULT_CAPACITY)
    }
}

/// Replaces the item `is` picks, or appends `new` if there is room.
fn upsert<T>(items: &mut Vec<T>, is: impl Fn(&T) -> bool, new: T) {
    match items.iter().position(is) {
        Some(i) => {
            if let Some(slot) = items.get_mut(i) {
                *slot = new;
            }
        }
        None if items.len() < MAX_PER_ENTRY => {
            items.reserve_exact(1);
            items.push(new);
        }
        None => {}
    }
}

fn union_of(links: &[(Link, Box<[IpAddr]>)]) -> Vec<IpAddr> {
    let mut all: Vec<IpAddr> = links.iter().flat_map(|(_, a)| a.iter().copied()).collect();
    all.sort_unstable();
    all.dedup();
    all.shrink_to_fit();
    all
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::mdns::Family;

    const LINK: Link = Link {
        ifindex: 2,
        family: Family::V4,
    };

    fn svc(instance: &str, port: u16) -> ServiceInstance {
        ServiceInstance::new(
            instance,
            ServiceType::parse("_http._tcp").unwrap(),
            "stone.local",
            port,
            &[IpAddr::V4(Ipv4Addr::new(192, 168, 1, 50))],
            Vec::<Vec<u8>>::new(),
            2,
        )
    }

    fn removed(instance: &str) -> BrowseEvent {
        let service_type = ServiceType::parse("_http._tcp").unwrap();
        BrowseEvent::Removed {
            instance: instance.into(),
            service_type,
            scope: 2,
        }
    }

    fn drain(rx: &Receiver<RegistryEvent>) -> Vec<RegistryEvent> {
        std::iter::from_fn(|| rx.try_recv().ok()).collect()
    }

    #[test]
    fn subscription_receives_events_in_order() {
        let mut r = Registry::new(16);
        let rx = r.subscribe();
        r.apply(10, &BrowseEvent::Found(svc("web", 80)));
        r.apply(11, &BrowseEvent::Updated(svc("web", 8080)));
        r.apply(11, &BrowseEvent::Updated(svc("web", 8080)));
        r.apply(12, &removed("web"));
        r.apply(13, &BrowseEvent::Found(svc("web", 8080)));
        let kinds: Vec<&str> = drain(&rx)
            .iter()
            .map(|e| match e {
                RegistryEvent::Added(_) => "added",
                RegistryEvent::Updated(e) if e.service.port() == 8080 => "updated",
                RegistryEvent::Stale(_) => "stale",
                _ => "other",
            })
            .collect();
        assert_eq!(kinds, ["added", "updated", "stale", "added"]);
    }

    #[test]
    fn a_full_subscriber_is_dropped_and_others_continue() {
        let mut r = Registry::new(4096);
        let slow = r.subscribe();
        let fast = r.subscribe();
        let mut heard = 0;
        for i in 0..SUBSCRIBER_BUFFER + 10 {
            r.apply(1, &BrowseEvent::Found(svc(&format!("s{i}"), 80)));
            heard += drain(&fast).len();
        }
        assert_eq!(heard, SUBSCRIBER_BUFFER + 10);
        assert_eq!(
            drain(&slow).len(),
            SUBSCRIBER_BUFFER,
            "what was buffered is still readable"
        );
        assert!(slow.is_closed() && slow.try_recv().is_err());
        assert!(!fast.is_closed());
        let again = r.subscribe();
        r.apply(2, &removed("s0"));
        assert_eq!(drain(&again).len(), 1, "a resubscriber hears new events");
    }

    #[test]
    fn capacity_evicts_stale_first_then_oldest() {
        let mut r = Registry::new(3);
        let rx = r.subscribe();
        for (t, name) in [(1, "a"), (2, "b"), (3, "c")] {
            r.apply(t, &BrowseEvent::Found(svc(name, 80)));
        }
        r.apply(4, &removed("c"));
        r.apply(5, &BrowseEvent::Found(svc("d", 80)));
        r.apply(6, &BrowseEvent::Found(svc("e", 80)));
        r.apply(7, &BrowseEvent::Updated(svc("b", 81)));
        r.apply(8, &BrowseEvent::Found(svc("f", 80)));
        let evicted: Vec<String> = drain(&rx)
            .into_iter()
            .filter_map(|e| match e {
                RegistryEvent::Evicted { instance, .. } => Some(instance),
                _ => None,
            })
            .collect();
        assert_eq!(
            evicted,
            ["c", "a", "d"],
            "stale c, then oldest live a, then d (b was re-seen)"
        );
        assert_eq!(r.counts(), (3, 0));
    }

    #[test]
    fn removed_marks_stale_and_keeps_last_seen() {
        let mut r = Registry::new(16);
        let ty = ServiceType::parse("_http._tcp").unwrap();
        r.apply(100, &BrowseEvent::Found(svc("Web", 80)));
        r.apply(200, &BrowseEvent::Found(svc("web", 80).with_scope(3)));
        r.apply(300, &removed("web"));
        assert!(
            !r.get("WEB", &ty).unwrap().stale,
            "still live on interface 3"
        );
        let gone = BrowseEvent::Removed {
            instance: "web".into(),
            service_type: ty.clone(),
            scope: 3,
        };
        r.apply(14_500, &gone);
        let e = r.get("web", &ty).unwrap();
        assert!(e.stale);
        assert_eq!((e.first_seen, e.last_seen), (100, 200));
        assert_eq!(r.counts(), (0, 1));
    }

    #[test]
    fn ten_thousand_services_into_4096_stays_at_4096() {
        let mut r = Registry::default();
        let addrs = vec![IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))];
        for i in 0..10_000u64 {
            r.apply(i, &BrowseEvent::Found(svc(&format!("s{i}"), 80)));
            let host = format!("h{i}.local");
            r.apply(
                i,
                &BrowseEvent::HostSeen {
                    host,
                    addrs: addrs.clone(),
                    link: LINK,
                },
            );
        }
        assert_eq!(r.counts(), (DEFAULT_CAPACITY, 0));
        assert_eq!(r.services.len(), DEFAULT_CAPACITY);
        assert_eq!(r.hosts().count(), DEFAULT_CAPACITY);
        assert_eq!(r.hosts.len(), DEFAULT_CAPACITY);
        assert!(r.hosts().any(|h| h.host() == "h9999.local"));
        assert!(!r.hosts().any(|h| h.host() == "h0.local"));
        let ty = ServiceType::parse("_http._tcp").unwrap();
        assert!(r.get("s9999", &ty).is_some() && r.get("s0", &ty).is_none());
    }

    #[test]
    fn hosts_go_stale_when_their_last_link_loses_them() {
        let mut r = Registry::new(16);
        let rx = r.subscribe();
        let v6 = Link {
            ifindex: 2,
            family: Family::V6,
        };
        let a4 = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 50));
        let a6: IpAddr = "fe80::50".parse().unwrap();
        let host = || "stone.local".to_string();
        r.apply(
            1,
            &BrowseEvent::HostSeen {
                host: host(),
                addrs: vec![a4],
                link: LINK,
            },
        );
        r.apply(
            2,
            &BrowseEvent::HostSeen {
                host: host(),
                addrs: vec![a6],
                link: v6,
            },
        );
        r.apply(
            3,
            &BrowseEvent::HostSeen {
                host: host(),
                addrs: vec![a6],
                link: v6,
            },
        );
        r.apply(
            4,
            &BrowseEvent::HostLost {
                host: host(),
                link: LINK,
            },
        );
        r.apply(
            5,
            &BrowseEvent::HostLost {
                host: host(),
                link: v6,
            },
        );
        let events = drain(&rx);
        assert_eq!(events.len(), 4, "{events:?}");
        let RegistryEvent::HostStale(h) = &events[3] else {
            panic!("{events:?}")
        };
        assert_eq!(
            (h.addrs().collect::<Vec<_>>(), h.last_seen, h.stale),
            (vec![a6], 3, true)
        );
    }

    #[test]
    fn host_addresses_follow_their_links_one_or_many() {
        let mut r = Registry::new(16);
        let (a, b) = (
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
        );
        let other = Link {
            ifindex: 3,
            family: Family::V4,
        };
        let seen = |addrs: Vec<IpAddr>, link| BrowseEvent::HostSeen {
            host: "h.local".into(),
            addrs,
            link,
        };
        let lost = |link| BrowseEvent::HostLost {
            host: "H.local".into(),
            link,
        };
        let addrs = |r: &Registry| r.hosts().next().map(|h| (h.addrs().collect(), h.stale));
        r.apply(1, &seen(vec![b, a, b], LINK));
        assert_eq!(addrs(&r), Some((vec![a, b], false)));
        r.apply(2, &seen(vec![], other));
        assert_eq!(addrs(&r), Some((vec![a, b], false)));
        r.apply(3, &lost(other));
        assert_eq!(addrs(&r), Some((vec![a, b], false)));
        r.apply(4, &seen(vec![a], other));
        r.apply(5, &lost(LINK));
        assert_eq!(addrs(&r), Some((vec![a], false)));
        r.apply(6, &seen(vec![b], LINK));
        assert_eq!(addrs(&r), Some((vec![a, b], false)));
        r.apply(7, &seen(vec![], LINK));
        r.apply(8, &lost(other));
        assert_eq!(addrs(&r), Some((vec![], false)));
        r.apply(9, &lost(LINK));
        assert_eq!(addrs(&r), Some((vec![], true)));
        r.apply(10, &seen(vec![b], other));
        assert_eq!(addrs(&r), Some((vec![b], false)));
        r.apply(11, &lost(LINK));
        assert_eq!(addrs(&r), Some((vec![b], false)));
    }

    #[test]
    fn slots_stay_compact() {
        // Per service and per host: with the instance's and the host's own allocations, most
        // of the registry's cost.
        assert_eq!(std::mem::size_of::<(u64, Slot)>(), 96);
        assert_eq!(std::mem::size_of::<(u64, HostSlot)>(), 72);
        assert_eq!(std::mem::size_of::<ServiceInstance>(), 40);
    }

    mod heap {
        //! Counts this thread's heap, to hold the registry to its memory budget.
        pub(super) use crate::base::counting_alloc::live;
        use crate::base::counting_alloc::CountingAlloc;

        #[global_allocator]
        static ALLOC: CountingAlloc = CountingAlloc;
    }

    #[test]
    fn heap_per_1000_services_with_their_hosts_is_small() {
        use std::net::Ipv6Addr;
        let ty = ServiceType::parse("_http._tcp").unwrap();
        let event = |i: u32| {
            let host = format!("stone-host-{i:05}.local");
            let addrs = vec![
                IpAddr::V4(Ipv4Addr::new(10, 0, (i >> 8) as u8, i as u8)),
                IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, i as u16)),
            ];
            let found = BrowseEvent::Found(ServiceInstance::new(
                &format!("printer-{i:05}"),
                ty.clone(),
                &host,
                631,
                &addrs,
                [&b"txtvers=1"[..], b"rp=printer"],
                2,
            ));
            let seen = BrowseEvent::HostSeen {
                host,
                addrs,
                link: LINK,
            };
            (found, seen)
        };
        let events: Vec<_> = (0..2_000).map(event).collect();
        let mut r = Registry::default();
        let rx = r.subscribe();
        let base = heap::live();
        for (i, (found, seen)) in events.iter().enumerate() {
            r.apply(10, found);
            r.apply(10, seen);
            if i % 200 == 199 {
                // Keep the subscriber from being dropped (its buffer is not the registry's).
                let _ = std::iter::from_fn(|| rx.try_recv().ok()).count();
            }
        }
        let _ = std::iter::from_fn(|| rx.try_recv().ok()).count();
        let per_1000 = (heap::live() - base) / 2;
        eprintln!(
            "registry heap per 1000 services (with hosts): {} KiB",
            per_1000 >> 10
        );
        assert_eq!(r.counts(), (2_000, 0));
        // 321 KiB today: the instance's and the host's strings and addresses are packed.
        assert!(per_1000 <= 340 << 10, "{} KiB per 1000", per_1000 >> 10);
    }
}
