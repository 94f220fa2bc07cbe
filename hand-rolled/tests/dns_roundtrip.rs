//! Property test: 10,000 random messages (every record variant, unknown types, raw classes with
//! the mDNS bits, arbitrary-byte labels with dots, UTF-8 and mixed case, names near 255 bytes)
//! encode → parse to the same message, case included, and truncate cleanly under random caps.
//! The PRNG is an inline xorshift64*, seeded, so failures reproduce.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{Ipv4Addr, Ipv6Addr};

use koi_wire::dns::{Header, Message, Name, Question, RData, Record, RecordType, MAX_MESSAGE_LEN};

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

    fn percent(&mut self, p: usize) -> bool {
        self.below(100) < p
    }

    fn u16(&mut self) -> u16 {
        self.next() as u16
    }

    fn u32(&mut self) -> u32 {
        self.next() as u32
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }

    /// Random bytes of a random length below `n`.
    fn bytes_below(&mut self, n: usize) -> Vec<u8> {
        let len = self.below(n);
        self.bytes(len)
    }
}

const LABELS: &[&str] = &[
    "local",
    "_http",
    "_tcp",
    "_udp",
    "_ipp",
    "_services",
    "_dns-sd",
    "host",
    "Host",
    "HOST",
    "caf\u{e9}",
    "B\u{fc}ro Drucker \u{2615} (2)",
    "with.dot",
    "back\\slash",
    "x",
    "in-addr",
];

fn label(rng: &mut Rng) -> Vec<u8> {
    match rng.below(10) {
        0..=6 => LABELS[rng.below(LABELS.len())].as_bytes().to_vec(),
        7 | 8 => {
            let len = 1 + rng.below(12);
            rng.bytes(len)
        }
        _ => {
            let len = 1 + rng.below(63);
            vec![b'a' + rng.below(26) as u8; len]
        }
    }
}

/// A random name: usually a few labels, sometimes as long as the 255-byte limit allows.
fn name(rng: &mut Rng) -> Name {
    let want = if rng.percent(5) { 64 } else { rng.below(5) };
    let mut name = Name::root();
    for _ in 0..want {
        match Name::from_labels([label(rng)]).and_then(|l| l.concat(&name)) {
            Ok(longer) => name = longer,
            Err(_) => break,
        }
    }
    name
}

fn strings(rng: &mut Rng, max_count: usize) -> Vec<Vec<u8>> {
    (0..rng.below(max_count + 1))
        .map(|_| {
            let len = if rng.percent(5) { 255 } else { rng.below(20) };
            rng.bytes(len)
        })
        .collect()
}

fn unknown_type(rng: &mut Rng) -> RecordType {
    loop {
        let t = RecordType(rng.u16());
        if !RData::is_typed(t) {
            return t;
        }
    }
}

fn rdata(rng: &mut Rng) -> (RecordType, RData) {
    let rdata = match rng.below(13) {
        0 => RData::A(Ipv4Addr::from(rng.u32())),
        1 => RData::Aaaa(Ipv6Addr::from(
            u128::from(rng.next()) << 64 | u128::from(rng.next()),
        )),
        2 => RData::Ns(name(rng)),
        3 => RData::Cname(name(rng)),
        4 => RData::Ptr(name(rng)),
        5 => RData::Mx {
            preference: rng.u16(),
            exchange: name(rng),
        },
        6 => RData::Srv {
            priority: rng.u16(),
            weight: rng.u16(),
            port: rng.u16(),
            target: name(rng),
        },
        7 => RData::Txt(strings(rng, 4)),
        8 => RData::Hinfo {
            cpu: rng.bytes_below(10),
            os: rng.bytes_below(10),
        },
        9 => RData::Soa {
            mname: name(rng),
            rname: name(rng),
            serial: rng.u32(),
            refresh: rng.u32(),
            retry: rng.u32(),
            expire: rng.u32(),
            minimum: rng.u32(),
        },
        10 => {
            let mut types: Vec<RecordType> = (0..rng.below(8))
                .map(|_| RecordType(rng.u16() >> rng.below(16)))
                .collect();
            types.sort();
            types.dedup();
            RData::Nsec {
                next: name(rng),
                types,
            }
        }
        _ => {
            return (unknown_type(rng), RData::Unknown(rng.bytes_below(40)));
        }
    };
    (rdata.rtype().unwrap(), rdata)
}

fn record(rng: &mut Rng) -> Record {
    let (rtype, rdata) = rdata(rng);
    Record {
        name: name(rng),
        rtype,
        rclass: rng.u16(),
        ttl: rng.u32(),
        rdata,
    }
}

fn message(rng: &mut Rng) -> Message {
    let mut msg = Message {
        header: Header {
            id: rng.u16(),
            flags: rng.u16(),
        },
        ..Message::default()
    };
    for _ in 0..rng.below(4) {
        msg.questions.push(Question {
            name: name(rng),
            qtype: RecordType(rng.u16()),
            qclass: rng.u16(),
        });
    }
    for section in [&mut msg.answers, &mut msg.authorities, &mut msg.additionals] {
        for _ in 0..rng.below(6) {
            section.push(record(rng));
        }
    }
    if rng.percent(30) {
        let options = (0..rng.below(3))
            .map(|_| (rng.u16(), rng.bytes_below(8)))
            .collect();
        let at = rng.below(msg.additionals.len() + 1);
        msg.additionals.insert(
            at,
            Record {
                name: Name::root(),
                rtype: RecordType::OPT,
                rclass: rng.u16(),
                ttl: rng.u32(),
                rdata: RData::Opt(options),
            },
        );
    }
    msg
}

#[test]
fn ten_thousand_random_messages_round_trip() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut total_bytes = 0;
    for i in 0..10_000 {
        let msg = message(&mut rng);
        let bytes = msg
            .encode(MAX_MESSAGE_LEN)
            .unwrap_or_else(|e| panic!("#{i}: {e}"));
        total_bytes += bytes.len();
        let back = Message::parse(&bytes).unwrap_or_else(|e| panic!("#{i}: {e} {msg:?}"));
        // Debug shows names in presentation form, so this also checks case was kept.
        assert_eq!(format!("{back:?}"), format!("{msg:?}"), "#{i}");
        assert_eq!(back, msg, "#{i}");

        if bytes.len() > 12 {
            let cap = 12 + rng.below(bytes.len() - 12);
            let part = msg.encode_truncating(cap).unwrap();
            assert!(part.bytes.len() <= cap && part.truncated, "#{i} cap {cap}");
            let part_msg =
                Message::parse(&part.bytes).unwrap_or_else(|e| panic!("#{i} cap {cap}: {e}"));
            assert!(part_msg.header.tc());
            let n = part_msg.answers.len();
            assert_eq!(part_msg.answers[..], msg.answers[..n], "#{i}");
        }

        if i % 10 == 0 {
            koi_wire::fuzzing::dns::dns_message(&bytes);
        }
    }
    assert!(
        total_bytes > 10_000 * 100,
        "messages too small to mean much: {total_bytes}"
    );
}

#[test]
fn names_round_trip_through_their_display_form() {
    let mut rng = Rng(7);
    for _ in 0..10_000 {
        let n = name(&mut rng);
        let shown = n.to_string();
        let back = Name::from_dotted(&shown).unwrap_or_else(|e| panic!("{shown}: {e}"));
        assert_eq!(format!("{back:?}"), format!("{n:?}"));
        assert_eq!(
            back.labels().collect::<Vec<_>>(),
            n.labels().collect::<Vec<_>>()
        );
    }
}
