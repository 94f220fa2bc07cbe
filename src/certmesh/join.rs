//! The joiner's side of enrollment: pin the CA (fingerprint given, or shown and confirmed),
//! send a CSR whose key never leaves this machine, wait for approval if the CA asks, check
//! that what comes back chains to the pinned CA, and write the cert files.
//! The TLS verifier trusts exactly one CA: the one whose fingerprint was pinned.

use super::ca::{fingerprint, pem_decode};
use super::tls::TlsStream;
use super::wire::{Health, JoinBody, JoinReply};
use crate::base::{ct_eq, hex};
use crate::http::{connect, request};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Accepts a server only if the chain it sends ends in the pinned CA and verifies under it.
/// With nothing pinned it records the CA it was shown and refuses (a probe).
#[derive(Debug)]
struct PinVerifier {
    pinned: Option<String>,
    seen: Mutex<Option<String>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for PinVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let ca = intermediates
            .last()
            .ok_or_else(|| rustls::Error::General("the server sent no CA certificate".into()))?;
        let fp = fingerprint(ca);
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some(fp.clone());
        }
        let Some(pinned) = &self.pinned else {
            return Err(rustls::Error::General("probe only".into()));
        };
        if !ct_eq(pinned.as_bytes(), fp.as_bytes()) {
            return Err(rustls::Error::General(format!(
                "CA fingerprint {fp} is not the pinned {pinned}"
            )));
        }
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca.clone().into_owned())?;
        let v = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            self.provider.clone(),
        )
        .build()
        .map_err(|e| rustls::Error::General(e.to_string()))?;
        v.verify_server_cert(end_entity, &[], server_name, ocsp, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

fn verifier(pinned: Option<String>) -> Arc<PinVerifier> {
    Arc::new(PinVerifier {
        pinned,
        seen: Mutex::new(None),
        provider: crate::tls::provider(),
    })
}

/// One HTTPS request to the CA, trusting only `pinned`.
fn call(
    addr: SocketAddr,
    v: Arc<PinVerifier>,
    method: &str,
    target: &str,
    body: &[u8],
    deadline: Instant,
) -> Result<(u16, Vec<u8>), String> {
    let cfg = rustls::ClientConfig::builder_with_provider(v.provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(v)
        .with_no_client_auth();
    let name = ServerName::IpAddress(addr.ip().into());
    let conn = rustls::ClientConnection::new(Arc::new(cfg), name).map_err(|e| e.to_string())?;
    async_io::block_on(async {
        let tcp = connect(addr, deadline)
            .await
            .map_err(|e| format!("cannot reach the CA at {addr}: {e}"))?;
        let mut tls = TlsStream::new(tcp, conn);
        let headers: &[(&str, &str)] = if body.is_empty() {
            &[]
        } else {
            &[("Content-Type", "application/json")]
        };
        let r = request(
            &mut tls,
            method,
            &addr.to_string(),
            target,
            headers,
            body,
            256 * 1024,
            deadline,
        )
        .await
        .map_err(|e| format!("{e}"))?;
        Ok((r.status(), r.body))
    })
}

/// Connects once to learn the CA fingerprint the server presents (nothing is sent).
pub fn probe_fingerprint(addr: SocketAddr) -> Result<String, String> {
    let v = verifier(None);
    let _ = call(
        addr,
        v.clone(),
        "GET",
        "/v1/certmesh/health",
        b"",
        Instant::now() + Duration::from_secs(10),
    );
    let seen = v.seen.lock().ok().and_then(|s| s.clone());
    seen.ok_or_else(|| format!("{addr} did not present a koi CA certificate"))
}

/// The CA's health, over a pinned connection.
pub fn health(addr: SocketAddr, pinned: &str) -> Result<Health, String> {
    let (status, body) = call(
        addr,
        verifier(Some(pinned.into())),
        "GET",
        "/v1/certmesh/health",
        b"",
        Instant::now() + Duration::from_secs(10),
    )?;
    if status != 200 {
        return Err(format!("CA answered {status}"));
    }
    miniserde::json::from_str(&String::from_utf8_lossy(&body))
        .map_err(|_| "bad health reply".into())
}

fn error_text(status: u16, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let msg = miniserde::json::from_str::<miniserde::json::Value>(&text)
        .ok()
        .and_then(|v| match v {
            miniserde::json::Value::Object(o) => match o.get("error") {
                Some(miniserde::json::Value::String(s)) => Some(s.clone()),
                _ => None,
            },
            _ => None,
        })
        .unwrap_or_else(|| text.to_string());
    format!("the CA refused ({status}): {msg}")
}

/// What a completed join returns.
#[derive(Debug)]
pub struct Enrolled {
    /// Leaf DER.
    pub leaf_der: Vec<u8>,
    /// Root DER.
    pub ca_der: Vec<u8>,
    /// SANs.
    pub sans: Vec<String>,
    /// Expiry.
    pub expires: u64,
}

/// Sends the join and waits (up to `wait`) for approval; `on_wait` is called once when the CA
/// says the request waits.
pub fn enroll(
    addr: SocketAddr,
    pinned: &str,
    body: &JoinBody,
    wait: Duration,
    on_wait: &mut dyn FnMut(&str),
) -> Result<Enrolled, String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let json = miniserde::json::to_string(body);
    let (status, resp) = call(
        addr,
        verifier(Some(pinned.into())),
        "POST",
        "/v1/certmesh/join",
        json.as_bytes(),
        deadline,
    )?;
    let parse = |b: &[u8]| -> Result<JoinReply, String> {
        miniserde::json::from_str(&String::from_utf8_lossy(b))
            .map_err(|_| "the CA sent an unreadable reply".to_string())
    };
    let reply = match status {
        200 => parse(&resp)?,
        202 => {
            let id = parse(&resp)?.request.ok_or("the CA sent no request id")?;
            on_wait(&id);
            let give_up = Instant::now() + wait;
            loop {
                if Instant::now() >= give_up {
                    return Err(format!(
                        "no approval within {}s; request {id} still waits at the CA",
                        wait.as_secs()
                    ));
                }
                std::thread::sleep(Duration::from_millis(500));
                let (s, b) = call(
                    addr,
                    verifier(Some(pinned.into())),
                    "GET",
                    &format!("/v1/certmesh/join/{id}"),
                    b"",
                    Instant::now() + Duration::from_secs(10),
                )?;
                match s {
                    202 => continue,
                    200 => break parse(&b)?,
                    _ => return Err(error_text(s, &b)),
                }
            }
        }
        _ => return Err(error_text(status, &resp)),
    };
    let leaf_der = reply
        .cert
        .as_deref()
        .and_then(|p| pem_decode(p, "CERTIFICATE"))
        .ok_or("no certificate in the reply")?;
    let ca_der = reply
        .ca
        .as_deref()
        .and_then(|p| pem_decode(p, "CERTIFICATE"))
        .ok_or("no CA in the reply")?;
    if !ct_eq(fingerprint(&ca_der).as_bytes(), pinned.as_bytes()) {
        return Err("the CA returned a different root than the one pinned".into());
    }
    Ok(Enrolled {
        leaf_der,
        ca_der,
        sans: reply.sans,
        expires: reply.expires,
    })
}

/// Hex of a CSR for the wire.
pub fn csr_hex(csr: &[u8]) -> String {
    hex(csr)
}
