//! QU and legacy unicast replies, multi-packet known answers, and messages to ignore.

use std::time::Duration;

use koi_wire::dns::{RData, Record, RecordType};

use super::*;

const GRAFANA: &str = "grafana._http._tcp.local";
const HTTP: &str = "_http._tcp.local";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn ptr(owner: &str, target: &str, ttl: u32) -> Record {
    rr(owner, ttl, RData::Ptr(name(target)))
}

#[test]
fn qu_query_gets_unicast_reply() {
    let mut sim = Sim::settled();
    // Announced a moment ago: well within a quarter of the TTL, so unicast to the querier.
    sim.ask(vec![question(GRAFANA, RecordType::SRV, true)], vec![]);
    let sent = sim.take();
    assert_eq!(sent.len(), 1);
    let to = "10.0.0.9:5353".parse().unwrap();
    assert_eq!(sent[0].dest, Destination::Unicast { link: L4, to });
    // Not multicast for over a quarter of 120 s: multicast instead, then unicast again.
    sim.advance(Duration::from_secs(40));
    sim.ask(vec![question(GRAFANA, RecordType::SRV, true)], vec![]);
    assert!(sim.take()[0].is_multicast_on(L4));
    sim.advance(Duration::from_secs(2));
    sim.ask(vec![question(GRAFANA, RecordType::SRV, true)], vec![]);
    assert_eq!(sim.take()[0].dest, Destination::Unicast { link: L4, to });
}

#[test]
fn legacy_unicast_reply_goes_only_to_source_with_id_and_short_ttl() {
    let mut sim = Sim::settled();
    // Long enough that the SRV (TTL 120) has not been multicast within a quarter of its TTL.
    sim.advance(Duration::from_secs(60));
    let mut q = query(
        vec![
            question(HTTP, RecordType::PTR, false),
            question(GRAFANA, RecordType::SRV, false),
        ],
        vec![],
    );
    q.header.id = 0x1234;
    sim.deliver(L4, "10.0.0.9:40000", "224.0.0.251", &q);
    sim.advance(ms(200));
    let sent = sim.take();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let to = "10.0.0.9:40000".parse().unwrap();
    assert_eq!(sent[0].dest, Destination::Unicast { link: L4, to });
    let msg = &sent[0].msg;
    assert_eq!(msg.header.id, 0x1234);
    assert_eq!(msg.questions, q.questions);
    assert!(msg.answers.iter().any(|r| r.rtype == RecordType::PTR));
    for r in msg.answers.iter().chain(&msg.additionals) {
        assert!(r.ttl <= 10 && !r.cache_flush(), "{r:?}");
    }
    // Nothing was logged as multicast: a QU query for the SRV now is answered by multicast.
    sim.ask(vec![question(GRAFANA, RecordType::SRV, true)], vec![]);
    assert!(sim.take()[0].is_multicast_on(L4));
}

#[test]
fn legacy_reply_that_does_not_fit_sets_tc() {
    let mut sim = Sim::new();
    for i in 0..40 {
        let mut s = spec(&format!("service number {i} with a long name"));
        s.txt = vec![vec![b'x'; 200]];
        sim.r.register(sim.now, s).unwrap();
    }
    sim.advance(Duration::from_secs(10));
    sim.clear();
    let mut q = query(vec![question(HTTP, RecordType::PTR, false)], vec![]);
    q.header.id = 7;
    sim.deliver(L4, "10.0.0.9:40000", "10.0.0.5", &q);
    sim.advance(ms(200));
    let sent = sim.take();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].msg.header.tc() && sent[0].msg.header.id == 7);
}

#[test]
fn tc_query_waits_400_to_500ms_for_more_known_answers() {
    let mut sim = Sim::settled();
    let mut q = query(vec![question(HTTP, RecordType::PTR, false)], vec![]);
    q.header.flags |= koi_wire::dns::Header::TC;
    sim.deliver(L4, "10.0.0.9:5353", "224.0.0.251", &q);
    sim.advance(ms(399));
    assert!(sim.take().is_empty());
    // The rest of the known answers arrive: nothing to send.
    sim.deliver(
        L4,
        "10.0.0.9:5353",
        "224.0.0.251",
        &query(vec![], vec![ptr(HTTP, GRAFANA, 4500)]),
    );
    sim.advance(ms(200));
    assert!(sim.take().is_empty());
}

#[test]
fn legacy_and_odd_messages_are_ignored_where_the_rfc_says() {
    let mut sim = Sim::settled();
    // A response from a port other than 5353 is not an mDNS response: no conflict.
    let rival = response(vec![srv(GRAFANA, 8080, "other.local")]);
    sim.deliver(L4, "10.0.0.9:40000", "224.0.0.251", &rival);
    // Opcode 1 and a non-zero RCODE are ignored.
    let mut q = query(vec![question(GRAFANA, RecordType::SRV, false)], vec![]);
    q.header.flags |= 1 << 11;
    sim.ask(q.questions.clone(), vec![]);
    sim.clear();
    sim.deliver(L4, "10.0.0.9:5353", "224.0.0.251", &q);
    let mut r = rival.clone();
    r.header.flags |= 3;
    sim.deliver(L4, "10.0.0.9:5353", "224.0.0.251", &r);
    assert!(sim.take().is_empty() && sim.events.is_empty());
}
