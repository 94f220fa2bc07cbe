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
    // A directory of its own per call: tests run in parallel and leaves often share a length.
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("koi-ca-test-{}-{n}", std::process::id()));
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
    let cert = koi_wire::der::x509::parse_certificate(ca.cert_der()).unwrap();
    assert!(cert.not_after - cert.not_before >= ROOT_LIFETIME_SECS as i64);
    // openssl, independently: a CA with critical name constraints naming every zone.
    let dir = std::env::temp_dir().join(format!("koi-ca-root-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ca.pem"), cert_pem(ca.cert_der())).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-text", "-in"])
        .arg(dir.join("ca.pem"))
        .output()
        .expect("openssl is installed");
    let _ = std::fs::remove_dir_all(&dir);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("X509v3 Name Constraints: critical"), "{text}");
    assert!(text.contains("CA:TRUE"), "{text}");
    assert!(text.contains("ASN1 OID: prime256v1"), "{text}");
    for needle in ["lan", "local", "home.arpa", "internal", "corp.example"] {
        assert!(
            text.contains(&format!("DNS:{needle}")),
            "{needle} missing from {text}"
        );
    }
}

#[test]
fn a_reloaded_root_issues_leaves_that_chain_to_it_by_name_and_key_id() {
    use koi_wire::der::x509::{parse_certificate, OID_SUBJECT_KEY_ID};
    let first = new_ca(&scope());
    let key = keygen::generate_p256(b"", &mut OsRandom).unwrap();
    let der = create_root(&scope(), "koi test CA", &key, now(), &mut OsRandom).unwrap();
    drop(first);
    let ca = Ca::load(&der, &key).unwrap(); // as after a restart: only the DER and the key
    let (_k, csr) = member_key_and_csr("stone").unwrap();
    let leaf = ca
        .issue(&csr, &leaf_req("stone"), &scope(), now(), &mut OsRandom)
        .unwrap();
    let root = parse_certificate(&der).unwrap();
    let issued = parse_certificate(&leaf.der).unwrap();
    assert_eq!(issued.issuer, root.subject, "byte-identical issuer name");
    let ski = root.subject_key_id().unwrap().unwrap();
    let aki = issued
        .extension(&[0x55, 0x1d, 0x23])
        .expect("authority key id");
    assert!(aki.value.ends_with(ski), "AKI names the root's SKI");
    assert!(issued.extension(OID_SUBJECT_KEY_ID).is_some());
    let (ok, text) = openssl_verify(&ca, &leaf.der).expect("openssl is installed");
    assert!(ok, "openssl verify: {text}");
}

fn leaf_req(host: &str) -> LeafRequest {
    LeafRequest {
        hostname: host.into(),
        fqdn: None,
        ips: vec!["10.1.2.3".parse().unwrap()],
    }
}

#[test]
fn csrs_from_openssl_are_accepted_and_forged_or_foreign_ones_refused() {
    let ca = new_ca(&scope());
    let openssl_csr = include_bytes!("../../../hand-rolled/src/der/testdata/beta.csr.der");
    let leaf = ca
        .issue(
            openssl_csr,
            &leaf_req("beta"),
            &scope(),
            now(),
            &mut OsRandom,
        )
        .unwrap();
    webpki_accepts(&ca, &leaf.der, "beta.lan").unwrap();
    // The leaf carries the CSR's key.
    let csr_key = koi_wire::der::x509::parse_cert_request(openssl_csr)
        .unwrap()
        .public_key
        .key;
    assert_eq!(public_key_of(&leaf.der).unwrap(), csr_key);

    let (_k, csr) = member_key_and_csr("stone").unwrap();
    let mut forged = csr.clone();
    let n = forged.len();
    forged[n - 3] ^= 0x01; // inside the signature
    let e = ca
        .issue(&forged, &leaf_req("stone"), &scope(), now(), &mut OsRandom)
        .unwrap_err();
    assert!(e.contains("signature does not verify"), "{e}");
    let rsa = include_bytes!("../../../hand-rolled/src/der/testdata/rsa.csr.der");
    let e = ca
        .issue(rsa, &leaf_req("rsa"), &scope(), now(), &mut OsRandom)
        .unwrap_err();
    assert!(e.contains("not ECDSA P-256"), "{e}");
    let e = ca
        .issue(b"junk", &leaf_req("x"), &scope(), now(), &mut OsRandom)
        .unwrap_err();
    assert!(e.starts_with("bad CSR"), "{e}");
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
