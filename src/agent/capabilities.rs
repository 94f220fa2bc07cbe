//! Starting the capabilities compiled into this binary on the agent's executor, and waiting
//! for them to stop.

use super::capability::{Capability, ResponseFuture};
use super::status::CapabilityStatus;
use super::AgentOptions;
use crate::base::Shutdown;
use crate::http::{Request, Response};
use async_executor::LocalExecutor;
use std::rc::Rc;

/// What the agent started.
pub(super) struct Running {
    /// Their control API routes and status lines.
    pub(super) apis: Vec<Rc<dyn Capability>>,
    #[cfg(feature = "mdns")]
    mdns: Option<crate::mdns::Mdns>,
}

impl Running {
    /// Resolves once every capability has finished its shutdown work (mDNS goodbyes).
    pub(super) async fn stopped(&self) {
        #[cfg(feature = "mdns")]
        if let Some(m) = &self.mdns {
            m.stopped().await;
        }
    }
}

/// Starts each capability; one that cannot start is reported in `koi status` instead.
pub(super) fn start(
    ex: &Rc<LocalExecutor<'static>>,
    opts: &AgentOptions,
    stopping: &Shutdown,
) -> Running {
    #[allow(unused_mut)]
    let mut apis: Vec<Rc<dyn Capability>> = Vec::new();
    #[cfg(feature = "mdns")]
    let mdns = start_mdns(ex, opts, stopping, &mut apis);
    #[cfg(feature = "dns")]
    let dns = start_dns(ex, opts, mdns.clone(), &mut apis);
    #[cfg(all(feature = "dns", feature = "certmesh"))]
    if let Some(d) = &dns {
        let paths = crate::certmesh::files::MeshPaths::new(&opts.state);
        if paths.has_ca() {
            crate::dns::certmesh_feed::spawn(ex, d.clone(), paths, stopping.clone());
        }
    }
    #[cfg(feature = "dns")]
    let _ = dns;
    #[cfg(feature = "health")]
    {
        #[allow(unused_mut)]
        let mut sources: Vec<Box<dyn crate::health::machines::SignalSource>> = Vec::new();
        #[cfg(feature = "mdns")]
        if let Some(m) = &mdns {
            sources.push(Box::new(crate::health::mdns_source::MdnsSource(m.clone())));
        }
        #[cfg(feature = "certmesh")]
        sources.push(Box::new(
            crate::health::certmesh_source::CertmeshSource::new(
                crate::certmesh::files::MeshPaths::new(&opts.state),
            ),
        ));
        // Last: it judges the machines the sources above found.
        #[cfg(feature = "dns")]
        if let Some(d) = &dns {
            sources.push(Box::new(crate::health::dns_source::DnsSource(d.clone())));
        }
        start_health(ex, opts, stopping, &mut apis, sources);
    }
    #[cfg(feature = "certmesh")]
    if let Some(svc) = start_certmesh(ex, opts, stopping, &mut apis) {
        #[cfg(feature = "mdns")]
        if let Some(m) = &mdns {
            svc.advertise(m);
        }
        let _ = svc;
    }
    let _ = (ex, opts, stopping);
    Running {
        apis,
        #[cfg(feature = "mdns")]
        mdns,
    }
}

#[cfg(feature = "mdns")]
fn start_mdns(
    ex: &Rc<LocalExecutor<'static>>,
    opts: &AgentOptions,
    stopping: &Shutdown,
    apis: &mut Vec<Rc<dyn Capability>>,
) -> Option<crate::mdns::Mdns> {
    let Some(config) = opts.mdns.clone() else {
        apis.push(Rc::new(Unavailable::new(
            "mdns",
            "not running (agent started with --no-mdns)",
        )));
        return None;
    };
    match crate::mdns::Mdns::start(ex, config, stopping.clone()) {
        Ok(m) => {
            let s = m.snapshot();
            crate::log!(
                Info,
                "mdns",
                "running as {}.local on {} links",
                s.host,
                s.links.len()
            );
            apis.push(Rc::new(crate::mdns::gateway::MdnsApi::new(m.clone())));
            Some(m)
        }
        Err(e) => {
            crate::log!(Error, "mdns", "cannot start mDNS: {e}");
            apis.push(Rc::new(Unavailable::new(
                "mdns",
                &format!("not running ({e})"),
            )));
            None
        }
    }
}

/// Makes the DNS capability available, and starts serving if `dns.json` says it was serving
/// when the agent last stopped.
#[cfg(feature = "dns")]
fn start_dns(
    ex: &Rc<LocalExecutor<'static>>,
    opts: &AgentOptions,
    mdns: Option<crate::mdns::Mdns>,
    apis: &mut Vec<Rc<dyn Capability>>,
) -> Option<crate::dns::Dns> {
    let dns = match crate::dns::Dns::new(ex, Some(opts.state.clone()), mdns) {
        Ok(d) => d,
        Err(e) => {
            crate::log!(Error, "dns", "cannot load DNS state: {e}");
            apis.push(Rc::new(Unavailable::new(
                "dns",
                &format!("not running ({e})"),
            )));
            return None;
        }
    };
    if let (config, true) = dns.saved() {
        match config.and_then(|c| dns.start(c, false)) {
            Ok(_) => {}
            Err(e) => crate::log!(Error, "dns", "cannot resume serving DNS: {e}"),
        }
    }
    apis.push(Rc::new(crate::dns::gateway::DnsApi::new(dns.clone())));
    Some(dns)
}

#[cfg(feature = "health")]
fn start_health(
    ex: &Rc<LocalExecutor<'static>>,
    opts: &AgentOptions,
    stopping: &Shutdown,
    apis: &mut Vec<Rc<dyn Capability>>,
    sources: Vec<Box<dyn crate::health::machines::SignalSource>>,
) {
    let mut config = crate::health::HealthConfig::new(opts.state.clone());
    if let Some(g) = opts.health_grace {
        config.grace = g;
    }
    #[cfg(feature = "certmesh")]
    config.extra_roots.extend(mesh_ca_file(&opts.state));
    match crate::health::Health::start(ex, config, sources, stopping.clone()) {
        Ok(h) => apis.push(Rc::new(crate::health::gateway::HealthApi::new(h))),
        Err(e) => {
            crate::log!(Error, "health", "cannot start health: {e}");
            apis.push(Rc::new(Unavailable::new(
                "health",
                &format!("not running ({e})"),
            )));
        }
    }
}

/// The mesh CA's certificate on this machine, CA or member: HTTPS health checks trust it.
#[cfg(all(feature = "certmesh", feature = "health"))]
fn mesh_ca_file(state: &crate::state::StateDir) -> Option<std::path::PathBuf> {
    let paths = crate::certmesh::files::MeshPaths::new(state);
    if paths.has_ca() {
        return Some(paths.ca_cert());
    }
    let member = crate::certmesh::files::load_member(&paths).ok()?;
    Some(std::path::Path::new(&member.cert_path).join("ca.pem")).filter(|p| p.exists())
}

#[cfg(feature = "certmesh")]
fn start_certmesh(
    ex: &Rc<LocalExecutor<'static>>,
    opts: &AgentOptions,
    stopping: &Shutdown,
    apis: &mut Vec<Rc<dyn Capability>>,
) -> Option<crate::certmesh::service::CertmeshService> {
    let paths = crate::certmesh::files::MeshPaths::new(&opts.state);
    if !paths.has_ca() {
        let summary = match crate::certmesh::files::load_member(&paths) {
            Ok(m) => format!(
                "member {} of the CA at {} (cert expires {})",
                m.hostname,
                m.ca_addr,
                crate::base::format_utc(m.cert_expires)
            ),
            Err(_) => "not configured (no CA here; `koi certmesh create` or `join`)".into(),
        };
        apis.push(Rc::new(Unavailable::new("certmesh", &summary)));
        return None;
    }
    match crate::certmesh::service::CertmeshService::start(
        ex,
        &paths,
        opts.certmesh_listen,
        stopping.clone(),
    ) {
        Ok(svc) => {
            apis.push(Rc::new(svc.clone()));
            Some(svc)
        }
        Err(e) => {
            crate::log!(Error, "certmesh", "cannot start the CA: {e}");
            apis.push(Rc::new(Unavailable::new(
                "certmesh",
                &format!("not running ({e})"),
            )));
            None
        }
    }
}

/// A compiled-in capability that is not running: its status line says why, and its routes
/// answer 503.
struct Unavailable {
    name: &'static str,
    summary: String,
}

impl Unavailable {
    #[allow(dead_code)]
    fn new(name: &'static str, summary: &str) -> Unavailable {
        Unavailable {
            name,
            summary: summary.to_string(),
        }
    }
}

impl Capability for Unavailable {
    fn name(&self) -> &'static str {
        self.name
    }

    fn status(&self) -> CapabilityStatus {
        CapabilityStatus {
            name: self.name.into(),
            state: "not_running".into(),
            summary: self.summary.clone(),
        }
    }

    fn handle(&self, _req: Request) -> Option<ResponseFuture> {
        let msg = format!("{} is {}", self.name, self.summary);
        Some(Box::pin(async move { Response::error(503, &msg) }))
    }
}
