//! Fuzz entry point for the DER reader: certificates and CSRs must parse or fail, never panic,
//! and whatever parses must hand out views that lie inside the input.

use super::x509::{name_attributes, parse_cert_request, parse_certificate};

/// Parses `data` as a certificate and as a CSR, and walks what parses.
pub fn der_x509(data: &[u8]) {
    let inside = |part: &[u8]| {
        let (start, end) = (data.as_ptr() as usize, data.as_ptr() as usize + data.len());
        let p = part.as_ptr() as usize;
        assert!(part.is_empty() || (p >= start && p + part.len() <= end));
    };
    if let Ok(c) = parse_certificate(data) {
        inside(c.subject);
        inside(c.public_key.key);
        let _ = name_attributes(c.subject);
        let _ = c.subject_key_id();
    }
    if let Ok(r) = parse_cert_request(data) {
        inside(r.signed);
        inside(r.signature);
        let _ = name_attributes(r.subject);
    }
}
