//! The mDNS source kept live: the zone's mDNS table follows the registry's subscription, the
//! names generated for each machine are recorded (the SAN feedback loop, spec §5.6), and the
//! resolver is advertised as `_dns._udp` (spec §5.5). It never reads the network itself.

use super::lane::Locked;
use super::sources::{mdns_table, ServiceFacts};
use super::zone::{Data, Source, Zone};
use crate::mdns::{Mdns, ServiceSpec, ServiceType};
use async_io::Timer;
use koi_wire::dns::Name;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;
use std::rc::Rc;
use std::time::Duration;

/// Advertises this resolver as `_dns._udp` (spec §5.5); returns the instance name.
pub(super) fn advertise(mdns: &Mdns, port: u16) -> Option<String> {
    let spec = ServiceSpec {
        instance: mdns.snapshot().host,
        service_type: ServiceType::parse("_dns._udp").ok()?,
        port,
        txt: Vec::new(),
        host: None,
        addrs: Vec::new(),
    };
    match mdns.announce(spec) {
        Ok(name) => Some(name),
        Err(e) => {
            crate::log!(Warn, "dns", "cannot advertise _dns._udp: {e}");
            None
        }
    }
}

/// Keeps the mDNS table in step with the registry, records the names generated per machine,
/// and warns once per name a static entry hides.
pub(super) async fn feed_mdns(
    mdns: Mdns,
    zone: Locked<Zone>,
    aliases: bool,
    san: Rc<RefCell<BTreeMap<String, Vec<String>>>>,
) {
    let mut warned: HashSet<Name> = HashSet::new();
    loop {
        let rx = mdns.subscribe();
        rebuild(&mdns, &zone, aliases, &mut warned, &san);
        while rx.recv().await.is_ok() {
            // At most ten rebuilds a second however fast the registry changes.
            Timer::after(Duration::from_millis(100)).await;
            while rx.try_recv().is_ok() {}
            rebuild(&mdns, &zone, aliases, &mut warned, &san);
        }
        Timer::after(Duration::from_millis(200)).await;
    }
}

fn rebuild(
    mdns: &Mdns,
    zone: &Locked<Zone>,
    aliases: bool,
    warned: &mut HashSet<Name>,
    san: &Rc<RefCell<BTreeMap<String, Vec<String>>>>,
) {
    let (hosts, services) = mdns.with_registry(|r| {
        let hosts: Vec<(String, Vec<IpAddr>)> = r
            .hosts()
            .filter(|h| !h.stale)
            .map(|h| (h.host().to_string(), h.addrs().collect()))
            .collect();
        let services: Vec<ServiceFacts> = r
            .entries()
            .filter(|e| !e.stale)
            .map(|e| ServiceFacts {
                instance: e.service.instance().to_string(),
                service: e.service.service_type().service().to_string(),
                proto: e.service.service_type().proto().to_string(),
                host: e.service.host().to_string(),
                port: e.service.port(),
                addrs: e.service.addrs().collect(),
                txt: e.service.txt().map(<[u8]>::to_vec).collect(),
            })
            .collect();
        (hosts, services)
    });
    let mut z = zone.write();
    let origin = z.origin().clone();
    let table = mdns_table(&origin, &hosts, &services, aliases);
    for hidden in z.replace(Source::Mdns, table) {
        if warned.insert(hidden.clone()) {
            crate::log!(
                Warn,
                "dns",
                "static {hidden} hides the name mDNS generates for it"
            );
        }
    }
    // The SAN feedback loop: what each machine is called, for its next certificate.
    let mut machines: BTreeMap<String, Vec<IpAddr>> = BTreeMap::new();
    for (host, addrs) in &hosts {
        machines.entry(host.clone()).or_default().extend(addrs);
    }
    for s in &services {
        machines.entry(s.host.clone()).or_default().extend(&s.addrs);
    }
    // One pass over the automatic names: address -> names.
    let mut by_ip: std::collections::HashMap<IpAddr, Vec<String>> = Default::default();
    for (name, data) in [Source::Certmesh, Source::Mdns]
        .iter()
        .flat_map(|s| z.table(*s).iter())
    {
        for d in data {
            let ip = match d {
                Data::A(a) => IpAddr::V4(*a),
                Data::Aaaa(a) => IpAddr::V6(*a),
                _ => continue,
            };
            by_ip.entry(ip).or_default().push(name.to_string());
        }
    }
    let mut recorded = san.borrow_mut();
    for (host, addrs) in machines {
        let names: Vec<String> = addrs
            .iter()
            .filter_map(|ip| by_ip.get(ip))
            .flatten()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        if recorded.get(&host) != Some(&names) && !names.is_empty() {
            crate::log!(
                Info,
                "dns",
                "names for {host}: {} (recorded for its next certificate)",
                names.join(", ")
            );
            recorded.insert(host, names);
        }
    }
}
