//! The CA inside the agent: the LAN HTTPS listener (`/v1/certmesh/join`, `join/<id>`,
//! `roster`, `health`), whose server cert is the CA host's own member cert, and the loopback
//! control routes (`status`, `unlock`, `open-enrollment`, `close-enrollment`, `approve`,
//! `deny`, `revoke`, `rotate-secret`). Both share one [`Authority`] on the agent's executor.
//! Never blocks the executor on Argon2: passphrase unlocking runs on a helper thread.

mod control;
mod prompt;

use super::authority::{Authority, JoinRequest, Joined, PendingState};
use super::ca::pem_decode;
use super::files::MeshPaths;
use super::roster::unhex;
use super::tls::TlsStream;
use super::wire::{Health, JoinBody, JoinReply};
use crate::base::{now_unix, OsRandom, Secret, Shutdown};
use crate::http::{
    accept_each, serve_connection, Accepted, Handler, Request, Response, ServerConfig,
};
use async_executor::LocalExecutor;
use async_io::{Async, Timer};
use futures_lite::{future, AsyncWriteExt};
use miniserde::json;
use std::cell::RefCell;
use std::net::{SocketAddr, TcpListener};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

/// The default certmesh API port.
pub const DEFAULT_PORT: u16 = 5642;

/// The running CA: shared state and the listener address.
#[derive(Clone)]
pub struct CertmeshService {
    pub(super) auth: Rc<RefCell<Authority>>,
    pub(super) addr: SocketAddr,
    pub(super) paths: MeshPaths,
}

fn tls_config(paths: &MeshPaths, auth: &Authority) -> Result<Arc<rustls::ServerConfig>, String> {
    let primary = auth
        .roster()
        .members
        .iter()
        .find(|m| m.role == "primary")
        .ok_or("the roster names no primary (CA host) member")?;
    let dir = paths.certs(&primary.hostname);
    let chain = std::fs::read_to_string(dir.join("fullchain.pem"))
        .map_err(|e| format!("{}: {e}", dir.join("fullchain.pem").display()))?;
    let key = Secret::new(
        std::fs::read(dir.join("key.pem"))
            .map_err(|e| format!("{}: {e}", dir.join("key.pem").display()))?,
    );
    let mut certs = Vec::new();
    let mut rest = chain.as_str();
    while let Some(start) = rest.find("-----BEGIN CERTIFICATE-----") {
        let block = &rest[start..];
        let der = pem_decode(block, "CERTIFICATE").ok_or("bad fullchain.pem")?;
        certs.push(rustls::pki_types::CertificateDer::from(der));
        rest = &block[27..];
    }
    let key_der =
        pem_decode(&String::from_utf8_lossy(key.expose()), "PRIVATE KEY").ok_or("bad key.pem")?;
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(key_der.into());
    let cfg = rustls::ServerConfig::builder_with_provider(crate::tls::provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("server cert: {e}"))?;
    Ok(Arc::new(cfg))
}

impl CertmeshService {
    /// Opens the CA in `paths`, unlocks it if auto-unlock is on, and serves the API on
    /// `listen` until `stopping`.
    pub fn start(
        ex: &Rc<LocalExecutor<'static>>,
        paths: &MeshPaths,
        listen: SocketAddr,
        stopping: Shutdown,
    ) -> Result<CertmeshService, String> {
        let mut auth = Authority::open(paths)?;
        match auth.unlock_auto() {
            Ok(()) => crate::log!(Info, "certmesh", "CA unlocked with the auto-unlock key"),
            Err(_) => crate::log!(
                Warn,
                "certmesh",
                "CA locked: run `koi certmesh unlock` to let it sign"
            ),
        }
        let tls = tls_config(paths, &auth)?;
        let listener =
            TcpListener::bind(listen).map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let listener = Async::new(listener).map_err(|e| e.to_string())?;
        let svc = CertmeshService {
            auth: Rc::new(RefCell::new(auth)),
            addr,
            paths: paths.clone(),
        };
        crate::log!(Info, "certmesh", "CA API listening on https://{addr}");
        let api = svc.clone();
        let handler: Rc<dyn Handler> = Rc::new(move |req: Request| {
            let api = api.clone();
            async move { api.lan_route(req) }
        });
        ex.spawn(accept_loop(
            ex.clone(),
            listener,
            tls,
            handler,
            stopping.clone(),
        ))
        .detach();
        prompt::start(ex, svc.clone(), stopping.clone());
        let ticker = svc.auth.clone();
        ex.spawn(async move {
            loop {
                let stop = async {
                    stopping.wait().await;
                    true
                };
                let tick = async {
                    Timer::after(Duration::from_secs(1)).await;
                    false
                };
                if future::or(stop, tick).await {
                    break;
                }
                ticker.borrow_mut().tick(now_unix());
            }
        })
        .detach();
        Ok(svc)
    }

    /// Announces the API as `_certmesh._tcp` (instance: the CA host's name; TXT carries the
    /// fingerprint so a joiner can show it before connecting).
    #[cfg(feature = "mdns")]
    pub fn advertise(&self, mdns: &crate::mdns::Mdns) {
        let (host, fp, profile) = {
            let a = self.auth.borrow();
            let r = a.roster();
            let host = r
                .members
                .iter()
                .find(|m| m.role == "primary")
                .map_or_else(|| "koi-ca".to_string(), |m| m.hostname.clone());
            (
                host,
                r.metadata.ca_fingerprint.clone(),
                r.metadata.trust_profile.clone(),
            )
        };
        let Ok(ty) = crate::mdns::ServiceType::parse("_certmesh._tcp") else {
            return;
        };
        let spec = crate::mdns::ServiceSpec {
            instance: host,
            service_type: ty,
            port: self.addr.port(),
            txt: vec![
                format!("fp={fp}").into_bytes(),
                format!("profile={profile}").into_bytes(),
            ],
            host: None,
            addrs: Vec::new(),
        };
        match mdns.announce(spec) {
            Ok(name) => crate::log!(Info, "certmesh", "announcing {name}._certmesh._tcp"),
            Err(e) => crate::log!(Warn, "certmesh", "cannot announce _certmesh._tcp: {e}"),
        }
    }

    /// The API's bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn lan_route(&self, req: Request) -> Response {
        let path = req.path().to_string();
        let method = req.head.method.as_str();
        match (method, path.as_str()) {
            ("GET", "/v1/certmesh/health") => {
                let a = self.auth.borrow();
                let h = Health {
                    status: "ok".into(),
                    ca_fingerprint: super::ca::fingerprint(a.ca_der()),
                    locked: !a.is_unlocked(),
                    enrollment: if a.enrollment_open(now_unix()) {
                        "open"
                    } else {
                        "closed"
                    }
                    .into(),
                    profile: a.roster().metadata.trust_profile.clone(),
                };
                Response::json(200, json::to_string(&h))
            }
            ("GET", "/v1/certmesh/roster") => {
                Response::json(200, json::to_string(self.auth.borrow().roster()))
            }
            ("POST", "/v1/certmesh/join") => self.join(&req),
            ("GET", p) if p.starts_with("/v1/certmesh/join/") => {
                let id = &p["/v1/certmesh/join/".len()..];
                match self.auth.borrow().poll(id) {
                    None => Response::error(404, "no such enrollment request"),
                    Some(PendingState::Waiting) => reply(202, waiting(id)),
                    Some(PendingState::Issued(i)) => reply(200, issued(i)),
                    Some(PendingState::Refused(r)) => Response::error(r.status(), &r.to_string()),
                }
            }
            _ => Response::error(404, "no such certmesh endpoint"),
        }
    }

    fn join(&self, req: &Request) -> Response {
        let text = String::from_utf8_lossy(&req.body);
        let body: JoinBody = match json::from_str(&text) {
            Ok(b) => b,
            Err(_) => return Response::error(400, "body is not a join request"),
        };
        let Some(csr) = unhex(&body.csr) else {
            return Response::error(400, "csr is not hex");
        };
        let mut ips = Vec::new();
        for ip in &body.ips {
            match ip.parse() {
                Ok(a) => ips.push(a),
                Err(_) => return Response::error(400, &format!("`{ip}` is not an IP address")),
            }
        }
        let jr = JoinRequest {
            hostname: body.hostname,
            fqdn: body.fqdn,
            ips,
            csr,
            code: body.code,
            cert_path: body.cert_path,
        };
        let result = self.auth.borrow_mut().join(jr, now_unix(), &mut OsRandom);
        match result {
            Ok(Joined::Issued(i)) => reply(200, issued(i)),
            Ok(Joined::Waiting(id)) => reply(202, waiting(&id)),
            Err(r) => Response::error(r.status(), &r.to_string()),
        }
    }
}

fn reply(status: u16, r: JoinReply) -> Response {
    Response::json(status, json::to_string(&r))
}

fn waiting(id: &str) -> JoinReply {
    JoinReply {
        status: "waiting".into(),
        request: Some(id.to_string()),
        ..<JoinReply as Default>::default()
    }
}

fn issued(i: super::authority::Issued) -> JoinReply {
    JoinReply {
        status: "issued".into(),
        request: None,
        cert: Some(i.cert_pem),
        ca: Some(i.ca_pem),
        sans: i.sans,
        expires: i.expires,
    }
}

async fn accept_loop(
    ex: Rc<LocalExecutor<'static>>,
    listener: Async<TcpListener>,
    tls: Arc<rustls::ServerConfig>,
    handler: Rc<dyn Handler>,
    shutdown: Shutdown,
) {
    let config = Rc::new(ServerConfig {
        max_connections: 64,
        head_timeout: Duration::from_secs(10),
        body_cap: 64 * 1024,
        ..ServerConfig::default()
    });
    // Over the limit, a connection is closed unanswered: a plaintext 503 means nothing to TLS.
    accept_each(
        &listener,
        config.max_connections,
        &shutdown,
        "certmesh",
        |_| {},
        |conn| {
            let tls_conn = match rustls::ServerConnection::new(tls.clone()) {
                Ok(c) => c,
                Err(e) => {
                    crate::log!(Warn, "certmesh", "TLS setup failed: {e}");
                    return;
                }
            };
            let (handler, config, shutdown) = (handler.clone(), config.clone(), shutdown.clone());
            ex.spawn(async move {
                let Accepted { stream, peer, slot } = conn;
                let mut tls = TlsStream::new(stream, tls_conn);
                serve_connection(&mut tls, peer, &*handler, &config, &shutdown).await;
                let close = async {
                    let _ = tls.close().await;
                };
                let timeout = async {
                    Timer::after(Duration::from_secs(2)).await;
                };
                future::or(close, timeout).await;
                drop(slot);
            })
            .detach();
        },
    )
    .await;
}
