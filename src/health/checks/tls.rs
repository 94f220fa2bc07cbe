//! HTTPS for checks: rustls (ring) over the executor's sockets, trusting the system roots
//! (read from the system bundle with rustls-pki-types, or `SSL_CERT_FILE`) and the mesh CA.
//!
//! Owns naming TLS failures in words an operator acts on: expired, not valid for the name,
//! unknown issuer. Roots are loaded once, on the first HTTPS check.

use super::{read_some, write_all, CHUNK};
use crate::health::model::Outcome;
use async_io::Async;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{CertificateError, ClientConfig, ClientConnection, RootCertStore};
use std::cell::RefCell;
use std::io::{self, Read};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// Where Debian, Fedora, SUSE and Alpine/macOS keep the system bundle.
const SYSTEM_BUNDLES: [&str; 4] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// The client configuration HTTPS checks share, built on first use.
#[derive(Debug, Default)]
pub struct TlsConfig {
    /// Extra PEM files of trusted roots (the mesh CA).
    pub extra_roots: Vec<PathBuf>,
    built: RefCell<Option<Arc<ClientConfig>>>,
}

impl TlsConfig {
    /// Trusts the system roots and these extra PEM files.
    pub fn new(extra_roots: Vec<PathBuf>) -> TlsConfig {
        TlsConfig {
            extra_roots,
            built: RefCell::new(None),
        }
    }

    fn get(&self) -> Result<Arc<ClientConfig>, String> {
        if let Some(c) = self.built.borrow().as_ref() {
            return Ok(c.clone());
        }
        let roots = load_roots(&self.extra_roots);
        let config = ClientConfig::builder_with_provider(crate::tls::provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let config = Arc::new(config);
        *self.built.borrow_mut() = Some(config.clone());
        Ok(config)
    }
}

/// The system bundle (`SSL_CERT_FILE`, else the first of the usual paths) plus `extra`.
pub fn load_roots(extra: &[PathBuf]) -> RootCertStore {
    let mut roots = RootCertStore::empty();
    let system = std::env::var_os("SSL_CERT_FILE")
        .map(PathBuf::from)
        .or_else(|| {
            SYSTEM_BUNDLES
                .iter()
                .map(PathBuf::from)
                .find(|p| p.exists())
        });
    for path in system.iter().chain(extra) {
        add_pem(&mut roots, path);
    }
    roots
}

fn add_pem(roots: &mut RootCertStore, path: &Path) {
    match CertificateDer::pem_file_iter(path) {
        Ok(certs) => {
            let (added, ignored) = roots.add_parsable_certificates(certs.filter_map(Result::ok));
            crate::log!(
                Debug,
                "health",
                "{}: {added} roots ({ignored} ignored)",
                path.display()
            );
        }
        Err(e) => crate::log!(
            Warn,
            "health",
            "cannot read roots from {}: {e}",
            path.display()
        ),
    }
}

/// Words for a TLS failure.
fn tls_reason(e: &rustls::Error, host: &str) -> String {
    use rustls::Error as E;
    let what = match e {
        E::InvalidCertificate(c) => match c {
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                "certificate expired".to_string()
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "certificate not valid yet".to_string()
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                format!("certificate not valid for name {host:?} (wrong name)")
            }
            CertificateError::UnknownIssuer => {
                "certificate has an unknown issuer (not signed by a trusted CA)".to_string()
            }
            CertificateError::BadSignature => "certificate has a bad signature".to_string(),
            CertificateError::Revoked => "certificate revoked".to_string(),
            other if format!("{other:?}").contains("CaUsedAsEndEntity") => {
                "the server presents a CA certificate as its own (self-signed?)".to_string()
            }
            other => format!("invalid certificate: {other:?}"),
        },
        E::AlertReceived(a) => format!("server sent alert {a:?}"),
        E::InvalidMessage(_) => "the server did not answer with TLS".to_string(),
        other => other.to_string(),
    };
    format!("TLS: {what}")
}

/// A client TLS session over a socket, driven by hand with deadlines.
pub(super) struct TlsStream {
    tcp: Async<TcpStream>,
    conn: ClientConnection,
    host: String,
    inbox: Vec<u8>,
}

fn tls_fail(e: &rustls::Error, host: &str) -> Outcome {
    Outcome::down("tls", tls_reason(e, host))
}

fn io_fail(e: &io::Error, during: &str) -> Outcome {
    if e.kind() == io::ErrorKind::TimedOut {
        Outcome::down("timeout", format!("timeout: {during}"))
    } else {
        Outcome::down("error", format!("connection failed {during}: {e}"))
    }
}

impl TlsStream {
    /// Runs the handshake by `deadline`.
    pub(super) async fn handshake(
        tcp: Async<TcpStream>,
        host: &str,
        config: &TlsConfig,
        deadline: Instant,
    ) -> Result<TlsStream, Outcome> {
        let config = config
            .get()
            .map_err(|e| Outcome::down("tls", format!("TLS: cannot set up: {e}")))?;
        let name = ServerName::try_from(host.to_string()).map_err(|_| {
            Outcome::down("tls", format!("TLS: {host:?} is not a valid server name"))
        })?;
        let conn = ClientConnection::new(config, name).map_err(|e| tls_fail(&e, host))?;
        let mut s = TlsStream {
            tcp,
            conn,
            host: host.to_string(),
            inbox: Vec::new(),
        };
        while s.conn.is_handshaking() {
            s.flush(deadline).await?;
            if !s.conn.is_handshaking() {
                break;
            }
            if s.fill(deadline, "during the TLS handshake").await? == 0 {
                return Err(Outcome::down(
                    "tls",
                    "TLS: the server closed the connection during the handshake",
                ));
            }
        }
        s.flush(deadline).await?;
        Ok(s)
    }

    async fn flush(&mut self, deadline: Instant) -> Result<(), Outcome> {
        while self.conn.wants_write() {
            let mut out = Vec::new();
            self.conn
                .write_tls(&mut out)
                .map_err(|e| io_fail(&e, "writing TLS"))?;
            write_all(&mut self.tcp, &out, deadline)
                .await
                .map_err(|e| io_fail(&e, "sending"))?;
        }
        Ok(())
    }

    /// Reads one lot of TLS bytes from the socket and processes them; 0 at end of stream.
    async fn fill(&mut self, deadline: Instant, during: &str) -> Result<usize, Outcome> {
        let n = read_some(&mut self.tcp, &mut self.inbox, deadline)
            .await
            .map_err(|e| io_fail(&e, during))?;
        let mut rest: &[u8] = &self.inbox;
        while !rest.is_empty() {
            match self.conn.read_tls(&mut rest) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => return Err(io_fail(&e, during)),
            }
            if let Err(e) = self.conn.process_new_packets() {
                let out = tls_fail(&e, &self.host);
                let _ = self.flush(deadline).await;
                return Err(out);
            }
        }
        self.inbox.clear();
        Ok(n)
    }

    /// Sends plaintext.
    pub(super) async fn send(&mut self, bytes: &[u8], deadline: Instant) -> Result<(), Outcome> {
        io::Write::write_all(&mut self.conn.writer(), bytes).map_err(|e| io_fail(&e, "sending"))?;
        self.flush(deadline).await
    }

    /// Appends at most [`CHUNK`] bytes of plaintext; 0 at end of stream.
    pub(super) async fn recv(
        &mut self,
        buf: &mut Vec<u8>,
        deadline: Instant,
    ) -> Result<usize, Outcome> {
        loop {
            let mut chunk = [0u8; CHUNK];
            match self.conn.reader().read(&mut chunk) {
                Ok(n) => {
                    buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(io_fail(&e, "reading")),
            }
            if self.fill(deadline, "waiting for the response").await? == 0 {
                return Ok(0);
            }
        }
    }
}
