//! Registration, withdrawal, shutdown, link changes, status, and hostile input.

use std::time::Duration;

use koi_wire::dns::{RData, RecordType};

use super::*;
use crate::mdns::responder::{RegisterError, ServiceState, MAX_SERVICES};

const GRAFANA: &str = "grafana._http._tcp.local";

fn goodbyes(sent: &[Sent], link: Link) -> Vec<&Record> {
    sent.iter()
        .filter(|s| s.is_multicast_on(link))
        .flat_map(|s| &s.msg.answers)
        .filter(|r| r.ttl == 0)
        .collect()
}

#[test]
fn goodbye_on_withdraw_and_shutdown_has_ttl_0() {
    let mut sim = Sim::settled();
    sim.register("prometheus");
    sim.advance(Duration::from_secs(5));
    sim.clear();
    assert!(sim.r.withdraw(sim.now, "grafana", Some(&http())));
    sim.drain();
    for link in [L4, L6, M4] {
        let byes = goodbyes(&sim.sent, link);
        assert!(byes
            .iter()
            .any(|r| r.name == name(GRAFANA) && r.rtype == RecordType::SRV));
        assert!(
            byes.iter().any(|r| r.name == name("_http._tcp.local")),
            "type PTR to grafana"
        );
        // prometheus is still an _http._tcp service: the type stays enumerated.
        assert!(byes
            .iter()
            .all(|r| r.name != name("_services._dns-sd._udp.local")));
    }
    assert_eq!(
        sim.events,
        vec![ResponderEvent::Withdrawn {
            instance: "grafana".into()
        }]
    );
    assert!(!sim.r.withdraw(sim.now, "grafana", None));
    // Nothing more about grafana, even when asked.
    sim.clear();
    sim.ask(vec![question(GRAFANA, RecordType::SRV, false)], vec![]);
    sim.advance(Duration::from_secs(1));
    assert!(sim.sent.is_empty());

    sim.r.shutdown(sim.now);
    sim.drain();
    for link in [L4, L6, M4] {
        let per_link: Vec<&Sent> = sim
            .sent
            .iter()
            .filter(|s| s.is_multicast_on(link))
            .collect();
        assert_eq!(per_link.len(), 1, "one datagram per link");
        assert!(per_link[0].msg.answers.iter().all(|r| r.ttl == 0));
        assert!(
            per_link[0].answers("stone-05.local", RecordType::PTR)
                || per_link[0]
                    .msg
                    .answers
                    .iter()
                    .any(|r| r.name == name("stone-05.local"))
        );
        assert!(per_link[0].answers("prometheus._http._tcp.local", RecordType::SRV));
    }
    assert_eq!(sim.r.poll_timeout(), None);
}

#[test]
fn withdraw_matches_the_original_name_after_a_rename() {
    let mut sim = Sim::new();
    sim.register("grafana");
    sim.advance(Duration::from_millis(260));
    sim.deliver(
        L4,
        "10.0.0.9:5353",
        "224.0.0.251",
        &response(vec![srv(GRAFANA, 1, "x.local")]),
    );
    assert_eq!(sim.r.status()[0].instance, "grafana (2)");
    assert!(sim.r.withdraw(sim.now, "GRAFANA", None));
    assert!(sim.r.status().is_empty());
}

#[test]
fn address_change_reannounces() {
    let mut sim = Sim::settled();
    let mut new_links = links();
    new_links[0].addrs[0].addr = "10.0.0.6".parse().unwrap();
    sim.r.set_links(sim.now, &new_links);
    sim.drain();
    sim.advance(Duration::from_secs(5));
    let old: std::net::IpAddr = "10.0.0.5".parse().unwrap();
    let byes = goodbyes(&sim.sent, L4);
    assert!(byes
        .iter()
        .any(|r| r.rdata == RData::A("10.0.0.5".parse().unwrap())));
    assert!(byes.iter().any(|r| r.name == name("5.0.0.10.in-addr.arpa")));
    let new_a = RData::A("10.0.0.6".parse().unwrap());
    let anns: Vec<&Sent> = sim
        .sent
        .iter()
        .filter(|s| {
            s.is_multicast_on(L4) && s.msg.answers.iter().any(|r| r.rdata == new_a && r.ttl > 0)
        })
        .collect();
    assert!(anns.len() >= 2 && anns[1].at - anns[0].at >= Duration::from_secs(1));
    assert!(
        sim.sent.iter().all(|s| !s.is_probe()),
        "no new probing for an address change"
    );
    // Other links are untouched, and answers now carry the new address.
    assert!(sim.sent.iter().all(|s| s.dest.link() == L4));
    sim.ask(
        vec![question("stone-05.local", RecordType::A, false)],
        vec![],
    );
    let a = sim.take().pop().unwrap();
    assert!(a.msg.answers.iter().all(|r| r.rdata
        != RData::A(match old {
            std::net::IpAddr::V4(v4) => v4,
            std::net::IpAddr::V6(_) => unreachable!(),
        })));
}

#[test]
fn new_link_probes_and_announces_vanished_link_is_forgotten() {
    let mut sim = Sim::settled();
    let mut more = links();
    let wlan = Link {
        ifindex: 4,
        family: Family::V4,
    };
    more.push(LinkInfo {
        link: wlan,
        name: "wlan0".into(),
        addrs: vec![IfAddr {
            addr: "172.16.0.5".parse().unwrap(),
            prefix_len: 16,
        }],
    });
    sim.r.set_links(sim.now, &more);
    sim.advance(Duration::from_secs(5));
    assert!(sim.sent.iter().all(|s| s.dest.link() == wlan));
    assert!(sim.sent.iter().filter(|s| s.is_probe()).count() >= 3);
    assert!(sim.sent.iter().any(|s| s.answers(GRAFANA, RecordType::SRV)));
    assert!(
        sim.events.is_empty(),
        "no new events for a new link: {:?}",
        sim.events
    );
    sim.clear();
    sim.r.set_links(sim.now, &links()[..2]);
    sim.advance(Duration::from_secs(5));
    assert!(sim.sent.is_empty(), "nothing sent on a vanished link");
    assert_eq!(sim.r.status()[0].links.len(), 2);
    sim.deliver(
        M4,
        "192.168.7.9:5353",
        "224.0.0.251",
        &query(vec![question(GRAFANA, RecordType::SRV, false)], vec![]),
    );
    assert!(sim.sent.is_empty());
}

#[test]
fn register_refuses_duplicates_bad_names_too_much_txt_and_too_many() {
    let mut sim = Sim::new();
    sim.register("grafana");
    let now = sim.now;
    assert_eq!(
        sim.r.register(now, spec("Grafana")),
        Err(RegisterError::Duplicate)
    );
    assert_eq!(
        sim.r.register(now, spec("")),
        Err(RegisterError::InvalidName)
    );
    assert_eq!(
        sim.r.register(now, spec(&"x".repeat(64))),
        Err(RegisterError::InvalidName)
    );
    let mut big = spec("big");
    big.txt = vec![vec![b'x'; 256]];
    assert_eq!(sim.r.register(now, big), Err(RegisterError::TxtTooLarge));
    let mut other = spec("grafana");
    other.service_type = ServiceType::parse("_grafana._tcp").unwrap();
    assert!(sim.r.register(now, other).is_ok(), "same name, other type");
    for i in 2..MAX_SERVICES {
        sim.r.register(now, spec(&format!("s{i}"))).unwrap();
    }
    assert_eq!(
        sim.r.register(now, spec("one more")),
        Err(RegisterError::TooMany)
    );
}

#[test]
fn status_reports_each_link() {
    let mut sim = Sim::new();
    sim.register("grafana");
    let st = &sim.r.status()[0];
    assert_eq!(
        (st.state, st.port, st.links.len()),
        (ServiceState::Probing, 3000, 3)
    );
    assert_eq!(
        sim.events,
        vec![ResponderEvent::Probing {
            instance: "grafana".into()
        }]
    );
    sim.advance(Duration::from_millis(1100));
    assert_eq!(sim.r.status()[0].state, ServiceState::Announcing);
    sim.advance(Duration::from_secs(3));
    assert_eq!(sim.r.status()[0].state, ServiceState::Announced);
}

#[test]
fn custom_host_is_advertised_with_the_specs_addresses_of_the_links_family() {
    let mut sim = Sim::new();
    let mut s = spec("nas");
    s.host = Some("nas-box".into());
    s.addrs = vec![
        "10.0.0.50".parse().unwrap(),
        "2001:db8::50".parse().unwrap(),
    ];
    sim.r.register(sim.now, s).unwrap();
    sim.advance(Duration::from_secs(5));
    let on = |link: Link| -> Vec<RData> {
        sim.sent
            .iter()
            .filter(|s| s.is_multicast_on(link) && s.msg.header.qr())
            .flat_map(|s| &s.msg.answers)
            .filter(|r| r.name == name("nas-box.local"))
            .map(|r| r.rdata.clone())
            .collect()
    };
    assert!(
        on(L4)
            .iter()
            .all(|d| *d == RData::A("10.0.0.50".parse().unwrap()))
            && !on(L4).is_empty()
    );
    assert!(
        on(L6)
            .iter()
            .all(|d| *d == RData::Aaaa("2001:db8::50".parse().unwrap()))
            && !on(L6).is_empty()
    );
    let srv = sim
        .sent
        .iter()
        .flat_map(|s| &s.msg.answers)
        .find(|r| r.rtype == RecordType::SRV)
        .unwrap();
    assert!(matches!(&srv.rdata, RData::Srv { target, .. } if *target == name("nas-box.local")));
}
