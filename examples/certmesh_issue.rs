//! Issuance throughput for tests/bench/certmesh.sh: builds a CA in memory, makes N member CSRs
//! first, then times issuing N leaves from them (scope checks, CSR signature check, signing).
//! Prints one line: `issued N in SECS s: RATE certs/s`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use koi::base::OsRandom;
use koi::certmesh::ca::scope::Scope;
use koi::certmesh::ca::{create_root, keygen, member_key_and_csr, Ca, LeafRequest};
use std::time::Instant;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let scope = Scope {
        zone: "lan".into(),
        domain: None,
        subnet: None,
        permit_domains: vec![],
    };
    let key = keygen::generate_p256(b"", &mut OsRandom).unwrap();
    let now = koi::base::now_unix();
    let der = create_root(&scope, "bench", &key, now, &mut OsRandom).unwrap();
    let ca = Ca::load(&der, &key).unwrap();
    let csrs: Vec<Vec<u8>> = (0..n)
        .map(|i| member_key_and_csr(&format!("h{i}")).unwrap().1)
        .collect();
    let start = Instant::now();
    for (i, csr) in csrs.iter().enumerate() {
        let req = LeafRequest {
            hostname: format!("h{i}"),
            fqdn: None,
            ips: vec![std::net::IpAddr::from([
                10,
                0,
                (i / 250) as u8,
                (i % 250) as u8 + 1,
            ])],
        };
        ca.issue(csr, &req, &scope, now, &mut OsRandom).unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    println!("issued {n} in {secs:.3} s: {:.0} certs/s", n as f64 / secs);
}
