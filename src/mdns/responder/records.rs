//! The records koi publishes, built from names, a service spec and one link's addresses.
//!
//! Owns the DNS-SD record layout (RFC 6763 §4–§7, §12) and TTL policy (RFC 6762 §10): per
//! service a shared PTR from the type to the instance, a unique SRV (target `host.local`) and
//! TXT, the shared `_services._dns-sd._udp.local` PTR and a unique NSEC; per host the unique
//! A/AAAA of the link, their reverse PTRs and an NSEC. Unique records carry the cache-flush bit
//! as built; callers clear it where the RFC says so (probes, legacy replies). Pure functions:
//! no state, no clock.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;

use koi_wire::dns::{Class, Name, RData, Record, RecordType};

use crate::mdns::{Family, LinkInfo, ServiceSpec, ServiceType, HOST_TTL, OTHER_TTL};

/// The names one service is published under.
#[derive(Clone, Debug)]
pub(super) struct ServiceNames {
    /// `grafana._http._tcp.local`.
    pub(super) instance: Name,
    /// `_http._tcp.local`.
    pub(super) ty: Name,
    /// The SRV target when the spec names a host other than ours (`nas.local`).
    pub(super) custom_host: Option<Name>,
}

impl ServiceNames {
    /// The names of `instance` of type `ty`; `host` is the spec's host if it is not ours.
    pub(super) fn new(
        instance: &str,
        ty: &ServiceType,
        host: Option<&str>,
    ) -> Option<ServiceNames> {
        let ty_name = type_name(ty)?;
        Some(ServiceNames {
            instance: ty_name.prepend_label(instance).ok()?,
            ty: ty_name,
            custom_host: match host {
                Some(h) => Some(host_fqdn(h)?),
                None => None,
            },
        })
    }
}

impl ServiceNames {
    /// The same service under instance name `instance`.
    pub(super) fn renamed(&self, instance: &str) -> Option<ServiceNames> {
        Some(ServiceNames {
            instance: self.ty.prepend_label(instance).ok()?,
            ty: self.ty.clone(),
            custom_host: self.custom_host.clone(),
        })
    }
}

/// `_http._tcp.local` for `_http._tcp`.
pub(super) fn type_name(ty: &ServiceType) -> Option<Name> {
    let service = format!("_{}", ty.service());
    let proto = format!("_{}", ty.proto());
    Name::from_labels([service.as_bytes(), proto.as_bytes(), b"local"]).ok()
}

/// `host.local`.
pub(super) fn host_fqdn(host: &str) -> Option<Name> {
    Name::from_labels([host.as_bytes(), b"local"]).ok()
}

/// `_services._dns-sd._udp.local`, the service type enumeration name (RFC 6763 §9).
pub(super) fn services_meta() -> Name {
    Name::from_labels([&b"_services"[..], b"_dns-sd", b"_udp", b"local"]).unwrap_or_default()
}

/// `_services._dns-sd._udp.local` → `ty` (shared).
pub(super) fn meta_ptr(ty: &Name) -> Record {
    record(services_meta(), RData::Ptr(ty.clone()), OTHER_TTL, false)
}

/// Which address families an interface has (over all its links), for the host NSEC.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Families {
    pub(super) v4: bool,
    pub(super) v6: bool,
}

fn record(name: Name, data: RData, ttl: u32, unique: bool) -> Record {
    let rtype = data.rtype().unwrap_or(RecordType(0));
    let mut r = Record::new(name, rtype, Class::IN, ttl, data);
    r.set_cache_flush(unique);
    r
}

fn address(name: &Name, ip: IpAddr) -> Record {
    let data = match ip {
        IpAddr::V4(v4) => RData::A(v4),
        IpAddr::V6(v6) => RData::Aaaa(v6),
    };
    record(name.clone(), data, HOST_TTL, true)
}

/// An NSEC naming the types that exist at `name` (RFC 6762 §6.1: next name = owner name).
pub(super) fn nsec(name: &Name, types: Vec<RecordType>, ttl: u32) -> Record {
    let data = RData::Nsec {
        next: name.clone(),
        types,
    };
    record(name.clone(), data, ttl, true)
}

/// `4.3.2.1.in-addr.arpa` or the 32-nibble `ip6.arpa` name of `ip`.
pub(super) fn reverse_name(ip: IpAddr) -> Option<Name> {
    let mut labels: Vec<String> = match ip {
        IpAddr::V4(v4) => v4.octets().iter().rev().map(u8::to_string).collect(),
        IpAddr::V6(v6) => v6
            .octets()
            .iter()
            .rev()
            .flat_map(|b| [b & 0xf, b >> 4])
            .map(|n| format!("{n:x}"))
            .collect(),
    };
    match ip {
        IpAddr::V4(_) => labels.push("in-addr".into()),
        IpAddr::V6(_) => labels.push("ip6".into()),
    }
    labels.push("arpa".into());
    Name::from_labels(labels).ok()
}

/// The host's records on one link: A/AAAA of the link, reverse PTRs, NSEC (types of the
/// whole interface, so the other family's link is not denied).
pub(super) fn host_records(fqdn: &Name, info: &LinkInfo, families: Families) -> Vec<Record> {
    let mut out: Vec<Record> = info.ips().map(|ip| address(fqdn, ip)).collect();
    for ip in info.ips() {
        if let Some(rev) = reverse_name(ip) {
            out.push(record(rev, RData::Ptr(fqdn.clone()), HOST_TTL, true));
        }
    }
    let mut types = Vec::new();
    if families.v4 {
        types.push(RecordType::A);
    }
    if families.v6 {
        types.push(RecordType::AAAA);
    }
    if !types.is_empty() {
        out.push(nsec(fqdn, types, HOST_TTL));
    }
    out
}

/// A service's records on one link. SRV uses the host TTL (RFC 6762 §10: records whose rdata
/// names a host), the rest 4500 s. A custom host gets the spec's addresses of this link's
/// family, or the link's own when the spec has none.
pub(super) fn service_records(
    names: &ServiceNames,
    spec: &ServiceSpec,
    host: &Name,
    info: &LinkInfo,
) -> Vec<Record> {
    let target = names.custom_host.as_ref().unwrap_or(host);
    let txt = if spec.txt.is_empty() {
        vec![Vec::new()]
    } else {
        spec.txt.clone()
    };
    let mut out = vec![
        record(
            names.ty.clone(),
            RData::Ptr(names.instance.clone()),
            OTHER_TTL,
            false,
        ),
        record(
            names.instance.clone(),
            RData::Srv {
                priority: 0,
                weight: 0,
                port: spec.port,
                target: target.clone(),
            },
            HOST_TTL,
            true,
        ),
        record(names.instance.clone(), RData::Txt(txt), OTHER_TTL, true),
        meta_ptr(&names.ty),
        nsec(
            &names.instance,
            vec![RecordType::SRV, RecordType::TXT],
            OTHER_TTL,
        ),
    ];
    if let Some(custom) = &names.custom_host {
        let of_family = |ip: &&IpAddr| match info.link.family {
            Family::V4 => ip.is_ipv4(),
            Family::V6 => ip.is_ipv6(),
        };
        if spec.addrs.is_empty() {
            out.extend(info.ips().map(|ip| address(custom, ip)));
        } else {
            out.extend(
                spec.addrs
                    .iter()
                    .filter(of_family)
                    .map(|ip| address(custom, *ip)),
            );
        }
    }
    out
}

/// Same name, type, class and data; TTL and cache-flush bit ignored.
pub(super) fn same_rr(a: &Record, b: &Record) -> bool {
    a.rtype == b.rtype && a.class() == b.class() && a.name == b.name && a.rdata == b.rdata
}

/// A record's identity for the multicast log, pending answers and deduplication of our own
/// records: a 64-bit FNV-1a hash of name (ASCII case ignored), type, class and data; TTL and
/// cache-flush bit ignored. Not collision-resistant: wherever a peer supplies the record
/// (known answers), a match is confirmed with [`same_rr`].
pub(super) fn fp(r: &Record) -> u64 {
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    r.name.hash(&mut h);
    r.rtype.hash(&mut h);
    r.class().hash(&mut h);
    r.rdata.hash(&mut h);
    h.finish()
}

/// 64-bit FNV-1a as a [`Hasher`].
struct Fnv(u64);

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// `records` without repeats, in order.
pub(super) fn dedup(records: Vec<Record>) -> Vec<Record> {
    let mut seen = HashSet::new();
    records.into_iter().filter(|r| seen.insert(fp(r))).collect()
}

/// `r` as the RFC 6762 §8.2 tiebreak compares it: class without the top bit, type, then the
/// uncompressed RDATA bytes.
pub(super) fn canonical(r: &Record) -> (u16, u16, Vec<u8>) {
    (r.class().0, r.rtype.0, rdata_bytes(&r.rdata))
}

fn rdata_bytes(data: &RData) -> Vec<u8> {
    let mut out = Vec::new();
    match data {
        RData::A(ip) => out.extend_from_slice(&ip.octets()),
        RData::Aaaa(ip) => out.extend_from_slice(&ip.octets()),
        RData::Ptr(n) | RData::Ns(n) | RData::Cname(n) => name_bytes(n, &mut out),
        RData::Srv {
            priority,
            weight,
            port,
            target,
        } => {
            for v in [priority, weight, port] {
                out.extend_from_slice(&v.to_be_bytes());
            }
            name_bytes(target, &mut out);
        }
        RData::Mx {
            preference,
            exchange,
        } => {
            out.extend_from_slice(&preference.to_be_bytes());
            name_bytes(exchange, &mut out);
        }
        RData::Txt(strings) => strings.iter().for_each(|s| string_bytes(s, &mut out)),
        RData::Hinfo { cpu, os } => {
            string_bytes(cpu, &mut out);
            string_bytes(os, &mut out);
        }
        RData::Nsec { next, types } => {
            // Not the RFC 4034 bitmap, but a total order consistent with it is all we need.
            name_bytes(next, &mut out);
            types
                .iter()
                .for_each(|t| out.extend_from_slice(&t.0.to_be_bytes()));
        }
        RData::Unknown(bytes) => out.extend_from_slice(bytes),
        // Not an mDNS record type; any stable order will do.
        other => out.extend_from_slice(format!("{other:?}").as_bytes()),
    }
    out
}

fn name_bytes(n: &Name, out: &mut Vec<u8>) {
    for label in n.labels() {
        string_bytes(label, out);
    }
    out.push(0);
}

fn string_bytes(s: &[u8], out: &mut Vec<u8>) {
    out.push(u8::try_from(s.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(s);
}
