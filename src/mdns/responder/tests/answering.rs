//! Answering: delays, known answers, QU, legacy unicast, rate limit, per-link addresses.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use koi_wire::dns::{Name, RData, Record, RecordType};

use super::*;

const GRAFANA: &str = "grafana._http._tcp.local";
const HTTP: &str = "_http._tcp.local";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn ptr(owner: &str, target: &str, ttl: u32) -> Record {
    rr(owner, ttl, RData::Ptr(name(target)))
}

/// The addresses in `sent`'s records (answers and additionals).
fn addresses(sent: &[Sent]) -> Vec<IpAddr> {
    let recs = sent
        .iter()
        .flat_map(|s| s.msg.answers.iter().chain(&s.msg.additionals));
    recs.filter_map(|r| match r.rdata {
        RData::A(a) => Some(IpAddr::V4(a)),
        RData::Aaaa(a) => Some(IpAddr::V6(a)),
        _ => None,
    })
    .collect()
}

#[test]
fn unique_answer_is_immediate() {
    let mut sim = Sim::settled();
    sim.ask(vec![question(GRAFANA, RecordType::SRV, false)], vec![]);
    let sent = sim.take();
    assert_eq!(sent.len(), 1, "sent within the same call");
    assert!(sent[0].is_multicast_on(L4) && sent[0].answers(GRAFANA, RecordType::SRV));
    assert!(sent[0].msg.answers[0].cache_flush());
    assert_eq!(
        addresses(&sent),
        vec!["10.0.0.5".parse::<IpAddr>().unwrap()],
        "SRV → A additional"
    );
    assert_eq!((sent[0].msg.header.id, sent[0].msg.questions.len()), (0, 0));
}

#[test]
fn shared_answer_delay_spreads_across_20_to_120ms() {
    let mut sim = Sim::settled();
    let mut delays = Vec::new();
    for _ in 0..300 {
        sim.advance(Duration::from_secs(2));
        let asked = sim.elapsed();
        sim.ask(vec![question(HTTP, RecordType::PTR, false)], vec![]);
        assert!(sim.sent.is_empty(), "shared answers are never immediate");
        sim.advance(ms(200));
        let sent = sim.take();
        assert_eq!(sent.len(), 1);
        delays.push((sent[0].at - asked).as_millis());
    }
    let (min, max) = (delays.iter().min().unwrap(), delays.iter().max().unwrap());
    assert!(*min >= 20 && *max <= 120, "{min}..{max}");
    assert!(*min <= 30 && *max >= 110, "spread: {min}..{max}");
    let mut distinct = delays.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert!(distinct.len() > 50);
}

#[test]
fn ptr_answer_carries_srv_txt_and_address_additionals() {
    let mut sim = Sim::settled();
    sim.ask(vec![question(HTTP, RecordType::PTR, false)], vec![]);
    sim.advance(ms(200));
    let sent = sim.take();
    let types: Vec<RecordType> = sent[0].msg.additionals.iter().map(|r| r.rtype).collect();
    assert_eq!(sent[0].msg.answers.len(), 1);
    assert!(!sent[0].msg.answers[0].cache_flush(), "PTR is shared");
    for t in [RecordType::SRV, RecordType::TXT, RecordType::A] {
        assert!(types.contains(&t), "{t:?} in {types:?}");
    }
}

#[test]
fn known_answer_suppression() {
    let mut sim = Sim::settled();
    for (ttl, answered) in [(4500, false), (2250, false), (2249, true), (10, true)] {
        sim.advance(Duration::from_secs(2));
        let known = vec![ptr(HTTP, GRAFANA, ttl)];
        sim.ask(vec![question(HTTP, RecordType::PTR, false)], known);
        sim.advance(ms(200));
        assert_eq!(!sim.take().is_empty(), answered, "known answer TTL {ttl}");
    }
    // A known SRV suppresses the SRV of an ANY query but not the TXT.
    sim.advance(Duration::from_secs(2));
    sim.ask(
        vec![question(GRAFANA, RecordType::ANY, false)],
        vec![srv(GRAFANA, 3000, "stone-05.local")],
    );
    let sent = sim.take();
    assert!(
        !sent[0].answers(GRAFANA, RecordType::SRV) && sent[0].answers(GRAFANA, RecordType::TXT)
    );
}

#[test]
fn multicast_responses_are_split_under_max_datagram() {
    let mut sim = Sim::new();
    for i in 0..100 {
        sim.r
            .register(sim.now, spec(&format!("service number {i}")))
            .unwrap();
    }
    sim.advance(Duration::from_secs(10));
    sim.clear();
    sim.ask(vec![question(HTTP, RecordType::PTR, false)], vec![]);
    sim.advance(ms(200));
    let sent = sim.take();
    assert!(sent.len() > 1);
    assert!(sent
        .iter()
        .all(|s| s.is_multicast_on(L4) && !s.msg.header.tc()));
    let ptrs = sent
        .iter()
        .flat_map(|s| &s.msg.answers)
        .filter(|r| r.rtype == RecordType::PTR);
    assert_eq!(ptrs.count(), 100);
}

#[test]
fn rate_limit_once_per_second_per_link_under_1000_queries_per_second() {
    let mut sim = Sim::settled();
    sim.advance(Duration::from_secs(5));
    let questions = [
        question(HTTP, RecordType::PTR, false),
        question(GRAFANA, RecordType::SRV, false),
        question("stone-05.local", RecordType::A, false),
        question(GRAFANA, RecordType::ANY, true),
    ];
    for i in 0..3000usize {
        let q = questions[i % questions.len()].clone();
        let src = format!("10.0.0.{}:5353", 10 + i % 200);
        sim.deliver(L4, &src, "224.0.0.251", &query(vec![q.clone()], vec![]));
        sim.deliver(
            M4,
            "192.168.7.9:5353",
            "224.0.0.251",
            &query(vec![q], vec![]),
        );
        sim.advance(ms(1));
    }
    let mut last: HashMap<(Link, Name, RecordType, RData), Duration> = HashMap::new();
    let mut sends = 0;
    for s in sim
        .sent
        .iter()
        .filter(|s| matches!(s.dest, Destination::Multicast(_)))
    {
        for r in s.msg.answers.iter().chain(&s.msg.additionals) {
            let key = (s.dest.link(), r.name.clone(), r.rtype, r.rdata.clone());
            if let Some(prev) = last.insert(key, s.at) {
                assert!(
                    s.at - prev >= Duration::from_secs(1),
                    "{r:?} again after {:?}",
                    s.at - prev
                );
            }
            sends += 1;
        }
    }
    assert!(sends >= 12, "it still answers: {sends}");
}

#[test]
fn answers_carry_only_the_receiving_links_addresses() {
    let mut sim = Sim::settled();
    let a = |s: &str| s.parse::<IpAddr>().unwrap();
    sim.deliver(
        M4,
        "192.168.7.9:5353",
        "224.0.0.251",
        &query(
            vec![question("stone-05.local", RecordType::A, false)],
            vec![],
        ),
    );
    assert_eq!(addresses(&sim.take()), vec![a("192.168.7.5")]);
    sim.ask(
        vec![question("stone-05.local", RecordType::ANY, false)],
        vec![],
    );
    assert_eq!(addresses(&sim.take()), vec![a("10.0.0.5")]);
    sim.deliver(
        L6,
        "[fe80::9]:5353",
        "ff02::fb",
        &query(
            vec![question("stone-05.local", RecordType::AAAA, false)],
            vec![],
        ),
    );
    assert_eq!(addresses(&sim.take()), vec![a("fe80::5"), a("2001:db8::5")]);
    // (The A record went out on eth1 a moment ago: wait out the rate limit for additionals.)
    sim.advance(Duration::from_secs(1));
    sim.deliver(
        M4,
        "192.168.7.9:5353",
        "224.0.0.251",
        &query(vec![question(HTTP, RecordType::PTR, false)], vec![]),
    );
    sim.advance(ms(200));
    assert_eq!(addresses(&sim.take()), vec![a("192.168.7.5")]);
}

#[test]
fn nsec_answers_types_we_do_not_have() {
    let mut sim = Sim::settled();
    // eth1 has no IPv6 at all: AAAA is denied with an NSEC listing only A.
    sim.deliver(
        M4,
        "192.168.7.9:5353",
        "224.0.0.251",
        &query(
            vec![question("stone-05.local", RecordType::AAAA, false)],
            vec![],
        ),
    );
    let sent = sim.take();
    let nsec = &sent[0].msg.answers[0];
    assert_eq!(
        nsec.rdata,
        RData::Nsec {
            next: name("stone-05.local"),
            types: vec![RecordType::A]
        }
    );
    // An instance has SRV and TXT only.
    sim.ask(vec![question(GRAFANA, RecordType::A, false)], vec![]);
    let sent = sim.take();
    let types = [RecordType::TXT, RecordType::SRV];
    assert!(
        matches!(&sent[0].msg.answers[0].rdata, RData::Nsec { types: t, .. } if t.len() == 2 && types.iter().all(|x| t.contains(x)))
    );
    // eth0 has both families: no NSEC for AAAA asked on its IPv4 link.
    sim.ask(
        vec![question("stone-05.local", RecordType::AAAA, false)],
        vec![],
    );
    assert!(sim.take().is_empty());
}

#[test]
fn duplicate_answer_from_another_responder_suppresses_ours() {
    let mut sim = Sim::settled();
    sim.ask(vec![question(HTTP, RecordType::PTR, false)], vec![]);
    let other = response(vec![ptr(HTTP, GRAFANA, 4500)]);
    sim.deliver(L4, "10.0.0.8:5353", "224.0.0.251", &other);
    sim.advance(ms(200));
    assert!(sim.take().is_empty());
}
