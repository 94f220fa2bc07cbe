//! Probing, tiebreak, conflicts and announcing.

use std::time::Duration;

use koi_wire::dns::{Message, RData, RecordType};

use super::*;
use crate::mdns::responder::ServiceState;

const GRAFANA: &str = "grafana._http._tcp.local";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Probes for `n` multicast on `link`.
pub(super) fn probes_for(sent: &[Sent], link: Link, n: &str) -> Vec<Duration> {
    sent.iter()
        .filter(|s| s.is_multicast_on(link) && s.is_probe())
        .filter(|s| s.msg.questions.iter().any(|q| q.name == name(n)))
        .map(|s| s.at)
        .collect()
}

/// A probe from another host for `grafana` proposing an SRV on `port`.
fn rival_probe(port: u16) -> Message {
    Message {
        questions: vec![question(GRAFANA, RecordType::ANY, true)],
        authorities: vec![
            srv(GRAFANA, port, "other.local"),
            rr(GRAFANA, 4500, RData::Txt(vec![b"path=/".to_vec()])),
        ],
        ..Message::default()
    }
}

/// Registers `grafana` on a settled host and runs until its first probe on L4 went out.
pub(super) fn first_probe_sent() -> Sim {
    let mut sim = Sim::new();
    sim.advance(Duration::from_secs(5));
    sim.clear();
    sim.register("grafana");
    while probes_for(&sim.sent, L4, GRAFANA).is_empty() {
        sim.advance(ms(1));
    }
    sim
}

#[test]
fn probes_are_250ms_apart_and_three() {
    let mut sim = Sim::new();
    sim.advance(Duration::from_secs(5));
    sim.clear();
    let registered = sim.elapsed();
    sim.register("grafana");
    sim.advance(Duration::from_secs(5));
    for link in [L4, L6, M4] {
        let times = probes_for(&sim.sent, link, GRAFANA);
        assert_eq!(times.len(), 3, "{link:?}");
        assert!(
            times[0] - registered <= ms(250),
            "first probe after 0-250 ms"
        );
        assert_eq!(times[1] - times[0], ms(250));
        assert_eq!(times[2] - times[1], ms(250));
    }
    let probe = sim.sent.iter().find(|s| s.is_probe()).unwrap();
    let q = &probe.msg.questions[0];
    assert_eq!((q.qtype, q.unicast_response()), (RecordType::ANY, true));
    let types: Vec<RecordType> = probe.msg.authorities.iter().map(|r| r.rtype).collect();
    assert!(types.contains(&RecordType::SRV) && types.contains(&RecordType::TXT));
    assert!(probe.msg.authorities.iter().all(|r| !r.cache_flush()));
}

#[test]
fn host_probe_asks_any_for_host_local_with_its_addresses() {
    let mut sim = Sim::new();
    sim.advance(Duration::from_secs(1));
    let probes = probes_for(&sim.sent, L4, "stone-05.local");
    assert_eq!(probes.len(), 3);
    let p = sim
        .sent
        .iter()
        .find(|s| s.is_multicast_on(L4) && s.is_probe())
        .unwrap();
    assert_eq!(p.msg.authorities.len(), 1);
    assert_eq!(
        p.msg.authorities[0].rdata,
        RData::A("10.0.0.5".parse().unwrap())
    );
}

#[test]
fn announcements_at_least_two_one_second_apart_with_cache_flush_on_unique_only() {
    let mut sim = Sim::new();
    sim.advance(Duration::from_secs(5));
    sim.register("grafana");
    sim.advance(Duration::from_secs(5));
    let probes = probes_for(&sim.sent, L4, GRAFANA);
    let anns: Vec<&Sent> = sim
        .sent
        .iter()
        .filter(|s| {
            s.is_multicast_on(L4) && s.msg.header.qr() && s.answers(GRAFANA, RecordType::SRV)
        })
        .collect();
    assert_eq!(anns.len(), 3, "three announcements");
    assert_eq!(anns[0].at - probes[2], ms(250));
    assert_eq!(anns[1].at - anns[0].at, Duration::from_secs(1));
    assert_eq!(anns[2].at - anns[1].at, Duration::from_secs(1));
    for r in &anns[0].msg.answers {
        let shared = r.rtype == RecordType::PTR && !r.name.to_string().ends_with(".arpa");
        assert_eq!(r.cache_flush(), !shared, "{r:?}");
    }
    let types: Vec<RecordType> = anns[0].msg.answers.iter().map(|r| r.rtype).collect();
    for t in [
        RecordType::PTR,
        RecordType::SRV,
        RecordType::TXT,
        RecordType::NSEC,
    ] {
        assert!(types.contains(&t), "{t:?}");
    }
    let srv = anns[0]
        .msg
        .answers
        .iter()
        .find(|r| r.rtype == RecordType::SRV)
        .unwrap();
    assert_eq!(srv.ttl, 120, "SRV uses the host TTL (RFC 6762 §10)");
    let txt = anns[0]
        .msg
        .answers
        .iter()
        .find(|r| r.rtype == RecordType::TXT)
        .unwrap();
    assert_eq!(txt.ttl, 4500);
    // The host's own announcement: A and reverse PTR, unique, 120 s.
    let host = sim
        .sent
        .iter()
        .find(|s| s.is_multicast_on(L4) && s.answers("stone-05.local", RecordType::A))
        .unwrap();
    let rev = host
        .msg
        .answers
        .iter()
        .find(|r| r.name == name("5.0.0.10.in-addr.arpa"))
        .unwrap();
    assert!(rev.cache_flush() && rev.ttl == 120);
    let announced = ResponderEvent::Announced {
        instance: "grafana".into(),
    };
    assert_eq!(sim.events.iter().filter(|e| **e == announced).count(), 1);
    assert_eq!(sim.r.status()[0].state, ServiceState::Announced);
}

#[test]
fn empty_txt_is_one_empty_string() {
    let mut sim = Sim::new();
    let mut s = spec("bare");
    s.txt.clear();
    sim.r.register(sim.now, s).unwrap();
    sim.advance(Duration::from_secs(5));
    let txt = sim
        .sent
        .iter()
        .flat_map(|s| &s.msg.answers)
        .find(|r| r.rtype == RecordType::TXT)
        .unwrap();
    assert_eq!(txt.rdata, RData::Txt(vec![Vec::new()]));
}

#[test]
fn simultaneous_probe_tiebreak_loser_defers_and_winner_keeps() {
    // They propose port 3001 > our 3000: our set sorts first, we lose and wait a second.
    let mut sim = first_probe_sent();
    let t = sim.elapsed();
    sim.deliver(L4, "10.0.0.9:5353", "224.0.0.251", &rival_probe(3001));
    sim.advance(Duration::from_secs(3));
    let l4 = probes_for(&sim.sent, L4, GRAFANA);
    assert_eq!(l4.len(), 4, "one probe, then three after the pause");
    assert_eq!(l4[1] - t, Duration::from_secs(1));
    assert_eq!(l4[2] - l4[1], ms(250));
    // Only the link that heard the rival defers.
    assert_eq!(probes_for(&sim.sent, M4, GRAFANA).len(), 3);

    // They propose 2999: we win and carry on; so does an identical set (our own probe).
    for rival in [rival_probe(2999), {
        let mut own = rival_probe(3000);
        own.authorities = first_probe_sent()
            .sent
            .iter()
            .find(|s| s.is_probe())
            .unwrap()
            .msg
            .authorities
            .clone();
        own
    }] {
        let mut sim = first_probe_sent();
        sim.deliver(L4, "10.0.0.9:5353", "224.0.0.251", &rival);
        sim.advance(Duration::from_secs(3));
        let l4 = probes_for(&sim.sent, L4, GRAFANA);
        assert_eq!(l4.len(), 3);
        assert_eq!(l4[1] - l4[0], ms(250));
        assert!(sim
            .events
            .iter()
            .all(|e| !matches!(e, ResponderEvent::Renamed { .. })));
    }
}

#[test]
fn no_answers_while_probing() {
    let mut sim = first_probe_sent();
    sim.clear();
    sim.ask(vec![question(GRAFANA, RecordType::SRV, false)], vec![]);
    sim.ask(
        vec![question("_http._tcp.local", RecordType::PTR, false)],
        vec![],
    );
    sim.advance(ms(200));
    assert!(sim.sent.iter().all(|s| !s.msg.header.qr()), "only probes");
}
