//! Hostile input: random and mutated packets.

use std::time::Duration;

use koi_wire::dns::RecordType;

use super::*;

const GRAFANA: &str = "grafana._http._tcp.local";

#[test]
fn random_packets_never_panic() {
    // 10,000 xorshift-random and mutated packets, through the same harness as the fuzz target.
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut sim = Sim::settled();
    let real = sim_packets();
    for i in 0..10_000u32 {
        let mut bytes = match real.get(i as usize % (real.len() + 1)) {
            Some(p) => p.clone(),
            None => (0..next() % 300).map(|_| next() as u8).collect(),
        };
        for _ in 0..next() % 4 {
            if !bytes.is_empty() {
                let at = next() as usize % bytes.len();
                bytes[at] ^= 1 << (next() % 8);
            }
        }
        if i % 25 == 0 {
            // The whole fuzz harness (fresh responder, every source kind) on a sample.
            crate::mdns::fuzzing::mdns_packet(&bytes);
        }
        if let Ok(msg) = Message::parse(&bytes) {
            let src = if i % 3 == 0 {
                "10.0.0.9:40000"
            } else {
                "10.0.0.9:5353"
            };
            sim.deliver(L4, src, "224.0.0.251", &msg);
            sim.advance(Duration::from_millis(next() % 300));
        }
    }
}

/// Every datagram a settled responder sends, plus a few queries: realistic starting points.
fn sim_packets() -> Vec<Vec<u8>> {
    let mut sim = Sim::new();
    sim.register("grafana");
    sim.advance(Duration::from_secs(5));
    let mut out: Vec<Vec<u8>> = sim
        .sent
        .iter()
        .map(|s| s.msg.encode(MAX_DATAGRAM).unwrap())
        .collect();
    for q in [
        query(
            vec![question("_http._tcp.local", RecordType::PTR, false)],
            vec![],
        ),
        query(
            vec![question(GRAFANA, RecordType::ANY, true)],
            vec![srv(GRAFANA, 3000, "stone-05.local")],
        ),
    ] {
        out.push(q.encode(MAX_DATAGRAM).unwrap());
    }
    out
}
