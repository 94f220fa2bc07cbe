//! Following the cache: which types and instances are tracked, and what each change means.
//!
//! Part of [`Browser`]: starts and drops browsed types, turns the cache's change log into
//! tracked instances and [`BrowseEvent`]s, and picks which due refreshes are worth a query.
//! It reads the cache and never writes it.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use koi_wire::dns::{Name, RData, RecordType};

use super::cache::{ChangeKind, Refresh};
use super::query::Target;
use super::resolve::{fingerprint, name_print, Assembly, Key};
use super::{BrowseEvent, Browser, Want};
use crate::mdns::{Link, ServiceType};

impl Browser {
    /// Starts querying `ty` and picks up the instances already cached.
    pub(super) fn start_type(&mut self, now: Instant, ty: &ServiceType) {
        let links: Vec<Link> = self.links.keys().copied().collect();
        let target = Target::Type(ty.clone());
        self.schedules
            .start(now, &mut self.prng, &target, links.iter().copied());
        let Some(type_name) = target.name() else {
            return;
        };
        let mut keys = Vec::new();
        for link in &links {
            for c in self.cache.rrset(*link, &type_name, RecordType::PTR) {
                if let Some(n) = c.data.ptr_target(type_name.labels()) {
                    if n.parent().as_ref() == Some(&type_name) {
                        keys.push((n, link.ifindex));
                    }
                }
            }
        }
        for key in keys {
            if self.instances.track(now, key.clone(), ty) {
                self.reassess(now, &links, key);
            }
        }
    }

    pub(super) fn want_via_all(&mut self, now: Instant, ty: ServiceType) {
        if let Some(w) = self.wanted.get_mut(&ty) {
            w.via_all = true;
            return;
        }
        if self.wanted.values().filter(|w| w.via_all).count() >= self.limits.max_types {
            return;
        }
        let want = Want {
            explicit: 0,
            via_all: true,
        };
        self.wanted.insert(ty.clone(), want);
        self.start_type(now, &ty);
    }

    pub(super) fn drop_type(&mut self, ty: &ServiceType) {
        self.wanted.remove(ty);
        self.schedules.stop_target(&Target::Type(ty.clone()));
        let keys: Vec<Key> = self
            .instances
            .iter()
            .filter(|(_, _, t)| *t.ty == *ty)
            .map(|(name, scope, t)| (name.to_name(&t.ty), scope))
            .collect();
        for key in keys {
            if let Some(t) = self.instances.remove(&key).filter(|t| t.resolved()) {
                self.push_removed(&key, &t.ty);
            }
        }
    }

    pub(super) fn push_removed(&mut self, key: &Key, ty: &ServiceType) {
        let Some(label) = key.0.first_label() else {
            return;
        };
        self.push_event(BrowseEvent::Removed {
            instance: String::from_utf8_lossy(label).into_owned(),
            service_type: ty.clone(),
            scope: key.1,
        });
    }

    /// Applies the cache's change log: new types and instances, and re-assembly of every
    /// instance a changed record touches.
    pub(super) fn settle(&mut self, now: Instant) {
        let changes = self.cache.drain_log();
        if changes.is_empty() {
            return;
        }
        let services = Target::AllTypes.name();
        let mut dirty: Vec<Key> = Vec::new();
        let mut dirty_set: HashSet<Key> = HashSet::new();
        let mut hosts: HashMap<u64, Vec<u32>> = HashMap::new();
        let mut lost: Vec<(Name, Link)> = Vec::new();
        let mut mark = |key: Key| {
            if dirty_set.insert(key.clone()) {
                dirty.push(key);
            }
        };
        for ch in changes {
            let scope = ch.link.ifindex;
            match (ch.rtype, &ch.rdata) {
                (RecordType::PTR, RData::Ptr(target)) if Some(&ch.name) == services.as_ref() => {
                    let ty = type_of(target).filter(|_| ch.kind == ChangeKind::Added);
                    if let Some(ty) = ty.filter(|_| self.all > 0) {
                        self.want_via_all(now, ty);
                    }
                }
                (RecordType::PTR, RData::Ptr(target)) => {
                    let Some(ty) = type_of(&ch.name).filter(|t| self.wanted.contains_key(t)) else {
                        continue;
                    };
                    if target.parent().as_ref() != Some(&ch.name) {
                        continue;
                    }
                    let key = (target.clone(), scope);
                    match ch.kind {
                        // A refreshed PTR brings back an instance displaced from tracking.
                        ChangeKind::Added | ChangeKind::Refreshed
                            if self.instances.track(now, key.clone(), &ty) =>
                        {
                            self.instances.reset_tries(&key);
                            mark(key);
                        }
                        ChangeKind::Removed if self.instances.get(&key).is_some() => mark(key),
                        _ => {}
                    }
                }
                (RecordType::SRV | RecordType::TXT, _) => {
                    let key = (ch.name, scope);
                    if ch.kind != ChangeKind::Refreshed && self.instances.get(&key).is_some() {
                        mark(key);
                    }
                }
                (RecordType::A | RecordType::AAAA, _) if ch.kind != ChangeKind::Refreshed => {
                    if ch.kind == ChangeKind::Removed {
                        lost.push((ch.name.clone(), ch.link));
                    }
                    hosts.entry(name_print(&ch.name)).or_default().push(scope);
                }
                _ => {}
            }
        }
        if !hosts.is_empty() {
            for (name, scope, t) in self.instances.iter() {
                let hit = hosts.get(&t.target);
                if hit.is_some_and(|scopes| scopes.contains(&scope)) {
                    mark((name.to_name(&t.ty), scope));
                }
            }
        }
        let links: Vec<Link> = self.links.keys().copied().collect();
        for key in dirty {
            self.reassess(now, &links, key);
        }
        for (name, link) in lost {
            if self.host_addrs(link, &name).is_empty() {
                self.push_event(BrowseEvent::HostLost {
                    host: name.to_string(),
                    link,
                });
            }
        }
    }

    /// Re-assembles one tracked instance from the cache and reports what changed.
    pub(super) fn reassess(&mut self, now: Instant, links: &[Link], key: Key) {
        let Some(ty) = self.instances.get(&key).map(|t| Arc::clone(&t.ty)) else {
            return;
        };
        let a = Assembly::read(&self.cache, links, &key.0, key.1);
        if !a.ptr {
            if self.instances.remove(&key).is_some_and(|t| t.resolved()) {
                self.push_removed(&key, &ty);
            }
            return;
        }
        let report = a.instance(&key.0, &ty, key.1);
        let complete = report.is_some() && a.missing(&key.0).is_empty();
        let target = a.srv.as_ref().map_or(0, |(_, t)| name_print(t));
        let print = report.as_ref().map_or(0, fingerprint);
        let prev = self
            .instances
            .settle(now, &mut self.prng, &key, target, print, complete);
        match (prev, report) {
            (0, Some(r)) => self.push_event(BrowseEvent::Found(r)),
            (p, Some(r)) if p != print => self.push_event(BrowseEvent::Updated(r)),
            (p, None) if p != 0 => self.push_removed(&key, &ty),
            _ => {}
        }
    }

    /// Whether a record whose refresh point came due is still of interest (RFC 6762 §5.2).
    pub(super) fn worth_refreshing(&self, r: &Refresh, targets: &HashMap<u64, Vec<u32>>) -> bool {
        match r.rtype {
            RecordType::PTR if Target::AllTypes.name().as_ref() == Some(&r.name) => self.all > 0,
            RecordType::PTR => type_of(&r.name).is_some_and(|t| self.wanted.contains_key(&t)),
            RecordType::SRV | RecordType::TXT => self
                .instances
                .get(&(r.name.clone(), r.link.ifindex))
                .is_some(),
            RecordType::A | RecordType::AAAA => targets
                .get(&name_print(&r.name))
                .is_some_and(|scopes| scopes.contains(&r.link.ifindex)),
            _ => false,
        }
    }

    /// SRV targets of tracked instances (by [`name_print`]), with their interfaces.
    pub(super) fn targets_by_name(&self) -> HashMap<u64, Vec<u32>> {
        let mut map: HashMap<u64, Vec<u32>> = HashMap::new();
        for (_, scope, t) in self.instances.iter() {
            if t.target != 0 {
                map.entry(t.target).or_default().push(scope);
            }
        }
        map
    }

    /// The live addresses of `host` cached on `link`.
    pub(super) fn host_addrs(&self, link: Link, host: &Name) -> Vec<IpAddr> {
        let mut addrs: Vec<IpAddr> = [RecordType::A, RecordType::AAAA]
            .into_iter()
            .flat_map(|t| self.cache.rrset(link, host, t))
            .filter(|c| !c.doomed())
            .filter_map(|c| c.data.ip())
            .collect();
        addrs.sort_unstable();
        addrs.dedup();
        addrs
    }
}

/// The service type a name like `_http._tcp.local` stands for.
pub(super) fn type_of(name: &Name) -> Option<ServiceType> {
    let last = name.labels().last()?;
    if name.label_count() != 3 || !last.eq_ignore_ascii_case(b"local") {
        return None;
    }
    ServiceType::parse(&name.to_string()).ok()
}
