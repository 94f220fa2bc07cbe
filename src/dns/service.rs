//! The resolver as a running thing: binding its sockets, feeding its zone from the sources,
//! starting and stopping, and keeping `dns.json` in step.
//!
//! Owns the lifecycle only; answers come from [`super::answer`], bytes move in
//! [`super::server`]. Everything runs on the one executor it is given. Statics are changed
//! here (and saved before the change is acknowledged); the certmesh source is fed through
//! [`Dns::set_certmesh_members`]; the mDNS source follows the registry's subscription and
//! rebuilds its table on every change, so a name gone from mDNS leaves DNS at once (and
//! leaves caches within its 30 s TTL).

use super::config::{resolv_conf_upstreams, DnsConfig, DnsFile, StaticJson};
use super::forward::Forwarder;
use super::ratelimit::RateLimiter;
use super::server::{serve_tcp, serve_udp, Acl, Shared};
use super::sources::{certmesh_table, mdns_table, ServiceFacts};
use super::stats::Stats;
use super::zone::{Data, Source, Table, Zone};
use crate::mdns::{IfAddr, Mdns, ServiceSpec, ServiceType};
use crate::state::StateDir;
use async_executor::{LocalExecutor, Task};
use async_io::{Async, Timer};
use koi_wire::dns::Name;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener, UdpSocket};
use std::rc::Rc;
use std::time::Duration;

/// Why the resolver could not start or a change was refused.
#[derive(Debug)]
pub enum DnsError {
    /// A socket could not be bound.
    Bind(SocketAddr, io::Error),
    /// No listen address was given and no LAN interface has one.
    NoAddress,
    /// A bad setting or entry.
    Config(String),
    /// `dns.json` could not be written.
    State(crate::state::StateError),
    /// Not running.
    NotRunning,
}

impl fmt::Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DnsError::Bind(a, e) if e.kind() == io::ErrorKind::PermissionDenied => write!(
                f,
                "cannot listen on {a}: permission denied. Ports below 1024 need CAP_NET_BIND_SERVICE: run `sudo setcap cap_net_bind_service=+ep $(command -v koi)` once (no full root needed), or use --port 5353"
            ),
            DnsError::Bind(a, e) if e.kind() == io::ErrorKind::AddrInUse => write!(
                f,
                "cannot listen on {a}: the port is in use (another DNS server such as systemd-resolved or dnsmasq?); use --listen or --port"
            ),
            DnsError::Bind(a, e) if e.kind() == io::ErrorKind::AddrNotAvailable => write!(
                f,
                "cannot listen on {a}: not an address of this machine"
            ),
            DnsError::Bind(a, e) => write!(f, "cannot listen on {a}: {e}"),
            DnsError::NoAddress => write!(
                f,
                "no LAN interface has an address to listen on; pass --listen ADDR"
            ),
            DnsError::Config(m) => f.write_str(m),
            DnsError::State(e) => write!(f, "{e}"),
            DnsError::NotRunning => write!(f, "the resolver is not running; start it with `koi dns serve`"),
        }
    }
}

impl std::error::Error for DnsError {}

struct Running {
    config: DnsConfig,
    listen: Vec<SocketAddr>,
    shared: Rc<Shared>,
    _tasks: Vec<Task<()>>,
    advertised: Option<String>,
}

struct Inner {
    state: Option<StateDir>,
    /// The settings; its `statics` list is empty except while being written.
    file: DnsFile,
    /// The static entries while stopped; while running they live in the zone only (one copy
    /// of what may be 100,000 names).
    statics: Table,
    certmesh: Vec<(String, Vec<IpAddr>)>,
    mdns: Option<Mdns>,
    running: Option<Running>,
    /// Names generated for each machine (by host name), for its next certificate.
    san: Rc<RefCell<BTreeMap<String, Vec<String>>>>,
}

/// The resolver handle; cheap to clone.
#[derive(Clone)]
pub struct Dns {
    inner: Rc<RefCell<Inner>>,
    ex: Rc<LocalExecutor<'static>>,
}

/// A snapshot for `koi dns status`.
#[derive(Clone, Debug)]
pub struct DnsStatus {
    /// Serving now.
    pub running: bool,
    /// The zone.
    pub zone: String,
    /// Names answered.
    pub names: usize,
    /// Static entries.
    pub statics: usize,
    /// Listening sockets.
    pub listen: Vec<SocketAddr>,
    /// Upstreams.
    pub upstream: Vec<SocketAddr>,
    /// Counters.
    pub stats: Stats,
    /// Answers per second per client network (0: off).
    pub rate_limit: u32,
    /// Service aliases on.
    pub service_aliases: bool,
}

impl Dns {
    /// A stopped resolver whose settings and statics come from `state`'s `dns.json` (or a
    /// throwaway one when `state` is `None`), reading mDNS from `mdns` if given.
    pub fn new(
        ex: &Rc<LocalExecutor<'static>>,
        state: Option<StateDir>,
        mdns: Option<Mdns>,
    ) -> Result<Dns, DnsError> {
        let mut file = match &state {
            Some(s) => DnsFile::load(s).map_err(DnsError::State)?,
            None => DnsFile::from_config(&DnsConfig::default(), false),
        };
        let mut statics = Table::default();
        for (name, ip) in file.static_entries() {
            let _ = statics.add(&name, Data::ip(ip));
        }
        file.statics = Vec::new();
        release_freed_memory();
        Ok(Dns {
            inner: Rc::new(RefCell::new(Inner {
                state,
                file,
                statics,
                certmesh: Vec::new(),
                mdns,
                running: None,
                san: Rc::new(RefCell::new(BTreeMap::new())),
            })),
            ex: ex.clone(),
        })
    }

    /// The saved settings and whether the saved state says it should run.
    pub fn saved(&self) -> (Result<DnsConfig, DnsError>, bool) {
        let inner = self.inner.borrow();
        (
            inner.file.config().map_err(|e| DnsError::Config(e.0)),
            inner.file.running,
        )
    }

    fn save(inner: &mut Inner) -> Result<(), DnsError> {
        if inner.state.is_none() {
            return Ok(());
        }
        let mut statics: Vec<StaticJson> = inner.read_statics(|t| {
            t.iter()
                .flat_map(|(name, data)| {
                    data.iter()
                        .filter(|d| matches!(d, Data::A(_) | Data::Aaaa(_)))
                        .map(move |d| StaticJson {
                            name: name.to_string(),
                            ip: d.value(),
                        })
                })
                .collect()
        });
        statics.sort_by(|a, b| (&a.name, &a.ip).cmp(&(&b.name, &b.ip)));
        inner.file.statics = statics;
        let result = match &inner.state {
            Some(state) => inner.file.save(state).map_err(DnsError::State),
            None => Ok(()),
        };
        inner.file.statics = Vec::new();
        result
    }

    /// Starts serving with `config` (restarting if already running) and records that it
    /// should run after a restart (when `persist`).
    pub fn start(&self, config: DnsConfig, persist: bool) -> Result<Vec<SocketAddr>, DnsError> {
        self.stop_quietly();
        let ips = if config.listen.is_empty() {
            default_listen()?
        } else {
            config.listen.clone()
        };
        let (udp, tcp, listen) = bind_all(&ips, config.port)?;
        let acl = acl_for(&ips);
        let upstream = if config.upstream.is_empty() {
            let text = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
            resolv_conf_upstreams(&text, &listen)
        } else {
            config.upstream.clone()
        };
        let mut inner = self.inner.borrow_mut();
        let mut zone = Zone::new(config.zone.clone());
        zone.replace(Source::Static, std::mem::take(&mut inner.statics));
        zone.replace(
            Source::Certmesh,
            certmesh_table(&config.zone, &inner.certmesh),
        );
        let zone = Rc::new(RefCell::new(zone));
        let stats = Rc::new(RefCell::new(Stats::default()));
        let forwarder = Rc::new(Forwarder::new(
            upstream,
            config.upstream_timeout,
            stats.clone(),
        ));
        let shared = Rc::new(Shared::new(
            zone.clone(),
            stats,
            RateLimiter::new(config.rate_limit, config.slip),
            acl,
            forwarder,
            self.ex.clone(),
        ));
        let mut tasks = Vec::new();
        for s in udp {
            tasks.push(self.ex.spawn(serve_udp(Rc::new(s), shared.clone())));
        }
        for l in tcp {
            tasks.push(self.ex.spawn(serve_tcp(l, shared.clone())));
        }
        let mut advertised = None;
        if let Some(mdns) = inner.mdns.clone() {
            tasks.push(self.ex.spawn(feed_mdns(
                mdns.clone(),
                zone,
                config.service_aliases,
                inner.san.clone(),
            )));
            advertised = advertise(&mdns, listen.first().map_or(config.port, |a| a.port()));
        }
        crate::log!(
            Info,
            "dns",
            "serving zone {} on {} (upstream: {})",
            config.zone,
            list(&listen),
            list(shared.forwarder.upstreams())
        );
        inner.running = Some(Running {
            config: config.clone(),
            listen: listen.clone(),
            shared,
            _tasks: tasks,
            advertised,
        });
        if persist {
            inner.file = DnsFile::from_config(&config, true);
            Self::save(&mut inner)?;
        }
        Ok(listen)
    }

    fn stop_quietly(&self) -> bool {
        let mut inner = self.inner.borrow_mut();
        let Some(r) = inner.running.take() else {
            return false;
        };
        inner.statics = std::mem::take(r.shared.zone.borrow_mut().table_mut(Source::Static));
        if let (Some(mdns), Some(instance)) = (&inner.mdns, &r.advertised) {
            mdns.withdraw(instance, ServiceType::parse("_dns._udp").ok().as_ref());
        }
        true
    }

    /// Stops serving and records that it should stay stopped.
    pub fn stop(&self) -> Result<bool, DnsError> {
        let was = self.stop_quietly();
        let mut inner = self.inner.borrow_mut();
        inner.file.running = false;
        Self::save(&mut inner)?;
        if was {
            crate::log!(Info, "dns", "stopped");
        }
        Ok(was)
    }

    /// The zone in use (the running one, or the saved setting).
    pub fn zone_name(&self) -> Name {
        let inner = self.inner.borrow();
        match &inner.running {
            Some(r) => r.config.zone.clone(),
            None => inner
                .file
                .config()
                .map(|c| c.zone)
                .unwrap_or_else(|_| DnsConfig::default().zone),
        }
    }

    /// Adds a static entry (already checked: a name in the zone, a LAN address) and saves.
    pub fn add_static(&self, name: &Name, ip: IpAddr) -> Result<(), DnsError> {
        let mut inner = self.inner.borrow_mut();
        if let Some(r) = &inner.running {
            let zone = r.shared.zone.borrow();
            if zone.table(Source::Certmesh).get(name).is_some()
                || zone.table(Source::Mdns).get(name).is_some()
            {
                crate::log!(Warn, "dns", "static {name} hides the automatic name {name}");
            }
        }
        inner
            .with_statics(|t| t.add(name, Data::ip(ip)))
            .map_err(|_| DnsError::Config(format!("{ip} is not a private address")))?;
        Self::save(&mut inner)
    }

    /// Removes a static entry; returns whether it existed.
    pub fn remove_static(&self, name: &Name) -> Result<bool, DnsError> {
        let mut inner = self.inner.borrow_mut();
        let found = inner.with_statics(|t| t.remove(name));
        if found {
            Self::save(&mut inner)?;
        }
        Ok(found)
    }

    /// Feeds the certmesh source: every member's host name and addresses (the certmesh
    /// capability calls this on every roster change).
    pub fn set_certmesh_members(&self, members: Vec<(String, Vec<IpAddr>)>) {
        let mut inner = self.inner.borrow_mut();
        if let Some(r) = &inner.running {
            let mut zone = r.shared.zone.borrow_mut();
            let table = certmesh_table(&r.config.zone, &members);
            for hidden in zone.replace(Source::Certmesh, table) {
                crate::log!(
                    Warn,
                    "dns",
                    "static {hidden} hides the certmesh name {hidden}"
                );
            }
        }
        inner.certmesh = members;
    }

    /// The names DNS generates for the machine with these addresses: what its next
    /// certificate should list as SANs (spec §5.6).
    pub fn names_for_machine(&self, addrs: &[IpAddr]) -> Vec<String> {
        let inner = self.inner.borrow();
        match &inner.running {
            Some(r) => super::sources::names_for_machine(&r.shared.zone.borrow(), addrs),
            None => Vec::new(),
        }
    }

    /// The recorded generated names per machine (host name → names).
    pub fn recorded_names(&self) -> BTreeMap<String, Vec<String>> {
        self.inner.borrow().san.borrow().clone()
    }

    /// Runs `f` on the live zone, or `None` when stopped.
    pub fn with_zone<T>(&self, f: impl FnOnce(&Zone) -> T) -> Option<T> {
        let inner = self.inner.borrow();
        inner.running.as_ref().map(|r| f(&r.shared.zone.borrow()))
    }

    /// The static entries (for `list` when stopped).
    pub fn statics(&self) -> Vec<(Name, Vec<Data>)> {
        let inner = self.inner.borrow();
        let mut v: Vec<(Name, Vec<Data>)> =
            inner.read_statics(|t| t.iter().map(|(n, d)| (n, d.to_vec())).collect());
        v.sort_by_key(|(n, _)| n.to_string());
        v
    }

    /// The upstreams of the running resolver.
    pub fn upstreams(&self) -> Vec<SocketAddr> {
        let inner = self.inner.borrow();
        inner
            .running
            .as_ref()
            .map(|r| r.shared.forwarder.upstreams().to_vec())
            .unwrap_or_default()
    }

    /// A status snapshot.
    pub fn status(&self) -> DnsStatus {
        let inner = self.inner.borrow();
        match &inner.running {
            Some(r) => DnsStatus {
                running: true,
                zone: r.config.zone.to_string(),
                names: r.shared.zone.borrow().name_count(),
                statics: inner.read_statics(Table::len),
                listen: r.listen.clone(),
                upstream: r.shared.forwarder.upstreams().to_vec(),
                stats: r.shared.stats.borrow().clone(),
                rate_limit: r.config.rate_limit,
                service_aliases: r.config.service_aliases,
            },
            None => DnsStatus {
                running: false,
                zone: inner.file.zone.clone(),
                names: inner.statics.len(),
                statics: inner.read_statics(Table::len),
                listen: Vec::new(),
                upstream: Vec::new(),
                stats: Stats::default(),
                rate_limit: inner.file.rate_limit,
                service_aliases: inner.file.service_aliases,
            },
        }
    }
}

/// Hands the heap pages freed after reading a large `dns.json` (its JSON tree is several
/// times the size of the zone it describes) back to the OS, so they do not stay resident.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks glibc's own free lists; it takes no pointers from us.
    unsafe {
        libc::malloc_trim(0);
    }
}

impl Inner {
    /// Changes the static entries wherever they live now (the zone while running).
    fn with_statics<T>(&mut self, f: impl FnOnce(&mut Table) -> T) -> T {
        match &self.running {
            Some(r) => f(r.shared.zone.borrow_mut().table_mut(Source::Static)),
            None => f(&mut self.statics),
        }
    }

    /// Reads the static entries wherever they live now.
    fn read_statics<T>(&self, f: impl FnOnce(&Table) -> T) -> T {
        match &self.running {
            Some(r) => f(r.shared.zone.borrow().table(Source::Static)),
            None => f(&self.statics),
        }
    }
}

fn list(addrs: &[SocketAddr]) -> String {
    if addrs.is_empty() {
        return "none".into();
    }
    addrs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The LAN interface addresses (IPv4 and routable IPv6; not link-local, which needs a scope).
fn default_listen() -> Result<Vec<IpAddr>, DnsError> {
    let links = crate::mdns::net::links(&[]).map_err(|e| DnsError::Config(e.to_string()))?;
    let ips: Vec<IpAddr> = links
        .iter()
        .flat_map(|l| l.ips())
        .filter(|ip| match ip {
            IpAddr::V4(v4) => !v4.is_loopback() && !v4.is_unspecified(),
            IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) != 0xfe80 && !v6.is_loopback(),
        })
        .collect();
    if ips.is_empty() {
        return Err(DnsError::NoAddress);
    }
    Ok(ips)
}

/// The subnets whose clients may ask, from the listen addresses.
fn acl_for(ips: &[IpAddr]) -> Acl {
    let links = crate::mdns::net::links(&[]).unwrap_or_default();
    let all: Vec<IfAddr> = links.iter().flat_map(|l| l.addrs.iter().copied()).collect();
    let mut acl = Acl::default();
    for ip in ips {
        if ip.is_loopback() {
            acl.loopback = true;
        } else if ip.is_unspecified() {
            acl.loopback = true;
            acl.subnets.extend(all.iter().copied());
        } else {
            let mine: Vec<IfAddr> = all.iter().filter(|a| a.addr == *ip).copied().collect();
            if mine.is_empty() {
                acl.subnets.push(IfAddr {
                    addr: *ip,
                    prefix_len: if ip.is_ipv4() { 32 } else { 128 },
                });
            }
            acl.subnets.extend(mine);
        }
    }
    acl
}

type Bound = (
    Vec<Async<UdpSocket>>,
    Vec<Async<TcpListener>>,
    Vec<SocketAddr>,
);

/// Binds UDP and TCP on each address; port 0 takes the port the first UDP socket got.
fn bind_all(ips: &[IpAddr], port: u16) -> Result<Bound, DnsError> {
    let mut port = port;
    let (mut udp, mut tcp, mut listen) = (Vec::new(), Vec::new(), Vec::new());
    for ip in ips {
        let addr = SocketAddr::new(*ip, port);
        let u = bind_udp(addr).map_err(|e| DnsError::Bind(addr, e))?;
        let actual = u
            .get_ref()
            .local_addr()
            .map_err(|e| DnsError::Bind(addr, e))?;
        port = actual.port();
        let t = bind_tcp(actual).map_err(|e| DnsError::Bind(actual, e))?;
        udp.push(u);
        tcp.push(t);
        listen.push(actual);
    }
    Ok((udp, tcp, listen))
}

fn bind_udp(addr: SocketAddr) -> io::Result<Async<UdpSocket>> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
    }
    let _ = s.set_recv_buffer_size(1 << 20);
    s.bind(&addr.into())?;
    Async::new(UdpSocket::from(s))
}

fn bind_tcp(addr: SocketAddr) -> io::Result<Async<TcpListener>> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
    }
    s.set_reuse_address(true)?;
    s.bind(&addr.into())?;
    s.listen(128)?;
    Async::new(TcpListener::from(s))
}

/// Advertises this resolver as `_dns._udp` (spec §5.5); returns the instance name.
fn advertise(mdns: &Mdns, port: u16) -> Option<String> {
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
async fn feed_mdns(
    mdns: Mdns,
    zone: Rc<RefCell<Zone>>,
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
    zone: &Rc<RefCell<Zone>>,
    aliases: bool,
    warned: &mut HashSet<Name>,
    san: &Rc<RefCell<BTreeMap<String, Vec<String>>>>,
) {
    let (hosts, services) = mdns.with_registry(|r| {
        let hosts: Vec<(String, Vec<IpAddr>)> = r
            .hosts()
            .filter(|h| !h.stale)
            .map(|h| (h.host.clone(), h.addrs.clone()))
            .collect();
        let services: Vec<ServiceFacts> = r
            .entries()
            .filter(|e| !e.stale)
            .map(|e| ServiceFacts {
                instance: e.service.instance.clone(),
                service: e.service.service_type.service().to_string(),
                proto: e.service.service_type.proto().to_string(),
                host: e.service.host.clone(),
                port: e.service.port,
                addrs: e.service.addrs.clone(),
                txt: e.service.txt.clone(),
            })
            .collect();
        (hosts, services)
    });
    let mut z = zone.borrow_mut();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_port_53_names_the_capability_to_grant() {
        let e = DnsError::Bind(
            "192.168.1.5:53".parse().unwrap(),
            io::Error::from(io::ErrorKind::PermissionDenied),
        );
        let text = e.to_string();
        assert!(
            text.contains("CAP_NET_BIND_SERVICE") && text.contains("setcap"),
            "{text}"
        );
        let e = DnsError::Bind(
            "192.168.1.5:53".parse().unwrap(),
            io::Error::from(io::ErrorKind::AddrInUse),
        );
        assert!(e.to_string().contains("in use"));
    }
}
