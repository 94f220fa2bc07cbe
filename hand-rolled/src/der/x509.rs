//! Views into X.509 certificates (RFC 5280) and PKCS#10 certificate requests (RFC 2986):
//! just the fields koi reads, borrowed from the input, with the raw bytes a signature covers.
//!
//! It parses structure only. It never verifies a signature, a chain or a name (the caller
//! does that with its crypto library), and it never interprets extensions beyond handing out
//! their OID, critical flag and contents.

use super::{bit_string_bytes, single, tag, time, Der, DerError, Tlv};

/// `id-ce-subjectKeyIdentifier` (2.5.29.14), as OID contents.
pub const OID_SUBJECT_KEY_ID: &[u8] = &[0x55, 0x1d, 0x0e];
/// `id-ce-subjectAltName` (2.5.29.17).
pub const OID_SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];
/// `id-ce-nameConstraints` (2.5.29.30).
pub const OID_NAME_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x1e];
/// `id-ecPublicKey` (1.2.840.10045.2.1).
pub const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// `prime256v1` / secp256r1 (1.2.840.10045.3.1.7).
pub const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// `ecdsa-with-SHA256` (1.2.840.10045.4.3.2).
pub const OID_ECDSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];

/// At most this many extensions or name attributes are listed (more is an error).
const MAX_ITEMS: usize = 64;

/// A SubjectPublicKeyInfo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublicKeyInfo<'a> {
    /// The algorithm OID's contents.
    pub algorithm: &'a [u8],
    /// The parameters' OID contents when they are an OID (the curve for EC keys).
    pub curve: Option<&'a [u8]>,
    /// The key bits (for EC keys, the uncompressed point).
    pub key: &'a [u8],
}

/// One extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extension<'a> {
    /// The OID's contents.
    pub oid: &'a [u8],
    /// The critical flag.
    pub critical: bool,
    /// The OCTET STRING's contents (the extension's own DER).
    pub value: &'a [u8],
}

/// One attribute of a distinguished name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NameAttribute<'a> {
    /// The attribute type's OID contents.
    pub oid: &'a [u8],
    /// The string type's tag (UTF8String, PrintableString, ...).
    pub string_tag: u8,
    /// The string's bytes.
    pub value: &'a [u8],
}

/// The fields of a certificate koi reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Certificate<'a> {
    /// The subject Name, whole (tag and length included).
    pub subject: &'a [u8],
    /// The issuer Name, whole.
    pub issuer: &'a [u8],
    /// notBefore, Unix seconds.
    pub not_before: i64,
    /// notAfter, Unix seconds.
    pub not_after: i64,
    /// The subject's public key.
    pub public_key: PublicKeyInfo<'a>,
    /// The extensions, in order.
    pub extensions: Vec<Extension<'a>>,
}

impl<'a> Certificate<'a> {
    /// The first extension with this OID.
    pub fn extension(&self, oid: &[u8]) -> Option<&Extension<'a>> {
        self.extensions.iter().find(|e| e.oid == oid)
    }

    /// The subject key identifier, if the certificate has one.
    pub fn subject_key_id(&self) -> Result<Option<&'a [u8]>, DerError> {
        match self.extension(OID_SUBJECT_KEY_ID) {
            Some(e) => Ok(Some(single(e.value, tag::OCTET_STRING)?.value)),
            None => Ok(None),
        }
    }
}

/// A certificate request: what its signature covers, and the fields koi reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CertRequest<'a> {
    /// The CertificationRequestInfo, whole: the bytes the signature covers.
    pub signed: &'a [u8],
    /// The subject Name, whole.
    pub subject: &'a [u8],
    /// The requested public key.
    pub public_key: PublicKeyInfo<'a>,
    /// The signature algorithm's OID contents.
    pub signature_algorithm: &'a [u8],
    /// The signature bits.
    pub signature: &'a [u8],
}

/// Parses a DER certificate.
pub fn parse_certificate(der: &[u8]) -> Result<Certificate<'_>, DerError> {
    let mut cert = single(der, tag::SEQUENCE)?.contents();
    let mut tbs = cert.enter(tag::SEQUENCE)?;
    algorithm_id(&mut cert)?;
    bit_string_bytes(cert.expect(tag::BIT_STRING)?.value)?;
    cert.finish()?;

    tbs.optional(tag::explicit(0))?; // version
    tbs.expect(tag::INTEGER)?; // serial
    algorithm_id(&mut tbs)?;
    let issuer = tbs.expect(tag::SEQUENCE)?.raw;
    let mut validity = tbs.enter(tag::SEQUENCE)?;
    let not_before = time(&validity.read()?)?;
    let not_after = time(&validity.read()?)?;
    validity.finish()?;
    let subject = tbs.expect(tag::SEQUENCE)?.raw;
    let public_key = public_key_info(tbs.expect(tag::SEQUENCE)?)?;
    tbs.optional(tag::implicit(1))?; // issuerUniqueID
    tbs.optional(tag::implicit(2))?; // subjectUniqueID
    let extensions = match tbs.optional(tag::explicit(3))? {
        Some(t) => extensions(t)?,
        None => Vec::new(),
    };
    tbs.finish()?;
    Ok(Certificate {
        subject,
        issuer,
        not_before,
        not_after,
        public_key,
        extensions,
    })
}

/// Parses a DER PKCS#10 certificate request (its signature is not checked here).
pub fn parse_cert_request(der: &[u8]) -> Result<CertRequest<'_>, DerError> {
    let mut req = single(der, tag::SEQUENCE)?.contents();
    let info = req.expect(tag::SEQUENCE)?;
    let signature_algorithm = algorithm_id(&mut req)?;
    let signature = bit_string_bytes(req.expect(tag::BIT_STRING)?.value)?;
    req.finish()?;

    let mut fields = info.contents();
    if fields.expect(tag::INTEGER)?.value != [0] {
        return Err(DerError::BadValue("request version"));
    }
    let subject = fields.expect(tag::SEQUENCE)?.raw;
    let public_key = public_key_info(fields.expect(tag::SEQUENCE)?)?;
    fields.expect(tag::explicit(0))?; // attributes
    fields.finish()?;
    Ok(CertRequest {
        signed: info.raw,
        subject,
        public_key,
        signature_algorithm,
        signature,
    })
}

/// The attributes of a whole Name, in order (one per RDN; multi-valued RDNs are refused).
pub fn name_attributes(name: &[u8]) -> Result<Vec<NameAttribute<'_>>, DerError> {
    let mut rdns = single(name, tag::SEQUENCE)?.contents();
    let mut out = Vec::new();
    while !rdns.is_empty() {
        let mut set = rdns.enter(tag::SET)?;
        let mut atv = set.enter(tag::SEQUENCE)?;
        set.finish()?;
        let oid = atv.expect(tag::OID)?.value;
        let value = atv.read()?;
        atv.finish()?;
        if out.len() == MAX_ITEMS {
            return Err(DerError::BadValue("name: too many attributes"));
        }
        out.push(NameAttribute {
            oid,
            string_tag: value.tag,
            value: value.value,
        });
    }
    Ok(out)
}

/// Reads an AlgorithmIdentifier and returns its OID's contents.
fn algorithm_id<'a>(d: &mut Der<'a>) -> Result<&'a [u8], DerError> {
    let mut alg = d.enter(tag::SEQUENCE)?;
    let oid = alg.expect(tag::OID)?.value;
    if !alg.is_empty() {
        alg.read()?; // parameters
    }
    alg.finish()?;
    Ok(oid)
}

fn public_key_info(spki: Tlv<'_>) -> Result<PublicKeyInfo<'_>, DerError> {
    let mut d = spki.contents();
    let mut alg = d.enter(tag::SEQUENCE)?;
    let algorithm = alg.expect(tag::OID)?.value;
    let curve = alg.optional(tag::OID)?.map(|t| t.value);
    if curve.is_none() && !alg.is_empty() {
        alg.read()?; // other parameters (NULL for RSA)
    }
    alg.finish()?;
    let key = bit_string_bytes(d.expect(tag::BIT_STRING)?.value)?;
    d.finish()?;
    Ok(PublicKeyInfo {
        algorithm,
        curve,
        key,
    })
}

fn extensions(explicit: Tlv<'_>) -> Result<Vec<Extension<'_>>, DerError> {
    let mut outer = explicit.contents();
    let mut list = outer.enter(tag::SEQUENCE)?;
    outer.finish()?;
    let mut out = Vec::new();
    while !list.is_empty() {
        let mut ext = list.enter(tag::SEQUENCE)?;
        let oid = ext.expect(tag::OID)?.value;
        let critical = match ext.optional(tag::BOOLEAN)? {
            Some(b) if b.value == [0xff] => true,
            Some(_) => return Err(DerError::BadValue("critical flag")), // DER: only TRUE is written
            None => false,
        };
        let value = ext.expect(tag::OCTET_STRING)?.value;
        ext.finish()?;
        if out.len() == MAX_ITEMS {
            return Err(DerError::BadValue("too many extensions"));
        }
        out.push(Extension {
            oid,
            critical,
            value,
        });
    }
    Ok(out)
}
