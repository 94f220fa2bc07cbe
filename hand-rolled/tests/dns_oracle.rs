//! dns-parser 0.8 as an independent oracle (a dev-dependency only): for the subset it supports
//! (ASCII names, classes IN/CS/CH/HS, types A, AAAA, NS, CNAME, PTR, MX, SOA, SRV, TXT, one OPT),
//! it must parse what we write, compressed, and agree on every header bit, name, type, class,
//! mDNS bit, TTL and value. And we must parse what its builder writes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{Ipv4Addr, Ipv6Addr};

use koi_wire::dns::{
    Class, Edns, Header, Message, Name, Question, RData, Rcode, Record, RecordType,
};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bit(&mut self) -> bool {
        self.next() & 1 == 1
    }
}

/// ASCII names from a small pool (so compression happens) plus random `[a-z0-9_-]` labels.
fn name(rng: &mut Rng) -> Name {
    const POOL: &[&str] = &["local", "_http", "_tcp", "example", "com", "host-1", "ns"];
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789-_";
    let labels: Vec<Vec<u8>> = (0..1 + rng.below(4))
        .map(|_| {
            if rng.below(3) > 0 {
                POOL[rng.below(POOL.len())].as_bytes().to_vec()
            } else {
                (0..1 + rng.below(20))
                    .map(|_| CHARS[rng.below(CHARS.len())])
                    .collect()
            }
        })
        .collect();
    Name::from_labels(labels).unwrap()
}

fn record(rng: &mut Rng) -> Record {
    let rdata = match rng.below(9) {
        0 => RData::A(Ipv4Addr::from(rng.next() as u32)),
        1 => RData::Aaaa(Ipv6Addr::from(
            u128::from(rng.next()) << 64 | u128::from(rng.next()),
        )),
        2 => RData::Ns(name(rng)),
        3 => RData::Cname(name(rng)),
        4 => RData::Ptr(name(rng)),
        5 => RData::Mx {
            preference: rng.next() as u16,
            exchange: name(rng),
        },
        6 => RData::Srv {
            priority: rng.next() as u16,
            weight: rng.next() as u16,
            port: rng.next() as u16,
            target: name(rng),
        },
        7 => RData::Txt(
            (0..1 + rng.below(4))
                .map(|_| {
                    (0..rng.below(30))
                        .map(|_| b'!' + rng.below(90) as u8)
                        .collect()
                })
                .collect(),
        ),
        _ => RData::Soa {
            mname: name(rng),
            rname: name(rng),
            serial: rng.next() as u32,
            refresh: rng.next() as u32,
            retry: rng.next() as u32,
            expire: rng.next() as u32,
            minimum: rng.next() as u32,
        },
    };
    let class = Class(1 + rng.below(4) as u16);
    let mut rec = Record::new(
        name(rng),
        rdata.rtype().unwrap(),
        class,
        rng.next() as u32 >> 1,
        rdata,
    );
    rec.set_cache_flush(rng.bit());
    rec
}

fn message(rng: &mut Rng) -> Message {
    const QTYPES: &[RecordType] = &[
        RecordType::A,
        RecordType::NS,
        RecordType::CNAME,
        RecordType::SOA,
        RecordType::PTR,
        RecordType::MX,
        RecordType::TXT,
        RecordType::AAAA,
        RecordType::SRV,
        RecordType::ANY,
    ];
    const FLAGS: &[u16] = &[
        Header::QR,
        Header::AA,
        Header::TC,
        Header::RD,
        Header::RA,
        Header::AD,
        Header::CD,
    ];
    let mut header = Header {
        id: rng.next() as u16,
        flags: 0,
    };
    for &flag in FLAGS {
        header.set(flag, rng.bit());
    }
    header.set_rcode(Rcode(rng.below(6) as u16));
    let mut msg = Message {
        header,
        ..Message::default()
    };
    for _ in 0..rng.below(3) {
        let mut q = Question::new(
            name(rng),
            QTYPES[rng.below(QTYPES.len())],
            Class(1 + rng.below(4) as u16),
        );
        q.set_unicast_response(rng.bit());
        msg.questions.push(q);
    }
    for section in [&mut msg.answers, &mut msg.authorities, &mut msg.additionals] {
        for _ in 0..rng.below(5) {
            section.push(record(rng));
        }
    }
    if rng.bit() {
        let edns = Edns {
            udp_payload_size: rng.next() as u16,
            extended_rcode: 0,
            version: rng.below(2) as u8,
            flags: if rng.bit() { Edns::DO } else { 0 },
        };
        msg.additionals.push(edns.to_record(vec![(10, vec![7; 8])]));
    }
    msg
}

fn assert_same_record(ours: &Record, theirs: &dns_parser::ResourceRecord<'_>, what: &str) {
    use dns_parser::RData as D;
    assert_eq!(
        theirs.name.to_string(),
        ours.name.to_string(),
        "{what} name"
    );
    assert_eq!(
        theirs.multicast_unique,
        ours.cache_flush(),
        "{what} cache-flush"
    );
    assert_eq!(theirs.cls as u16, ours.class().0, "{what} class");
    assert_eq!(theirs.ttl, ours.ttl, "{what} ttl");
    match (&ours.rdata, &theirs.data) {
        (RData::A(a), D::A(b)) => assert_eq!(*a, b.0),
        (RData::Aaaa(a), D::AAAA(b)) => assert_eq!(*a, b.0),
        (RData::Ns(a), D::NS(b)) => assert_eq!(a.to_string(), b.0.to_string()),
        (RData::Cname(a), D::CNAME(b)) => assert_eq!(a.to_string(), b.0.to_string()),
        (RData::Ptr(a), D::PTR(b)) => assert_eq!(a.to_string(), b.0.to_string()),
        (
            RData::Mx {
                preference,
                exchange,
            },
            D::MX(b),
        ) => {
            assert_eq!(
                (*preference, exchange.to_string()),
                (b.preference, b.exchange.to_string())
            )
        }
        (
            RData::Srv {
                priority,
                weight,
                port,
                target,
            },
            D::SRV(b),
        ) => assert_eq!(
            (*priority, *weight, *port, target.to_string()),
            (b.priority, b.weight, b.port, b.target.to_string())
        ),
        (RData::Txt(a), D::TXT(b)) => {
            assert_eq!(a, &b.iter().map(<[u8]>::to_vec).collect::<Vec<_>>())
        }
        (
            RData::Soa {
                mname,
                rname,
                serial,
                refresh,
                retry,
                expire,
                minimum,
            },
            D::SOA(b),
        ) => assert_eq!(
            (
                mname.to_string(),
                rname.to_string(),
                *serial,
                *refresh,
                *retry,
                *expire,
                *minimum
            ),
            (
                b.primary_ns.to_string(),
                b.mailbox.to_string(),
                b.serial,
                b.refresh,
                b.retry,
                b.expire,
                b.minimum_ttl
            )
        ),
        (a, b) => panic!("{what}: we wrote {a:?}, dns-parser read {b:?}"),
    }
}

#[test]
fn dns_parser_reads_what_we_write() {
    let mut rng = Rng(0x00c0_ffee_1234_5678);
    for i in 0..2_000 {
        let msg = message(&mut rng);
        let bytes = msg.encode(65535).unwrap();
        let theirs =
            dns_parser::Packet::parse(&bytes).unwrap_or_else(|e| panic!("#{i}: {e:?} {msg:?}"));
        let h = &theirs.header;
        let ours = &msg.header;
        assert_eq!(
            (
                h.id,
                !h.query,
                h.authoritative,
                h.truncated,
                h.recursion_desired
            ),
            (ours.id, ours.qr(), ours.aa(), ours.tc(), ours.rd()),
            "#{i}"
        );
        assert_eq!(
            (
                h.recursion_available,
                h.authenticated_data,
                h.checking_disabled
            ),
            (ours.ra(), ours.has(Header::AD), ours.has(Header::CD)),
            "#{i}"
        );
        let rcode: u8 = h.response_code.into();
        assert_eq!(u16::from(rcode), ours.rcode().0, "#{i}");
        assert_eq!(theirs.questions.len(), msg.questions.len());
        for (q, tq) in msg.questions.iter().zip(&theirs.questions) {
            assert_eq!(tq.qname.to_string(), q.name.to_string(), "#{i}");
            assert_eq!(tq.qtype as u16, q.qtype.0, "#{i}");
            assert_eq!(tq.qclass as u16, q.class().0, "#{i}");
            assert_eq!(tq.prefer_unicast, q.unicast_response(), "#{i}");
        }
        let sections = [
            (&msg.answers, &theirs.answers),
            (&msg.authorities, &theirs.nameservers),
        ];
        for (ours, theirs) in sections {
            assert_eq!(ours.len(), theirs.len(), "#{i}");
            for (a, b) in ours.iter().zip(theirs) {
                assert_same_record(a, b, &format!("#{i}"));
            }
        }
        // dns-parser moves the OPT record out of the additional section.
        let plain: Vec<&Record> = msg.additionals.iter().filter(|r| !r.is_opt()).collect();
        assert_eq!(plain.len(), theirs.additional.len(), "#{i}");
        for (a, b) in plain.into_iter().zip(&theirs.additional) {
            assert_same_record(a, b, &format!("#{i}"));
        }
        match (msg.edns(), &theirs.opt) {
            (None, None) => {}
            (Some(e), Some(o)) => {
                assert_eq!(
                    (e.udp_payload_size, e.extended_rcode, e.version, e.flags),
                    (o.udp, o.extrcode, o.version, o.flags)
                );
                match &o.data {
                    dns_parser::RData::Unknown(raw) => {
                        assert_eq!(*raw, &[0, 10, 0, 8, 7, 7, 7, 7, 7, 7, 7, 7][..])
                    }
                    other => panic!("#{i}: OPT data {other:?}"),
                }
            }
            (a, b) => panic!("#{i}: EDNS {a:?} vs {b:?}"),
        }
    }
}

#[test]
fn we_read_what_dns_parser_writes() {
    use dns_parser::{Builder, QueryClass, QueryType};
    let cases = [
        ("_http._tcp.local", true, QueryType::PTR, RecordType::PTR),
        ("grafana-host.local", false, QueryType::A, RecordType::A),
        ("example.com", false, QueryType::AAAA, RecordType::AAAA),
        ("x._ipp._tcp.local", true, QueryType::All, RecordType::ANY),
    ];
    for (qname, qu, theirs, ours) in cases {
        let mut builder = Builder::new_query(0x1234, true);
        builder.add_question(qname, qu, theirs, QueryClass::IN);
        let bytes = builder.build().unwrap();
        let msg = Message::parse(&bytes).unwrap();
        assert_eq!(
            (msg.header.id, msg.header.rd(), msg.header.qr()),
            (0x1234, true, false)
        );
        assert_eq!(msg.questions.len(), 1);
        let q = &msg.questions[0];
        assert_eq!(
            (q.name.to_string(), q.qtype, q.class(), q.unicast_response()),
            (qname.to_string(), ours, Class::IN, qu)
        );
        assert_eq!(msg.encode(512).unwrap(), bytes, "{qname}");
    }
}
