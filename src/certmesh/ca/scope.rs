//! What the CA may issue for: DNS suffixes and IP ranges (spec §4.7 scope constraints, and the
//! root's X.509 name constraints).
//!
//! Two layers: the root's *name constraints* (the local zones, private IP ranges and any
//! `--permit-domain`/`--domain`/`--subnet`) bind the CA key itself, so even a stolen key cannot
//! mint a cert browsers accept for a public name; the *issuance scope* (`--domain`/`--subnet`)
//! is the CA's policy, checked before signing. Pure functions; never touches disk or network.

use std::net::IpAddr;

/// The DNS suffixes every koi root permits besides its zone.
pub const LOCAL_ZONES: [&str; 3] = ["local", "home.arpa", "internal"];

/// An IP range `addr/prefix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    /// The network address (host bits cleared).
    pub addr: IpAddr,
    /// The prefix length.
    pub prefix: u8,
}

impl Cidr {
    /// Parses `10.0.0.0/8` or `fc00::/7`; host bits are cleared.
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let (a, p) = text
            .trim()
            .split_once('/')
            .ok_or_else(|| format!("`{text}` is not a subnet like 192.168.1.0/24"))?;
        let addr: IpAddr = a
            .parse()
            .map_err(|_| format!("`{a}` in `{text}` is not an IP address"))?;
        let prefix: u8 = p
            .parse()
            .map_err(|_| format!("`{p}` in `{text}` is not a prefix length"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if prefix > max {
            return Err(format!("prefix /{prefix} is too long for {addr}"));
        }
        Ok(Cidr {
            addr: mask(addr, prefix),
            prefix,
        })
    }

    /// True if `ip` is inside the range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        ip.is_ipv4() == self.addr.is_ipv4() && mask(ip, self.prefix) == self.addr
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let m = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(prefix))
            };
            IpAddr::V4((bits & m).into())
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let m = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(prefix))
            };
            IpAddr::V6((bits & m).into())
        }
    }
}

/// The private ranges every koi root permits (loopback too, so the CA host's own cert
/// serves on 127.0.0.1: no public CA can issue for it anyway).
pub fn private_ranges() -> Vec<Cidr> {
    [
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "fc00::/7",
        "fe80::/10",
        "127.0.0.0/8",
        "::1/128",
    ]
    .iter()
    .filter_map(|c| Cidr::parse(c).ok())
    .collect()
}

/// True if `name` is `suffix` or ends in `.suffix` (ASCII case-insensitive).
pub fn name_within(name: &str, suffix: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let suffix = suffix.trim_matches('.').to_ascii_lowercase();
    name == suffix || name.ends_with(&format!(".{suffix}"))
}

/// Checks a DNS label sequence: 1..=253 chars, labels 1..=63 of `[a-z0-9-]`, not starting or
/// ending with `-`.
pub fn valid_dns_name(name: &str) -> bool {
    let name = name.trim_end_matches('.');
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// The root's name constraints and the CA's issuance policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// The local zone (default `lan`).
    pub zone: String,
    /// `--domain`: if set, issued names must be within it (or be the bare host/zone names).
    pub domain: Option<String>,
    /// `--subnet`: if set, issued IPs must be inside it.
    pub subnet: Option<Cidr>,
    /// `--permit-domain`: extra suffixes the root permits.
    pub permit_domains: Vec<String>,
}

impl Scope {
    /// DNS suffixes written into the root's permitted subtrees.
    pub fn permitted_dns(&self) -> Vec<String> {
        let mut out = vec![self.zone.clone()];
        out.extend(LOCAL_ZONES.iter().map(|z| z.to_string()));
        out.extend(self.domain.iter().cloned());
        out.extend(self.permit_domains.iter().cloned());
        let mut seen = Vec::new();
        for d in out {
            let d = d.trim_matches('.').to_ascii_lowercase();
            if !seen.contains(&d) {
                seen.push(d);
            }
        }
        seen
    }

    /// IP ranges written into the root's permitted subtrees.
    pub fn permitted_ips(&self) -> Vec<Cidr> {
        let mut out = private_ranges();
        if let Some(s) = self.subnet {
            if !out
                .iter()
                .any(|r| r.contains(s.addr) && r.prefix <= s.prefix)
            {
                out.push(s);
            }
        }
        out
    }

    /// Checks one requested name against the issuance scope. Bare single-label host names are
    /// not written into the cert (name constraints would reject them), so only dotted names
    /// are checked here.
    pub fn check_name(&self, name: &str) -> Result<(), String> {
        if !valid_dns_name(name) {
            return Err(format!("`{name}` is not a valid host name"));
        }
        let permitted = self.permitted_dns();
        if !permitted.iter().any(|p| name_within(name, p)) {
            return Err(format!(
                "`{name}` is outside the names this CA may certify ({})",
                permitted.join(", ")
            ));
        }
        if let Some(d) = &self.domain {
            let in_local = name_within(name, &self.zone) || name_within(name, "local");
            if !in_local && !name_within(name, d) {
                return Err(format!("`{name}` is outside the domain scope {d}"));
            }
        }
        Ok(())
    }

    /// Checks one requested IP against the scope.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), String> {
        if let Some(s) = self.subnet {
            if !s.contains(ip) && !ip.is_loopback() {
                return Err(format!("{ip} is outside the subnet scope {s}"));
            }
            return Ok(());
        }
        if !self.permitted_ips().iter().any(|r| r.contains(ip)) {
            return Err(format!("{ip} is not a private address this CA may certify"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Scope {
        Scope {
            zone: "lan".into(),
            domain: Some("school.local".into()),
            subnet: Some(Cidr::parse("192.168.1.0/24").unwrap()),
            permit_domains: vec![],
        }
    }

    #[test]
    fn cidr_parse_and_contains() {
        let c = Cidr::parse("192.168.1.77/24").unwrap();
        assert_eq!(c.to_string(), "192.168.1.0/24");
        assert!(c.contains("192.168.1.200".parse().unwrap()));
        assert!(!c.contains("192.168.2.1".parse().unwrap()));
        assert!(!c.contains("::1".parse().unwrap()));
        let v6 = Cidr::parse("fc00::/7").unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        for bad in ["10.0.0.0", "10.0.0.0/33", "x/8", "10.0.0.0/x", "::/129"] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_and_ips_in_and_out_of_scope() {
        let s = scope();
        assert!(s.check_name("stone.lan").is_ok());
        assert!(s.check_name("stone.local").is_ok());
        assert!(s.check_name("stone.school.local").is_ok());
        assert!(s.check_name("stone.home.arpa").is_err(), "outside --domain");
        assert!(s.check_name("example.com").is_err());
        assert!(s.check_name("bad_name.lan").is_err());
        assert!(s.check_ip("192.168.1.9".parse().unwrap()).is_ok());
        assert!(s.check_ip("192.168.2.9".parse().unwrap()).is_err());
        let open = Scope {
            domain: None,
            subnet: None,
            ..scope()
        };
        assert!(open.check_name("x.home.arpa").is_ok());
        assert!(open.check_ip("10.1.2.3".parse().unwrap()).is_ok());
        assert!(open.check_ip("8.8.8.8".parse().unwrap()).is_err());
    }
}
