use super::*;
use crate::dns::zone::Table;
use koi_wire::dns::Question;
use std::net::Ipv4Addr;

fn n(s: &str) -> Name {
    Name::from_dotted(s).unwrap()
}

fn zone() -> Zone {
    let mut z = Zone::new(n("lan"));
    let mut t = Table::default();
    t.add(&n("nas.lan"), Data::A(Ipv4Addr::new(192, 168, 1, 20)))
        .unwrap();
    t.add(&n("web.lan"), Data::A(Ipv4Addr::new(192, 168, 1, 21)))
        .unwrap();
    t.add(&n("web.lan"), Data::A(Ipv4Addr::new(192, 168, 1, 22)))
        .unwrap();
    t.add(
        &n("_grafana._tcp.lan"),
        Data::Srv {
            port: 3000,
            target: n("nas.lan"),
        },
    )
    .unwrap();
    z.replace(Source::Static, t);
    z
}

const CTX: Context = Context {
    tcp: false,
    allowed: true,
    rotate: 0,
};

fn query(name: &str, qtype: RecordType, edns: Option<u16>) -> Message {
    let mut m = Message::default();
    m.header.id = 0x1234;
    m.header.set(Header::RD, true);
    m.questions.push(Question::new(n(name), qtype, Class::IN));
    if let Some(size) = edns {
        m.additionals.push(
            Edns {
                udp_payload_size: size,
                ..Edns::default()
            }
            .to_record(Vec::new()),
        );
    }
    m
}

fn ask(z: &Zone, q: &Message, ctx: Context) -> Message {
    match handle(z, &q.encode(65535).unwrap(), ctx) {
        Outcome::Reply(bytes, _) => Message::parse(&bytes).unwrap(),
        other => panic!("expected a reply, got {other:?}"),
    }
}

#[test]
fn a_nodata_nxdomain() {
    let z = zone();
    let r = ask(&z, &query("NAS.lan", RecordType::A, None), CTX);
    assert_eq!(
        (r.header.id, r.rcode(), r.header.aa()),
        (0x1234, Rcode::NOERROR, true)
    );
    assert_eq!(r.answers[0].rdata, RData::A(Ipv4Addr::new(192, 168, 1, 20)));
    let r = ask(&z, &query("nas.lan", RecordType::AAAA, None), CTX);
    assert_eq!((r.rcode(), r.answers.len()), (Rcode::NOERROR, 0));
    assert_eq!(r.authorities[0].rtype, RecordType::SOA);
    let r = ask(&z, &query("nope.lan", RecordType::A, None), CTX);
    assert_eq!((r.rcode(), r.answers.len()), (Rcode::NXDOMAIN, 0));
    assert_eq!(r.authorities[0].rtype, RecordType::SOA);
}

#[test]
fn an_empty_non_terminal_is_nodata() {
    let z = zone();
    // `_tcp.lan` exists only as the parent of `_grafana._tcp.lan` (RFC 8020).
    for qtype in [RecordType::A, RecordType::SRV, RecordType::PTR] {
        let r = ask(&z, &query("_TCP.lan", qtype, None), CTX);
        assert_eq!((r.rcode(), r.answers.len()), (Rcode::NOERROR, 0), "{qtype}");
        assert_eq!(r.authorities[0].rtype, RecordType::SOA);
        assert!(r.header.aa());
    }
    // Below a leaf and beside the ENT, names still do not exist.
    for name in ["x._tcp.lan", "_udp.lan", "x.nas.lan"] {
        let r = ask(&z, &query(name, RecordType::A, None), CTX);
        assert_eq!(r.rcode(), Rcode::NXDOMAIN, "{name}");
    }
}

#[test]
fn srv_brings_target_addresses_and_ptr_works() {
    let z = zone();
    let r = ask(
        &z,
        &query("_grafana._tcp.lan", RecordType::SRV, Some(1232)),
        CTX,
    );
    assert_eq!(r.answers.len(), 1);
    assert!(r
        .additionals
        .iter()
        .any(|a| a.rdata == RData::A(Ipv4Addr::new(192, 168, 1, 20))));
    assert!(r.additionals.last().unwrap().is_opt());
    let r = ask(
        &z,
        &query("20.1.168.192.in-addr.arpa", RecordType::PTR, None),
        CTX,
    );
    assert_eq!(r.answers[0].rdata, RData::Ptr(n("nas.lan")));
}

#[test]
fn round_robin_rotates() {
    let z = zone();
    let first = |rotate| {
        ask(
            &z,
            &query("web.lan", RecordType::A, None),
            Context { rotate, ..CTX },
        )
        .answers[0]
            .rdata
            .clone()
    };
    assert_ne!(first(0), first(1));
}

#[test]
fn refusals_and_errors() {
    let z = zone();
    let r = ask(
        &z,
        &query("nas.lan", RecordType::A, None),
        Context {
            allowed: false,
            ..CTX
        },
    );
    assert_eq!(r.rcode(), Rcode::REFUSED);
    let r = ask(&z, &query("lan", AXFR, None), CTX);
    assert_eq!(r.rcode(), Rcode::REFUSED);
    let mut q = query("nas.lan", RecordType::A, None);
    q.header.set_opcode(Opcode::UPDATE);
    assert_eq!(ask(&z, &q, CTX).rcode(), Rcode::NOTIMP);
    let mut q = query("nas.lan", RecordType::A, None);
    q.questions.clear();
    assert_eq!(ask(&z, &q, CTX).rcode(), Rcode::FORMERR);
    let mut q = query("nas.lan", RecordType::A, None);
    q.questions.push(q.questions[0].clone());
    assert_eq!(ask(&z, &q, CTX).rcode(), Rcode::FORMERR);
    let mut q = query("nas.lan", RecordType::A, Some(1232));
    q.additionals[0].ttl = 1 << 16; // EDNS version 1
    assert_eq!(ask(&z, &q, CTX).rcode(), Rcode::BADVERS);
    // A response is never answered, not even a malformed one.
    let mut q = query("nas.lan", RecordType::A, None);
    q.header.set(Header::QR, true);
    assert!(matches!(
        handle(&z, &q.encode(512).unwrap(), CTX),
        Outcome::Drop
    ));
    assert!(matches!(
        handle(&z, &[0x12, 0x34, 0x80, 0, 0xff], CTX),
        Outcome::Drop
    ));
    let garbage = [0x12, 0x34, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0];
    let Outcome::Reply(bytes, Kind::Error) = handle(&z, &garbage, CTX) else {
        panic!("no FORMERR");
    };
    assert_eq!(Message::parse(&bytes).unwrap().rcode(), Rcode::FORMERR);
}

#[test]
fn any_is_minimal_and_outside_is_forwarded() {
    let z = zone();
    let r = ask(&z, &query("web.lan", RecordType::ANY, None), CTX);
    assert!(r.answers.iter().all(|a| a.rtype == RecordType::A));
    let r = ask(&z, &query("example.com", RecordType::ANY, None), CTX);
    assert_eq!(r.answers[0].rtype, RecordType::HINFO);
    let q = query("example.com", RecordType::A, Some(4096));
    let Outcome::Forward(m, cap) = handle(&z, &q.encode(512).unwrap(), CTX) else {
        panic!("not forwarded");
    };
    assert_eq!((m.questions[0].name.clone(), cap), (n("example.com"), 1232));
}

#[test]
fn oversize_udp_answer_sets_tc_and_tcp_gets_all() {
    let mut z = Zone::new(n("lan"));
    z.edit(Source::Static, |t| {
        for i in 0..200u8 {
            t.add(&n("big.lan"), Data::A(Ipv4Addr::new(10, 0, 1, i)))
                .unwrap();
        }
    });
    let r = ask(&z, &query("big.lan", RecordType::A, Some(4096)), CTX);
    assert!(r.header.tc());
    assert!(r.answers.is_empty());
    assert!(r.opt().is_some());
    let r = ask(
        &z,
        &query("big.lan", RecordType::A, None),
        Context { tcp: true, ..CTX },
    );
    assert!(!r.header.tc());
    assert_eq!(r.answers.len(), 200);
}
