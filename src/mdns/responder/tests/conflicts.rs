//! Conflicts: renames, our own packets, re-probing after announcing, the §8.1 backoff.

use std::time::Duration;

use koi_wire::dns::{Message, RData, RecordType};

use super::probing::{first_probe_sent, probes_for};
use super::*;
use crate::mdns::responder::ServiceState;

const GRAFANA: &str = "grafana._http._tcp.local";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn conflicting_response_during_probe_renames_to_grafana_2() {
    let mut sim = first_probe_sent();
    let rival = response(vec![srv(GRAFANA, 8080, "other.local")]);
    sim.deliver(L4, "10.0.0.9:5353", "224.0.0.251", &rival);
    assert!(sim.events.contains(&ResponderEvent::Renamed {
        from: "grafana".into(),
        to: "grafana (2)".into()
    }));
    sim.advance(Duration::from_secs(5));
    assert_eq!(
        probes_for(&sim.sent, L4, "grafana (2)._http._tcp.local").len(),
        3
    );
    let st = &sim.r.status()[0];
    assert_eq!(
        (st.instance.as_str(), st.original.as_str()),
        ("grafana (2)", "grafana")
    );
    assert_eq!(st.renamed_from.as_deref(), Some("grafana"));
    assert_eq!(st.state, ServiceState::Announced);
}

#[test]
fn host_conflict_during_probe_renames_host_to_stone_05_2() {
    let mut sim = Sim::new();
    while probes_for(&sim.sent, L4, "stone-05.local").is_empty() {
        sim.advance(ms(1));
    }
    let rival = response(vec![rr(
        "stone-05.local",
        120,
        RData::A("10.0.0.99".parse().unwrap()),
    )]);
    sim.deliver(L4, "10.0.0.99:5353", "224.0.0.251", &rival);
    assert_eq!(sim.r.host_name(), "stone-05-2");
    assert!(sim.events.contains(&ResponderEvent::HostRenamed {
        from: "stone-05".into(),
        to: "stone-05-2".into()
    }));
    sim.advance(Duration::from_secs(5));
    assert!(sim
        .sent
        .iter()
        .any(|s| s.answers("stone-05-2.local", RecordType::A)));
}

#[test]
fn own_packet_seen_on_second_interface_is_not_a_conflict() {
    let mut sim = Sim::new();
    sim.register("grafana");
    sim.advance(Duration::from_secs(5));
    let from_eth1: Vec<Message> = sim
        .sent
        .iter()
        .filter(|s| s.is_multicast_on(M4) && s.msg.header.qr())
        .map(|s| s.msg.clone())
        .collect();
    assert!(!from_eth1.is_empty());
    sim.clear();
    for msg in &from_eth1 {
        sim.deliver(L4, "192.168.7.5:5353", "224.0.0.251", msg);
    }
    sim.advance(Duration::from_secs(5));
    assert!(sim.events.is_empty(), "{:?}", sim.events);
    assert!(sim.sent.iter().all(|s| !s.is_probe()));

    // While probing too: our eth1 address seen on eth0 is ours.
    let mut sim = Sim::new();
    sim.advance(ms(100));
    let ours = response(vec![rr(
        "stone-05.local",
        120,
        RData::A("192.168.7.5".parse().unwrap()),
    )]);
    sim.deliver(L4, "192.168.7.5:5353", "224.0.0.251", &ours);
    assert_eq!(sim.r.host_name(), "stone-05");
}

#[test]
fn conflict_after_announcing_reprobes_then_renames_if_it_fails() {
    let mut sim = Sim::settled();
    let rival = response(vec![srv(GRAFANA, 8080, "other.local")]);
    sim.deliver(L4, "10.0.0.9:5353", "224.0.0.251", &rival);
    let st = &sim.r.status()[0];
    assert!(st.links.contains(&(L4, ServiceState::Probing)));
    assert!(st.links.contains(&(M4, ServiceState::Announced)));
    assert_eq!(st.instance, "grafana");
    sim.advance(ms(300));
    assert!(!probes_for(&sim.sent, L4, GRAFANA).is_empty());
    sim.deliver(L4, "10.0.0.9:5353", "224.0.0.251", &rival);
    assert_eq!(sim.r.status()[0].instance, "grafana (2)");
    // Goodbyes for the old name where it was still live.
    let bye = sim
        .sent
        .iter()
        .find(|s| s.is_multicast_on(M4) && s.answers(GRAFANA, RecordType::SRV))
        .unwrap();
    assert!(bye.msg.answers.iter().all(|r| r.ttl == 0));
}

#[test]
fn fifteen_conflicts_in_ten_seconds_slow_probing_to_five_seconds() {
    let mut sim = first_probe_sent();
    for n in 1..=15u32 {
        let current = sim.r.status()[0].instance.clone();
        let owner = format!("{}._http._tcp.local", current);
        let rival = response(vec![srv(&owner, 8080, "other.local")]);
        sim.deliver(L4, "10.0.0.9:5353", "224.0.0.251", &rival);
        assert_eq!(sim.r.status()[0].instance, format!("grafana ({})", n + 1));
        let next = sim.r.poll_timeout().unwrap() - sim.now;
        if n < 15 {
            assert!(next <= ms(250), "conflict {n}: {next:?}");
        } else {
            assert_eq!(next, Duration::from_secs(5));
        }
        sim.advance(ms(10));
    }
}

#[test]
fn own_probe_from_another_interface_is_not_a_rival() {
    // eth1's host probe (A 192.168.7.5) heard on eth0 while eth0 probes A 10.0.0.5: that set
    // sorts later than ours, so as a rival it would make us lose; it is ours, so we carry on.
    let mut sim = Sim::new();
    while probes_for(&sim.sent, L4, "stone-05.local").is_empty() {
        sim.advance(ms(1));
    }
    let from_eth1 = Message {
        questions: vec![question("stone-05.local", RecordType::ANY, true)],
        authorities: vec![rr(
            "stone-05.local",
            120,
            RData::A("192.168.7.5".parse().unwrap()),
        )],
        ..Message::default()
    };
    sim.deliver(L4, "192.168.7.5:5353", "224.0.0.251", &from_eth1);
    sim.advance(Duration::from_secs(1));
    let l4 = probes_for(&sim.sent, L4, "stone-05.local");
    assert_eq!(l4.len(), 3);
    assert_eq!(l4[2] - l4[0], ms(500));
    // The same set from another host's address is a rival, and wins.
    let mut sim = Sim::new();
    while probes_for(&sim.sent, L4, "stone-05.local").is_empty() {
        sim.advance(ms(1));
    }
    let mut rival = from_eth1.clone();
    rival.authorities[0].rdata = RData::A("192.168.7.6".parse().unwrap());
    sim.deliver(L4, "10.0.0.9:5353", "224.0.0.251", &rival);
    sim.advance(Duration::from_millis(900));
    assert_eq!(probes_for(&sim.sent, L4, "stone-05.local").len(), 1);
}

#[test]
fn another_responder_claiming_our_reverse_name_gets_it_and_nobody_renames() {
    // avahi on this very host: our address, its own host name, probing the reverse name.
    let rev = "5.0.0.10.in-addr.arpa";
    let mut sim = Sim::settled();
    sim.ask(vec![question(rev, RecordType::PTR, false)], vec![]);
    sim.advance(ms(200));
    assert!(sim.take().iter().any(|s| s.answers(rev, RecordType::PTR)));
    sim.advance(Duration::from_secs(2));
    let mut probe = query(vec![question(rev, RecordType::ANY, false)], vec![]);
    probe.authorities = vec![rr(rev, 120, RData::Ptr(name("avahi-h3.local")))];
    sim.deliver(L4, "10.0.0.5:5353", "224.0.0.251", &probe);
    sim.advance(Duration::from_secs(2));
    let sent = sim.take();
    assert!(
        !sent.iter().any(|s| s.answers(rev, RecordType::PTR)),
        "answered the other responder's probe: {sent:?}"
    );
    // It stays given up on that link; everything else is still answered, nothing renamed.
    let questions = vec![
        question(rev, RecordType::PTR, false),
        question("stone-05.local", RecordType::A, false),
    ];
    sim.ask(questions, vec![]);
    sim.advance(ms(200));
    let sent = sim.take();
    assert!(sent
        .iter()
        .any(|s| s.answers("stone-05.local", RecordType::A)));
    assert!(!sent.iter().any(|s| s.answers(rev, RecordType::PTR)));
    assert_eq!(sim.r.host_name(), "stone-05");
    assert!(!sim.events.iter().any(|e| matches!(
        e,
        ResponderEvent::Renamed { .. } | ResponderEvent::HostRenamed { .. }
    )));
}

#[test]
fn our_own_probe_does_not_give_up_our_reverse_name() {
    let rev = "5.0.0.10.in-addr.arpa";
    let mut sim = Sim::settled();
    let mut probe = query(vec![question(rev, RecordType::ANY, false)], vec![]);
    probe.authorities = vec![rr(rev, 120, RData::Ptr(name("stone-05.local")))];
    sim.deliver(L4, "10.0.0.5:5353", "224.0.0.251", &probe);
    sim.advance(Duration::from_secs(2));
    sim.ask(vec![question(rev, RecordType::PTR, false)], vec![]);
    sim.advance(ms(200));
    assert!(sim.take().iter().any(|s| s.answers(rev, RecordType::PTR)));
}
