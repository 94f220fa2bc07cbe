//! The resolver's configuration and its state file `<state>/dns.json` (static entries,
//! settings, and whether it should run), so the agent serves DNS again after a restart.
//!
//! Owns parsing of every user-given setting (zone, listen addresses, upstreams, static names)
//! with clear errors, the defaults (LAN interface addresses, `/etc/resolv.conf` minus
//! ourselves), and reading/writing the file atomically. A corrupt file is an error naming the
//! file, never silently replaced.

use super::zone::is_lan_address;
use crate::state::{read_versioned, write_versioned, Secrecy, StateDir, StateError, Versioned};
use koi_wire::dns::Name;
use miniserde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// The default zone.
pub const DEFAULT_ZONE: &str = "lan";
/// The default port.
pub const DEFAULT_PORT: u16 = 53;
/// Default answers per second per client /24 or /56.
pub const DEFAULT_RATE_LIMIT: u32 = 1000;

/// How the resolver runs.
#[derive(Clone, Debug, PartialEq)]
pub struct DnsConfig {
    /// The local zone, e.g. `lan` or `home.arpa`.
    pub zone: Name,
    /// UDP and TCP port.
    pub port: u16,
    /// Addresses to listen on; empty means the LAN interface addresses at start.
    pub listen: Vec<IpAddr>,
    /// Upstream resolvers; empty means the system's.
    pub upstream: Vec<SocketAddr>,
    /// Generate `grafana.lan` and friends from mDNS services.
    pub service_aliases: bool,
    /// Answers per second per client network (0: off).
    pub rate_limit: u32,
    /// Every n-th limited query gets a TC answer.
    pub slip: u32,
    /// How long one upstream may take.
    pub upstream_timeout: Duration,
}

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig {
            zone: Name::from_dotted(DEFAULT_ZONE).unwrap_or_else(|_| Name::root()),
            port: DEFAULT_PORT,
            listen: Vec::new(),
            upstream: Vec::new(),
            service_aliases: true,
            rate_limit: DEFAULT_RATE_LIMIT,
            slip: 2,
            upstream_timeout: Duration::from_millis(1500),
        }
    }
}

/// A setting that does not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

fn err<T>(msg: String) -> Result<T, ConfigError> {
    Err(ConfigError(msg))
}

/// Parses a zone name (`lan`, `home.arpa`).
pub fn parse_zone(text: &str) -> Result<Name, ConfigError> {
    let t = text.trim().trim_end_matches('.');
    if t.is_empty()
        || !t
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    {
        return err(format!(
            "--zone {text:?}: use a domain like lan or home.arpa"
        ));
    }
    Name::from_dotted(t).map_err(|e| ConfigError(format!("--zone {text:?}: {e}")))
}

/// Parses `IP` or `IP:PORT` / `[IPv6]:PORT` (port 53 when absent).
pub fn parse_upstream(text: &str) -> Result<SocketAddr, ConfigError> {
    let t = text.trim();
    if let Ok(sa) = t.parse::<SocketAddr>() {
        return Ok(sa);
    }
    match t.parse::<IpAddr>() {
        Ok(ip) => Ok(SocketAddr::new(ip, 53)),
        Err(_) => err(format!(
            "--upstream {text:?}: use an address like 192.168.1.1 or 127.0.0.1:5301"
        )),
    }
}

/// Parses a listen address.
pub fn parse_listen(text: &str) -> Result<IpAddr, ConfigError> {
    text.trim().parse().map_err(|_| {
        ConfigError(format!(
            "--listen {text:?}: use an interface address like 192.168.1.5 or 127.0.0.1"
        ))
    })
}

/// Parses `on`/`off`.
pub fn parse_on_off(text: &str) -> Result<bool, ConfigError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" => Ok(true),
        "off" | "false" | "no" => Ok(false),
        _ => err(format!("--service-aliases {text:?}: use on or off")),
    }
}

/// A static entry's name: `grafana` → `grafana.lan`, `grafana.lan` unchanged. The name must
/// be inside the zone.
pub fn static_name(text: &str, zone: &Name) -> Result<Name, ConfigError> {
    let t = text.trim().trim_end_matches('.');
    let ok = !t.is_empty()
        && t.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if !ok {
        return err(format!(
            "{text:?} is not a host name: use letters, digits and '-', e.g. nas or nas.{zone}"
        ));
    }
    let name = Name::from_dotted(t).map_err(|e| ConfigError(format!("{text:?}: {e}")))?;
    if name.ends_with(zone) {
        if name == *zone {
            return err(format!("{text:?} is the zone itself; name a host in it"));
        }
        return Ok(name);
    }
    name.concat(zone)
        .map_err(|e| ConfigError(format!("{text:?}: {e}")))
}

/// A static entry's address: a LAN address only.
pub fn static_ip(text: &str) -> Result<IpAddr, ConfigError> {
    let ip: IpAddr = text
        .trim()
        .parse()
        .map_err(|_| ConfigError(format!("{text:?} is not an IP address")))?;
    if !is_lan_address(ip) {
        return err(format!(
            "{ip} is not a private address: a local name may only point at RFC 1918 (10/8, 172.16/12, 192.168/16), link-local, or IPv6 ULA (fc00::/7) and link-local addresses"
        ));
    }
    Ok(ip)
}

/// The nameservers of a resolv.conf text, minus any of `ours`.
pub fn resolv_conf_upstreams(text: &str, ours: &[SocketAddr]) -> Vec<SocketAddr> {
    text.lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            (words.next() == Some("nameserver"))
                .then(|| words.next())
                .flatten()
        })
        .filter_map(|w| w.split('%').next().and_then(|w| w.parse::<IpAddr>().ok()))
        .map(|ip| SocketAddr::new(ip, 53))
        .filter(|sa| {
            !ours
                .iter()
                .any(|o| o.port() == sa.port() && (o.ip() == sa.ip() || o.ip().is_unspecified()))
        })
        .collect()
}

/// `<state>/dns.json`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DnsFile {
    /// Schema number.
    pub schema: u32,
    /// Whether the agent should serve DNS when it starts.
    pub running: bool,
    /// The zone.
    pub zone: String,
    /// The port.
    pub port: u16,
    /// Listen addresses (empty: LAN interfaces).
    pub listen: Vec<String>,
    /// Upstreams (empty: system).
    pub upstream: Vec<String>,
    /// Service aliases on.
    pub service_aliases: bool,
    /// Rate limit.
    pub rate_limit: u32,
    /// Static entries.
    pub statics: Vec<StaticJson>,
}

/// One static entry on disk.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StaticJson {
    /// The full name, e.g. `nas.lan`.
    pub name: String,
    /// The address.
    pub ip: String,
}

impl Versioned for DnsFile {
    const SCHEMA: u32 = 1;
}

impl DnsFile {
    /// The file's path.
    pub fn path(state: &StateDir) -> PathBuf {
        state.root().join("dns.json")
    }

    /// Reads the file; a missing one is the defaults.
    pub fn load(state: &StateDir) -> Result<DnsFile, StateError> {
        match read_versioned(&Self::path(state)) {
            Ok(f) => Ok(f),
            Err(e) if e.is_not_found() => Ok(DnsFile::from_config(&DnsConfig::default(), false)),
            Err(e) => Err(e),
        }
    }

    /// Writes the file atomically.
    pub fn save(&self, state: &StateDir) -> Result<(), StateError> {
        state
            .create()
            .map_err(|e| StateError::io(&Self::path(state), &e))?;
        write_versioned(&Self::path(state), self, Secrecy::Public)
    }

    /// The settings of `config` with no static entries.
    pub fn from_config(config: &DnsConfig, running: bool) -> DnsFile {
        DnsFile {
            schema: Self::SCHEMA,
            running,
            zone: config.zone.to_string(),
            port: config.port,
            listen: config.listen.iter().map(ToString::to_string).collect(),
            upstream: config.upstream.iter().map(ToString::to_string).collect(),
            service_aliases: config.service_aliases,
            rate_limit: config.rate_limit,
            statics: Vec::new(),
        }
    }

    /// The settings as a config (entries that no longer parse are an error).
    pub fn config(&self) -> Result<DnsConfig, ConfigError> {
        Ok(DnsConfig {
            zone: parse_zone(&self.zone)?,
            port: self.port,
            listen: self
                .listen
                .iter()
                .map(|l| parse_listen(l))
                .collect::<Result<_, _>>()?,
            upstream: self
                .upstream
                .iter()
                .map(|u| parse_upstream(u))
                .collect::<Result<_, _>>()?,
            service_aliases: self.service_aliases,
            rate_limit: self.rate_limit,
            ..DnsConfig::default()
        })
    }

    /// The static entries, parsed; ones that no longer parse are skipped.
    pub fn static_entries(&self) -> Vec<(Name, IpAddr)> {
        self.statics
            .iter()
            .filter_map(|s| {
                let name = Name::from_dotted(&s.name).ok()?;
                let ip = static_ip(&s.ip).ok()?;
                Some((name, ip))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_get_the_zone_and_public_ips_are_refused() {
        let lan = parse_zone("lan").unwrap();
        assert_eq!(
            static_name("grafana", &lan).unwrap().to_string(),
            "grafana.lan"
        );
        assert_eq!(
            static_name("grafana", &lan).unwrap(),
            Name::from_dotted("grafana.lan").unwrap()
        );
        assert_eq!(
            static_name("nas.LAN.", &lan).unwrap(),
            Name::from_dotted("nas.lan").unwrap()
        );
        assert!(static_name("bad name", &lan).is_err());
        assert!(static_name("lan", &lan).is_err());
        let e = static_ip("8.8.8.8").unwrap_err();
        assert!(e.0.contains("not a private address"), "{e}");
        assert!(static_ip("192.168.1.20").is_ok());
    }

    #[test]
    fn resolv_conf_skips_ourselves() {
        let text =
            "# x\nnameserver 10.0.0.1\nnameserver 127.0.0.1\nnameserver fe80::1%eth0\nsearch lan\n";
        let ours = ["127.0.0.1:53".parse().unwrap()];
        let ups = resolv_conf_upstreams(text, &ours);
        assert_eq!(
            ups,
            vec![
                "10.0.0.1:53".parse().unwrap(),
                "[fe80::1]:53".parse().unwrap()
            ]
        );
        assert_eq!(parse_upstream("127.0.0.1:5301").unwrap().port(), 5301);
        assert_eq!(parse_upstream("192.168.1.1").unwrap().port(), 53);
    }
}
