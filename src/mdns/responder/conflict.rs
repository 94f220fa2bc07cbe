//! Conflicts over our unique names (RFC 6762 §8.1, §9) and the renames they lead to.
//!
//! Owns the decision that a response is someone else claiming our name: a record with our
//! host or instance name, class IN, TTL above zero, not NSEC, whose data is not one of our
//! records on any link (so our own packets, seen again on a second interface or through a
//! reflector, never count). While probing any such type counts; once live only the types we
//! publish there (A/AAAA, SRV/TXT). Probing loses the name (`grafana` → `grafana (2)`,
//! `stone-05` → `stone-05-2`); a live name goes back to probing on that link. Fifteen
//! conflicts within ten seconds slow every further probe start to five seconds. Reverse-mapping
//! names are not ours to defend: another responder claiming one makes us stop publishing it.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use koi_wire::dns::{Class, Message, Name, Record, RecordType};

use super::{records, Owner, Phase, Responder, ResponderEvent, MAX_SERVICES};
use crate::base::Prng;
use crate::mdns::{next_host_name, next_instance_name, Received};

/// §8.1: this many conflicts ...
const LIMIT: usize = 15;
/// ... within this window ...
const WINDOW: Duration = Duration::from_secs(10);
/// ... delay each later probe start this long.
const BACKOFF: Duration = Duration::from_secs(5);

/// The times of the last [`LIMIT`] conflicts.
#[derive(Clone, Debug, Default)]
pub(super) struct ConflictWindow {
    recent: VecDeque<Instant>,
}

impl ConflictWindow {
    /// Counts a conflict at `now`.
    pub(super) fn note(&mut self, now: Instant) {
        self.recent.push_back(now);
        while self.recent.len() > LIMIT {
            self.recent.pop_front();
        }
    }

    /// How long to wait before the first probe: random 0–250 ms, or 5 s under a storm.
    pub(super) fn probe_delay(&self, now: Instant, prng: &mut Prng) -> Duration {
        let storm = self.recent.len() >= LIMIT
            && self
                .recent
                .front()
                .is_some_and(|t| now.saturating_duration_since(*t) < WINDOW);
        if storm {
            BACKOFF
        } else {
            Duration::from_millis(prng.range(0, 250))
        }
    }
}

impl Responder {
    /// A response on link `li`: duplicate answer suppression, then conflict detection.
    pub(super) fn handle_response(
        &mut self,
        now: Instant,
        li: usize,
        rx: &Received<'_>,
        msg: &Message,
    ) {
        // §11: responses not from port 5353 are not mDNS responses.
        if rx.is_legacy() {
            return;
        }
        if let Some(link) = self.links.get_mut(li) {
            // §7.4: someone else just multicast what we were about to.
            super::answer::suppress(link, &msg.answers, true);
        }
        let mut hits: Vec<Owner> = Vec::new();
        for r in msg.records() {
            if r.is_opt() || r.ttl == 0 || r.class() != Class::IN || r.rtype == RecordType::NSEC {
                continue;
            }
            let Some(owner) = self.unique_owner(&r.name) else {
                continue;
            };
            if hits.contains(&owner) {
                continue;
            }
            let Some(phase) = self.phase(owner, li) else {
                continue;
            };
            if phase.is_live() && !publishes(owner, r.rtype) {
                continue;
            }
            if !self.is_ours(owner, r) {
                hits.push(owner);
            }
        }
        for owner in hits {
            self.conflict(now, li, owner);
        }
    }

    /// Another responder on link `li` claims one of our reverse-mapping names for a different
    /// host, in a probe or an answer: typically a second mDNS stack on this host (avahi,
    /// systemd-resolved) naming the same address after its own host name. We stop publishing
    /// that PTR there instead of answering its probes with ours, which would make it rename its
    /// host every second with no end (a reverse name has nothing to be renamed to).
    pub(super) fn yield_reverse_names(&mut self, li: usize, msg: &Message) {
        let claims =
            |r: &&Record| r.rtype == RecordType::PTR && r.ttl > 0 && r.class() == Class::IN;
        if !msg.records().any(|r| claims(&r)) {
            return;
        }
        let claimed: Vec<Record> = self
            .owner_records(Owner::Host, li)
            .into_iter()
            .filter(|o| o.rtype == RecordType::PTR)
            .filter(|o| {
                msg.records()
                    .filter(claims)
                    .any(|r| r.name == o.name && !records::same_rr(o, r))
            })
            .collect();
        let Some(link) = self.links.get_mut(li) else {
            return;
        };
        super::answer::forget(link, &claimed);
        link.yielded.extend(claimed.into_iter().map(|r| r.name));
    }

    /// The owner of unique name `name` (a custom SRV target host has none).
    fn unique_owner(&self, name: &Name) -> Option<Owner> {
        if self.host.fqdn == *name {
            return Some(Owner::Host);
        }
        let s = self.services.iter().find(|s| s.names.instance == *name)?;
        Some(Owner::Service(s.key))
    }

    /// Whether `r` is one of `owner`'s records on any link.
    pub(super) fn is_ours(&self, owner: Owner, r: &Record) -> bool {
        (0..self.links.len()).any(|li| {
            self.owner_records(owner, li)
                .iter()
                .any(|o| records::same_rr(o, r))
        })
    }

    /// Someone else claims `owner`'s name on link `li`.
    fn conflict(&mut self, now: Instant, li: usize, owner: Owner) {
        self.conflicts.note(now);
        match self.phase(owner, li) {
            Some(Phase::Probing { .. }) => self.rename(now, owner),
            Some(_) => self.start_probing(now, owner, Some(li), true),
            None => {}
        }
    }

    /// Gives up the current name of `owner` and probes for the next one on every link.
    fn rename(&mut self, now: Instant, owner: Owner) {
        let live: Vec<(usize, Vec<Record>)> = (0..self.links.len())
            .filter(|li| self.phase(owner, *li).is_some_and(|p| p.is_live()))
            .map(|li| (li, self.owner_records(owner, li)))
            .collect();
        let event = match owner {
            Owner::Host => self.rename_host(now),
            Owner::Service(key) => self.rename_service(key),
        };
        let Some(event) = event else {
            return;
        };
        for (li, old) in live {
            let new = self.owner_records(owner, li);
            let gone: Vec<Record> = old
                .into_iter()
                .filter(|r| !new.iter().any(|n| records::same_rr(n, r)))
                .collect();
            self.goodbye(li, gone);
        }
        self.push_event(event);
        self.start_probing(now, owner, None, true);
    }

    fn rename_service(&mut self, key: super::ServiceKey) -> Option<ResponderEvent> {
        let s = self.service(key)?;
        let (from, ty) = (s.instance.clone(), s.spec.service_type.clone());
        let taken = |name: &str| {
            self.services.iter().any(|o| {
                o.key != key
                    && o.spec.service_type == ty
                    && (o.instance.eq_ignore_ascii_case(name)
                        || o.spec.instance.eq_ignore_ascii_case(name))
            })
        };
        let mut to = next_instance_name(&from);
        for _ in 0..=MAX_SERVICES {
            if !taken(&to) {
                break;
            }
            to = next_instance_name(&to);
        }
        let names = s.names.renamed(&to)?;
        let s = self.services.iter_mut().find(|s| s.key == key)?;
        s.names = names;
        s.instance.clone_from(&to);
        s.renamed_from = Some(from.clone());
        Some(ResponderEvent::Renamed { from, to })
    }

    fn rename_host(&mut self, now: Instant) -> Option<ResponderEvent> {
        let from = self.host.name.clone();
        let to = fit_host(next_host_name(&from));
        self.host.fqdn = records::host_fqdn(&to)?;
        self.host.name.clone_from(&to);
        // The SRV target of every service on our host changed: announce it again.
        let keys: Vec<_> = self
            .services
            .iter()
            .filter(|s| s.names.custom_host.is_none())
            .map(|s| s.key)
            .collect();
        for key in keys {
            for li in 0..self.links.len() {
                let owner = Owner::Service(key);
                if self.phase(owner, li).is_some_and(|p| p.is_live()) {
                    self.set_phase(owner, li, Phase::Announcing { sent: 0, at: now });
                }
            }
        }
        Some(ResponderEvent::HostRenamed { from, to })
    }
}

/// The record types `owner` publishes under its unique name.
fn publishes(owner: Owner, rtype: RecordType) -> bool {
    match owner {
        Owner::Host => rtype == RecordType::A || rtype == RecordType::AAAA,
        Owner::Service(_) => rtype == RecordType::SRV || rtype == RecordType::TXT,
    }
}

/// `next_host_name` can pass 63 bytes: cut the base, keep the `-N`.
fn fit_host(name: String) -> String {
    if name.len() <= 63 {
        return name;
    }
    let (base, n) = name.rsplit_once('-').unwrap_or((&name, "2"));
    let mut cut = 63usize.saturating_sub(n.len() + 1).min(base.len());
    while cut > 0 && !base.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}-{n}", base.get(..cut).unwrap_or(""))
}
