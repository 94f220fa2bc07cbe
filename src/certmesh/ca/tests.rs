//! CA core tests: the root's shape, issuance, and name constraints enforced by rustls-webpki
//! and by `openssl verify`.

use super::scope::{Cidr, Scope};
use super::*;
use crate::base::OsRandom;
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use std::sync::Arc;

fn scope() -> Scope {
    Scope {
        zone: "lan".into(),
        domain: None,
        subnet: None,
        permit_domains: vec![],
    }
}

fn now() -> u64 {
    crate::base::now_unix()
}

fn new_ca(scope: &Scope) -> Ca {
    let key = keygen::generate_p256(b"", &mut OsRandom).unwrap();
    let der = create_root(scope, "koi test CA", &key, now(), &mut OsRandom).unwrap();
    Ca::load(&der, &key).unwrap()
}

fn webpki_accepts(ca: &Ca, leaf: &[u8], name: &str) -> Result<(), String> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(ca.cert_der().to_vec()))
        .map_err(|e| e.to_string())?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let v = rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|e| e.to_string())?;
    let name = ServerName::try_from(name.to_string()).map_err(|e| e.to_string())?;
    v.verify_server_cert(
        &CertificateDer::from(leaf.to_vec()),
        &[],
        &name,
        &[],
        UnixTime::since_unix_epoch(std::time::Duration::from_secs(now())),
    )
    .map(|_| ())
    .map_err(|e| e.to_string())
}

fn openssl_verify(ca: &Ca, leaf: &[u8]) -> Option<(bool, String)> {
    let dir =
        std::env::temp_dir().join(format!("koi-ca-test-{}-{}", std::process::id(), leaf.len()));
    std::fs::create_dir_all(&dir).ok()?;
    std::fs::write(dir.join("ca.pem"), cert_pem(ca.cert_der())).ok()?;
    std::fs::write(dir.join("leaf.pem"), cert_pem(leaf)).ok()?;
    let out = std::process::Command::new("openssl")
        .args(["verify", "-CAfile"])
        .arg(dir.join("ca.pem"))
        .arg(dir.join("leaf.pem"))
        .output()
        .ok()?;
    let _ = std::fs::remove_dir_all(&dir);
    Some((
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    ))
}

#[test]
fn issued_leaf_verifies_in_webpki_and_openssl() {
    let ca = new_ca(&scope());
    let (_key, csr) = member_key_and_csr("stone").unwrap();
    let req = LeafRequest {
        hostname: "stone".into(),
        fqdn: None,
        ips: vec!["10.1.2.3".parse().unwrap()],
    };
    let leaf = ca
        .issue(&csr, &req, &scope(), now(), &mut OsRandom)
        .unwrap();
    assert_eq!(leaf.sans, ["stone.lan", "stone.local", "10.1.2.3"]);
    webpki_accepts(&ca, &leaf.der, "stone.lan").unwrap();
    webpki_accepts(&ca, &leaf.der, "10.1.2.3").unwrap();
    assert!(leaf.expires - now() == LEAF_LIFETIME_SECS);
    assert_eq!(not_after(&leaf.der).unwrap(), leaf.expires);
    let (ok, text) = openssl_verify(&ca, &leaf.der).expect("openssl is installed");
    assert!(ok, "openssl verify: {text}");
}

#[test]
fn root_is_a_ten_year_p256_ca_with_critical_name_constraints() {
    let ca = new_ca(&Scope {
        permit_domains: vec!["corp.example".into()],
        subnet: Some(Cidr::parse("100.64.0.0/10").unwrap()),
        ..scope()
    });
    let (_, cert) = x509_parser::parse_x509_certificate(ca.cert_der()).unwrap();
    let life = cert.validity().not_after.timestamp() - cert.validity().not_before.timestamp();
    assert!(life >= ROOT_LIFETIME_SECS as i64);
    let nc = cert
        .extensions()
        .iter()
        .find(|e| e.oid == x509_parser::oid_registry::OID_X509_EXT_NAME_CONSTRAINTS)
        .expect("name constraints present");
    assert!(nc.critical);
    let text = format!("{:?}", nc.parsed_extension());
    for needle in ["lan", "local", "home.arpa", "internal", "corp.example"] {
        assert!(text.contains(needle), "{needle} missing from {text}");
    }
    assert!(cert.is_ca());
}

#[test]
fn out_of_constraint_leaf_forced_through_the_library_is_rejected_everywhere() {
    let ca = new_ca(&scope());
    let (key, _) = member_key_and_csr("bank").unwrap();
    let kp = rcgen::KeyPair::try_from(key.expose()).unwrap();
    // The policy check refuses it...
    let (_, csr) = member_key_and_csr("bank").unwrap();
    let req = LeafRequest {
        hostname: "bank".into(),
        fqdn: Some("example.com".into()),
        ips: vec![],
    };
    assert!(ca
        .issue(&csr, &req, &scope(), now(), &mut OsRandom)
        .is_err());
    // ...and forced through the signer, verifiers refuse it because of the root's constraints.
    let leaf = ca
        .sign_leaf(
            &kp,
            "example.com",
            &["example.com".into()],
            now(),
            &mut OsRandom,
        )
        .unwrap();
    let err = webpki_accepts(&ca, &leaf.der, "example.com").unwrap_err();
    assert!(
        err.to_lowercase().contains("name") || err.to_lowercase().contains("constraint"),
        "{err}"
    );
    let (ok, text) = openssl_verify(&ca, &leaf.der).expect("openssl is installed");
    assert!(!ok, "openssl accepted an example.com leaf: {text}");
    assert!(
        text.contains("name constraint") || text.contains("permitted"),
        "{text}"
    );
    // A public IP is refused the same way.
    let leaf = ca
        .sign_leaf(&kp, "x", &["8.8.8.8".into()], now(), &mut OsRandom)
        .unwrap();
    assert!(webpki_accepts(&ca, &leaf.der, "8.8.8.8").is_err());
    // Control: the same forced path with an in-constraint name verifies.
    let leaf = ca
        .sign_leaf(&kp, "ok", &["ok.home.arpa".into()], now(), &mut OsRandom)
        .unwrap();
    webpki_accepts(&ca, &leaf.der, "ok.home.arpa").unwrap();
}

#[test]
fn scope_refuses_names_and_ips_outside_domain_and_subnet() {
    let s = Scope {
        domain: Some("school.internal".into()),
        subnet: Some(Cidr::parse("192.168.1.0/24").unwrap()),
        ..scope()
    };
    let ca = new_ca(&s);
    let (_, csr) = member_key_and_csr("pc").unwrap();
    let mut req = LeafRequest {
        hostname: "pc".into(),
        fqdn: None,
        ips: vec!["192.168.1.5".parse().unwrap()],
    };
    let leaf = ca.issue(&csr, &req, &s, now(), &mut OsRandom).unwrap();
    assert!(leaf.sans.contains(&"pc.school.internal".to_string()));
    req.ips = vec!["192.168.7.5".parse().unwrap()];
    let e = ca.issue(&csr, &req, &s, now(), &mut OsRandom).unwrap_err();
    assert!(e.contains("outside the subnet scope"), "{e}");
    req.ips = vec![];
    req.fqdn = Some("pc.other.internal".into());
    let e = ca.issue(&csr, &req, &s, now(), &mut OsRandom).unwrap_err();
    assert!(e.contains("outside the domain scope"), "{e}");
}

#[test]
fn signatures_verify_with_the_root_and_keys_must_match() {
    let ca = new_ca(&scope());
    let sig = ca.sign(b"roster").unwrap();
    assert!(verify_signature(ca.cert_der(), b"roster", &sig));
    assert!(!verify_signature(ca.cert_der(), b"rosteR", &sig));
    let other = keygen::generate_p256(b"", &mut OsRandom).unwrap();
    assert!(Ca::load(ca.cert_der(), &other).is_err());
    assert!(Ca::load(b"junk", &other).is_err());
}

#[test]
fn pem_round_trip() {
    for n in 0..70u8 {
        let der: Vec<u8> = (0..n).collect();
        let pem = cert_pem(&der);
        assert_eq!(pem_decode(&pem, "CERTIFICATE").unwrap(), der);
    }
    assert!(pem_decode("nothing", "CERTIFICATE").is_none());
    assert!(pem_decode("-----BEGIN X-----\n!!\n-----END X-----", "X").is_none());
}
