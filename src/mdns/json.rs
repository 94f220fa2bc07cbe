//! The JSON shapes of the mDNS gateway and CLI (`--json`): one place, so the REST API and the
//! command line print the same fields.

use super::registry::Entry;
use super::responder::{ServiceState, ServiceStatus};
use super::service::{Counters, MdnsSnapshot};
use super::types::{Family, LinkInfo, ServiceInstance, ServiceSpec, ServiceType};
use miniserde::{Deserialize, Serialize};
use std::net::IpAddr;

/// A discovered service.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceJson {
    /// `found`, `updated` or `removed` in a stream; absent in a snapshot.
    pub event: Option<String>,
    /// Instance name.
    pub instance: String,
    /// Service type, `_http._tcp`.
    #[serde(rename = "type")]
    pub service_type: String,
    /// Target host, `stone-05.local`.
    pub host: String,
    /// Addresses; IPv6 link-local ones carry `%interface`.
    pub addresses: Vec<String>,
    /// Port.
    pub port: u16,
    /// TXT strings, `key=value`.
    pub txt: Vec<String>,
    /// Interface it was seen on.
    pub interface: String,
    /// First seen, seconds since the epoch (registry entries only).
    pub first_seen: Option<u64>,
    /// Last seen, seconds since the epoch (registry entries only).
    pub last_seen: Option<u64>,
    /// Stale (gone, kept as history).
    pub stale: Option<bool>,
}

impl ServiceJson {
    /// From a resolved instance.
    pub fn from_instance(s: &ServiceInstance, links: &[LinkInfo]) -> ServiceJson {
        let ifname = interface_name(s.scope(), links);
        ServiceJson {
            event: None,
            instance: s.instance().to_string(),
            service_type: s.service_type().to_string(),
            host: s.host().to_string(),
            addresses: s.addrs().map(|a| format_addr(a, &ifname)).collect(),
            port: s.port(),
            txt: s
                .txt()
                .map(|t| String::from_utf8_lossy(t).into_owned())
                .collect(),
            interface: ifname,
            first_seen: None,
            last_seen: None,
            stale: None,
        }
    }

    /// From a registry entry.
    pub fn from_entry(e: &Entry, links: &[LinkInfo]) -> ServiceJson {
        ServiceJson {
            first_seen: Some(e.first_seen),
            last_seen: Some(e.last_seen),
            stale: Some(e.stale),
            ..ServiceJson::from_instance(&e.service, links)
        }
    }
}

fn interface_name(ifindex: u32, links: &[LinkInfo]) -> String {
    links
        .iter()
        .find(|l| l.link.ifindex == ifindex)
        .map_or_else(|| ifindex.to_string(), |l| l.name.clone())
}

fn format_addr(a: IpAddr, ifname: &str) -> String {
    match a {
        IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80 => format!("{v6}%{ifname}"),
        other => other.to_string(),
    }
}

/// The body of `POST /v1/mdns/announce`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AnnounceRequest {
    /// Instance name.
    pub instance: String,
    /// Service type.
    #[serde(rename = "type")]
    pub service_type: String,
    /// Port.
    pub port: u16,
    /// TXT strings `key=value`.
    pub txt: Option<Vec<String>>,
    /// Host name without `.local`.
    pub host: Option<String>,
    /// Fixed addresses.
    pub ips: Option<Vec<String>>,
}

impl AnnounceRequest {
    /// Checks and converts it; the error says what is wrong for the user.
    pub fn to_spec(&self) -> Result<ServiceSpec, String> {
        let service_type = ServiceType::parse(&self.service_type).map_err(|e| e.to_string())?;
        if self.instance.is_empty() || self.instance.len() > 63 {
            return Err("the instance name must be 1 to 63 bytes".into());
        }
        if self.port == 0 {
            return Err("the port must be 1 to 65535".into());
        }
        let mut addrs = Vec::new();
        for ip in self.ips.iter().flatten() {
            let a: IpAddr = ip
                .parse()
                .map_err(|_| format!("{ip:?} is not an IPv4 or IPv6 address"))?;
            addrs.push(a);
        }
        if let Some(h) = &self.host {
            if h.is_empty() || h.len() > 63 || h.contains('.') {
                return Err(format!(
                    "{h:?}: a host name is one label of 1 to 63 bytes, without .local"
                ));
            }
        }
        Ok(ServiceSpec {
            instance: self.instance.clone(),
            service_type,
            port: self.port,
            txt: self
                .txt
                .iter()
                .flatten()
                .map(|t| t.as_bytes().to_vec())
                .collect(),
            host: self.host.clone(),
            addrs,
        })
    }
}

/// The reply to an announce.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AnnounceReply {
    /// The name it starts probing with.
    pub instance: String,
    /// Its type.
    #[serde(rename = "type")]
    pub service_type: String,
    /// `probing`.
    pub state: String,
}

/// The body of `POST /v1/mdns/withdraw`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WithdrawRequest {
    /// Current or original instance name.
    pub instance: String,
    /// Optional type, to pick one of several services with the same name.
    #[serde(rename = "type")]
    pub service_type: Option<String>,
}

/// The body of `POST /v1/mdns/reflect`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReflectRequest {
    /// Interface names (two or more), or empty to stop.
    pub between: Vec<String>,
}

/// One announced service in `status`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AnnouncedJson {
    /// Current name.
    pub instance: String,
    /// Name it was registered with.
    pub original: String,
    /// Type.
    #[serde(rename = "type")]
    pub service_type: String,
    /// Port.
    pub port: u16,
    /// `probing`, `announcing` or `announced`.
    pub state: String,
    /// Name before the last conflict rename.
    pub renamed_from: Option<String>,
}

/// One interface in `status`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InterfaceJson {
    /// Name.
    pub name: String,
    /// `ipv4` or `ipv6`.
    pub family: String,
    /// Addresses with prefix length.
    pub addresses: Vec<String>,
}

/// Reflector state in `status`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReflectorJson {
    /// Interfaces.
    pub between: Vec<String>,
    /// Datagrams forwarded.
    pub forwarded: u64,
    /// Datagrams not forwarded (own, duplicate, rate-limited, unicast).
    pub skipped: u64,
}

/// `GET /v1/mdns/status`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusJson {
    /// Host name.
    pub host: String,
    /// Services announced.
    pub announced: Vec<AnnouncedJson>,
    /// Services in the registry (live + stale).
    pub discovered: usize,
    /// Stale ones.
    pub stale: usize,
    /// Interfaces in use.
    pub interfaces: Vec<InterfaceJson>,
    /// Families whose socket failed.
    pub socket_errors: Vec<String>,
    /// Counters.
    pub counters: Counters,
    /// Reflector, if on.
    pub reflector: Option<ReflectorJson>,
}

/// The lower-case name of a state.
pub fn state_name(s: ServiceState) -> &'static str {
    match s {
        ServiceState::Probing => "probing",
        ServiceState::Announcing => "announcing",
        ServiceState::Announced => "announced",
    }
}

impl StatusJson {
    /// From a snapshot.
    pub fn from_snapshot(s: &MdnsSnapshot) -> StatusJson {
        StatusJson {
            host: s.host.clone(),
            announced: s.announced.iter().map(announced).collect(),
            discovered: s.discovered,
            stale: s.stale,
            interfaces: s
                .links
                .iter()
                .map(|l| InterfaceJson {
                    name: l.name.clone(),
                    family: match l.link.family {
                        Family::V4 => "ipv4".into(),
                        Family::V6 => "ipv6".into(),
                    },
                    addresses: l
                        .addrs
                        .iter()
                        .map(|a| format!("{}/{}", a.addr, a.prefix_len))
                        .collect(),
                })
                .collect(),
            socket_errors: s.socket_errors.clone(),
            counters: s.counters.clone(),
            reflector: s
                .reflector
                .as_ref()
                .map(|(between, forwarded, skipped)| ReflectorJson {
                    between: between.clone(),
                    forwarded: *forwarded,
                    skipped: *skipped,
                }),
        }
    }
}

fn announced(s: &ServiceStatus) -> AnnouncedJson {
    AnnouncedJson {
        instance: s.instance.clone(),
        original: s.original.clone(),
        service_type: s.service_type.to_string(),
        port: s.port,
        state: state_name(s.state).into(),
        renamed_from: s.renamed_from.clone(),
    }
}
