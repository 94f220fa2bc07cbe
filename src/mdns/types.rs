//! The shared vocabulary of the mDNS layer: links, datagrams in and out, services announced
//! and services discovered.
//!
//! These types are the contract between the pure protocol state machines (responder, browser,
//! reflector), which never touch a socket or a clock, and the async shell in `service.rs`, which
//! only moves bytes and timers.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use super::packed::{PackReader, PackWriter, SharedPacked};

/// The mDNS port.
pub const MDNS_PORT: u16 = 5353;
/// The IPv4 mDNS group.
pub const MDNS_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 251);
/// The IPv6 mDNS group (link-local scope).
pub const MDNS_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0xfb);
/// Largest datagram koi sends: fits a 1500-byte MTU under IPv6 and IPv4 headers.
pub const MAX_DATAGRAM: usize = 1440;
/// TTL of host records (A, AAAA, and the reverse PTR), RFC 6762 §10.
pub const HOST_TTL: u32 = 120;
/// TTL of every other record, RFC 6762 §10.
pub const OTHER_TTL: u32 = 4500;

/// IPv4 or IPv6.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// IPv4 (224.0.0.251).
    V4,
    /// IPv6 (ff02::fb).
    V6,
}

/// One interface in one address family: the unit mDNS multicasts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Link {
    /// The interface index.
    pub ifindex: u32,
    /// The address family.
    pub family: Family,
}

impl Link {
    /// The multicast destination of this link.
    pub fn group(&self) -> SocketAddr {
        match self.family {
            Family::V4 => SocketAddr::new(IpAddr::V4(MDNS_V4), MDNS_PORT),
            Family::V6 => SocketAddr::V6(std::net::SocketAddrV6::new(
                MDNS_V6,
                MDNS_PORT,
                0,
                self.ifindex,
            )),
        }
    }
}

/// An address of an interface with its prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IfAddr {
    /// The address (IPv6 link-local addresses are scoped to the link's interface).
    pub addr: IpAddr,
    /// The prefix length of its subnet.
    pub prefix_len: u8,
}

impl IfAddr {
    /// True if `other` is inside this address's subnet.
    pub fn contains(&self, other: IpAddr) -> bool {
        match (self.addr, other) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                let bits = u32::from(self.prefix_len.min(32));
                let mask = if bits == 0 {
                    0
                } else {
                    u32::MAX << (32 - bits)
                };
                u32::from(a) & mask == u32::from(b) & mask
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => {
                let bits = u32::from(self.prefix_len.min(128));
                let mask = if bits == 0 {
                    0
                } else {
                    u128::MAX << (128 - bits)
                };
                u128::from(a) & mask == u128::from(b) & mask
            }
            _ => false,
        }
    }
}

/// What koi knows about one link: the interface's name and its addresses in this family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkInfo {
    /// The link.
    pub link: Link,
    /// The interface name, e.g. `eth0`.
    pub name: String,
    /// The interface's addresses in this family.
    pub addrs: Vec<IfAddr>,
}

impl LinkInfo {
    /// RFC 6762 §11: a source is on-link if it is inside one of this interface's subnets, or
    /// (IPv6) a link-local address.
    pub fn is_on_link(&self, src: IpAddr) -> bool {
        if let IpAddr::V6(v6) = src {
            if (v6.segments()[0] & 0xffc0) == 0xfe80 {
                return true;
            }
        }
        self.addrs.iter().any(|a| a.contains(src))
    }

    /// The addresses only (for A/AAAA answers on this link).
    pub fn ips(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.addrs.iter().map(|a| a.addr)
    }
}

/// A datagram as the shell received it.
#[derive(Clone, Copy, Debug)]
pub struct Received<'a> {
    /// The link it arrived on.
    pub link: Link,
    /// Its source address and port.
    pub src: SocketAddr,
    /// Its destination address: the mDNS group, or one of our unicast addresses.
    pub dst: IpAddr,
    /// The raw bytes.
    pub bytes: &'a [u8],
}

impl Received<'_> {
    /// True if it was sent to the multicast group rather than to us directly.
    pub fn to_group(&self) -> bool {
        self.dst.is_multicast()
    }

    /// True if the source port is not 5353: a "legacy" one-shot unicast querier (RFC 6762 §6.7).
    pub fn is_legacy(&self) -> bool {
        self.src.port() != MDNS_PORT
    }
}

/// Where a datagram goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Destination {
    /// The mDNS group on one link.
    Multicast(Link),
    /// One address, sent out of one link.
    Unicast {
        /// The link to send from.
        link: Link,
        /// The destination.
        to: SocketAddr,
    },
}

impl Destination {
    /// The link this datagram leaves on.
    pub fn link(&self) -> Link {
        match self {
            Destination::Multicast(l) => *l,
            Destination::Unicast { link, .. } => *link,
        }
    }
}

/// A datagram to send now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// Where it goes.
    pub dest: Destination,
    /// The encoded message, at most [`MAX_DATAGRAM`] bytes.
    pub bytes: Vec<u8>,
}

/// A DNS-SD service type such as `_http._tcp` (RFC 6763 §7).
///
/// Cheap to clone: clones share one copy of the service label (every discovered instance of a
/// type carries its type, so the registry holds thousands of them).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceType {
    /// The service label without its underscore, e.g. `http`.
    service: Arc<str>,
    /// `tcp` or `udp`.
    proto: Proto,
}

/// The protocol label of a service type (ordered as its text).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Proto {
    Tcp,
    Udp,
}

/// Why a service type was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadServiceType(pub String);

impl fmt::Display for BadServiceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a service type: write it like _http._tcp or _http._tcp.local (1-15 letters, digits or hyphens, then _tcp or _udp)",
            self.0
        )
    }
}

impl std::error::Error for BadServiceType {}

impl ServiceType {
    /// Parses `_http._tcp`, `_http._tcp.local` or `_http._tcp.local.` (case-insensitive).
    pub fn parse(text: &str) -> Result<ServiceType, BadServiceType> {
        let bad = || BadServiceType(text.to_string());
        let t = text.trim_end_matches('.');
        let t = t
            .strip_suffix(".local")
            .or_else(|| t.strip_suffix(".LOCAL"))
            .unwrap_or(t);
        let (service, proto) = t.split_once('.').ok_or_else(bad)?;
        let service = service.strip_prefix('_').ok_or_else(bad)?;
        let proto = proto.strip_prefix('_').ok_or_else(bad)?;
        let proto = if proto.eq_ignore_ascii_case("tcp") {
            Proto::Tcp
        } else if proto.eq_ignore_ascii_case("udp") {
            Proto::Udp
        } else {
            return Err(bad());
        };
        let b = service.as_bytes();
        let valid = (1..=15).contains(&b.len())
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
            && b.iter().any(u8::is_ascii_alphabetic)
            && b.first() != Some(&b'-')
            && b.last() != Some(&b'-')
            && !service.contains("--");
        if !valid {
            return Err(bad());
        }
        Ok(ServiceType {
            service: service.to_ascii_lowercase().into(),
            proto,
        })
    }

    /// The service label without its underscore, e.g. `http`.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// `tcp` or `udp`.
    pub fn proto(&self) -> &str {
        match self.proto {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }

    /// The DNS name under `.local`, e.g. `_http._tcp.local`.
    pub fn local_name(&self) -> String {
        format!("_{}._{}.local", self.service, self.proto())
    }
}

impl fmt::Display for ServiceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "_{}._{}", self.service, self.proto())
    }
}

/// A service koi is asked to announce.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceSpec {
    /// The instance name, UTF-8, at most 63 bytes (e.g. `grafana`, `Living Room TV`).
    pub instance: String,
    /// The service type.
    pub service_type: ServiceType,
    /// The port.
    pub port: u16,
    /// TXT strings as sent, e.g. `path=/` (an empty list is sent as one empty string).
    pub txt: Vec<Vec<u8>>,
    /// The host name without `.local` (None: this machine's).
    pub host: Option<String>,
    /// Fixed addresses to advertise (empty: each link's own addresses).
    pub addrs: Vec<IpAddr>,
}

/// The next name to try after a conflict: `grafana` → `grafana (2)` → `grafana (3)`.
pub fn next_instance_name(name: &str) -> String {
    if let Some(stem) = name.strip_suffix(')') {
        if let Some((base, n)) = stem.rsplit_once(" (") {
            if let Ok(n) = n.parse::<u32>() {
                if n >= 2 {
                    return truncate_label(&format!("{base} ({})", n.saturating_add(1)));
                }
            }
        }
    }
    truncate_label(&format!("{name} (2)"))
}

/// The next host name after a conflict: `stone-05` → `stone-05-2` → `stone-05-3`. A trailing
/// `-N` counts as a counter only when it has no leading zero, so `stone-05` is a name, not
/// "stone, fifth try".
pub fn next_host_name(name: &str) -> String {
    if let Some((base, digits)) = name.rsplit_once('-') {
        if let (false, Ok(n)) = (digits.starts_with('0'), digits.parse::<u32>()) {
            if n >= 2 && !base.is_empty() {
                return format!("{base}-{}", n.saturating_add(1));
            }
        }
    }
    format!("{name}-2")
}

/// Cuts a label to 63 bytes on a UTF-8 boundary, keeping a ` (n)` suffix intact.
fn truncate_label(s: &str) -> String {
    if s.len() <= 63 {
        return s.to_string();
    }
    let (base, suffix) = s
        .rsplit_once(" (")
        .map_or((s, String::new()), |(b, n)| (b, format!(" ({n}")));
    let mut cut = 63usize.saturating_sub(suffix.len());
    while cut > 0 && !base.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{suffix}", base.get(..cut).unwrap_or(""))
}

/// A service as discovered on the network.
///
/// The registry holds thousands, so its strings, addresses and TXT live in one exact shared
/// allocation (see [`super::packed`]) and are read through the accessors; it is 40 bytes,
/// cheap to compare and cheap to clone (clones share that allocation).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ServiceInstance {
    /// The service type (it shares its label with every instance of the type).
    service_type: ServiceType,
    /// Port, scope, instance name, host, addresses and TXT, in that order.
    packed: SharedPacked,
}

impl ServiceInstance {
    /// A service `instance` of `service_type` on `host`:`port`, with its host's addresses
    /// (IPv6 link-local ones scoped by `scope`, the interface it was seen on) and TXT strings.
    pub fn new<T: AsRef<[u8]>>(
        instance: &str,
        service_type: ServiceType,
        host: &str,
        port: u16,
        addrs: &[IpAddr],
        txt: impl IntoIterator<Item = T, IntoIter: ExactSizeIterator>,
        scope: u32,
    ) -> ServiceInstance {
        let packed = PackWriter::default()
            .raw(&port.to_le_bytes())
            .raw(&scope.to_le_bytes())
            .bytes(instance.as_bytes())
            .bytes(host.as_bytes())
            .addrs(addrs.iter().copied())
            .strings(txt.into_iter())
            .finish_shared();
        ServiceInstance {
            service_type,
            packed,
        }
    }

    /// The same service seen on interface `scope` instead.
    pub fn with_scope(&self, scope: u32) -> ServiceInstance {
        let txt: Vec<&[u8]> = self.txt().collect();
        let addrs: Vec<IpAddr> = self.addrs().collect();
        let (instance, host) = (self.instance(), self.host());
        let ty = self.service_type.clone();
        ServiceInstance::new(instance, ty, host, self.port(), &addrs, txt, scope)
    }

    /// The service type.
    pub fn service_type(&self) -> &ServiceType {
        &self.service_type
    }

    /// The port.
    pub fn port(&self) -> u16 {
        u16::from_le_bytes(self.packed.reader().array())
    }

    /// The interface index it was seen on (scope for link-local addresses).
    pub fn scope(&self) -> u32 {
        let mut r = self.packed.reader();
        r.array::<2>();
        u32::from_le_bytes(r.array())
    }

    /// The instance name (UTF-8).
    pub fn instance(&self) -> &str {
        self.after_scope().str()
    }

    /// The target host, e.g. `stone-05.local`.
    pub fn host(&self) -> &str {
        let mut r = self.after_scope();
        r.bytes();
        r.str()
    }

    /// The host's addresses (IPv6 link-local ones carry the scope in [`Self::scope`]).
    pub fn addrs(&self) -> impl Iterator<Item = IpAddr> + Clone + '_ {
        self.after_host().addrs()
    }

    /// The TXT strings.
    pub fn txt(&self) -> impl ExactSizeIterator<Item = &[u8]> + Clone + '_ {
        let mut r = self.after_host();
        r.addrs();
        r.strings()
    }

    fn after_scope(&self) -> PackReader<'_> {
        let mut r = self.packed.reader();
        r.array::<6>();
        r
    }

    fn after_host(&self) -> PackReader<'_> {
        let mut r = self.after_scope();
        r.bytes();
        r.bytes();
        r
    }
}

impl fmt::Debug for ServiceInstance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let txt: Vec<String> = self
            .txt()
            .map(|t| String::from_utf8_lossy(t).into_owned())
            .collect();
        f.debug_struct("ServiceInstance")
            .field("instance", &self.instance())
            .field("service_type", &self.service_type)
            .field("host", &self.host())
            .field("port", &self.port())
            .field("addrs", &self.addrs().collect::<Vec<_>>())
            .field("txt", &txt)
            .field("scope", &self.scope())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_types_parse_in_every_spelling() {
        for s in [
            "_http._tcp",
            "_http._tcp.local",
            "_http._tcp.local.",
            "_HTTP._TCP",
        ] {
            let t = ServiceType::parse(s).map(|t| t.to_string());
            assert_eq!(t.as_deref(), Ok("_http._tcp"), "{s}");
        }
        let t = ServiceType::parse("_grafana._tcp").map(|t| t.local_name());
        assert_eq!(t.as_deref(), Ok("_grafana._tcp.local"));
    }

    #[test]
    fn bad_service_types_are_refused_with_the_input_named() {
        for s in [
            "http._tcp",
            "_http",
            "_http._sctp",
            "_._tcp",
            "_-x._tcp",
            "_a--b._tcp",
            "_1234._tcp",
            "_abcdefghijklmnop._tcp",
            "",
        ] {
            let e = ServiceType::parse(s);
            assert!(e.is_err(), "{s} accepted");
        }
        let msg = ServiceType::parse("nope")
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(msg.contains("\"nope\"") && msg.contains("_http._tcp"));
    }

    #[test]
    fn conflict_names_count_up() {
        assert_eq!(next_instance_name("grafana"), "grafana (2)");
        assert_eq!(next_instance_name("grafana (2)"), "grafana (3)");
        assert_eq!(next_instance_name("grafana (1)"), "grafana (1) (2)");
        assert_eq!(next_host_name("stone-05"), "stone-05-2");
        assert_eq!(next_host_name("stone-2"), "stone-3");
        let long = "é".repeat(40);
        let next = next_instance_name(&long);
        assert!(next.len() <= 63 && next.ends_with(" (2)"), "{next}");
    }

    #[test]
    fn on_link_checks_subnets_and_link_local() {
        let info = LinkInfo {
            link: Link {
                ifindex: 2,
                family: Family::V4,
            },
            name: "eth0".into(),
            addrs: vec![IfAddr {
                addr: "10.231.0.1"
                    .parse()
                    .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
                prefix_len: 24,
            }],
        };
        assert!(info.is_on_link(
            "10.231.0.77"
                .parse()
                .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
        ));
        assert!(!info.is_on_link(
            "10.231.1.77"
                .parse()
                .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
        ));
        assert!(info.is_on_link(
            "fe80::1"
                .parse()
                .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
        ));
        assert!(!info.is_on_link(
            "2001:db8::1"
                .parse()
                .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
        ));
    }
}
