//! Responder tests on a simulated clock (a base `Instant` plus offsets, never sleeping) and a
//! fixed PRNG seed. Packets are built with the codec, encoded and parsed back; everything
//! sent is parsed again and checked against the datagram cap.

mod answering;
mod conflicts;
mod hostile;
mod lifecycle;
mod probing;
mod unicast;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use koi_wire::dns::{Class, Header, Message, Name, Question, RData, Record, RecordType};

use super::{Responder, ResponderEvent};
use crate::base::Prng;
use crate::mdns::{
    Destination, Family, IfAddr, Link, LinkInfo, Received, ServiceSpec, ServiceType, MAX_DATAGRAM,
    MDNS_PORT,
};

/// eth0, IPv4: 10.0.0.5/24.
pub(super) const L4: Link = Link {
    ifindex: 2,
    family: Family::V4,
};
/// eth0, IPv6: fe80::5, 2001:db8::5.
pub(super) const L6: Link = Link {
    ifindex: 2,
    family: Family::V6,
};
/// eth1, IPv4 only: 192.168.7.5/24.
pub(super) const M4: Link = Link {
    ifindex: 3,
    family: Family::V4,
};

fn ifaddr(a: &str, prefix_len: u8) -> IfAddr {
    IfAddr {
        addr: a.parse().unwrap(),
        prefix_len,
    }
}

pub(super) fn links() -> Vec<LinkInfo> {
    vec![
        LinkInfo {
            link: L4,
            name: "eth0".into(),
            addrs: vec![ifaddr("10.0.0.5", 24)],
        },
        LinkInfo {
            link: L6,
            name: "eth0".into(),
            addrs: vec![ifaddr("fe80::5", 64), ifaddr("2001:db8::5", 64)],
        },
        LinkInfo {
            link: M4,
            name: "eth1".into(),
            addrs: vec![ifaddr("192.168.7.5", 24)],
        },
    ]
}

pub(super) fn name(s: &str) -> Name {
    Name::from_dotted(s).unwrap()
}

pub(super) fn http() -> ServiceType {
    ServiceType::parse("_http._tcp").unwrap()
}

pub(super) fn spec(instance: &str) -> ServiceSpec {
    ServiceSpec {
        instance: instance.into(),
        service_type: http(),
        port: 3000,
        txt: vec![b"path=/".to_vec()],
        host: None,
        addrs: Vec::new(),
    }
}

pub(super) fn question(n: &str, t: RecordType, qu: bool) -> Question {
    let mut q = Question::new(name(n), t, Class::IN);
    q.set_unicast_response(qu);
    q
}

pub(super) fn rr(n: &str, ttl: u32, data: RData) -> Record {
    let t = data.rtype().unwrap();
    Record::new(name(n), t, Class::IN, ttl, data)
}

pub(super) fn srv(n: &str, port: u16, target: &str) -> Record {
    rr(
        n,
        120,
        RData::Srv {
            priority: 0,
            weight: 0,
            port,
            target: name(target),
        },
    )
}

pub(super) fn response(answers: Vec<Record>) -> Message {
    Message {
        header: Header {
            id: 0,
            flags: Header::QR | Header::AA,
        },
        answers,
        ..Message::default()
    }
}

pub(super) fn query(questions: Vec<Question>, known: Vec<Record>) -> Message {
    Message {
        questions,
        answers: known,
        ..Message::default()
    }
}

/// A datagram the responder sent, parsed back.
#[derive(Debug)]
pub(super) struct Sent {
    /// Time since the simulation began.
    pub(super) at: Duration,
    pub(super) dest: Destination,
    pub(super) msg: Message,
}

impl Sent {
    pub(super) fn is_multicast_on(&self, link: Link) -> bool {
        self.dest == Destination::Multicast(link)
    }

    pub(super) fn is_probe(&self) -> bool {
        !self.msg.header.qr() && !self.msg.authorities.is_empty()
    }

    /// Whether any answer has name `n` and type `t`.
    pub(super) fn answers(&self, n: &str, t: RecordType) -> bool {
        self.msg
            .answers
            .iter()
            .any(|r| r.name == name(n) && r.rtype == t)
    }
}

/// A responder driven by a simulated clock.
pub(super) struct Sim {
    pub(super) r: Responder,
    pub(super) t0: Instant,
    pub(super) now: Instant,
    pub(super) sent: Vec<Sent>,
    pub(super) events: Vec<ResponderEvent>,
}

impl Sim {
    /// `stone-05` on the three test links, nothing registered.
    pub(super) fn new() -> Sim {
        let t0 = Instant::now();
        let mut sim = Sim {
            r: Responder::new("stone-05", Prng::new(0x5eed)),
            t0,
            now: t0,
            sent: Vec::new(),
            events: Vec::new(),
        };
        sim.r.set_links(t0, &links());
        sim.drain();
        sim
    }

    /// Host settled, then `grafana` registered and settled; the log is cleared.
    pub(super) fn settled() -> Sim {
        let mut sim = Sim::new();
        sim.advance(Duration::from_secs(5));
        sim.register("grafana");
        sim.advance(Duration::from_secs(5));
        sim.clear();
        sim
    }

    pub(super) fn register(&mut self, instance: &str) {
        self.r.register(self.now, spec(instance)).unwrap();
        self.drain();
    }

    pub(super) fn clear(&mut self) {
        self.sent.clear();
        self.events.clear();
    }

    pub(super) fn elapsed(&self) -> Duration {
        self.now - self.t0
    }

    /// Runs the timers up to `now + d`, exactly when they fall due.
    pub(super) fn advance(&mut self, d: Duration) {
        let end = self.now + d;
        while let Some(t) = self.r.poll_timeout().filter(|t| *t <= end) {
            self.now = self.now.max(t);
            self.r.handle_timeout(self.now);
            self.drain();
        }
        self.now = end;
    }

    /// Collects transmits and events, checking every datagram.
    pub(super) fn drain(&mut self) {
        while let Some(t) = self.r.poll_transmit() {
            assert!(t.bytes.len() <= MAX_DATAGRAM, "oversized datagram");
            if let Destination::Unicast { to, .. } = t.dest {
                assert!(
                    to.port() == MDNS_PORT || self.legacy_ok(to),
                    "unicast to {to}"
                );
            }
            let msg = Message::parse(&t.bytes).unwrap();
            self.sent.push(Sent {
                at: self.now - self.t0,
                dest: t.dest,
                msg,
            });
        }
        while let Some(e) = self.r.poll_event() {
            self.events.push(e);
        }
    }

    /// Tests use 40000 as the only legacy port.
    fn legacy_ok(&self, to: SocketAddr) -> bool {
        to.port() == 40000
    }

    /// Delivers `msg` (encoded and parsed again) on `link` from `src` to `dst`.
    pub(super) fn deliver(&mut self, link: Link, src: &str, dst: &str, msg: &Message) {
        let bytes = msg.encode(MAX_DATAGRAM * 4).unwrap();
        let parsed = Message::parse(&bytes).unwrap();
        let rx = Received {
            link,
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            bytes: &bytes,
        };
        self.r.handle(self.now, &rx, &parsed);
        self.drain();
    }

    /// A multicast query from an on-link peer on L4.
    pub(super) fn ask(&mut self, questions: Vec<Question>, known: Vec<Record>) {
        self.deliver(L4, "10.0.0.9:5353", "224.0.0.251", &query(questions, known));
    }

    /// Takes the log.
    pub(super) fn take(&mut self) -> Vec<Sent> {
        std::mem::take(&mut self.sent)
    }
}
