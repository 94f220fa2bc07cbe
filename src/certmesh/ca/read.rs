//! Reading certificates and CSRs back, through koi-wire's DER views (`koi_wire::der`): the
//! root's issuer fields (to sign more leaves with it), a CSR's public key once its signature
//! verifies, and a certificate's key and expiry.
//!
//! Owns: turning parsed DER into what rcgen and ring need. Never signs anything, and never
//! hands out a CSR's key whose self-signature does not verify.

use koi_wire::der::{oid_arcs, tag, x509, DerError};
use rcgen::{
    CertificateParams, DistinguishedName, DnType, DnValue, KeyIdMethod, KeyUsagePurpose,
    PublicKeyData, SignatureAlgorithm,
};

/// The key usages of every koi root (what [`super::create_root`] writes).
pub(super) fn root_key_usages() -> Vec<KeyUsagePurpose> {
    vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ]
}

fn not_a_cert(_: DerError) -> String {
    "not a valid X.509 certificate".to_string()
}

/// An ECDSA P-256 public key (the uncompressed point) from a verified CSR.
pub struct P256Key(Vec<u8>);

impl PublicKeyData for P256Key {
    fn der_bytes(&self) -> &[u8] {
        &self.0
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

/// The public key of a PKCS#10 request: P-256, self-signed with ECDSA SHA-256, and the
/// signature verifies. Anything else is an error naming what is wrong.
pub fn csr_public_key(csr_der: &[u8]) -> Result<P256Key, String> {
    let req = x509::parse_cert_request(csr_der).map_err(|e| format!("bad CSR: {e}"))?;
    let key = req.public_key;
    if key.algorithm != x509::OID_EC_PUBLIC_KEY || key.curve != Some(x509::OID_P256) {
        return Err("bad CSR: the key is not ECDSA P-256".into());
    }
    if req.signature_algorithm != x509::OID_ECDSA_SHA256 {
        return Err("bad CSR: not signed with ECDSA SHA-256".into());
    }
    ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_ASN1, key.key)
        .verify(req.signed, req.signature)
        .map_err(|_| "bad CSR: its signature does not verify".to_string())?;
    Ok(P256Key(key.key.to_vec()))
}

/// What rcgen needs to sign as this root: its subject name, exactly as written, and its
/// subject key identifier (for the leaves' authority key identifier).
pub(super) fn issuer_params(cert_der: &[u8]) -> Result<CertificateParams, String> {
    let cert = x509::parse_certificate(cert_der).map_err(not_a_cert)?;
    let attrs = x509::name_attributes(cert.subject).map_err(not_a_cert)?;
    let mut dn = DistinguishedName::new();
    for a in &attrs {
        let arcs = oid_arcs(a.oid).map_err(not_a_cert)?;
        let text = std::str::from_utf8(a.value)
            .map_err(|_| "the CA's subject name is not UTF-8".to_string())?;
        let value = match a.string_tag {
            tag::UTF8_STRING => DnValue::Utf8String(text.to_string()),
            tag::PRINTABLE_STRING => DnValue::PrintableString(
                text.try_into()
                    .map_err(|_| "the CA's subject name is not printable".to_string())?,
            ),
            _ => return Err("the CA's subject name uses an unsupported string type".into()),
        };
        dn.push(DnType::from_oid(&arcs), value);
    }
    if dn.iter().count() != attrs.len() {
        // rcgen keeps one value per attribute type; a leaf's issuer would not match.
        return Err("the CA's subject name repeats an attribute type".into());
    }
    let ski = cert
        .subject_key_id()
        .map_err(not_a_cert)?
        .ok_or("the CA certificate has no subject key identifier")?;
    let mut p = CertificateParams::default();
    p.distinguished_name = dn;
    p.key_identifier_method = KeyIdMethod::PreSpecified(ski.to_vec());
    p.key_usages = root_key_usages();
    Ok(p)
}

/// The subject public key bits of a certificate (for EC keys, the uncompressed point).
pub fn public_key_of(cert_der: &[u8]) -> Result<Vec<u8>, String> {
    let cert = x509::parse_certificate(cert_der).map_err(not_a_cert)?;
    Ok(cert.public_key.key.to_vec())
}

/// `notAfter` of a certificate, Unix seconds.
pub fn not_after(cert_der: &[u8]) -> Result<u64, String> {
    let cert = x509::parse_certificate(cert_der).map_err(not_a_cert)?;
    u64::try_from(cert.not_after).map_err(|_| "certificate expiry before 1970".to_string())
}
