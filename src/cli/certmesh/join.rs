//! `koi certmesh join`: enroll this machine with a CA.

use super::out::{ask, done, interactive, Obj};
use super::Join;
use crate::base::now_unix;
use crate::certmesh::ca::{member_key_and_csr, public_key_of, P256Signer};
use crate::certmesh::files::{save_member, write_cert_set, MemberInfo, MeshPaths};
use crate::certmesh::join::{csr_hex, enroll, probe_fingerprint};
use crate::certmesh::wire::JoinBody;
use crate::certmesh::{netinfo, trust};
use crate::cli::common::Common;
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

fn resolve(ca: &str) -> Result<SocketAddr, String> {
    let with_port = if ca.parse::<SocketAddr>().is_ok()
        || ca
            .rsplit_once(':')
            .is_some_and(|(h, p)| !h.contains(':') && p.parse::<u16>().is_ok())
    {
        ca.to_string()
    } else {
        format!("{ca}:{}", crate::certmesh::service::DEFAULT_PORT)
    };
    with_port
        .to_socket_addrs()
        .map_err(|e| format!("--ca {ca}: {e}"))?
        .next()
        .ok_or_else(|| format!("--ca {ca}: no address"))
}

/// Finds `_certmesh._tcp` over mDNS (5 s), from this process.
#[cfg(feature = "mdns")]
fn discover() -> Result<SocketAddr, String> {
    use crate::mdns::{Mdns, MdnsConfig, ServiceType};
    use futures_lite::future;
    let ty = ServiceType::parse("_certmesh._tcp").map_err(|e| e.to_string())?;
    let ex = std::rc::Rc::new(async_executor::LocalExecutor::new());
    let (stop, stopping) = crate::base::shutdown_pair();
    let mdns = Mdns::start(&ex, MdnsConfig::default(), stopping)
        .map_err(|e| format!("cannot browse for the CA over mDNS ({e}); pass --ca HOST:PORT"))?;
    let found = async_io::block_on(ex.run(async {
        let _guard = mdns.browse(&ty);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let mut found = None;
        while std::time::Instant::now() < deadline {
            // Prefer IPv4; an IPv6 address must be routable (the CA's cert names no
            // link-local address).
            let entries = mdns.services(Some(&ty));
            let pick = |v4: bool| {
                entries.iter().filter(|e| !e.stale).find_map(|e| {
                    e.service
                        .addrs()
                        .find(|a| match a {
                            std::net::IpAddr::V4(_) => v4,
                            std::net::IpAddr::V6(v6) => {
                                !v4 && (v6.segments()[0] & 0xffc0) != 0xfe80
                            }
                        })
                        .map(|ip| SocketAddr::new(ip, e.service.port()))
                })
            };
            found = pick(true).or_else(|| pick(false));
            if found.is_some() {
                break;
            }
            async_io::Timer::after(Duration::from_millis(100)).await;
        }
        stop.trigger();
        let grace = async {
            async_io::Timer::after(Duration::from_secs(1)).await;
        };
        future::or(mdns.stopped(), grace).await;
        found
    }));
    found.ok_or_else(|| {
        "no CA found over mDNS (_certmesh._tcp) within 5 s; pass --ca HOST:PORT".into()
    })
}

#[cfg(not(feature = "mdns"))]
fn discover() -> Result<SocketAddr, String> {
    Err("missing --ca HOST:PORT (this koi was built without mDNS to find the CA)".into())
}

fn normalize_fp(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_hexdigit())
        .collect::<String>()
        .to_ascii_lowercase()
}

fn run_inner(c: &Join, common: &Common) -> Result<ExitCode, String> {
    let addr = match c.ca.as_deref() {
        Some(ca) => resolve(ca)?,
        None => discover()?,
    };
    let hostname = match &c.hostname {
        Some(h) => h.to_ascii_lowercase(),
        None => {
            netinfo::hostname().ok_or("cannot read this machine's host name; pass --hostname")?
        }
    };
    let shown = probe_fingerprint(addr)?;
    let pinned = match c.ca_fingerprint.as_deref().map(normalize_fp) {
        Some(fp) if fp == shown => fp,
        Some(fp) => {
            return Err(format!(
                "the CA at {addr} presents fingerprint {shown}, not the expected {fp}; refusing to join"
            ))
        }
        None if !interactive() => {
            return Err(format!(
                "the CA at {addr} presents fingerprint {shown}; with no terminal to confirm it, pass --ca-fingerprint {shown}"
            ))
        }
        None => {
            eprintln!("CA at {addr}\nCA fingerprint (SHA-256): {shown}\nCompare it with the one `koi certmesh create` printed on the CA.");
            let a = ask("Trust this CA? [y/N]: ", "--ca-fingerprint")?;
            if !matches!(a.as_str(), "y" | "Y" | "yes") {
                return Err("not confirmed; nothing was changed".into());
            }
            shown
        }
    };
    let code = match &c.code {
        Some(code) => code.clone(),
        None => ask("Six-digit code from the authenticator app: ", "--code")?,
    };
    let paths = MeshPaths::new(&common.state);
    let (key, csr) = member_key_and_csr(&hostname)?;
    let body = JoinBody {
        hostname: hostname.clone(),
        fqdn: None,
        ips: netinfo::lan_addrs().iter().map(|i| i.to_string()).collect(),
        csr: csr_hex(&csr),
        code,
        cert_path: paths.certs(&hostname).display().to_string(),
    };
    let json = common.json;
    let mut on_wait = |id: &str| {
        if json {
            println!("{{\"status\":\"waiting\",\"request\":\"{id}\"}}");
        } else {
            eprintln!("waiting for approval (request {id}); on the CA run: koi certmesh approve {hostname}");
        }
    };
    let got = enroll(addr, &pinned, &body, Duration::from_secs(300), &mut on_wait)?;
    let mine = P256Signer::from_pkcs8(&key)?;
    if public_key_of(&got.leaf_der)? != rcgen::PublicKeyData::der_bytes(&mine) {
        return Err("the CA returned a certificate for another key".into());
    }
    let now = now_unix();
    let dir = write_cert_set(&paths, &hostname, &got.leaf_der, &key, &got.ca_der, now)?;
    let mut stores = Vec::new();
    let mut errors = Vec::new();
    if !c.no_trust_store {
        for (name, r) in trust::install(&dir.join("ca.pem"), &pinned) {
            match r {
                Ok(()) => stores.push(name),
                Err(e) => errors.push(format!("{name}: {e}")),
            }
        }
    }
    save_member(
        &paths,
        &MemberInfo {
            schema: 1,
            hostname: hostname.clone(),
            ca_addr: addr.to_string(),
            ca_fingerprint: pinned.clone(),
            enrolled_at: now,
            cert_path: dir.display().to_string(),
            cert_expires: got.expires,
            trust_stores: stores.clone(),
        },
    )?;
    let obj = Obj::new()
        .s("status", "issued")
        .s("hostname", hostname.clone())
        .s("ca_fingerprint", pinned.clone())
        .s("cert_dir", dir.display().to_string())
        .s("expires", crate::base::format_utc(got.expires))
        .list("sans", &got.sans)
        .list("trust_stores", &stores)
        .list("trust_store_errors", &errors);
    let text = format!(
        "Joined the mesh as {hostname}.\nCert files: {}\nNames: {}\nValid until {}\nTrust stores: {}",
        dir.display(),
        got.sans.join(", "),
        crate::base::format_utc(got.expires),
        if c.no_trust_store { "skipped (--no-trust-store)".into() } else if stores.is_empty() { "none found".to_string() } else { stores.join(", ") }
    );
    Ok(done(common, obj, &text))
}

/// Runs `koi certmesh join`.
pub(super) fn run(c: &Join, common: &Common) -> ExitCode {
    run_inner(c, common).unwrap_or_else(|e| common.fail(&e, 1))
}
