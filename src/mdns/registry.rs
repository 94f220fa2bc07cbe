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

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use async_channel::{Receiver, Sender, TrySendError};

use crate::base::UnixTime;
use crate::mdns::browser::BrowseEvent;
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
    /// The service as last resolved (one of its interfaces if it is seen on several).
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
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostEntry {
    /// The host name, e.g. `stone-05.local`.
    pub host: String,
    /// Its addresses over all links (the last known ones once stale).
    pub addrs: Vec<IpAddr>,
    /// When its addresses were first seen.
    pub first_seen: UnixTime,
    /// When they were last seen, refreshes included: the host's heartbeat.
    pub last_seen: UnixTime,
    /// No address of it is cached on any link any more.
    pub stale: bool,
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

type Key = (String, ServiceType);
/// Eviction order: stale before live, then least recently seen, then oldest change.
type Order = (bool, UnixTime, u64);

#[derive(Debug)]
struct Slot {
    entry: Entry,
    /// The instance as seen on each interface it is live on.
    scopes: Vec<ServiceInstance>,
    order: Order,
}

#[derive(Debug)]
struct HostSlot {
    entry: HostEntry,
    links: Vec<(Link, Vec<IpAddr>)>,
    order: Order,
}

/// The registry; see the module docs.
#[derive(Debug)]
pub struct Registry {
    capacity: usize,
    services: HashMap<Key, Slot>,
    order: BTreeMap<Order, Key>,
    hosts: HashMap<String, HostSlot>,
    host_order: BTreeMap<Order, String>,
    subscribers: Vec<Sender<RegistryEvent>>,
    seq: u64,
}

impl Registry {
    /// An empty registry holding at most `capacity` services and `capacity` hosts.
    pub fn new(capacity: usize) -> Registry {
        Registry {
            capacity: capacity.max(1),
            services: HashMap::new(),
            order: BTreeMap::new(),
            hosts: HashMap::new(),
            host_order: BTreeMap::new(),
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
        self.services.values().map(|s| &s.entry)
    }

    /// Every host, live and stale, in no particular order.
    pub fn hosts(&self) -> impl Iterator<Item = &HostEntry> {
        self.hosts.values().map(|h| &h.entry)
    }

    /// The entry of `instance` (ASCII case ignored) of type `ty`.
    pub fn get(&self, instance: &str, ty: &ServiceType) -> Option<&Entry> {
        let key = (instance.to_ascii_lowercase(), ty.clone());
        self.services.get(&key).map(|s| &s.entry)
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

    fn next_order(&mut self, live: bool, last_seen: UnixTime) -> Order {
        self.seq += 1;
        (live, last_seen, self.seq)
    }

    fn seen(&mut self, wall: UnixTime, s: &ServiceInstance) {
        let key = (s.instance.to_ascii_lowercase(), s.service_type.clone());
        let order = self.next_order(true, wall);
        if let Some(slot) = self.services.get_mut(&key) {
            upsert(&mut slot.scopes, |i| i.scope == s.scope, s.clone());
            let was_stale = slot.entry.stale;
            let changed = slot.entry.service != *s;
            slot.entry.service = s.clone();
            slot.entry.stale = false;
            slot.entry.last_seen = wall;
            self.order.remove(&slot.order);
            slot.order = order;
            self.order.insert(order, key);
            let entry = slot.entry.clone();
            if was_stale {
                self.publish(RegistryEvent::Added(entry));
            } else if changed {
                self.publish(RegistryEvent::Updated(entry));
            }
            return;
        }
        while self.services.len() >= self.capacity {
            let Some((_, victim)) = self.order.pop_first() else {
                break;
            };
            if let Some(slot) = self.services.remove(&victim) {
                let (instance, service_type) =
                    (slot.entry.service.instance, slot.entry.service.service_type);
                self.publish(RegistryEvent::Evicted {
                    instance,
                    service_type,
                });
            }
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
            scopes: vec![s.clone()],
            order,
        };
        self.services.insert(key.clone(), slot);
        self.order.insert(order, key);
        self.publish(RegistryEvent::Added(entry));
    }

    fn removed(&mut self, instance: &str, ty: &ServiceType, scope: u32) {
        let key = (instance.to_ascii_lowercase(), ty.clone());
        let Some(slot) = self.services.get_mut(&key) else {
            return;
        };
        slot.scopes.retain(|i| i.scope != scope);
        if slot.entry.stale {
            return;
        }
        let event = match slot.scopes.first() {
            Some(other) if *other != slot.entry.service => {
                slot.entry.service = other.clone();
                RegistryEvent::Updated(slot.entry.clone())
            }
            Some(_) => return,
            None => {
                slot.entry.stale = true;
                self.order.remove(&slot.order);
                self.seq += 1;
                slot.order = (false, slot.entry.last_seen, self.seq);
                self.order.insert(slot.order, key);
                RegistryEvent::Stale(slot.entry.clone())
            }
        };
        self.publish(event);
    }

    fn host_seen(&mut self, wall: UnixTime, host: &str, addrs: &[IpAddr], link: Link) {
        let key = host.to_ascii_lowercase();
        let order = self.next_order(true, wall);
        let addrs: Vec<IpAddr> = addrs.iter().take(MAX_PER_ENTRY).copied().collect();
        if !self.hosts.contains_key(&key) {
            while self.hosts.len() >= self.capacity {
                let Some((_, victim)) = self.host_order.pop_first() else {
                    break;
                };
                self.hosts.remove(&victim);
            }
            let entry = HostEntry {
                host: host.to_string(),
                addrs: Vec::new(),
                first_seen: wall,
                last_seen: wall,
                stale: true,
            };
            let slot = HostSlot {
                entry,
                links: Vec::new(),
                order,
            };
            self.hosts.insert(key.clone(), slot);
        }
        let Some(slot) = self.hosts.get_mut(&key) else {
            return;
        };
        upsert(&mut slot.links, |(l, _)| *l == link, (link, addrs));
        let union = union_of(&slot.links);
        let news = slot.entry.stale || union != slot.entry.addrs;
        slot.entry.addrs = union;
        slot.entry.stale = false;
        slot.entry.last_seen = wall;
        self.host_order.remove(&slot.order);
        slot.order = order;
        self.host_order.insert(order, key);
        if news {
            let entry = slot.entry.clone();
            self.publish(RegistryEvent::HostUp(entry));
        }
    }

    fn host_lost(&mut self, host: &str, link: Link) {
        let key = host.to_ascii_lowercase();
        let Some(slot) = self.hosts.get_mut(&key) else {
            return;
        };
        slot.links.retain(|(l, _)| *l != link);
        if slot.entry.stale {
            return;
        }
        let event = if slot.links.is_empty() {
            slot.entry.stale = true;
            self.host_order.remove(&slot.order);
            self.seq += 1;
            slot.order = (false, slot.entry.last_seen, self.seq);
            self.host_order.insert(slot.order, key);
            RegistryEvent::HostStale(slot.entry.clone())
        } else {
            let union = union_of(&slot.links);
            if union == slot.entry.addrs {
                return;
            }
            slot.entry.addrs = union;
            RegistryEvent::HostUp(slot.entry.clone())
        };
        self.publish(event);
    }
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
        None if items.len() < MAX_PER_ENTRY => items.push(new),
        None => {}
    }
}

fn union_of(links: &[(Link, Vec<IpAddr>)]) -> Vec<IpAddr> {
    let mut all: Vec<IpAddr> = links.iter().flat_map(|(_, a)| a.iter().copied()).collect();
    all.sort_unstable();
    all.dedup();
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
        ServiceInstance {
            instance: instance.into(),
            service_type: ServiceType::parse("_http._tcp").unwrap(),
            host: "stone.local".into(),
            port,
            addrs: vec![IpAddr::V4(Ipv4Addr::new(192, 168, 1, 50))],
            txt: Vec::new(),
            scope: 2,
        }
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
                RegistryEvent::Updated(e) if e.service.port == 8080 => "updated",
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
        r.apply(
            200,
            &BrowseEvent::Found(ServiceInstance {
                scope: 3,
                ..svc("web", 80)
            }),
        );
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
        assert_eq!(r.order.len(), DEFAULT_CAPACITY);
        assert_eq!(r.hosts().count(), DEFAULT_CAPACITY);
        assert_eq!(r.host_order.len(), DEFAULT_CAPACITY);
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
        assert_eq!((h.addrs.clone(), h.last_seen, h.stale), (vec![a6], 3, true));
    }
}
