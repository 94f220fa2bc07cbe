//! Which links mDNS runs on, read from the kernel's interface list.
//!
//! A link is one (interface, family) pair of an interface that is up, multicast-capable and
//! not loopback. An interface has an IPv6 link only if it has a link-local address (mDNS over
//! IPv6 needs one to send from). The result is sorted by (ifindex, family), so two calls on an
//! unchanged host compare equal.

use std::collections::BTreeMap;
use std::io;
use std::net::IpAddr;

use super::sys;
use crate::mdns::types::{Family, IfAddr, Link, LinkInfo};

/// The links mDNS may use now; if `allow` is non-empty, only interfaces named in it.
pub fn links(allow: &[String]) -> io::Result<Vec<LinkInfo>> {
    Ok(collect(&sys::interface_addrs()?, allow, sys::if_index))
}

/// This machine's host name without any domain (`stone-05`, not `stone-05.lan`); `koi` if
/// the kernel's name is empty or unreadable.
pub fn host_name() -> String {
    short_name(sys::host_name().as_deref().unwrap_or(""))
}

/// The first label of `name`, trimmed; `koi` if that is empty.
fn short_name(name: &str) -> String {
    let label = name.trim().split('.').next().unwrap_or("").trim();
    if label.is_empty() {
        "koi".to_string()
    } else {
        label.to_string()
    }
}

/// The pure part of [`links`]: groups `getifaddrs` entries into links.
fn collect(
    raw: &[sys::RawIfAddr],
    allow: &[String],
    mut index_of: impl FnMut(&str) -> Option<u32>,
) -> Vec<LinkInfo> {
    let wanted = libc::IFF_UP as u32 | libc::IFF_MULTICAST as u32;
    let mut indexes: BTreeMap<&str, Option<u32>> = BTreeMap::new();
    let mut by_link: BTreeMap<Link, LinkInfo> = BTreeMap::new();
    for entry in raw {
        if entry.flags & wanted != wanted || entry.flags & libc::IFF_LOOPBACK as u32 != 0 {
            continue;
        }
        // IPv4 address labels (`eth0:1`) belong to their interface; `:` is not legal in a
        // Linux interface name.
        let name = entry.name.split(':').next().unwrap_or("");
        if !allow.is_empty() && !allow.iter().any(|a| a == name) {
            continue;
        }
        let ifindex = *indexes.entry(name).or_insert_with(|| index_of(name));
        let Some(ifindex) = ifindex else {
            continue;
        };
        let family = match entry.addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        };
        let prefix_len = match entry.netmask {
            Some(IpAddr::V4(m)) => u32::from(m).leading_ones() as u8,
            Some(IpAddr::V6(m)) => u128::from(m).leading_ones() as u8,
            None if family == Family::V4 => 32,
            None => 128,
        };
        let link = Link { ifindex, family };
        let info = by_link.entry(link).or_insert_with(|| LinkInfo {
            link,
            name: name.to_string(),
            addrs: Vec::new(),
        });
        let addr = IfAddr {
            addr: entry.addr,
            prefix_len,
        };
        if !info.addrs.contains(&addr) {
            info.addrs.push(addr);
        }
    }
    by_link
        .into_values()
        .filter(|info| info.link.family == Family::V4 || info.addrs.iter().any(is_link_local))
        .collect()
}

fn is_link_local(a: &IfAddr) -> bool {
    matches!(a.addr, IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(name: &str, flags: libc::c_int, addr: &str, mask: &str) -> sys::RawIfAddr {
        sys::RawIfAddr {
            name: name.to_string(),
            flags: flags as u32,
            addr: addr.parse().unwrap(),
            netmask: mask.parse().ok(),
        }
    }

    const UP_MC: libc::c_int = libc::IFF_UP | libc::IFF_MULTICAST;

    fn index(name: &str) -> Option<u32> {
        match name {
            "lo" => Some(1),
            "eth0" => Some(2),
            "wlan0" => Some(3),
            "down0" => Some(4),
            _ => None,
        }
    }

    #[test]
    fn groups_addresses_per_interface_and_family_in_index_order() {
        let list = [
            raw("wlan0", UP_MC, "192.168.1.5", "255.255.255.0"),
            raw("lo", UP_MC | libc::IFF_LOOPBACK, "127.0.0.1", "255.0.0.0"),
            raw("eth0", UP_MC, "10.0.0.2", "255.255.0.0"),
            raw("eth0:1", UP_MC, "10.9.0.2", "255.255.255.252"),
            raw("eth0", UP_MC, "2001:db8::2", "ffff:ffff:ffff:ffff::"),
            raw("eth0", UP_MC, "fe80::2", "ffff:ffff:ffff:ffff::"),
            raw("wlan0", UP_MC, "2001:db8:1::5", "ffff:ffff:ffff:ffff::"),
            raw("down0", libc::IFF_MULTICAST, "10.4.0.1", "255.255.255.0"),
            raw("ppp0", libc::IFF_UP, "10.5.0.1", "255.255.255.255"),
            raw("gone0", UP_MC, "10.6.0.1", "255.255.255.0"),
        ];
        let got = collect(&list, &[], index);
        type Row<'a> = (u32, Family, &'a str, Vec<(String, u8)>);
        let summary: Vec<Row<'_>> = got
            .iter()
            .map(|l| {
                let addrs = l.addrs.iter().map(|a| (a.addr.to_string(), a.prefix_len));
                (
                    l.link.ifindex,
                    l.link.family,
                    l.name.as_str(),
                    addrs.collect(),
                )
            })
            .collect();
        let s = |a: &str, p| (a.to_string(), p);
        assert_eq!(
            summary,
            vec![
                (
                    2,
                    Family::V4,
                    "eth0",
                    vec![s("10.0.0.2", 16), s("10.9.0.2", 30)]
                ),
                (
                    2,
                    Family::V6,
                    "eth0",
                    vec![s("2001:db8::2", 64), s("fe80::2", 64)]
                ),
                // wlan0 has no IPv6 link-local address: no IPv6 link.
                (3, Family::V4, "wlan0", vec![s("192.168.1.5", 24)]),
            ]
        );
    }

    #[test]
    fn allow_list_keeps_only_named_interfaces() {
        let list = [
            raw("eth0", UP_MC, "10.0.0.2", "255.255.255.0"),
            raw("wlan0", UP_MC, "192.168.1.5", "255.255.255.0"),
        ];
        let got = collect(&list, &["wlan0".to_string()], index);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].name, "wlan0");
    }

    #[test]
    fn host_name_drops_the_domain() {
        assert_eq!(short_name("stone-05.lan"), "stone-05");
        assert_eq!(short_name("stone-05"), "stone-05");
        assert_eq!(short_name(""), "koi");
        assert_eq!(short_name(".lan"), "koi");
    }
}
