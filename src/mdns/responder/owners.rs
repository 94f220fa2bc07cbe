//! Who owns which name, and each owner's phase and records on each link.
//!
//! Owners are the host and each service; a service is found by its [`ServiceKey`], never by
//! position, so withdrawals cannot make a stale index point at another service.

use koi_wire::dns::{Name, Record, RecordType};

use super::{records, Owner, Phase, Responder, Service, ServiceKey};
use crate::mdns::Link;

impl Responder {
    pub(super) fn owners(&self) -> Vec<Owner> {
        let services = self.services.iter().map(|s| Owner::Service(s.key));
        std::iter::once(Owner::Host).chain(services).collect()
    }

    pub(super) fn service(&self, key: ServiceKey) -> Option<&Service> {
        self.services.iter().find(|s| s.key == key)
    }

    pub(super) fn phases_mut(&mut self, owner: Owner) -> Option<&mut Vec<(Link, Phase)>> {
        match owner {
            Owner::Host => Some(&mut self.host.phases),
            Owner::Service(key) => self
                .services
                .iter_mut()
                .find(|s| s.key == key)
                .map(|s| &mut s.phases),
        }
    }

    /// The phase of `owner` on link `li`.
    pub(super) fn phase(&self, owner: Owner, li: usize) -> Option<Phase> {
        let link = self.links.get(li)?.info.link;
        let phases = match owner {
            Owner::Host => &self.host.phases,
            Owner::Service(key) => &self.service(key)?.phases,
        };
        phases.iter().find(|(l, _)| *l == link).map(|(_, p)| *p)
    }

    pub(super) fn set_phase(&mut self, owner: Owner, li: usize, phase: Phase) {
        let Some(link) = self.links.get(li).map(|l| l.info.link) else {
            return;
        };
        if let Some(phases) = self.phases_mut(owner) {
            match phases.iter_mut().find(|(l, _)| *l == link) {
                Some(slot) => slot.1 = phase,
                None => phases.push((link, phase)),
            }
        }
    }

    /// The unique name `owner` probes for (a custom SRV target host is not probed).
    pub(super) fn owner_name(&self, owner: Owner) -> Option<&Name> {
        match owner {
            Owner::Host => Some(&self.host.fqdn),
            Owner::Service(key) => self.service(key).map(|s| &s.names.instance),
        }
    }

    /// Everything `owner` publishes on link `li`.
    pub(super) fn owner_records(&self, owner: Owner, li: usize) -> Vec<Record> {
        let Some(link) = self.links.get(li) else {
            return Vec::new();
        };
        match owner {
            Owner::Host => {
                let families = self.families(link.info.link.ifindex);
                let mut recs = records::host_records(&self.host.fqdn, &link.info, families);
                recs.retain(|r| !(r.rtype == RecordType::PTR && link.yielded.contains(&r.name)));
                recs
            }
            Owner::Service(key) => match self.service(key) {
                Some(s) => records::service_records(&s.names, &s.spec, &self.host.fqdn, &link.info),
                None => Vec::new(),
            },
        }
    }

    /// The address families of interface `ifindex` over all its links.
    pub(super) fn families(&self, ifindex: u32) -> records::Families {
        let mut f = records::Families::default();
        for l in self.links.iter().filter(|l| l.info.link.ifindex == ifindex) {
            for ip in l.info.ips() {
                f.v4 |= ip.is_ipv4();
                f.v6 |= ip.is_ipv6();
            }
        }
        f
    }
}
