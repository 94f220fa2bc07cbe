//! Probing (RFC 6762 §8.1), the simultaneous-probe tiebreak (§8.2) and announcing (§8.3), per
//! name and per link.
//!
//! Owns each name's [`Phase`] on each link: three probes 250 ms apart after a random 0–250 ms
//! delay (5 s after fifteen conflicts in ten seconds), then three announcements one second
//! apart. Probes ask type ANY with the QU bit for every name due on the link and carry the
//! proposed records in the authority section; several names due together share a datagram.

use std::time::{Duration, Instant};

use koi_wire::dns::{Class, Message, Question, Record, RecordType};

use super::{packet, records, Owner, Responder, ResponderEvent, ServiceState};
use crate::mdns::Destination;

/// Probes per name (§8.1).
pub(super) const PROBES: u8 = 3;
/// Time between probes (§8.1).
pub(super) const PROBE_GAP: Duration = Duration::from_millis(250);
/// Unsolicited announcements per name (§8.3 asks for at least two).
pub(super) const ANNOUNCEMENTS: u8 = 3;
/// Time between announcements (§8.3).
pub(super) const ANNOUNCE_GAP: Duration = Duration::from_secs(1);
/// How long a tiebreak loser waits before probing again (§8.2).
const TIEBREAK_DEFER: Duration = Duration::from_secs(1);

/// Where one name stands on one link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    /// `sent` probes went out; the next step is due `at` (after the third: announcing).
    Probing { sent: u8, at: Instant },
    /// `sent` announcements went out; the next is due `at`.
    Announcing { sent: u8, at: Instant },
    /// Done announcing.
    Announced,
}

impl Phase {
    /// When this phase needs the timer next.
    pub(super) fn deadline(&self) -> Option<Instant> {
        match self {
            Phase::Probing { at, .. } | Phase::Announcing { at, .. } => Some(*at),
            Phase::Announced => None,
        }
    }

    /// Whether the name is ours on the link: answered, defended, said goodbye to.
    pub(super) fn is_live(&self) -> bool {
        !matches!(self, Phase::Probing { .. })
    }

    /// The public view of the phase.
    pub(super) fn state(&self) -> ServiceState {
        match self {
            Phase::Probing { .. } => ServiceState::Probing,
            Phase::Announcing { .. } => ServiceState::Announcing,
            Phase::Announced => ServiceState::Announced,
        }
    }
}

impl Responder {
    /// Every owner's phase on link `li`, in one pass over the services.
    pub(super) fn phases_on(&self, li: usize) -> Vec<(Owner, Phase)> {
        let Some(link) = self.links.get(li).map(|l| l.info.link) else {
            return Vec::new();
        };
        let services = self
            .services
            .iter()
            .map(|s| (Owner::Service(s.key), &s.phases));
        std::iter::once((Owner::Host, &self.host.phases))
            .chain(services)
            .filter_map(|(o, phases)| {
                let (_, p) = phases.iter().find(|(l, _)| *l == link)?;
                Some((o, *p))
            })
            .collect()
    }

    /// (Re)starts probing `owner` on link `li`, or on every link; `event` reports it (and
    /// re-arms the `Announced` event).
    pub(super) fn start_probing(
        &mut self,
        now: Instant,
        owner: Owner,
        li: Option<usize>,
        event: bool,
    ) {
        let targets: Vec<usize> = match li {
            Some(li) => vec![li],
            None => (0..self.links.len()).collect(),
        };
        for li in targets {
            let delay = self.conflicts.probe_delay(now, &mut self.prng);
            let phase = Phase::Probing {
                sent: 0,
                at: now + delay,
            };
            self.set_phase(owner, li, phase);
        }
        if let (Owner::Service(key), true) = (owner, event) {
            if let Some(s) = self.services.iter_mut().find(|s| s.key == key) {
                s.reported = false;
                let instance = s.instance.clone();
                self.push_event(ResponderEvent::Probing { instance });
            }
        }
    }

    /// The records `owner` proposes for its name in a probe's authority section.
    pub(super) fn proposed(&self, owner: Owner, li: usize) -> Vec<Record> {
        let Some(name) = self.owner_name(owner) else {
            return Vec::new();
        };
        let mut out = self.owner_records(owner, li);
        out.retain(|r| r.cache_flush() && r.rtype != RecordType::NSEC && r.name == *name);
        out.iter_mut().for_each(|r| r.set_cache_flush(false));
        out
    }

    /// Sends the probes due on link `li`, all names in one datagram; names that finished
    /// probing move on to announcing.
    pub(super) fn run_probes(&mut self, now: Instant, li: usize) {
        let Some(link) = self.links.get(li).map(|l| l.info.link) else {
            return;
        };
        let mut questions = Vec::new();
        let mut authorities = Vec::new();
        for (owner, phase) in self.phases_on(li) {
            let Phase::Probing { sent, at } = phase else {
                continue;
            };
            if at > now {
                continue;
            }
            if sent >= PROBES {
                self.set_phase(owner, li, Phase::Announcing { sent: 0, at: now });
                continue;
            }
            if let Some(name) = self.owner_name(owner) {
                let mut q = Question::new(name.clone(), RecordType::ANY, Class::IN);
                q.set_unicast_response(true);
                questions.push(q);
            }
            authorities.extend(self.proposed(owner, li));
            let next = Phase::Probing {
                sent: sent + 1,
                at: now + PROBE_GAP,
            };
            self.set_phase(owner, li, next);
        }
        if !questions.is_empty() {
            let dest = Destination::Multicast(link);
            if let Some(t) = packet::probe(dest, questions, authorities) {
                self.transmits.push_back(t);
            }
        }
    }

    /// Sends the announcements due on link `li`, all names together.
    pub(super) fn run_announcements(&mut self, now: Instant, li: usize) {
        let mut all = Vec::new();
        for (owner, phase) in self.phases_on(li) {
            let Phase::Announcing { sent, at } = phase else {
                continue;
            };
            if at > now {
                continue;
            }
            all.extend(self.owner_records(owner, li));
            let next = if sent + 1 >= ANNOUNCEMENTS {
                Phase::Announced
            } else {
                Phase::Announcing {
                    sent: sent + 1,
                    at: now + ANNOUNCE_GAP,
                }
            };
            self.set_phase(owner, li, next);
            if let Owner::Service(key) = owner {
                self.report_announced(key);
            }
        }
        if all.is_empty() {
            return;
        }
        let Some(link) = self.links.get_mut(li) else {
            return;
        };
        let mut all = records::dedup(all);
        all.retain(|r| !super::answer::multicast_within(link, r, now, ANNOUNCE_GAP));
        let dest = Destination::Multicast(link.info.link);
        packet::response(dest, &all, &[], &mut self.transmits);
        for r in &all {
            link.last_multicast.insert(records::fp(r), now);
        }
    }

    fn report_announced(&mut self, key: super::ServiceKey) {
        if let Some(s) = self.services.iter_mut().find(|s| s.key == key) {
            if !s.reported {
                s.reported = true;
                let instance = s.instance.clone();
                self.push_event(ResponderEvent::Announced { instance });
            }
        }
    }

    /// §8.2: a probe from someone else for a name we are probing on this link. The sets of
    /// authority records for the name are compared in canonical order; if ours is earlier we
    /// lose and probe again in a second. A set made only of our own records (on any link: our
    /// probe from another interface, or reflected) is not a rival.
    pub(super) fn tiebreak(&mut self, now: Instant, li: usize, msg: &Message) {
        for q in &msg.questions {
            let Some(owner) = self.probing_owner(&q.name, li) else {
                continue;
            };
            let theirs: Vec<&Record> = msg
                .authorities
                .iter()
                .filter(|r| !r.is_opt() && r.name == q.name)
                .collect();
            if theirs.iter().all(|r| self.is_ours(owner, r)) {
                continue;
            }
            let mut theirs: Vec<_> = theirs.into_iter().map(records::canonical).collect();
            theirs.sort();
            let mut ours: Vec<_> = self
                .proposed(owner, li)
                .iter()
                .map(records::canonical)
                .collect();
            ours.sort();
            if ours < theirs {
                let at = now + TIEBREAK_DEFER;
                self.set_phase(owner, li, Phase::Probing { sent: 0, at });
            }
        }
    }

    /// The owner probing for `name` on link `li`, if any.
    fn probing_owner(&self, name: &koi_wire::dns::Name, li: usize) -> Option<Owner> {
        let owner = if self.host.fqdn == *name {
            Owner::Host
        } else {
            let s = self.services.iter().find(|s| s.names.instance == *name)?;
            Owner::Service(s.key)
        };
        matches!(self.phase(owner, li), Some(Phase::Probing { .. })).then_some(owner)
    }
}
