//! Address rules of the local zone: which addresses a `.lan` name may resolve to, and the
//! reverse (`in-addr.arpa` / `ip6.arpa`) names of addresses.
//!
//! Pure functions; nothing here reads the network.

use koi_wire::dns::Name;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Whether a local-zone name may resolve to `ip`: RFC 1918 and link-local IPv4, ULA (fc00::/7)
/// and link-local (fe80::/10) IPv6. Everything else (public, loopback, multicast,
/// unspecified) is refused, so a `.lan` name can never point outside the LAN.
pub fn is_lan_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_private() || v4.is_link_local(),
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80
        }
    }
}

/// The address a reverse-lookup name stands for (`15.1.168.192.in-addr.arpa` → 192.168.1.15;
/// 32 nibble labels under `ip6.arpa`), or `None` for any other name.
pub fn parse_reverse(name: &Name) -> Option<IpAddr> {
    let labels: Vec<&[u8]> = name.labels().collect();
    let n = labels.len();
    if n == 6 && eq(labels[4], b"in-addr") && eq(labels[5], b"arpa") {
        let mut octets = [0u8; 4];
        for (i, label) in labels[..4].iter().enumerate() {
            let text = std::str::from_utf8(label).ok()?;
            if text.len() > 1 && text.starts_with('0') {
                return None;
            }
            octets[3 - i] = text.parse().ok()?;
        }
        return Some(IpAddr::V4(Ipv4Addr::from(octets)));
    }
    if n == 34 && eq(labels[32], b"ip6") && eq(labels[33], b"arpa") {
        let mut value: u128 = 0;
        for label in labels[..32].iter().rev() {
            let [c] = label else { return None };
            let nibble = (*c as char).to_digit(16)?;
            value = (value << 4) | u128::from(nibble);
        }
        return Some(IpAddr::V6(Ipv6Addr::from(value)));
    }
    None
}

/// The reverse-lookup name of `ip`.
pub fn reverse_name(ip: IpAddr) -> Name {
    let text = match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}.in-addr.arpa")
        }
        IpAddr::V6(v6) => {
            let mut s = String::with_capacity(72);
            for byte in v6.octets().iter().rev() {
                s.push_str(&format!("{:x}.{:x}.", byte & 0xf, byte >> 4));
            }
            s.push_str("ip6.arpa");
            s
        }
    };
    // Always valid: at most 34 short labels.
    Name::from_dotted(&text).unwrap_or_else(|_| Name::root())
}

fn eq(a: &[u8], b: &[u8]) -> bool {
    a.eq_ignore_ascii_case(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lan_addresses() {
        for ok in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.15",
            "169.254.3.4",
            "fd00::21",
            "fe80::1",
        ] {
            assert!(is_lan_address(ok.parse().unwrap()), "{ok}");
        }
        for bad in [
            "8.8.8.8",
            "127.0.0.1",
            "0.0.0.0",
            "224.0.0.251",
            "2001:db8::1",
            "::1",
            "172.32.0.1",
        ] {
            assert!(!is_lan_address(bad.parse().unwrap()), "{bad}");
        }
    }

    #[test]
    fn reverse_round_trip() {
        for ip in ["192.168.1.15", "10.0.0.1", "fd00::21", "fe80::1:2:3:4"] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(parse_reverse(&reverse_name(ip)), Some(ip));
        }
        assert_eq!(
            reverse_name("192.168.1.15".parse().unwrap()).to_string(),
            "15.1.168.192.in-addr.arpa"
        );
        for bad in [
            "1.2.3.in-addr.arpa",
            "01.2.3.4.in-addr.arpa",
            "256.1.1.1.in-addr.arpa",
            "x.ip6.arpa",
            "example.com",
        ] {
            assert_eq!(
                parse_reverse(&Name::from_dotted(bad).unwrap()),
                None,
                "{bad}"
            );
        }
    }
}
