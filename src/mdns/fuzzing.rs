//! Fuzz and regression entry points for the mDNS state machines; not a stable API.
//!
//! [`Harness`] is the shell's pipeline without sockets: the ingress filter, [`Message::parse`],
//! a real [`Responder`] (fixed seed, host `stone-05`, one service) and a real [`Browser`]
//! (browsing every type and `_http._tcp`) feeding a real [`Registry`], routed exactly as
//! `service.rs` routes them, on one
//! interface with two links (`10.0.0.5/24` and `fe80::5`). It keeps the time itself: every
//! call says how far it advances it, and returns what was sent meanwhile.
//!
//! [`mdns_packet`] feeds hostile bytes (and a few mutations of them) to such a pipeline while
//! the responder is probing and after it has announced, from on-link, off-link, link-local and
//! legacy sources. Both panic only when an invariant breaks: a datagram over
//! [`MAX_DATAGRAM`], a unicast to a port other than 5353 that is not a reply to a legacy query
//! from exactly that address, a browser datagram that is not multicast, a browser cache over
//! its record cap, or an off-link packet that gets past the ingress filter.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use koi_wire::dns::{DecodeError, Header, Message, MAX_MESSAGE_LEN};

use super::browser::{Browser, CacheLimits};
use super::ingress::{DropReason, Ingress, Verdict};
use super::registry::Registry;
use super::responder::{Responder, ResponderEvent};
use super::{
    Destination, Family, IfAddr, Link, LinkInfo, Received, ServiceSpec, ServiceType, Transmit,
    MAX_DATAGRAM, MDNS_PORT,
};
use crate::base::Prng;

/// The harness's IPv4 link (eth0).
pub const ETH0: Link = Link {
    ifindex: 2,
    family: Family::V4,
};
/// The harness's IPv6 link (eth0).
pub const ETH0_V6: Link = Link {
    ifindex: 2,
    family: Family::V6,
};
/// The harness host's IPv4 address (in `10.0.0.0/24`).
pub const ADDR_V4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 5);
/// The harness host's IPv6 link-local address.
pub const ADDR_V6: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 5);
/// The harness host's name, without `.local`.
pub const HOST: &str = "stone-05";
/// How far [`Harness::feed`] advances the time: past every answer delay (TC: 500 ms).
pub const STEP: Duration = Duration::from_millis(600);
/// Responder and browser events kept for inspection; older ones are dropped.
const MAX_KEPT_EVENTS: usize = 1024;

/// What the pipeline did with one datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The ingress filter dropped it.
    Dropped(DropReason),
    /// It passed the filter but is not a DNS message.
    Malformed(DecodeError),
    /// The responder and/or browser saw it; `own` if the filter recognised it as ours.
    Handled {
        /// Recognised as our own datagram.
        own: bool,
    },
}

/// The mDNS pipeline without sockets; see the module docs.
pub struct Harness {
    core: Core,
    browser: Browser,
    /// Fed with the browser's events, as the agent's is.
    registry: Registry,
    limits: CacheLimits,
    outcome: Option<Outcome>,
    sent: Vec<Transmit>,
    events: Vec<ResponderEvent>,
    found: usize,
}

/// The cloneable part of the pipeline (the browser is rebuilt per fuzz input).
#[derive(Clone)]
struct Core {
    r: Responder,
    ingress: Ingress,
    links: Vec<LinkInfo>,
    t0: Instant,
    now: Instant,
    /// Sources of legacy queries seen so far: the only non-5353 ports we may send to.
    legacy: Vec<SocketAddr>,
}

impl Default for Harness {
    fn default() -> Harness {
        Harness::new()
    }
}

impl Harness {
    /// A pipeline at time zero: `grafana._http._tcp` registered, browsing started, no timer
    /// run yet (so nothing sent).
    pub fn new() -> Harness {
        Harness::from_core(Core::new())
    }

    /// A pipeline that has probed and announced (8 s of timers run, what was sent discarded).
    pub fn settled() -> Harness {
        let mut h = Harness::new();
        h.run(Duration::from_secs(8));
        h
    }

    fn from_core(core: Core) -> Harness {
        let limits = CacheLimits::default();
        let mut browser = Browser::new(Prng::new(0xb0b), limits);
        browser.set_links(core.now, &core.links);
        browser.browse_all(core.now);
        if let Ok(ty) = ServiceType::parse("_http._tcp") {
            browser.browse(core.now, ty);
        }
        let mut h = Harness {
            core,
            browser,
            registry: Registry::default(),
            limits,
            outcome: None,
            sent: Vec::new(),
            events: Vec::new(),
            found: 0,
        };
        h.drain();
        h
    }

    /// Delivers `bytes` from `src` to `dst` (the group or our address) on eth0 in `src`'s
    /// family, runs the timers for [`STEP`], and returns everything sent meanwhile.
    pub fn feed(&mut self, src: SocketAddr, dst: IpAddr, bytes: &[u8]) -> Vec<Transmit> {
        self.deliver(src, dst, bytes);
        self.run(STEP)
    }

    /// Delivers `bytes` without advancing the time; what is sent at once is kept for the
    /// next [`Harness::run`] or [`Harness::feed`].
    pub fn deliver(&mut self, src: SocketAddr, dst: IpAddr, bytes: &[u8]) -> Outcome {
        let link = match src {
            SocketAddr::V4(_) => ETH0,
            SocketAddr::V6(_) => ETH0_V6,
        };
        let rx = Received {
            link,
            src,
            dst,
            bytes,
        };
        let outcome = self.route(&rx);
        self.outcome = Some(outcome);
        self.drain();
        outcome
    }

    /// Runs the timers for `d` and returns everything sent since the last call that
    /// returned datagrams.
    pub fn run(&mut self, d: Duration) -> Vec<Transmit> {
        let end = self.core.now + d;
        let mut steps = 0;
        while let Some(t) = self.next_deadline().filter(|t| *t <= end) {
            self.core.now = self.core.now.max(t);
            self.core.r.handle_timeout(self.core.now);
            self.browser.handle_timeout(self.core.now);
            self.drain();
            steps += 1;
            assert!(steps < 100_000, "timer loop does not advance");
        }
        self.core.now = end;
        std::mem::take(&mut self.sent)
    }

    /// What happened to the last datagram delivered.
    pub fn last_outcome(&self) -> Option<Outcome> {
        self.outcome
    }

    /// The responder's events so far (the last [`MAX_KEPT_EVENTS`]).
    pub fn responder_events(&self) -> &[ResponderEvent] {
        &self.events
    }

    /// Renames (of a service or of the host) so far.
    pub fn renames(&self) -> usize {
        self.events
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    ResponderEvent::Renamed { .. } | ResponderEvent::HostRenamed { .. }
                )
            })
            .count()
    }

    /// The responder's current host name (it changes only on a conflict).
    pub fn host_name(&self) -> &str {
        self.core.r.host_name()
    }

    /// The registry the browser's events feed.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Records in the browser's cache.
    pub fn cache_len(&self) -> usize {
        self.browser.cache_len()
    }

    /// The most records the browser's cache may hold.
    pub fn cache_cap(&self) -> usize {
        self.limits.max_records
    }

    /// Instances the browser currently reports resolved.
    pub fn services_resolved(&self) -> usize {
        self.browser.services().len()
    }

    /// `Found` events the browser has reported so far.
    pub fn found(&self) -> usize {
        self.found
    }

    /// Time since the harness was built.
    pub fn elapsed(&self) -> Duration {
        self.core.now - self.core.t0
    }

    /// Ends as the shell does on shutdown: goodbyes, returned.
    pub fn shutdown(&mut self) -> Vec<Transmit> {
        self.core.r.shutdown(self.core.now);
        self.drain();
        std::mem::take(&mut self.sent)
    }

    fn next_deadline(&self) -> Option<Instant> {
        match (self.core.r.poll_timeout(), self.browser.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The shell's routing (`service.rs`, `on_datagram`), minus the reflector.
    fn route(&mut self, rx: &Received<'_>) -> Outcome {
        let now = self.core.now;
        let own = match self.core.ingress.check(now, rx, &self.core.links) {
            Verdict::Drop(reason) => return Outcome::Dropped(reason),
            Verdict::Accept { own } => own,
        };
        let off_link = !self.core.links.iter().any(|l| l.is_on_link(rx.src.ip()));
        assert!(!off_link, "off-link packet from {} accepted", rx.src);
        let msg = match Message::parse(rx.bytes) {
            Ok(msg) => msg,
            Err(e) => return Outcome::Malformed(e),
        };
        let response = msg.header.qr();
        if rx.is_legacy() && !response && !self.core.legacy.contains(&rx.src) {
            self.core.legacy.push(rx.src);
        }
        if !(own && response) {
            self.core.r.handle(now, rx, &msg);
        }
        if !own || response {
            self.browser.handle(now, rx, &msg);
        }
        Outcome::Handled { own }
    }

    /// Takes everything the responder and browser produced, checking the invariants.
    fn drain(&mut self) {
        let now = self.core.now;
        while let Some(t) = self.core.r.poll_transmit() {
            self.core.check(&t);
            self.core.ingress.note_sent(now, &t);
            self.sent.push(t);
        }
        while let Some(t) = self.browser.poll_transmit() {
            self.core.check(&t);
            assert!(
                matches!(t.dest, Destination::Multicast(_)),
                "browser sent {:?}",
                t.dest
            );
            self.core.ingress.note_sent(now, &t);
            self.sent.push(t);
        }
        while let Some(e) = self.core.r.poll_event() {
            if self.events.len() >= MAX_KEPT_EVENTS {
                self.events.remove(0);
            }
            self.events.push(e);
        }
        let wall = self
            .core
            .now
            .saturating_duration_since(self.core.t0)
            .as_secs();
        while let Some(e) = self.browser.poll_event() {
            if matches!(e, super::browser::BrowseEvent::Found(_)) {
                self.found += 1;
            }
            self.registry.apply(wall, &e);
        }
        assert!(
            self.browser.cache_len() <= self.limits.max_records,
            "cache holds {} records",
            self.browser.cache_len()
        );
    }
}

impl Core {
    fn new() -> Core {
        let t0 = Instant::now();
        let links = vec![
            LinkInfo {
                link: ETH0,
                name: "eth0".into(),
                addrs: vec![IfAddr {
                    addr: IpAddr::V4(ADDR_V4),
                    prefix_len: 24,
                }],
            },
            LinkInfo {
                link: ETH0_V6,
                name: "eth0".into(),
                addrs: vec![IfAddr {
                    addr: IpAddr::V6(ADDR_V6),
                    prefix_len: 64,
                }],
            },
        ];
        let mut r = Responder::new(HOST, Prng::new(0x5eed));
        r.set_links(t0, &links);
        if let Ok(service_type) = ServiceType::parse("_http._tcp") {
            let spec = ServiceSpec {
                instance: "grafana".into(),
                service_type,
                port: 3000,
                txt: vec![b"path=/".to_vec()],
                host: None,
                addrs: Vec::new(),
            };
            let registered = r.register(t0, spec);
            assert!(registered.is_ok(), "register: {registered:?}");
        }
        Core {
            r,
            ingress: Ingress::new(),
            links,
            t0,
            now: t0,
            legacy: Vec::new(),
        }
    }

    /// The per-datagram invariants.
    fn check(&self, t: &Transmit) {
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
    }
}

/// Feeds `data` (and a few mutations of it) to a pipeline that is probing, then to one that
/// has announced; see the module docs for what is checked.
pub fn mdns_packet(data: &[u8]) {
    let templates = templates();
    // While probing: reaches the tiebreak and the rename paths.
    let mut h = Harness::from_core(templates.probing.clone());
    feed_all_sources(&mut h, data);
    h.run(Duration::from_secs(1));
    // Announced: answering, known answers, conflicts after announcing; the browser caching,
    // resolving and expiring.
    let mut h = Harness::from_core(templates.settled.clone());
    h.run(Duration::from_millis(200));
    feed_all_sources(&mut h, data);
    for variant in variants(data) {
        feed_all_sources(&mut h, &variant);
    }
    h.run(Duration::from_secs(2));
    h.shutdown();
}

/// Delivers `bytes` from each kind of source, with timers in between.
fn feed_all_sources(h: &mut Harness, bytes: &[u8]) {
    let sources: [(SocketAddr, IpAddr); 5] = [
        ((Ipv4Addr::new(10, 0, 0, 9), 5353).into(), MDNS_V4_IP),
        (
            (Ipv4Addr::new(10, 0, 0, 9), 40000).into(),
            IpAddr::V4(ADDR_V4),
        ),
        ((Ipv4Addr::new(10, 0, 0, 9), 40001).into(), MDNS_V4_IP),
        (
            (Ipv4Addr::new(192, 168, 99, 9), 5353).into(),
            IpAddr::V4(ADDR_V4),
        ),
        (
            (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 9), 5353).into(),
            IpAddr::V6(super::MDNS_V6),
        ),
    ];
    for (src, dst) in sources {
        h.deliver(src, dst, bytes);
        h.run(Duration::from_millis(150));
    }
}

const MDNS_V4_IP: IpAddr = IpAddr::V4(super::MDNS_V4);

/// A responder 300 ms into probing, and one that has announced: built once, cloned per input
/// (building them is most of the work of a run).
struct Templates {
    probing: Core,
    settled: Core,
}

fn templates() -> &'static Templates {
    static TEMPLATES: OnceLock<Templates> = OnceLock::new();
    TEMPLATES.get_or_init(|| {
        let mut h = Harness::new();
        h.run(Duration::from_millis(300));
        let probing = h.core.clone();
        h.run(Duration::from_secs(6));
        Templates {
            probing,
            settled: h.core,
        }
    })
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

    #[test]
    fn harness_is_deterministic_and_settles() {
        let mut a = Harness::new();
        let mut b = Harness::new();
        let sa = a.run(Duration::from_secs(8));
        let sb = b.run(Duration::from_secs(8));
        assert_eq!(sa, sb);
        assert!(sa.len() >= 6, "probes and announcements: {}", sa.len());
        assert!(a.responder_events().iter().any(|e| matches!(
            e,
            ResponderEvent::Announced { instance } if instance == "grafana"
        )));
        assert_eq!(a.renames(), 0);
    }
}
