//! The opt-in reflector: repeats mDNS multicast between named interfaces
//! (`koi mdns reflect --between eth0,eth1`).
//!
//! It must never storm and never make anyone rename. So it forwards only multicast traffic from
//! port 5353 (never legacy or unicast queries), never to the interface a packet came from, only
//! between links of the same family, never a packet it already forwarded or saw within the
//! last few seconds (its own copies come back through multicast loopback and other reflectors),
//! and at most a bounded number of packets per second per origin link.

use super::types::{Destination, Link, LinkInfo, Received, Transmit, MDNS_PORT};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How long a forwarded or seen packet is remembered for duplicate suppression.
const DEDUP_WINDOW: Duration = Duration::from_secs(5);
/// Most packets remembered at once.
const DEDUP_CAP: usize = 1024;
/// Sustained packets per second forwarded from one origin link.
const RATE_PER_SEC: u32 = 100;
/// Burst allowance per origin link.
const BURST: u32 = 200;

/// Why a packet was not forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// The origin interface is not one of the reflected ones.
    NotReflected,
    /// Unicast, or not from port 5353.
    NotMulticastMdns,
    /// We sent it (or forwarded it) ourselves.
    Own,
    /// Seen within the dedup window.
    Duplicate,
    /// The origin link is over its rate.
    RateLimited,
}

#[derive(Debug, Clone)]
struct Bucket {
    link: Link,
    tokens: u32,
    refilled: Instant,
}

/// Reflector state.
#[derive(Debug)]
pub struct Reflector {
    names: Vec<String>,
    links: Vec<Link>,
    seen: VecDeque<(u64, Instant)>,
    buckets: Vec<Bucket>,
    forwarded: u64,
    skipped: u64,
}

impl Reflector {
    /// A reflector between the interfaces named in `between` (at least two).
    pub fn new(between: Vec<String>) -> Reflector {
        Reflector {
            names: between,
            links: Vec::new(),
            seen: VecDeque::new(),
            buckets: Vec::new(),
            forwarded: 0,
            skipped: 0,
        }
    }

    /// The interface names it reflects between.
    pub fn interfaces(&self) -> &[String] {
        &self.names
    }

    /// Packets forwarded and skipped so far.
    pub fn counters(&self) -> (u64, u64) {
        (self.forwarded, self.skipped)
    }

    /// Learns which links belong to the named interfaces.
    pub fn set_links(&mut self, links: &[LinkInfo]) {
        self.links = links
            .iter()
            .filter(|l| self.names.contains(&l.name))
            .map(|l| l.link)
            .collect();
        self.buckets.retain(|b| self.links.contains(&b.link));
    }

    /// Decides what to do with one received datagram: the copies to send, or why none.
    pub fn handle(
        &mut self,
        now: Instant,
        rx: &Received<'_>,
        own: bool,
    ) -> Result<Vec<Transmit>, Skip> {
        let result = self.decide(now, rx, own);
        match &result {
            Ok(out) => self.forwarded += out.len() as u64,
            Err(_) => self.skipped += 1,
        }
        result
    }

    fn decide(
        &mut self,
        now: Instant,
        rx: &Received<'_>,
        own: bool,
    ) -> Result<Vec<Transmit>, Skip> {
        if !self.links.contains(&rx.link) {
            return Err(Skip::NotReflected);
        }
        if !rx.to_group() || rx.src.port() != MDNS_PORT {
            return Err(Skip::NotMulticastMdns);
        }
        if own {
            return Err(Skip::Own);
        }
        self.forget_old(now);
        let hash = fnv1a(rx.bytes);
        if self.seen.iter().any(|(h, _)| *h == hash) {
            return Err(Skip::Duplicate);
        }
        if !self.take_token(now, rx.link) {
            return Err(Skip::RateLimited);
        }
        if self.seen.len() >= DEDUP_CAP {
            self.seen.pop_front();
        }
        self.seen.push_back((hash, now));
        Ok(self
            .links
            .iter()
            .filter(|l| **l != rx.link && l.family == rx.link.family)
            .map(|l| Transmit {
                dest: Destination::Multicast(*l),
                bytes: rx.bytes.to_vec(),
            })
            .collect())
    }

    fn forget_old(&mut self, now: Instant) {
        while let Some((_, t)) = self.seen.front() {
            if now.saturating_duration_since(*t) < DEDUP_WINDOW {
                break;
            }
            self.seen.pop_front();
        }
    }

    fn take_token(&mut self, now: Instant, link: Link) -> bool {
        let idx = match self.buckets.iter().position(|b| b.link == link) {
            Some(i) => i,
            None => {
                self.buckets.push(Bucket {
                    link,
                    tokens: BURST,
                    refilled: now,
                });
                self.buckets.len() - 1
            }
        };
        let Some(b) = self.buckets.get_mut(idx) else {
            return false;
        };
        let elapsed = now.saturating_duration_since(b.refilled);
        let refill = (elapsed.as_millis() as u64 * u64::from(RATE_PER_SEC) / 1000) as u32;
        if refill > 0 {
            b.tokens = b.tokens.saturating_add(refill).min(BURST);
            b.refilled = now;
        }
        if b.tokens == 0 {
            return false;
        }
        b.tokens -= 1;
        true
    }
}

/// 64-bit FNV-1a, for remembering datagrams cheaply.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mdns::types::{Family, IfAddr, MDNS_V4};
    use std::net::{IpAddr, SocketAddr};

    fn info(ifindex: u32, name: &str, family: Family) -> LinkInfo {
        let addr: IpAddr = match family {
            Family::V4 => format!("10.0.{ifindex}.1").parse().unwrap(),
            Family::V6 => "fe80::1".parse().unwrap(),
        };
        LinkInfo {
            link: Link { ifindex, family },
            name: name.into(),
            addrs: vec![IfAddr {
                addr,
                prefix_len: 24,
            }],
        }
    }

    fn rx<'a>(link: Link, bytes: &'a [u8], port: u16) -> Received<'a> {
        Received {
            link,
            src: SocketAddr::new(format!("10.0.{}.9", link.ifindex).parse().unwrap(), port),
            dst: IpAddr::V4(MDNS_V4),
            bytes,
        }
    }

    fn bed() -> (Reflector, Link, Link, Link) {
        let mut r = Reflector::new(vec!["eth0".into(), "eth1".into()]);
        let links = [
            info(2, "eth0", Family::V4),
            info(3, "eth1", Family::V4),
            info(4, "eth2", Family::V4),
            info(2, "eth0", Family::V6),
        ];
        r.set_links(&links);
        (r, links[0].link, links[1].link, links[2].link)
    }

    #[test]
    fn forwards_to_the_other_named_interface_only_never_back() {
        let (mut r, a, b, _) = bed();
        let now = Instant::now();
        let out = r.handle(now, &rx(a, b"packet-1", 5353), false).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].dest, Destination::Multicast(b));
        assert_eq!(out[0].bytes, b"packet-1");
    }

    #[test]
    fn its_own_copy_coming_back_is_dropped_so_nothing_loops() {
        let (mut r, a, b, _) = bed();
        let now = Instant::now();
        assert!(r.handle(now, &rx(a, b"announce", 5353), false).is_ok());
        // The copy it sent on eth1 is looped back to it (or arrives via another reflector).
        assert_eq!(
            r.handle(now, &rx(b, b"announce", 5353), false),
            Err(Skip::Duplicate)
        );
        assert_eq!(
            r.handle(now, &rx(b, b"announce", 5353), true),
            Err(Skip::Own)
        );
        // After the window the same bytes are new traffic again.
        let later = now + DEDUP_WINDOW + Duration::from_millis(1);
        assert!(r.handle(later, &rx(b, b"announce", 5353), false).is_ok());
    }

    #[test]
    fn unnamed_interfaces_legacy_and_unicast_traffic_are_not_reflected() {
        let (mut r, a, _, c) = bed();
        let now = Instant::now();
        assert_eq!(
            r.handle(now, &rx(c, b"x", 5353), false),
            Err(Skip::NotReflected)
        );
        assert_eq!(
            r.handle(now, &rx(a, b"legacy", 40000), false),
            Err(Skip::NotMulticastMdns)
        );
        let mut unicast = rx(a, b"direct", 5353);
        unicast.dst = "10.0.2.1".parse().unwrap();
        assert_eq!(r.handle(now, &unicast, false), Err(Skip::NotMulticastMdns));
    }

    #[test]
    fn a_flood_is_held_to_the_rate_and_cannot_storm() {
        let (mut r, a, _, _) = bed();
        let start = Instant::now();
        let mut sent = 0;
        for i in 0..10_000u32 {
            let now = start + Duration::from_micros(u64::from(i) * 100); // 10,000 packets/s for 1 s
            let bytes = i.to_be_bytes();
            if let Ok(out) = r.handle(now, &rx(a, &bytes, 5353), false) {
                sent += out.len();
            }
        }
        assert!(
            sent <= (BURST + RATE_PER_SEC) as usize + 1,
            "forwarded {sent} in one second"
        );
        assert!(sent >= RATE_PER_SEC as usize);
    }

    #[test]
    fn families_do_not_mix() {
        let mut r = Reflector::new(vec!["eth0".into(), "eth1".into()]);
        let links = [info(2, "eth0", Family::V6), info(3, "eth1", Family::V4)];
        r.set_links(&links);
        let mut p = rx(links[0].link, b"v6", 5353);
        p.dst = "ff02::fb".parse().unwrap();
        assert_eq!(r.handle(Instant::now(), &p, false).map(|v| v.len()), Ok(0));
    }

    #[test]
    fn dedup_memory_is_bounded() {
        let (mut r, a, _, _) = bed();
        let now = Instant::now();
        for i in 0..5_000u32 {
            let _ = r.handle(
                now + Duration::from_millis(u64::from(i) * 20),
                &rx(a, &i.to_be_bytes(), 5353),
                false,
            );
        }
        assert!(r.seen.len() <= DEDUP_CAP);
    }
}
