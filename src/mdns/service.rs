//! The async shell of the mDNS layer: it owns the sockets and the timers and moves bytes
//! between them and the pure state machines (ingress filter, responder, browser, reflector),
//! then feeds what the browser learns into the registry.
//!
//! It holds no protocol logic of its own beyond routing: own responses never reach the
//! responder (so our packets seen again can never look like a conflict), own queries never
//! reach the browser (so they never suppress our next query), and everything that leaves goes
//! through [`Ingress::note_sent`] first.

use super::browser::{BrowseEvent, BrowseId, Browser, CacheLimits};
use super::ingress::{Ingress, Verdict};
use super::net::{host_name, links, LinkWatcher, MdnsSockets};
use super::reflector::Reflector;
use super::registry::{Entry, Registry, RegistryEvent};
use super::responder::{RegisterError, Responder, ResponderEvent, ServiceStatus};
use super::types::{LinkInfo, Received, ServiceSpec, ServiceType, Transmit, MDNS_PORT};
use crate::base::{now_unix, Prng, Shutdown};
use async_executor::LocalExecutor;
use async_io::Timer;
use futures_lite::future;
use koi_wire::dns::Message;
use std::cell::RefCell;
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// How the mDNS layer runs.
#[derive(Debug, Clone)]
pub struct MdnsConfig {
    /// UDP port (5353; tests may use another inside their own namespaces).
    pub port: u16,
    /// Interfaces to use by name (empty: every up, multicast, non-loopback interface).
    pub interfaces: Vec<String>,
    /// Host name without `.local` (None: the system's).
    pub host: Option<String>,
    /// Most services the registry keeps.
    pub registry_capacity: usize,
    /// Announce this koi as `_koi._tcp` (spec §3.3) with this port and TXT.
    pub announce_self: Option<(u16, Vec<Vec<u8>>)>,
    /// Browse every service type continuously (feeds the registry for DNS, health, proxy).
    pub browse_all: bool,
}

impl Default for MdnsConfig {
    fn default() -> Self {
        MdnsConfig {
            port: MDNS_PORT,
            interfaces: Vec::new(),
            host: None,
            registry_capacity: 4096,
            announce_self: None,
            browse_all: true,
        }
    }
}

/// Counters for `koi mdns status` (also its JSON shape).
#[derive(Debug, Clone, Default, miniserde::Serialize, miniserde::Deserialize)]
pub struct Counters {
    /// Datagrams received.
    pub received: u64,
    /// Datagrams sent.
    pub sent: u64,
    /// Dropped by the ingress filter (off-link, unknown link, runt, bad source).
    pub dropped: u64,
    /// Not a valid DNS message.
    pub malformed: u64,
    /// Our own datagrams seen again.
    pub own: u64,
    /// Send errors.
    pub send_errors: u64,
}

/// A snapshot for `koi mdns status`.
#[derive(Debug, Clone)]
pub struct MdnsSnapshot {
    /// Our host name (after any rename).
    pub host: String,
    /// Services we announce.
    pub announced: Vec<ServiceStatus>,
    /// Live and stale registry entries.
    pub discovered: usize,
    /// Stale registry entries.
    pub stale: usize,
    /// The links in use.
    pub links: Vec<LinkInfo>,
    /// Families whose socket could not be opened, with why.
    pub socket_errors: Vec<String>,
    /// Counters.
    pub counters: Counters,
    /// Reflected interfaces and (forwarded, skipped), if reflecting.
    pub reflector: Option<(Vec<String>, u64, u64)>,
}

struct Inner {
    responder: Responder,
    browser: Browser,
    registry: Registry,
    ingress: Ingress,
    reflector: Option<Reflector>,
    links: Vec<LinkInfo>,
    counters: Counters,
    browses: HashMap<ServiceType, (BrowseId, usize)>,
    outbox: Vec<Transmit>,
    socket_errors: Vec<String>,
}

/// The running mDNS layer. Cheap to clone; every clone drives the same state.
#[derive(Clone)]
pub struct Mdns {
    inner: Rc<RefCell<Inner>>,
    kick: async_channel::Sender<()>,
    done: async_channel::Receiver<()>,
}

impl Mdns {
    /// Opens the sockets, learns the interfaces, starts announcing and browsing, and spawns
    /// the shell on `ex`. Stops (sending goodbyes) when `shutdown` triggers.
    pub fn start(
        ex: &Rc<LocalExecutor<'static>>,
        config: MdnsConfig,
        shutdown: Shutdown,
    ) -> io::Result<Mdns> {
        let mut sockets = MdnsSockets::new(config.port)?;
        let found = links(&config.interfaces)?;
        let host = config.host.clone().unwrap_or_else(host_name);
        let mut inner = Inner {
            responder: Responder::new(&host, Prng::from_os()),
            browser: Browser::new(Prng::from_os(), CacheLimits::default()),
            registry: Registry::new(config.registry_capacity),
            ingress: Ingress::new(),
            reflector: None,
            links: Vec::new(),
            counters: Counters::default(),
            browses: HashMap::new(),
            outbox: Vec::new(),
            socket_errors: Vec::new(),
        };
        for family in [super::Family::V4, super::Family::V6] {
            if let Some(e) = sockets.error(family) {
                inner.socket_errors.push(format!("{family:?}: {e}"));
            }
        }
        let now = Instant::now();
        inner.set_links(now, &mut sockets, found);
        if config.browse_all {
            inner.browser.browse_all(now);
        }
        if let Some((port, txt)) = &config.announce_self {
            let spec = ServiceSpec {
                instance: inner.responder.host_name().to_string(),
                service_type: ServiceType::parse("_koi._tcp").map_err(io::Error::other)?,
                port: *port,
                txt: txt.clone(),
                host: None,
                addrs: Vec::new(),
            };
            inner
                .responder
                .register(now, spec)
                .map_err(|e| io::Error::other(e.to_string()))?;
        }
        let inner = Rc::new(RefCell::new(inner));
        let (kick, kicked) = async_channel::bounded(1);
        let (done_tx, done) = async_channel::bounded(1);
        let shell = Shell {
            inner: inner.clone(),
            sockets,
            kicked,
            shutdown,
            interfaces: config.interfaces,
        };
        ex.spawn(async move {
            shell.run().await;
            drop(done_tx);
        })
        .detach();
        Ok(Mdns { inner, kick, done })
    }

    fn poke(&self) {
        let _ = self.kick.try_send(());
    }

    /// Starts announcing a service; returns the instance name it starts probing with.
    pub fn announce(&self, spec: ServiceSpec) -> Result<String, RegisterError> {
        let instance = spec.instance.clone();
        self.inner
            .borrow_mut()
            .responder
            .register(Instant::now(), spec)?;
        self.poke();
        Ok(instance)
    }

    /// Withdraws a service by its current or original name (goodbyes go out at once).
    pub fn withdraw(&self, instance: &str, ty: Option<&ServiceType>) -> bool {
        let found = self
            .inner
            .borrow_mut()
            .responder
            .withdraw(Instant::now(), instance, ty);
        self.poke();
        found
    }

    /// Keeps the browser actively querying `ty` until the guard is dropped.
    pub fn browse(&self, ty: &ServiceType) -> BrowseGuard {
        {
            let mut inner = self.inner.borrow_mut();
            let now = Instant::now();
            let Inner {
                browses, browser, ..
            } = &mut *inner;
            let slot = browses
                .entry(ty.clone())
                .or_insert_with(|| (browser.browse(now, ty.clone()), 0));
            slot.1 += 1;
        }
        self.poke();
        BrowseGuard {
            mdns: self.clone(),
            ty: ty.clone(),
        }
    }

    /// Live registry entries, optionally of one type.
    pub fn services(&self, ty: Option<&ServiceType>) -> Vec<Entry> {
        let inner = self.inner.borrow();
        let mut out: Vec<Entry> = inner
            .registry
            .entries()
            .filter(|e| !e.stale && ty.is_none_or(|t| e.service.service_type() == t))
            .cloned()
            .collect();
        out.sort_by(|a, b| {
            (a.service.service_type(), a.service.instance())
                .cmp(&(b.service.service_type(), b.service.instance()))
        });
        out
    }

    /// Reads the registry (DNS, health and proxy use this).
    pub fn with_registry<T>(&self, f: impl FnOnce(&Registry) -> T) -> T {
        f(&self.inner.borrow().registry)
    }

    /// Subscribes to registry changes.
    pub fn subscribe(&self) -> async_channel::Receiver<RegistryEvent> {
        self.inner.borrow_mut().registry.subscribe()
    }

    /// Starts (a list of at least two names) or stops (empty) reflecting between interfaces.
    pub fn set_reflector(&self, between: Vec<String>) {
        let mut inner = self.inner.borrow_mut();
        inner.reflector = if between.len() >= 2 {
            let mut r = Reflector::new(between);
            r.set_links(&inner.links);
            Some(r)
        } else {
            None
        };
    }

    /// The state for `koi mdns status`.
    pub fn snapshot(&self) -> MdnsSnapshot {
        let inner = self.inner.borrow();
        let (live, stale) = inner.registry.counts();
        MdnsSnapshot {
            host: inner.responder.host_name().to_string(),
            announced: inner.responder.status(),
            discovered: live + stale,
            stale,
            links: inner.links.clone(),
            socket_errors: inner.socket_errors.clone(),
            counters: inner.counters.clone(),
            reflector: inner.reflector.as_ref().map(|r| {
                let (f, s) = r.counters();
                (r.interfaces().to_vec(), f, s)
            }),
        }
    }

    /// Resolves once the shell has sent its goodbyes and stopped.
    pub async fn stopped(&self) {
        let _ = self.done.recv().await;
    }
}

/// Keeps a service type under active browsing; see [`Mdns::browse`].
pub struct BrowseGuard {
    mdns: Mdns,
    ty: ServiceType,
}

impl Drop for BrowseGuard {
    fn drop(&mut self) {
        let Ok(mut inner) = self.mdns.inner.try_borrow_mut() else {
            return;
        };
        let Inner {
            browses, browser, ..
        } = &mut *inner;
        if let Some(slot) = browses.get_mut(&self.ty) {
            slot.1 = slot.1.saturating_sub(1);
            if slot.1 == 0 {
                browser.stop(slot.0);
                browses.remove(&self.ty);
            }
        }
    }
}

impl Inner {
    fn set_links(&mut self, now: Instant, sockets: &mut MdnsSockets, found: Vec<LinkInfo>) {
        for (link, e) in sockets.sync_links(&found) {
            crate::log!(Warn, "mdns", "cannot join the mDNS group on {link:?}: {e}");
        }
        let joined: Vec<_> = sockets.joined().collect();
        self.links = found
            .into_iter()
            .filter(|l| joined.contains(&l.link))
            .collect();
        self.responder.set_links(now, &self.links);
        self.browser.set_links(now, &self.links);
        if let Some(r) = &mut self.reflector {
            r.set_links(&self.links);
        }
    }

    fn on_datagram(&mut self, now: Instant, rx: &Received<'_>) {
        self.counters.received += 1;
        let own = match self.ingress.check(now, rx, &self.links) {
            Verdict::Drop(reason) => {
                self.counters.dropped += 1;
                crate::log!(
                    Debug,
                    "mdns",
                    "dropped datagram from {}: {reason:?}",
                    rx.src
                );
                return;
            }
            Verdict::Accept { own } => own,
        };
        if own {
            self.counters.own += 1;
        }
        if let Some(r) = &mut self.reflector {
            if let Ok(copies) = r.handle(now, rx, own) {
                self.outbox.extend(copies);
            }
        }
        let Ok(msg) = Message::parse(rx.bytes) else {
            self.counters.malformed += 1;
            return;
        };
        let response = msg.header.qr();
        if !(own && response) {
            self.responder.handle(now, rx, &msg);
        }
        if !own || response {
            self.browser.handle(now, rx, &msg);
        }
    }

    /// Moves pending transmits to the outbox and events to the registry.
    fn drain(&mut self) -> Vec<Transmit> {
        while let Some(t) = self.responder.poll_transmit() {
            self.outbox.push(t);
        }
        while let Some(t) = self.browser.poll_transmit() {
            self.outbox.push(t);
        }
        while let Some(ev) = self.responder.poll_event() {
            log_responder_event(&ev);
        }
        let wall = now_unix();
        while let Some(ev) = self.browser.poll_event() {
            if let BrowseEvent::Found(s) = &ev {
                crate::log!(Debug, "mdns", "found {} {}", s.instance(), s.service_type());
            }
            self.registry.apply(wall, &ev);
        }
        let now = Instant::now();
        for t in &self.outbox {
            self.ingress.note_sent(now, t);
        }
        std::mem::take(&mut self.outbox)
    }

    fn next_deadline(&self) -> Option<Instant> {
        match (self.responder.poll_timeout(), self.browser.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

fn log_responder_event(ev: &ResponderEvent) {
    match ev {
        ResponderEvent::Renamed { from, to } => {
            crate::log!(Warn, "mdns", "name conflict: {from:?} is now {to:?}")
        }
        ResponderEvent::HostRenamed { from, to } => {
            crate::log!(
                Warn,
                "mdns",
                "host name conflict: {from}.local is now {to}.local"
            )
        }
        other => crate::log!(Debug, "mdns", "{other:?}"),
    }
}

struct Shell {
    inner: Rc<RefCell<Inner>>,
    sockets: MdnsSockets,
    kicked: async_channel::Receiver<()>,
    shutdown: Shutdown,
    interfaces: Vec<String>,
}

enum Wake {
    Datagram(io::Result<(super::Link, SocketAddr, IpAddr, usize)>),
    Timer,
    Kick,
    Links,
    Stop,
}

impl Shell {
    async fn run(mut self) {
        let mut watcher = LinkWatcher::new();
        let mut buf = vec![0u8; 9000];
        loop {
            self.flush().await;
            let deadline = self.inner.borrow().next_deadline();
            let wake = {
                let recv = async { Wake::Datagram(self.sockets.recv(&mut buf).await) };
                let timer = async {
                    match deadline {
                        Some(at) => Timer::at(at).await,
                        None => Timer::never().await,
                    };
                    Wake::Timer
                };
                let kick = async {
                    let _ = self.kicked.recv().await;
                    Wake::Kick
                };
                let links = async {
                    watcher.changed().await;
                    Wake::Links
                };
                let stop = async {
                    self.shutdown.wait().await;
                    Wake::Stop
                };
                future::or(
                    future::or(stop, recv),
                    future::or(timer, future::or(kick, links)),
                )
                .await
            };
            let now = Instant::now();
            match wake {
                Wake::Datagram(Ok((link, src, dst, n))) => {
                    let bytes = buf.get(..n).unwrap_or_default();
                    let rx = Received {
                        link,
                        src,
                        dst,
                        bytes,
                    };
                    self.inner.borrow_mut().on_datagram(now, &rx);
                }
                Wake::Datagram(Err(e)) => {
                    crate::log!(Debug, "mdns", "receive failed: {e}");
                    Timer::after(Duration::from_millis(20)).await;
                }
                Wake::Timer => {
                    let mut inner = self.inner.borrow_mut();
                    inner.responder.handle_timeout(now);
                    inner.browser.handle_timeout(now);
                }
                Wake::Kick => {}
                Wake::Links => match links(&self.interfaces) {
                    Ok(found) => {
                        let mut inner = self.inner.borrow_mut();
                        if found != inner.links {
                            crate::log!(Info, "mdns", "interfaces changed: {} links", found.len());
                            inner.set_links(now, &mut self.sockets, found);
                        }
                    }
                    Err(e) => crate::log!(Warn, "mdns", "cannot list interfaces: {e}"),
                },
                Wake::Stop => {
                    self.inner.borrow_mut().responder.shutdown(now);
                    self.flush().await;
                    return;
                }
            }
        }
    }

    async fn flush(&self) {
        let out = self.inner.borrow_mut().drain();
        for t in out {
            let result = self.sockets.send(&t).await;
            let mut inner = self.inner.borrow_mut();
            match result {
                Ok(()) => inner.counters.sent += 1,
                Err(e) => {
                    inner.counters.send_errors += 1;
                    crate::log!(Debug, "mdns", "send to {:?} failed: {e}", t.dest);
                }
            }
        }
    }
}
