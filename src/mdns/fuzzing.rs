//! Fuzz entry points for the mDNS state machines; not a stable API.
//!
//! [`mdns_packet`] drives a real responder (fixed seed, two links, one service) with hostile
//! bytes from on-link, off-link, link-local and legacy sources, through the same path as the
//! shell: ingress filter, [`Message::parse`], [`Responder::handle`], timers. It panics only when
//! an invariant breaks: a datagram over [`MAX_DATAGRAM`], a unicast to a port other than 5353
//! that is not a reply to a legacy query from exactly that address, or an off-link packet
//! that gets past the ingress filter.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use koi_wire::dns::{Header, Message, MAX_MESSAGE_LEN};

use super::ingress::{Ingress, Verdict};
use super::responder::Responder;
use super::{
    Destination, Family, IfAddr, Link, LinkInfo, Received, ServiceSpec, ServiceType, MAX_DATAGRAM,
    MDNS_PORT,
};
use crate::base::Prng;

const ETH0: Link = Link {
    ifindex: 2,
    family: Family::V4,
};
const ETH0_V6: Link = Link {
    ifindex: 2,
    family: Family::V6,
};

/// Feeds `data` (and a few mutations of it) to a responder that is probing, then to one
/// that has announced; see the module docs for what is checked.
pub fn mdns_packet(data: &[u8]) {
    let Some(templates) = templates() else {
        return;
    };
    // While probing: reaches the tiebreak and the rename paths.
    let mut h = templates.probing.clone();
    h.feed(data);
    h.run(Duration::from_secs(1));
    // Announced: answering, known answers, conflicts after announcing.
    let mut h = templates.settled.clone();
    h.feed(data);
    for variant in variants(data) {
        h.feed(&variant);
    }
    h.run(Duration::from_secs(2));
    h.r.shutdown(h.now);
    h.drain();
}

/// A responder 300 ms into probing, and one that has announced: built once, cloned per input
/// (building them is most of the work of a run).
struct Templates {
    probing: Harness,
    settled: Harness,
}

fn templates() -> Option<&'static Templates> {
    static TEMPLATES: OnceLock<Option<Templates>> = OnceLock::new();
    TEMPLATES
        .get_or_init(|| {
            let mut h = Harness::new()?;
            h.run(Duration::from_millis(300));
            let probing = h.clone();
            h.run(Duration::from_secs(6));
            Some(Templates {
                probing,
                settled: h,
            })
        })
        .as_ref()
}

/// The packet as a response instead of a query and vice versa, and with every question QU.
fn variants(data: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    if let Ok(msg) = Message::parse(data) {
        let mut flipped = msg.clone();
        flipped.header.flags ^= Header::QR;
        let mut qu = msg;
        qu.questions
            .iter_mut()
            .for_each(|q| q.set_unicast_response(true));
        for m in [flipped, qu] {
            out.extend(m.encode(MAX_MESSAGE_LEN).ok());
        }
    }
    out
}

#[derive(Clone)]
struct Harness {
    r: Responder,
    ingress: Ingress,
    links: Vec<LinkInfo>,
    t0: Instant,
    now: Instant,
    /// Sources of legacy queries seen so far: the only non-5353 ports we may send to.
    legacy: Vec<SocketAddr>,
}

impl Harness {
    fn new() -> Option<Harness> {
        let t0 = Instant::now();
        let addr = |s: &str, prefix_len| -> Option<IfAddr> {
            Some(IfAddr {
                addr: s.parse().ok()?,
                prefix_len,
            })
        };
        let links = vec![
            LinkInfo {
                link: ETH0,
                name: "eth0".into(),
                addrs: vec![addr("10.0.0.5", 24)?],
            },
            LinkInfo {
                link: ETH0_V6,
                name: "eth0".into(),
                addrs: vec![addr("fe80::5", 64)?],
            },
        ];
        let mut r = Responder::new("stone-05", Prng::new(0x5eed));
        r.set_links(t0, &links);
        let spec = ServiceSpec {
            instance: "grafana".into(),
            service_type: ServiceType::parse("_http._tcp").ok()?,
            port: 3000,
            txt: vec![b"path=/".to_vec()],
            host: None,
            addrs: Vec::new(),
        };
        r.register(t0, spec).ok()?;
        let mut h = Harness {
            r,
            ingress: Ingress::new(),
            links,
            t0,
            now: t0,
            legacy: Vec::new(),
        };
        h.drain();
        Some(h)
    }

    /// Runs the timers for `d`.
    fn run(&mut self, d: Duration) {
        let end = self.now + d;
        let mut steps = 0;
        while let Some(t) = self.r.poll_timeout().filter(|t| *t <= end) {
            self.now = self.now.max(t);
            self.r.handle_timeout(self.now);
            self.drain();
            steps += 1;
            assert!(steps < 10_000, "timer loop does not advance");
        }
        self.now = end;
    }

    /// Delivers `bytes` from each kind of source, with timers in between.
    fn feed(&mut self, bytes: &[u8]) {
        let sources: [(Link, &str, &str, bool); 5] = [
            (ETH0, "10.0.0.9:5353", "224.0.0.251", true),
            (ETH0, "10.0.0.9:40000", "10.0.0.5", true),
            (ETH0, "10.0.0.9:40001", "224.0.0.251", true),
            (ETH0, "192.168.99.9:5353", "10.0.0.5", false),
            (ETH0_V6, "[fe80::9]:5353", "ff02::fb", true),
        ];
        for (link, src, dst, on_link) in sources {
            let (Ok(src), Ok(dst)) = (src.parse(), dst.parse()) else {
                continue;
            };
            let rx = Received {
                link,
                src,
                dst,
                bytes,
            };
            let verdict = self.ingress.check(self.now, &rx, &self.links);
            if !on_link {
                assert!(
                    matches!(verdict, Verdict::Drop(_)),
                    "off-link packet accepted"
                );
                continue;
            }
            if verdict != (Verdict::Accept { own: false }) {
                continue;
            }
            let Ok(msg) = Message::parse(bytes) else {
                continue;
            };
            if rx.is_legacy() && !msg.header.qr() {
                self.legacy.push(src);
            }
            self.r.handle(self.now, &rx, &msg);
            self.drain();
            self.run(Duration::from_millis(150));
        }
    }

    /// Takes everything sent, checking the invariants.
    fn drain(&mut self) {
        while let Some(t) = self.r.poll_transmit() {
            assert!(
                t.bytes.len() <= MAX_DATAGRAM,
                "datagram of {} bytes",
                t.bytes.len()
            );
            if let Destination::Unicast { to, .. } = t.dest {
                assert!(
                    to.port() == MDNS_PORT || self.legacy.contains(&to),
                    "unicast to {to} at {:?}",
                    self.now - self.t0
                );
            }
            self.ingress.note_sent(self.now, &t);
        }
        while self.r.poll_event().is_some() {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_corpus_parses_and_runs_clean() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus/mdns_packet");
        let mut n = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            assert!(Message::parse(&bytes).is_ok());
            mdns_packet(&bytes);
            n += 1;
        }
        assert!(n >= 10);
    }
}
