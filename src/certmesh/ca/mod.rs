//! The CA core: the name-constrained ECDSA P-256 root, leaf issuance from a member's CSR, and
//! the CA's signatures over the roster and the audit log.
//!
//! Owns: X.509 construction (through rcgen) and reading certs back (`read`, over koi-wire's DER
//! reader). Never owns
//! files, policy about *who* may enroll (that is `enroll`), or the clock: `now` is passed in.
//! Never sees a member's private key (DESIGN departure 2: members send a CSR).
//!
//! A leaf's subject CN is the bare host name; its SANs are `host.<zone>`, `host.local`, the
//! FQDN and domain-scope name when known, and the member's IPs. The bare, single-label host
//! name is *not* a SAN: name constraints apply to every SAN, and no permitted DNS subtree can
//! contain a single-label name, so browsers would reject the whole cert.

pub mod keygen;
mod read;
pub mod scope;
mod signer;

pub use read::{csr_public_key, not_after, public_key_of, P256Key};
pub use signer::P256Signer;

use crate::base::{hex, RandomSource, Secret};
use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, GeneralSubtree, IsCa, Issuer, KeyUsagePurpose, NameConstraints,
    PublicKeyData, SanType, SerialNumber, SigningKey,
};
use scope::Scope;
use std::net::IpAddr;
use std::time::Duration;

/// The root's lifetime: 10 years.
pub const ROOT_LIFETIME_SECS: u64 = 10 * 365 * 24 * 3600;
/// A leaf's lifetime (every profile: 30 days, renew at day 20).
pub const LEAF_LIFETIME_SECS: u64 = 30 * 24 * 3600;
/// Backdating of `notBefore`, for members whose clocks run a little behind.
const BACKDATE_SECS: u64 = 300;

fn set_validity(p: &mut CertificateParams, from: u64, to: u64) {
    let epoch = rcgen::date_time_ymd(1970, 1, 1);
    p.not_before = epoch + Duration::from_secs(from);
    p.not_after = epoch + Duration::from_secs(to);
}

fn serial(rng: &mut dyn RandomSource) -> Result<SerialNumber, String> {
    let mut b = [0u8; 16];
    rng.fill(&mut b)
        .map_err(|e| format!("no randomness: {e}"))?;
    b[0] = (b[0] & 0x7f) | 0x01;
    Ok(SerialNumber::from_slice(&b))
}

/// Hex SHA-256 of DER bytes (the CA fingerprint format).
pub fn fingerprint(der: &[u8]) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, der).as_ref())
}

/// PEM of one certificate.
pub fn cert_pem(der: &[u8]) -> String {
    pem_encode("CERTIFICATE", der)
}

/// PEM with a label, 64 columns.
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = crate::certmesh::envelope::codec::b64_encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The first PEM block with `label` decoded to DER.
pub fn pem_decode(text: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)? + begin.len();
    let stop = start + text.get(start..)?.find(&end)?;
    let body: String = text
        .get(start..stop)?
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    crate::certmesh::envelope::codec::b64_decode(&body)
}

/// Builds the self-signed root for `scope` with the key `pkcs8`.
pub fn create_root(
    scope: &Scope,
    common_name: &str,
    pkcs8: &Secret,
    now: u64,
    rng: &mut dyn RandomSource,
) -> Result<Vec<u8>, String> {
    let key = P256Signer::from_pkcs8(pkcs8).map_err(|e| format!("bad CA key: {e}"))?;
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn.push(DnType::OrganizationName, "koi certmesh");
    p.distinguished_name = dn;
    set_validity(
        &mut p,
        now.saturating_sub(BACKDATE_SECS),
        now + ROOT_LIFETIME_SECS,
    );
    p.serial_number = Some(serial(rng)?);
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = read::root_key_usages();
    let mut permitted: Vec<GeneralSubtree> = scope
        .permitted_dns()
        .into_iter()
        .map(GeneralSubtree::DnsName)
        .collect();
    permitted.extend(
        scope
            .permitted_ips()
            .into_iter()
            .map(|c| GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(c.addr, c.prefix))),
    );
    p.name_constraints = Some(NameConstraints {
        permitted_subtrees: permitted,
        excluded_subtrees: Vec::new(),
    });
    let cert = p
        .self_signed(&key)
        .map_err(|e| format!("cannot build the root: {e}"))?;
    Ok(cert.der().to_vec())
}

/// What a member asks for, besides its public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafRequest {
    /// The single-label host name.
    pub hostname: String,
    /// Its fully qualified name, if it knows one.
    pub fqdn: Option<String>,
    /// Its LAN addresses.
    pub ips: Vec<IpAddr>,
}

/// An issued leaf.
#[derive(Debug, Clone)]
pub struct Leaf {
    /// DER of the leaf.
    pub der: Vec<u8>,
    /// Its SANs as text.
    pub sans: Vec<String>,
    /// `notAfter`, Unix seconds.
    pub expires: u64,
}

/// The SANs koi puts in a member's cert, as text (DNS names then IPs).
pub fn leaf_sans(req: &LeafRequest, scope: &Scope) -> Vec<String> {
    let h = req.hostname.to_ascii_lowercase();
    let mut names = vec![format!("{h}.{}", scope.zone), format!("{h}.local")];
    if let Some(f) = &req.fqdn {
        names.push(f.trim_end_matches('.').to_ascii_lowercase());
    }
    if let Some(d) = &scope.domain {
        names.push(format!("{h}.{}", d.trim_matches('.')));
    }
    let mut out: Vec<String> = Vec::new();
    for n in names {
        if !out.contains(&n) {
            out.push(n);
        }
    }
    for ip in &req.ips {
        let s = ip.to_string();
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// An unlocked CA: its cert and signing key.
pub struct Ca {
    cert_der: Vec<u8>,
    issuer: Issuer<'static, P256Signer>,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ca({})", fingerprint(&self.cert_der))
    }
}

impl Ca {
    /// Pairs the root cert with its PKCS#8 key; refuses a key that is not the cert's.
    pub fn load(cert_der: &[u8], pkcs8: &Secret) -> Result<Ca, String> {
        let key = P256Signer::from_pkcs8(pkcs8).map_err(|e| format!("bad CA key: {e}"))?;
        let spki = public_key_of(cert_der)?;
        if !crate::base::ct_eq(&spki, key.der_bytes()) {
            return Err("the CA key does not belong to the CA certificate".into());
        }
        let issuer = Issuer::new(read::issuer_params(cert_der)?, key);
        Ok(Ca {
            cert_der: cert_der.to_vec(),
            issuer,
        })
    }

    /// The root's DER.
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// Hex SHA-256 of the root's DER.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.cert_der)
    }

    /// An ECDSA P-256 SHA-256 signature (ASN.1) over `msg`.
    pub fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, String> {
        self.issuer
            .key()
            .sign(msg)
            .map_err(|e| format!("signing failed: {e}"))
    }

    /// Issues a leaf for a CSR after checking every name and IP against `scope`.
    pub fn issue(
        &self,
        csr_der: &[u8],
        req: &LeafRequest,
        scope: &Scope,
        now: u64,
        rng: &mut dyn RandomSource,
    ) -> Result<Leaf, String> {
        if !scope::valid_dns_name(&req.hostname) || req.hostname.contains('.') {
            return Err(format!(
                "`{}` is not a single-label host name",
                req.hostname
            ));
        }
        let sans = leaf_sans(req, scope);
        for s in &sans {
            match s.parse::<IpAddr>() {
                Ok(ip) => scope.check_ip(ip)?,
                Err(_) => scope.check_name(s)?,
            }
        }
        let key = csr_public_key(csr_der)?;
        self.sign_leaf(&key, &req.hostname, &sans, now, rng)
    }

    /// Signs a leaf with exactly these SANs, without any scope check (the root's name
    /// constraints still bind it in every verifier).
    pub fn sign_leaf(
        &self,
        public_key: &impl PublicKeyData,
        cn: &str,
        sans: &[String],
        now: u64,
        rng: &mut dyn RandomSource,
    ) -> Result<Leaf, String> {
        let mut p = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, cn);
        p.distinguished_name = dn;
        let expires = now + LEAF_LIFETIME_SECS;
        set_validity(&mut p, now.saturating_sub(BACKDATE_SECS), expires);
        p.serial_number = Some(serial(rng)?);
        p.is_ca = IsCa::ExplicitNoCa;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        p.use_authority_key_identifier_extension = true;
        for s in sans {
            p.subject_alt_names.push(match s.parse::<IpAddr>() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName(
                    s.clone()
                        .try_into()
                        .map_err(|_| format!("`{s}` is not a DNS name"))?,
                ),
            });
        }
        let cert = p
            .signed_by(public_key, &self.issuer)
            .map_err(|e| format!("cannot sign the leaf: {e}"))?;
        Ok(Leaf {
            der: cert.der().to_vec(),
            sans: sans.to_vec(),
            expires,
        })
    }
}

/// Verifies a CA signature over `msg` with the root's public key.
pub fn verify_signature(cert_der: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    let Ok(pk) = public_key_of(cert_der) else {
        return false;
    };
    ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_ASN1, pk)
        .verify(msg, sig)
        .is_ok()
}

/// A member-side key and CSR: the private key never leaves the member.
pub fn member_key_and_csr(hostname: &str) -> Result<(Secret, Vec<u8>), String> {
    let pkcs8 = keygen::generate_p256(b"", &mut crate::base::OsRandom)?;
    let key = P256Signer::from_pkcs8(&pkcs8)?;
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, hostname);
    p.distinguished_name = dn;
    let csr = p
        .serialize_request(&key)
        .map_err(|e| format!("cannot build the CSR: {e}"))?;
    Ok((pkcs8, csr.der().to_vec()))
}

#[cfg(test)]
mod tests;
