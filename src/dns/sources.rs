//! Turning what other capabilities know into zone tables (spec §5.4), and the names DNS
//! generates for one machine (the SAN feedback loop, spec §5.6).
//!
//! - certmesh: each member's host name (`stone-05` → `stone-05.lan`) with its addresses;
//! - mDNS: each live host (`stone-05.local` → `stone-05.lan`); with service aliases on, each
//!   service type (`_grafana._tcp` → `grafana.lan`, all instances' addresses, round-robin),
//!   each instance name (`Grafana` → `grafana.lan`), each instance on its host
//!   (`grafana-stone-05.lan`, with the instance's TXT), and SRV at `_grafana._tcp.lan`.
//!
//! Pure: inputs are plain values (so the certmesh source can be fed from a test or from the
//! certmesh capability alike); public addresses are dropped by the table. Never reads a clock.

use super::zone::{Data, Table};
use koi_wire::dns::Name;
use std::net::IpAddr;

/// One discovered service, as the mDNS source needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceFacts {
    /// The instance name, e.g. `Grafana on stone-05`.
    pub instance: String,
    /// The service label without underscore, e.g. `grafana`.
    pub service: String,
    /// `tcp` or `udp`.
    pub proto: String,
    /// The target host, e.g. `stone-05.local`.
    pub host: String,
    /// The port.
    pub port: u16,
    /// The host's addresses.
    pub addrs: Vec<IpAddr>,
    /// TXT strings.
    pub txt: Vec<Vec<u8>>,
}

/// Service types too generic to become a name of their own (`http.lan` would be meaningless);
/// their instances still get names from the instance name.
const GENERIC: &[&str] = &[
    "http",
    "https",
    "koi",
    "dns",
    "workstation",
    "device-info",
    "ssh",
    "sftp-ssh",
    "smb",
    "ipp",
    "ipps",
    "printer",
    "pdl-datastream",
    "airplay",
    "raop",
    "companion-link",
    "googlecast",
    "spotify-connect",
    "hap",
    "homekit",
    "sleep-proxy",
    "rdlink",
];

/// Makes a DNS label out of free text: lowercase ASCII letters and digits, everything else a
/// single `-`, trimmed; `None` if nothing is left or it is over 63 bytes.
pub fn label_of(text: &str) -> Option<String> {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').to_string();
    (!out.is_empty() && out.len() <= 63).then_some(out)
}

/// `stone-05.local` → `stone-05`.
fn host_label(host: &str) -> Option<String> {
    let first = host.trim_end_matches('.').split('.').next().unwrap_or("");
    label_of(first)
}

fn in_zone(label: &str, origin: &Name) -> Option<Name> {
    origin.prepend_label(label).ok()
}

/// The certmesh table: each member's host name under the zone with its addresses.
pub fn certmesh_table(origin: &Name, members: &[(String, Vec<IpAddr>)]) -> Table {
    let mut t = Table::default();
    for (host, addrs) in members {
        let Some(name) = host_label(host).and_then(|l| in_zone(&l, origin)) else {
            continue;
        };
        for ip in addrs {
            let _ = t.add(&name, Data::ip(*ip));
        }
    }
    t
}

/// The mDNS table from the live hosts and services of the registry.
pub fn mdns_table(
    origin: &Name,
    hosts: &[(String, Vec<IpAddr>)],
    services: &[ServiceFacts],
    aliases: bool,
) -> Table {
    let mut t = Table::default();
    let add_ips = |t: &mut Table, name: &Name, addrs: &[IpAddr]| {
        for ip in addrs {
            // A public address from mDNS is dropped here (the table refuses it).
            let _ = t.add(name, Data::ip(*ip));
        }
    };
    for (host, addrs) in hosts {
        if let Some(name) = host_label(host).and_then(|l| in_zone(&l, origin)) {
            add_ips(&mut t, &name, addrs);
        }
    }
    for s in services {
        let Some(host) = host_label(&s.host) else {
            continue;
        };
        let Some(host_name) = in_zone(&host, origin) else {
            continue;
        };
        add_ips(&mut t, &host_name, &s.addrs);
        if !aliases {
            continue;
        }
        let service = label_of(&s.service);
        if let Some(service) = &service {
            let srv = Name::from_labels([
                format!("_{service}").as_bytes(),
                format!("_{}", s.proto).as_bytes(),
            ])
            .ok()
            .and_then(|n| n.concat(origin).ok());
            if let Some(srv) = srv {
                let data = Data::Srv {
                    port: s.port,
                    target: host_name.clone(),
                };
                let _ = t.add(&srv, data);
            }
            if !GENERIC.contains(&service.as_str()) {
                if let Some(alias) = in_zone(service, origin) {
                    add_ips(&mut t, &alias, &s.addrs);
                }
            }
            let one = label_of(&format!("{service}-{host}"));
            if let Some(one) = one.and_then(|l| in_zone(&l, origin)) {
                add_ips(&mut t, &one, &s.addrs);
                if s.txt.iter().any(|x| !x.is_empty()) {
                    let _ = t.add(&one, Data::Txt(s.txt.clone()));
                }
            }
        }
        if let Some(alias) = label_of(&s.instance).and_then(|l| in_zone(&l, origin)) {
            if Some(alias.first_label()) != Some(host_name.first_label()) {
                add_ips(&mut t, &alias, &s.addrs);
            }
        }
    }
    t
}

/// The names of the zone whose address records point at one of `addrs`: what a certificate
/// for that machine should carry as SANs so every name a user may type matches (spec §5.6).
pub fn names_for_machine(zone: &super::zone::Zone, addrs: &[IpAddr]) -> Vec<String> {
    let mut names: Vec<String> = zone
        .entries()
        .into_iter()
        .filter(|(_, _, data)| {
            data.iter().any(|d| match d {
                Data::A(a) => addrs.contains(&IpAddr::V4(*a)),
                Data::Aaaa(a) => addrs.contains(&IpAddr::V6(*a)),
                _ => false,
            })
        })
        .map(|(n, _, _)| n.to_string().to_ascii_lowercase())
        .collect();
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::zone::{Source, Zone};

    fn n(s: &str) -> Name {
        Name::from_dotted(s).unwrap()
    }

    fn grafana(host: &str, ip: &str) -> ServiceFacts {
        ServiceFacts {
            instance: format!("Grafana on {host}"),
            service: "grafana".into(),
            proto: "tcp".into(),
            host: format!("{host}.local"),
            port: 3000,
            addrs: vec![ip.parse().unwrap()],
            txt: vec![b"path=/".to_vec()],
        }
    }

    #[test]
    fn aliases_round_robin_and_single_instances() {
        let lan = n("lan");
        let services = [
            grafana("stone-05", "10.0.0.5"),
            grafana("stone-09", "10.0.0.9"),
        ];
        let t = mdns_table(&lan, &[], &services, true);
        assert_eq!(t.get(&n("grafana.lan")).unwrap().len(), 2);
        assert_eq!(
            t.get(&n("grafana-stone-05.lan")).unwrap()[0],
            Data::A("10.0.0.5".parse().unwrap())
        );
        assert_eq!(
            t.get(&n("stone-09.lan")).unwrap(),
            &[Data::A("10.0.0.9".parse().unwrap())]
        );
        assert_eq!(t.get(&n("_grafana._tcp.lan")).unwrap().len(), 2);
        assert!(t.get(&n("grafana-on-stone-05.lan")).is_some());
        let off = mdns_table(&lan, &[], &services, false);
        assert!(off.get(&n("grafana.lan")).is_none());
        assert!(off.get(&n("stone-05.lan")).is_some());
    }

    #[test]
    fn public_mdns_addresses_are_dropped() {
        let t = mdns_table(
            &n("lan"),
            &[("pub.local".into(), vec!["8.8.8.8".parse().unwrap()])],
            &[],
            true,
        );
        assert!(t.get(&n("pub.lan")).is_none());
    }

    #[test]
    fn certmesh_members_and_san_names() {
        let lan = n("lan");
        let members = vec![("stone-05".to_string(), vec!["10.0.0.5".parse().unwrap()])];
        let mut zone = Zone::new(lan.clone());
        zone.replace(Source::Certmesh, certmesh_table(&lan, &members));
        zone.replace(
            Source::Mdns,
            mdns_table(&lan, &[], &[grafana("stone-05", "10.0.0.5")], true),
        );
        assert_eq!(zone.lookup(&n("stone-05.lan")).unwrap().0, Source::Certmesh);
        let names = names_for_machine(&zone, &["10.0.0.5".parse().unwrap()]);
        assert!(names.contains(&"grafana.lan".to_string()), "{names:?}");
        assert!(names.contains(&"grafana-stone-05.lan".to_string()));
        assert!(names.contains(&"stone-05.lan".to_string()));
    }
}
