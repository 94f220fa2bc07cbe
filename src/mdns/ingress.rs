//! The ingress filter: what the responder and browser may see of a received datagram.
//!
//! Owns two decisions, made before anyone parses a packet for meaning. Whether to drop it:
//! unknown link, runt, nonsense source, or a source that is not on the link it arrived on
//! (RFC 6762 §11: inside one of the link's subnets, or IPv6 link-local); a query sent to our
//! unicast address from off-link is the avahi CVE-2017-6519 class and gets its own reason.
//! And whether it is our own: a datagram we sent in the last five seconds (by a 64-bit
//! FNV-1a hash of its bytes, at most 256 remembered) or one from our own address and port
//! 5353, so looped-back and reflected copies are never taken for another host.
//!
//! Pure: the shell passes the time and the current links; memory is a fixed-size ring.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::{LinkInfo, Received, Transmit, MDNS_PORT};

/// How long a sent datagram is remembered.
const REMEMBER: Duration = Duration::from_secs(5);
/// How many sent datagrams are remembered.
const MAX_SENT: usize = 256;
/// An mDNS header.
const HEADER_LEN: usize = 12;

/// Why a datagram was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// It arrived on a link we do not know (any more).
    UnknownLink,
    /// Shorter than a DNS header.
    Runt,
    /// Source port 0, or an unspecified, multicast or broadcast source address.
    BadSource,
    /// Multicast from a source outside the link's subnets (RFC 6762 §11).
    OffLink,
    /// Sent to our unicast address from outside the link's subnets: never answered.
    OffLinkUnicast,
}

/// What to do with a datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Ignore it.
    Drop(DropReason),
    /// Parse and handle it; `own` if we sent it (looped back, second interface, reflector).
    Accept {
        /// We sent this datagram, or it comes from one of our addresses on port 5353.
        own: bool,
    },
}

/// The filter and its memory of what we sent.
#[derive(Clone, Debug, Default)]
pub struct Ingress {
    sent: VecDeque<(Instant, u64)>,
}

impl Ingress {
    /// An empty filter.
    pub fn new() -> Ingress {
        Ingress::default()
    }

    /// Remembers a datagram we are sending.
    pub fn note_sent(&mut self, now: Instant, tx: &Transmit) {
        self.expire(now);
        if self.sent.len() >= MAX_SENT {
            self.sent.pop_front();
        }
        self.sent.push_back((now, fnv1a(&tx.bytes)));
    }

    /// Judges a received datagram against the current `links`.
    pub fn check(&mut self, now: Instant, rx: &Received<'_>, links: &[LinkInfo]) -> Verdict {
        self.expire(now);
        let Some(info) = links.iter().find(|l| l.link == rx.link) else {
            return Verdict::Drop(DropReason::UnknownLink);
        };
        if rx.bytes.len() < HEADER_LEN {
            return Verdict::Drop(DropReason::Runt);
        }
        let ip = rx.src.ip();
        let broadcast = matches!(ip, IpAddr::V4(v4) if v4.is_broadcast());
        if rx.src.port() == 0 || ip.is_unspecified() || ip.is_multicast() || broadcast {
            return Verdict::Drop(DropReason::BadSource);
        }
        if !info.is_on_link(ip) {
            let reason = if rx.to_group() {
                DropReason::OffLink
            } else {
                DropReason::OffLinkUnicast
            };
            return Verdict::Drop(reason);
        }
        let hash = fnv1a(rx.bytes);
        let ours_by_hash = self.sent.iter().any(|(_, h)| *h == hash);
        let ours_by_addr =
            rx.src.port() == MDNS_PORT && links.iter().any(|l| l.ips().any(|a| a == ip));
        Verdict::Accept {
            own: ours_by_hash || ours_by_addr,
        }
    }

    fn expire(&mut self, now: Instant) {
        while let Some((at, _)) = self.sent.front() {
            if now.saturating_duration_since(*at) < REMEMBER {
                break;
            }
            self.sent.pop_front();
        }
    }
}

/// 64-bit FNV-1a.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;
    use crate::mdns::{Destination, Family, IfAddr, Link};

    const ETH0: Link = Link {
        ifindex: 2,
        family: Family::V4,
    };

    fn links() -> Vec<LinkInfo> {
        vec![LinkInfo {
            link: ETH0,
            name: "eth0".into(),
            addrs: vec![IfAddr {
                addr: "10.0.0.5".parse().unwrap(),
                prefix_len: 24,
            }],
        }]
    }

    fn rx<'a>(src: &str, dst: &str, bytes: &'a [u8]) -> Received<'a> {
        Received {
            link: ETH0,
            src: src.parse::<SocketAddr>().unwrap(),
            dst: dst.parse().unwrap(),
            bytes,
        }
    }

    const QUERY: [u8; 12] = [0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];

    #[test]
    fn off_link_query_is_ignored() {
        let mut ingress = Ingress::new();
        let now = Instant::now();
        let v = ingress.check(
            now,
            &rx("192.168.9.9:5353", "224.0.0.251", &QUERY),
            &links(),
        );
        assert_eq!(v, Verdict::Drop(DropReason::OffLink));
        let v = ingress.check(now, &rx("10.0.0.9:5353", "224.0.0.251", &QUERY), &links());
        assert_eq!(v, Verdict::Accept { own: false });
    }

    #[test]
    fn unicast_query_from_non_local_address_gets_no_reply() {
        let mut ingress = Ingress::new();
        let now = Instant::now();
        let v = ingress.check(now, &rx("8.8.8.8:40000", "10.0.0.5", &QUERY), &links());
        assert_eq!(v, Verdict::Drop(DropReason::OffLinkUnicast));
        let v = ingress.check(now, &rx("10.0.0.9:40000", "10.0.0.5", &QUERY), &links());
        assert_eq!(v, Verdict::Accept { own: false });
    }

    #[test]
    fn unknown_link_runt_and_bad_sources_are_dropped() {
        let mut ingress = Ingress::new();
        let now = Instant::now();
        let mut other = rx("10.0.0.9:5353", "224.0.0.251", &QUERY);
        other.link.ifindex = 9;
        assert_eq!(
            ingress.check(now, &other, &links()),
            Verdict::Drop(DropReason::UnknownLink)
        );
        let runt = rx("10.0.0.9:5353", "224.0.0.251", &[0; 11]);
        assert_eq!(
            ingress.check(now, &runt, &links()),
            Verdict::Drop(DropReason::Runt)
        );
        for src in [
            "10.0.0.9:0",
            "0.0.0.0:5353",
            "224.0.0.1:5353",
            "255.255.255.255:5353",
        ] {
            let v = ingress.check(now, &rx(src, "224.0.0.251", &QUERY), &links());
            assert_eq!(v, Verdict::Drop(DropReason::BadSource), "{src}");
        }
    }

    #[test]
    fn own_datagrams_are_recognised_for_five_seconds_and_by_address() {
        let mut ingress = Ingress::new();
        let t0 = Instant::now();
        let sent = Transmit {
            dest: Destination::Multicast(ETH0),
            bytes: vec![0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0, 7],
        };
        ingress.note_sent(t0, &sent);
        let back = rx("10.0.0.77:5353", "224.0.0.251", &sent.bytes);
        assert_eq!(
            ingress.check(t0 + Duration::from_secs(4), &back, &links()),
            Verdict::Accept { own: true }
        );
        assert_eq!(
            ingress.check(t0 + Duration::from_secs(6), &back, &links()),
            Verdict::Accept { own: false }
        );
        let from_us = rx("10.0.0.5:5353", "224.0.0.251", &QUERY);
        assert_eq!(
            ingress.check(t0, &from_us, &links()),
            Verdict::Accept { own: true }
        );
        let legacy_from_us = rx("10.0.0.5:41000", "224.0.0.251", &QUERY);
        assert_eq!(
            ingress.check(t0, &legacy_from_us, &links()),
            Verdict::Accept { own: false }
        );
    }

    #[test]
    fn memory_is_bounded() {
        let mut ingress = Ingress::new();
        let t0 = Instant::now();
        for i in 0..1000u32 {
            let tx = Transmit {
                dest: Destination::Multicast(ETH0),
                bytes: i.to_be_bytes().to_vec(),
            };
            ingress.note_sent(t0, &tx);
        }
        assert_eq!(ingress.sent.len(), MAX_SENT);
    }
}
