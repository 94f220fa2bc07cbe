//! The fuzz entry point for certmesh's parsers of network and disk input: the join body and
//! reply (network), the roster, audit entries, the CA key payload and PEM (disk), subnets
//! (flags) and CSRs (network). Each must return an error on garbage, never panic.

use super::audit::Entry;
use super::ca::{pem_decode, scope::Cidr, LeafRequest};
use super::roster::{unhex, Roster};
use super::wire::{JoinBody, JoinReply};
use crate::base::Secret;
use miniserde::json;

/// Feeds `data` to every certmesh parser.
pub fn certmesh_input(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = json::from_str::<JoinBody>(&text);
    let _ = json::from_str::<JoinReply>(&text);
    let _ = json::from_str::<Roster>(&text);
    let _ = json::from_str::<Entry>(&text);
    let _ = super::payload::unpack(&Secret::new(data.to_vec()));
    let _ = pem_decode(&text, "CERTIFICATE");
    let _ = Cidr::parse(&text);
    let _ = unhex(&text);
    let _ = super::ca::public_key_of(data);
    let _ = super::ca::not_after(data);
    let _ = super::ca::csr_public_key(data);
    let _ = koi_wire::der::x509::parse_certificate(data)
        .map(|c| koi_wire::der::x509::name_attributes(c.subject));
    let req = LeafRequest {
        hostname: text.chars().take(70).collect(),
        fqdn: None,
        ips: Vec::new(),
    };
    let _ = super::ca::leaf_sans(
        &req,
        &super::ca::scope::Scope {
            zone: "lan".into(),
            domain: None,
            subnet: None,
            permit_domains: Vec::new(),
        },
    );
}

#[cfg(test)]
mod tests {
    #[test]
    fn garbage_never_panics() {
        let mut prng = crate::base::Prng::new(7);
        for n in 0..2000u64 {
            let len = prng.range(0, 300) as usize;
            let data: Vec<u8> = (0..len).map(|_| prng.next_u64() as u8).collect();
            super::certmesh_input(&data);
            let _ = n;
        }
        for s in [
            "{\"hostname\":1}",
            "KOI1\u{ff}\u{ff}",
            "10.0.0.0/99",
            "-----BEGIN CERTIFICATE-----\n!!",
        ] {
            super::certmesh_input(s.as_bytes());
        }
    }
}
