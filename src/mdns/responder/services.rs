//! The responder's inputs other than packets: links, registrations, withdrawals, and the
//! status snapshot.
//!
//! Owns the rules for what a change means on the wire: a new link gets the full probe and
//! announce; a link whose addresses changed re-announces what changed there and says goodbye
//! to what went away; a vanished link is forgotten without a word; a withdrawn service says
//! goodbye on every link where it was live (keeping the shared `_services._dns-sd._udp` PTR
//! while another service of its type is live there).

use std::collections::HashMap;
use std::time::Instant;

use koi_wire::dns::Record;

use super::{
    records, LinkState, Owner, Phase, RegisterError, Responder, ResponderEvent, Service,
    ServiceKey, ServiceState, ServiceStatus, MAX_SERVICES, MAX_TXT_LEN,
};
use crate::mdns::{Link, LinkInfo, ServiceSpec, ServiceType};

impl Responder {
    /// Takes the current set of links: probes and announces on new ones, re-announces changed
    /// addresses (goodbyes for removed ones), forgets vanished ones.
    pub fn set_links(&mut self, now: Instant, links: &[LinkInfo]) {
        if self.shut_down {
            return;
        }
        self.links
            .retain(|l| links.iter().any(|n| n.link == l.info.link));
        let known: Vec<Link> = self.links.iter().map(|l| l.info.link).collect();
        self.host.phases.retain(|(l, _)| known.contains(l));
        for s in &mut self.services {
            s.phases.retain(|(l, _)| known.contains(l));
        }
        let mut seen: Vec<Link> = Vec::new();
        for info in links {
            if seen.contains(&info.link) {
                continue;
            }
            seen.push(info.link);
            match self.link_index(info.link) {
                None => {
                    self.links.push(LinkState {
                        info: info.clone(),
                        last_multicast: HashMap::new(),
                        pending: Vec::new(),
                        replies: Vec::new(),
                        next_prune: now,
                        yielded: Vec::new(),
                    });
                    let li = self.links.len() - 1;
                    for owner in self.owners() {
                        self.start_probing(now, owner, Some(li), false);
                    }
                }
                Some(li) => self.update_link(now, li, info),
            }
        }
    }

    fn update_link(&mut self, now: Instant, li: usize, info: &LinkInfo) {
        let Some(link) = self.links.get_mut(li) else {
            return;
        };
        if link.info.addrs == info.addrs {
            link.info.name.clone_from(&info.name);
            return;
        }
        let before: Vec<(Owner, Vec<Record>)> = self
            .phases_on(li)
            .into_iter()
            .filter(|(_, p)| p.is_live())
            .map(|(o, _)| (o, self.owner_records(o, li)))
            .collect();
        if let Some(link) = self.links.get_mut(li) {
            link.info = info.clone();
            let reverse: Vec<_> = info.ips().filter_map(records::reverse_name).collect();
            link.yielded.retain(|n| reverse.contains(n));
        }
        for (owner, old) in before {
            let new = self.owner_records(owner, li);
            let gone: Vec<Record> = old
                .iter()
                .filter(|r| !new.iter().any(|n| records::same_rr(n, r)))
                .cloned()
                .collect();
            let added = new
                .iter()
                .any(|n| !old.iter().any(|r| records::same_rr(n, r)));
            if added || !gone.is_empty() {
                self.goodbye(li, gone);
                self.set_phase(owner, li, Phase::Announcing { sent: 0, at: now });
            }
        }
    }

    /// Registers a service and starts probing for its name on every link.
    pub fn register(
        &mut self,
        now: Instant,
        spec: ServiceSpec,
    ) -> Result<ServiceKey, RegisterError> {
        let valid = |s: &str| !s.is_empty() && s.len() <= 63;
        if !valid(&spec.instance) || spec.host.as_deref().is_some_and(|h| !valid(h)) {
            return Err(RegisterError::InvalidName);
        }
        let txt_len: usize = spec.txt.iter().map(|s| s.len() + 1).sum();
        if spec.txt.iter().any(|s| s.len() > 255) || txt_len > MAX_TXT_LEN {
            return Err(RegisterError::TxtTooLarge);
        }
        if self
            .find(&spec.instance, Some(&spec.service_type))
            .next()
            .is_some()
        {
            return Err(RegisterError::Duplicate);
        }
        if self.services.len() >= MAX_SERVICES {
            return Err(RegisterError::TooMany);
        }
        let custom = spec
            .host
            .as_deref()
            .filter(|h| !h.eq_ignore_ascii_case(&self.host.name));
        let names = records::ServiceNames::new(&spec.instance, &spec.service_type, custom)
            .ok_or(RegisterError::InvalidName)?;
        let key = ServiceKey(self.next_key);
        self.next_key += 1;
        self.services.push(Service {
            key,
            instance: spec.instance.clone(),
            spec,
            renamed_from: None,
            names,
            phases: Vec::new(),
            reported: false,
        });
        self.start_probing(now, Owner::Service(key), None, true);
        Ok(key)
    }

    /// Withdraws the services named `instance` (current or original name) of `service_type`
    /// (any type if `None`), sending goodbyes where they were live. False if none matched.
    pub fn withdraw(
        &mut self,
        now: Instant,
        instance: &str,
        service_type: Option<&ServiceType>,
    ) -> bool {
        let _ = now;
        let keys: Vec<ServiceKey> = self.find(instance, service_type).collect();
        for key in &keys {
            let owner = Owner::Service(*key);
            for li in 0..self.links.len() {
                if !self.phase(owner, li).is_some_and(|p| p.is_live()) {
                    continue;
                }
                let mut recs = self.owner_records(owner, li);
                if self.type_still_live(*key, li) {
                    let meta = records::services_meta();
                    recs.retain(|r| r.name != meta);
                }
                self.goodbye(li, recs);
            }
            if let Some(at) = self.services.iter().position(|s| s.key == *key) {
                let s = self.services.remove(at);
                self.push_event(ResponderEvent::Withdrawn {
                    instance: s.instance,
                });
            }
        }
        !keys.is_empty()
    }

    /// Whether another service of `key`'s type is live on link `li`.
    fn type_still_live(&self, key: ServiceKey, li: usize) -> bool {
        let Some(ty) = self.service(key).map(|s| &s.names.ty) else {
            return false;
        };
        self.services
            .iter()
            .filter(|o| o.key != key && o.names.ty == *ty)
            .any(|o| {
                self.phase(Owner::Service(o.key), li)
                    .is_some_and(|p| p.is_live())
            })
    }

    /// The services called `instance` now or at registration, of `ty` if given.
    fn find<'a>(
        &'a self,
        instance: &'a str,
        ty: Option<&'a ServiceType>,
    ) -> impl Iterator<Item = ServiceKey> + 'a {
        self.services
            .iter()
            .filter(move |s| ty.is_none_or(|t| *t == s.spec.service_type))
            .filter(move |s| {
                s.instance.eq_ignore_ascii_case(instance)
                    || s.spec.instance.eq_ignore_ascii_case(instance)
            })
            .map(|s| s.key)
    }

    /// A snapshot of every registered service.
    pub fn status(&self) -> Vec<ServiceStatus> {
        self.services
            .iter()
            .map(|s| {
                let links: Vec<(Link, ServiceState)> =
                    s.phases.iter().map(|(l, p)| (*l, p.state())).collect();
                let state = links
                    .iter()
                    .map(|(_, st)| *st)
                    .min()
                    .unwrap_or(ServiceState::Probing);
                ServiceStatus {
                    key: s.key,
                    instance: s.instance.clone(),
                    original: s.spec.instance.clone(),
                    service_type: s.spec.service_type.clone(),
                    port: s.spec.port,
                    state,
                    renamed_from: s.renamed_from.clone(),
                    links,
                }
            })
            .collect()
    }
}
