//! The mDNS responder (RFC 6762 §6–§11, RFC 6763 §12): publishes koi's host name and the
//! services registered with it, answers queries for them and defends their names.
//!
//! [`Responder`] is a pure state machine in the quinn-proto style: the shell hands it links,
//! registrations, parsed packets (already through [`Ingress`](super::ingress::Ingress)) and the
//! time, and drains datagrams, events and the next deadline after every call. It owns the
//! names it publishes, each name's phase on each link (probing, announcing, announced), the
//! answers waiting on each link, and when each record was last multicast there.
//!
//! It never reads a clock or touches a socket; never answers for a name still probing on that
//! link; never multicasts a record on a link twice within a second (250 ms for probe defence;
//! announcements skip records sent less than a second ago; goodbyes are exempt); never sends
//! to a port other than 5353 except a legacy reply to the one querier that asked; never builds
//! a datagram over [`MAX_DATAGRAM`](super::MAX_DATAGRAM). Work and memory per packet are
//! bounded by the packet and by what we publish (at most [`MAX_SERVICES`] services).
//!
//! Choices: three announcements at 0, 1 and 2 s; SRV and the host NSEC use the host TTL
//! (120 s, RFC 6762 §10), every other record 4500 s; a link carries only its own family's
//! addresses, while the host NSEC lists the families of the whole interface. A spec's `addrs`
//! belong to its own `host` (proxy registrations); with no host of its own (ours) they are
//! ignored, since our host's addresses are each link's own.
//!
//! Reverse-mapping PTRs are published but never probed or defended: another responder on the
//! link claiming one (a second mDNS stack on this host, such as avahi, names our address
//! after its own host) makes us stop publishing it there, so neither side ever renames.
//!
//! Not supported: subtypes (`_sub`), probing or defending reverse-mapping names and a spec's
//! custom host name (published, never renamed), the other-family additionals of §6.2, and
//! §7.2 multi-packet known answers beyond delaying TC queries 400–500 ms and letting
//! question-less known-answer packets suppress pending answers.

mod answer;
mod conflict;
mod lookup;
mod owners;
mod packet;
mod probe;
mod records;
mod services;
mod state;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use koi_wire::dns::{Message, Name, Opcode, Rcode, Record};

use crate::base::Prng;
use crate::mdns::{Link, LinkInfo, Received, ServiceSpec, Transmit};

pub use state::{RegisterError, ResponderEvent, ServiceKey, ServiceState, ServiceStatus};

use conflict::ConflictWindow;
use probe::Phase;
use records::ServiceNames;

/// Most services one responder publishes.
pub const MAX_SERVICES: usize = 1024;
/// Largest TXT data of one service (strings with their length bytes), so its records always
/// fit a datagram.
pub const MAX_TXT_LEN: usize = 1300;
/// Events kept when the shell does not drain them.
const MAX_EVENTS: usize = 256;

/// One link and what the responder keeps for it.
#[derive(Clone, Debug)]
struct LinkState {
    info: LinkInfo,
    /// When each of our records was last multicast here (§6 rate limit, §5.4 QU choice).
    last_multicast: HashMap<u64, Instant>,
    /// Multicast answers waiting for their delay, at most one entry per record.
    pending: Vec<answer::Pending>,
    /// Unicast replies waiting for their delay (bounded).
    replies: Vec<answer::Reply>,
    /// When `last_multicast` is next pruned of entries too old to matter.
    next_prune: Instant,
    /// Our reverse-mapping names that another responder claims here; no longer published
    /// here (at most one per address of the link, see [`Responder::yield_reverse_names`]).
    yielded: Vec<Name>,
}

/// Our host name and its phase per link.
#[derive(Clone, Debug)]
struct Host {
    name: String,
    fqdn: Name,
    phases: Vec<(Link, Phase)>,
}

/// A registered service.
#[derive(Clone, Debug)]
struct Service {
    key: ServiceKey,
    /// As registered; `spec.instance` is the original name.
    spec: ServiceSpec,
    /// The current instance name (after renames).
    instance: String,
    renamed_from: Option<String>,
    names: ServiceNames,
    phases: Vec<(Link, Phase)>,
    /// Whether `Announced` was reported since the last (re)probe started.
    reported: bool,
}

/// Who owns a unique name: the host or one service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Owner {
    Host,
    Service(ServiceKey),
}

/// The responder state machine; see the module docs. `Clone` snapshots it (tests, fuzzing).
#[derive(Clone, Debug)]
pub struct Responder {
    host: Host,
    services: Vec<Service>,
    links: Vec<LinkState>,
    prng: Prng,
    conflicts: ConflictWindow,
    transmits: VecDeque<Transmit>,
    events: VecDeque<ResponderEvent>,
    next_key: u64,
    shut_down: bool,
}

impl Responder {
    /// A responder for `host` (without `.local`; cut to 63 bytes, `koi` if empty).
    pub fn new(host: &str, prng: Prng) -> Responder {
        let name = sanitize_host(host);
        let fqdn = records::host_fqdn(&name).unwrap_or_default();
        Responder {
            host: Host {
                name,
                fqdn,
                phases: Vec::new(),
            },
            services: Vec::new(),
            links: Vec::new(),
            prng,
            conflicts: ConflictWindow::default(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            next_key: 1,
            shut_down: false,
        }
    }

    /// Our current host name, without `.local`.
    pub fn host_name(&self) -> &str {
        &self.host.name
    }

    /// Handles one received, ingress-filtered message. Packets the ingress filter marked as our
    /// own are best not passed; if they are, they are harmless.
    pub fn handle(&mut self, now: Instant, rx: &Received<'_>, msg: &Message) {
        if self.shut_down {
            return;
        }
        let Some(li) = self.link_index(rx.link) else {
            return;
        };
        // §18.3, §18.11: other opcodes and non-zero RCODEs are silently ignored.
        if msg.header.opcode() != Opcode::QUERY || msg.header.rcode() != Rcode::NOERROR {
            return;
        }
        if !rx.is_legacy() {
            self.yield_reverse_names(li, msg);
        }
        if msg.header.qr() {
            self.handle_response(now, li, rx, msg);
        } else {
            self.handle_query(now, li, rx, msg);
        }
        self.flush(now);
    }

    /// Runs whatever is due: probes, announcements, delayed answers.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.shut_down {
            return;
        }
        for li in 0..self.links.len() {
            self.run_probes(now, li);
            self.run_announcements(now, li);
        }
        self.flush(now);
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event for the shell.
    pub fn poll_event(&mut self) -> Option<ResponderEvent> {
        self.events.pop_front()
    }

    /// When [`Responder::handle_timeout`] must run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.shut_down {
            return None;
        }
        let phases = self
            .host
            .phases
            .iter()
            .chain(self.services.iter().flat_map(|s| &s.phases))
            .filter_map(|(_, p)| p.deadline());
        let answers = self.links.iter().flat_map(|l| {
            let pending = l.pending.iter().map(|p| p.due);
            pending.chain(l.replies.iter().map(|r| r.due))
        });
        phases.chain(answers).min()
    }

    /// Sends goodbyes (TTL 0) for everything announced, on every link, and goes quiet.
    pub fn shutdown(&mut self, now: Instant) {
        if self.shut_down {
            return;
        }
        let _ = now;
        for li in 0..self.links.len() {
            let mut all = Vec::new();
            for (owner, phase) in self.phases_on(li) {
                if phase.is_live() {
                    all.extend(self.owner_records(owner, li));
                }
            }
            self.goodbye(li, records::dedup(all));
        }
        for l in &mut self.links {
            l.pending.clear();
            l.replies.clear();
        }
        self.shut_down = true;
    }

    fn push_event(&mut self, event: ResponderEvent) {
        if self.events.len() >= MAX_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }

    fn link_index(&self, link: Link) -> Option<usize> {
        self.links.iter().position(|l| l.info.link == link)
    }

    /// Multicasts `records` with TTL 0 on link `li` and forgets them there.
    fn goodbye(&mut self, li: usize, records: Vec<Record>) {
        let Some(link) = self.links.get_mut(li) else {
            return;
        };
        let byes: Vec<Record> = records
            .into_iter()
            .map(|mut r| {
                r.ttl = 0;
                r
            })
            .collect();
        answer::forget(link, &byes);
        let dest = crate::mdns::Destination::Multicast(link.info.link);
        packet::response(dest, &byes, &[], &mut self.transmits);
    }

    /// A random delay in `lo..=hi` milliseconds.
    fn jitter(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(self.prng.range(lo, hi))
    }
}

/// Cuts a host label to 63 bytes on a character boundary; `koi` if nothing is left.
fn sanitize_host(host: &str) -> String {
    let host = host.trim_end_matches('.');
    let host = host.strip_suffix(".local").unwrap_or(host);
    let mut cut = host.len().min(63);
    while cut > 0 && !host.is_char_boundary(cut) {
        cut -= 1;
    }
    match host.get(..cut) {
        Some(h) if !h.is_empty() => h.to_string(),
        _ => "koi".to_string(),
    }
}
