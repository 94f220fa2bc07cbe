//! The resolver as a running thing: binding its sockets, feeding its zone from the sources,
//! starting and stopping, and keeping `dns.json` in step.
//!
//! Owns the lifecycle only; answers come from [`super::answer`], bytes move in
//! [`super::server`] and, on Linux, in one worker thread per UDP socket (`super::worker`),
//! which a stop ends before it returns. Everything else runs on the one executor it is
//! given. Statics are changed here (and saved before the change is acknowledged); the
//! certmesh source is fed through [`Dns::set_certmesh_members`]; the mDNS source follows the
//! registry's subscription and rebuilds its table on every change, so a name gone from mDNS
//! leaves DNS at once (and leaves caches within its 30 s TTL).

use super::config::{resolv_conf_upstreams, DnsConfig, DnsFile, StaticJson};
use super::forward::Forwarder;
use super::lane::{Lane, Locked};
use super::listen::{acl_for, bind_all, default_listen};
use super::mdns_feed::{advertise, feed_mdns};
use super::ratelimit::RateLimiter;
#[cfg(not(target_os = "linux"))]
use super::server::serve_udp;
use super::server::{relay_upstream, serve_tcp, Shared};
use super::sources::certmesh_table;
use super::stats::Stats;
#[cfg(target_os = "linux")]
use super::worker::Worker;
use super::zone::{Data, Source, Table, Zone};
use crate::mdns::{Mdns, ServiceType};
use crate::state::StateDir;
use async_executor::{LocalExecutor, Task};
use koi_wire::dns::Name;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::sync::Arc;

/// UDP queries waiting for the forwarder at most; past that a query is lost (the client asks
/// again), so a flood of forwarded queries cannot grow memory without end.
const UPSTREAM_QUEUE: usize = 1024;

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
    /// The UDP worker threads (stopped when dropped).
    #[cfg(target_os = "linux")]
    _workers: Vec<Worker>,
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
        let lane = Arc::new(Lane {
            zone: Locked::new(zone),
            stats: Locked::new(Stats::default()),
            limiter: Locked::new(RateLimiter::new(config.rate_limit, config.slip)),
            acl,
        });
        let zone = lane.zone.clone();
        let forwarder = Rc::new(Forwarder::new(
            upstream,
            config.upstream_timeout,
            lane.stats.clone(),
        ));
        let shared = Rc::new(Shared::new(lane.clone(), forwarder, self.ex.clone()));
        let mut tasks = Vec::new();
        let (to_upstream, upstream_rx) = async_channel::bounded(UPSTREAM_QUEUE);
        tasks.push(self.ex.spawn(relay_upstream(upstream_rx, shared.clone())));
        #[cfg(target_os = "linux")]
        let mut workers = Vec::new();
        for (s, _addr) in udp.into_iter().zip(&listen) {
            let sock = Arc::new(s);
            #[cfg(target_os = "linux")]
            workers.push(
                Worker::spawn(sock, lane.clone(), to_upstream.clone())
                    .map_err(|e| DnsError::Bind(*_addr, e))?,
            );
            #[cfg(not(target_os = "linux"))]
            tasks.push(self.ex.spawn(serve_udp(sock, shared.clone())));
        }
        drop(to_upstream);
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
            #[cfg(target_os = "linux")]
            _workers: workers,
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
        inner.statics = std::mem::take(r.shared.lane.zone.write().table_mut(Source::Static));
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
            let zone = r.shared.lane.zone.read();
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
            let mut zone = r.shared.lane.zone.write();
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
            Some(r) => super::sources::names_for_machine(&r.shared.lane.zone.read(), addrs),
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
        inner
            .running
            .as_ref()
            .map(|r| f(&r.shared.lane.zone.read()))
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
                names: r.shared.lane.zone.read().name_count(),
                statics: inner.read_statics(Table::len),
                listen: r.listen.clone(),
                upstream: r.shared.forwarder.upstreams().to_vec(),
                stats: r.shared.lane.stats.read().clone(),
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
            Some(r) => f(r.shared.lane.zone.write().table_mut(Source::Static)),
            None => f(&mut self.statics),
        }
    }

    /// Reads the static entries wherever they live now.
    fn read_statics<T>(&self, f: impl FnOnce(&Table) -> T) -> T {
        match &self.running {
            Some(r) => f(r.shared.lane.zone.read().table(Source::Static)),
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
