//! Hostile input against a running resolver on loopback: every malformed-packet class of the
//! mDNS suite (FORMERR or silence, never a crash), responses (QR=1) never answered, other
//! opcodes NOTIMP, QDCOUNT 0 or 2 FORMERR, ANY minimal, AXFR refused, TCP abuse (length 0, a
//! length past the data, one byte per second, 1,000 pipelined queries), and a 10,000 q/s
//! flood from one source held to the configured rate. After each, a control query is still
//! answered: the process did not die.
#![cfg(feature = "dns")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod dns_util;

use dns_util::*;
use koi_wire::dns::{Header, Message, Opcode, Rcode, RecordType};
use std::io::{Read, Write};
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn alive(r: &Resolver) {
    let m = ask(r.addr(), &query("nas.lan", RecordType::A, None));
    assert_eq!(m.rcode(), Rcode::NOERROR, "the resolver stopped answering");
    assert_eq!(m.answers.len(), 1);
}

fn start(tag: &str, args: &[&str]) -> Resolver {
    let r = Resolver::start(tag, args);
    r.add("nas", "192.168.1.20");
    r
}

/// Header bytes: ID 0xbeef, `flags`, counts.
fn header(flags: u16, qd: u16, an: u16, ns: u16, ar: u16) -> Vec<u8> {
    let mut b = vec![0xbe, 0xef];
    for v in [flags, qd, an, ns, ar] {
        b.extend(v.to_be_bytes());
    }
    b
}

fn name(labels: &[&str]) -> Vec<u8> {
    let mut b = Vec::new();
    for l in labels {
        b.push(l.len() as u8);
        b.extend(l.as_bytes());
    }
    b.push(0);
    b
}

fn q(b: &mut Vec<u8>, n: &[u8], qtype: u16) {
    b.extend(n);
    b.extend(qtype.to_be_bytes());
    b.extend(1u16.to_be_bytes());
}

fn rr(b: &mut Vec<u8>, n: &[u8], rtype: u16, rdata: &[u8]) {
    b.extend(n);
    b.extend(rtype.to_be_bytes());
    b.extend(1u16.to_be_bytes());
    b.extend(60u32.to_be_bytes());
    b.extend((rdata.len() as u16).to_be_bytes());
    b.extend(rdata);
}

/// A well-formed query for nas.lan A (answered), for the malformed variants to start from.
fn good() -> Vec<u8> {
    let mut b = header(0x0100, 1, 0, 0, 0);
    q(&mut b, &name(&["nas", "lan"]), 1);
    b
}

/// Every malformed-packet class of tests/mdns_hostile.rs, as a unicast query.
fn malformed() -> Vec<(&'static str, Vec<u8>)> {
    let mut v = Vec::new();
    let mut b = header(0x0100, 3, 0, 0, 0);
    q(&mut b, &name(&["nas", "lan"]), 1);
    v.push(("section counts larger than the records present", b));
    let mut b = good();
    b.extend([1, 2, 3]);
    v.push(("trailing garbage", b));
    let mut b = header(0x0100, 1, 0, 0, 0);
    b.extend([0xc0, 12, 0, 1, 0, 1]);
    v.push(("compression pointer to itself", b));
    let mut b = header(0x0100, 1, 0, 0, 0);
    b.extend([1, b'a', 0xc0, 14, 0, 1, 0, 1]);
    v.push(("compression pointers in a cycle", b));
    let mut b = header(0x0100, 1, 0, 0, 0);
    b.extend([0xc0, 20, 0, 1, 0, 1, 3, b'n', b'a', b's', 0]);
    v.push(("compression pointer forward", b));
    let mut b = header(0x0100, 1, 0, 0, 0);
    b.extend([0xc0, 0xff, 0, 1, 0, 1]);
    v.push(("compression pointer past the end", b));
    let mut b = header(0x0100, 1, 0, 0, 0);
    b.push(0xc0);
    v.push(("compression pointer truncated", b));
    for t in [0x40u8, 0x80] {
        let mut b = header(0x0100, 1, 0, 0, 0);
        b.extend([t | 3, b'n', b'a', b's', 0, 0, 1, 0, 1]);
        v.push(("reserved label type", b));
    }
    let mut b = header(0x0100, 1, 0, 0, 0);
    b.push(64);
    b.extend([b'x'; 64]);
    b.extend([0, 0, 1, 0, 1]);
    v.push(("label over 63 bytes", b));
    let mut b = header(0x0100, 1, 0, 0, 0);
    for _ in 0..5 {
        b.push(63);
        b.extend([b'y'; 63]);
    }
    b.extend([0, 0, 1, 0, 1]);
    v.push(("name over 255 bytes", b));
    let mut b = header(0x0100, 40, 0, 0, 0);
    b.push(63);
    b.extend([b'z'; 63]);
    b.extend([0xc0, 12]);
    v.push(("compression bomb", b));
    let mut b = header(0x0100, 1, 0, 0, 0);
    b.extend([3, b'n', b'a', b's']);
    v.push(("missing terminator", b));
    let mut b = good();
    b[11] = 1;
    b.extend(name(&["x"]));
    b.extend([0, 1, 0, 1, 0, 0, 0, 60, 0, 50, 1, 2]);
    v.push(("rdlength past the end", b));
    for (t, len) in [(1u16, 5usize), (28, 4)] {
        let mut b = good();
        b[11] = 1;
        rr(&mut b, &name(&["x"]), t, &vec![1; len]);
        v.push(("wrong rdlength for A/AAAA", b));
    }
    let mut b = good();
    b[11] = 1;
    rr(&mut b, &name(&["x"]), 16, &[10, b'a']);
    v.push(("txt overrun", b));
    let mut b = good();
    b[11] = 1;
    rr(&mut b, &name(&["x"]), 33, &[0, 1, 0]);
    v.push(("srv with short rdata", b));
    let mut b = good();
    b[11] = 2;
    for _ in 0..2 {
        b.extend([0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0]);
    }
    v.push(("duplicate OPT record", b));
    v
}

#[test]
fn every_malformed_class_gets_formerr_and_runts_get_silence() {
    let r = start("dns-hostile-malformed", &[]);
    let addr = r.addr();
    // The control: the unmodified query is answered.
    let ok = Message::parse(&udp(addr, &good(), Duration::from_secs(2)).unwrap()).unwrap();
    assert_eq!(ok.rcode(), Rcode::NOERROR);
    for (what, bytes) in malformed() {
        let reply = udp(addr, &bytes, Duration::from_secs(2))
            .unwrap_or_else(|| panic!("{what}: no FORMERR"));
        let m = Message::parse(&reply)
            .unwrap_or_else(|e| panic!("{what}: our reply does not parse: {e:?}"));
        assert_eq!((m.header.id, m.rcode()), (0xbeef, Rcode::FORMERR), "{what}");
        assert!(m.header.qr(), "{what}");
    }
    for runt in [
        vec![],
        vec![0xbe],
        vec![0xbe, 0xef, 1, 0, 0, 1, 0, 0, 0, 0, 0],
    ] {
        assert!(
            udp(addr, &runt, Duration::from_millis(300)).is_none(),
            "runt {runt:?} answered"
        );
    }
    alive(&r);
}

/// Sends `first` and then a control query from the same socket: the first datagram back must
/// be the control's answer (so `first` got none).
fn unanswered(addr: SocketAddr, first: &[u8]) -> bool {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    s.send_to(first, addr).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let mut control = query("nas.lan", RecordType::A, None);
    control.header.id = 0x7777;
    s.send_to(&control.encode(512).unwrap(), addr).unwrap();
    let mut buf = [0u8; 2048];
    let n = s.recv(&mut buf).unwrap();
    Message::parse(&buf[..n]).unwrap().header.id == 0x7777
}

#[test]
fn responses_are_never_answered_and_opcodes_and_counts_get_the_right_errors() {
    let r = start("dns-hostile-header", &[]);
    let addr = r.addr();
    let mut resp = query("nas.lan", RecordType::A, None);
    resp.header.set(Header::QR, true);
    assert!(
        unanswered(addr, &resp.encode(512).unwrap()),
        "a QR=1 packet was answered"
    );
    let mut garbage_resp = vec![0xbe, 0xef, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0];
    assert!(
        unanswered(addr, &garbage_resp),
        "a malformed QR=1 packet was answered"
    );
    garbage_resp[2] = 0x84;
    assert!(unanswered(addr, &garbage_resp));

    for op in [
        Opcode::IQUERY,
        Opcode::STATUS,
        Opcode::NOTIFY,
        Opcode::UPDATE,
        Opcode(15),
    ] {
        let mut m = query("nas.lan", RecordType::A, None);
        m.header.set_opcode(op);
        let a = ask(addr, &m);
        assert_eq!(a.rcode(), Rcode::NOTIMP, "{op:?}");
        assert_eq!(a.header.opcode(), op);
    }
    let mut none = query("nas.lan", RecordType::A, None);
    none.questions.clear();
    assert_eq!(ask(addr, &none).rcode(), Rcode::FORMERR);
    let mut two = query("nas.lan", RecordType::A, None);
    two.questions.push(two.questions[0].clone());
    assert_eq!(ask(addr, &two).rcode(), Rcode::FORMERR);
    alive(&r);
}

#[test]
fn any_is_minimal_and_zone_transfers_are_refused() {
    let r = start("dns-hostile-any", &[]);
    r.add("nas", "fd00::20");
    let any = r.dig(&["nas.lan", "ANY"]);
    assert!(any.contains("ANSWER: 1,"), "one RRset only: {any}");
    let far = r.dig(&["example.com", "ANY"]);
    assert!(far.contains("HINFO\t\"RFC8482\""), "{far}");
    // AXFR over UDP (dig only asks over TCP, so by hand), then dig's own AXFR and IXFR.
    let axfr = ask(r.addr(), &query("lan", RecordType(252), None));
    assert_eq!(axfr.rcode(), Rcode::REFUSED);
    assert!(axfr.answers.is_empty());
    let t = r.dig(&["lan", "AXFR"]);
    assert!(
        t.contains("Transfer failed") || t.contains("REFUSED"),
        "{t}"
    );
    let i = r.dig(&["lan", "IXFR=1"]);
    assert!(i.contains("REFUSED") || i.contains("failed"), "{i}");
    alive(&r);
}

#[test]
fn tcp_length_zero_length_past_data_slow_drip_and_pipelining() {
    let r = start("dns-hostile-tcp", &[]);
    let addr = r.addr();

    // Length 0: closed at once.
    let mut s = tcp_connect(addr);
    tcp_write(&mut s, &[0, 0]);
    let t = Instant::now();
    assert!(tcp_read(&mut s).is_none());
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "length 0 not closed promptly"
    );

    // A length larger than the data: closed at the 5 s deadline, not before.
    let mut s = tcp_connect(addr);
    let t = Instant::now();
    tcp_write(&mut s, &[0, 100, 1, 2, 3]);
    assert!(tcp_read(&mut s).is_none());
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(4500) && took < Duration::from_secs(8),
        "closed after {took:?}"
    );

    // One byte per second of a real query: closed at the deadline, before the query is whole.
    let bytes = framed(&query("nas.lan", RecordType::A, None).encode(512).unwrap());
    let mut s = tcp_connect(addr);
    let t = Instant::now();
    let mut closed_at = None;
    let mut probe = s.try_clone().unwrap();
    probe
        .set_read_timeout(Some(Duration::from_millis(900)))
        .unwrap();
    for b in &bytes {
        if s.write_all(&[*b]).is_err() {
            closed_at = Some(t.elapsed());
            break;
        }
        let mut one = [0u8; 1];
        match probe.read(&mut one) {
            Ok(0) => {
                closed_at = Some(t.elapsed());
                break;
            }
            Ok(_) => panic!("answered a query that never arrived whole"),
            Err(_) => {} // timeout: still open
        }
        if t.elapsed() > Duration::from_secs(12) {
            break;
        }
    }
    let closed_at = closed_at.expect("slow-drip connection was never closed");
    assert!(
        closed_at < Duration::from_secs(8),
        "closed after {closed_at:?}"
    );

    // 1,000 pipelined queries in one write: 1,000 answers, in order.
    let mut s = tcp_connect(addr);
    let mut all = Vec::new();
    for i in 0..1000u16 {
        let mut m = query("nas.lan", RecordType::A, None);
        m.header.id = i;
        all.extend(framed(&m.encode(512).unwrap()));
    }
    let mut w = s.try_clone().unwrap();
    let writer = std::thread::spawn(move || w.write_all(&all).is_ok());
    for i in 0..1000u16 {
        let m = tcp_read(&mut s).unwrap_or_else(|| panic!("answer {i} missing"));
        assert_eq!((m.header.id, m.answers.len()), (i, 1));
    }
    assert!(writer.join().unwrap());
    alive(&r);
}

#[test]
fn a_flood_of_10000_queries_a_second_from_one_source_is_held_to_the_rate() {
    const RATE: u64 = 200;
    let r = start("dns-hostile-flood", &["--rate-limit", &RATE.to_string()]);
    let addr = r.addr();
    let s = Arc::new(UdpSocket::bind("127.0.0.1:0").unwrap());
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let answers = Arc::new(AtomicU64::new(0));
    let slips = Arc::new(AtomicU64::new(0));
    let reader = {
        let (s, answers, slips) = (s.clone(), answers.clone(), slips.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while let Ok(n) = s.recv(&mut buf) {
                match Message::parse(&buf[..n]) {
                    Ok(m) if m.header.tc() => slips.fetch_add(1, Ordering::Relaxed),
                    Ok(_) => answers.fetch_add(1, Ordering::Relaxed),
                    Err(_) => 0,
                };
            }
        })
    };
    let packet = query("nas.lan", RecordType::A, None).encode(512).unwrap();
    let started = Instant::now();
    let mut sent = 0u64;
    // 10,000 queries in one second: 50 every 5 ms.
    for tick in 0..200u32 {
        for _ in 0..50 {
            let _ = s.send_to(&packet, addr);
            sent += 1;
        }
        let next = started + Duration::from_millis(5 * u64::from(tick + 1));
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    let secs = started.elapsed().as_secs_f64();
    reader.join().unwrap();
    let answered = answers.load(Ordering::Relaxed);
    let slipped = slips.load(Ordering::Relaxed);
    let rate = sent as f64 / secs;
    eprintln!(
        "flood: sent {sent} in {secs:.2}s ({rate:.0} q/s), answered {answered}, slipped {slipped}"
    );
    assert!(
        rate >= 8000.0,
        "the flood was too slow to prove anything: {rate:.0} q/s"
    );
    // At most the burst plus the rate over the flood's duration (plus the reader's tail).
    let limit = RATE + (RATE as f64 * (secs + 0.6)) as u64;
    assert!(answered <= limit, "answered {answered} > {limit}");
    assert!(
        answered >= RATE,
        "the limiter starved the client: {answered}"
    );
    // Slip: about every second limited query gets a TC answer to retry over TCP.
    let limited = sent - answered;
    assert!(
        slipped > limited / 4 && slipped <= limited / 2 + 1,
        "slipped {slipped} of {limited}"
    );
    assert!(r.status_field("rate_limited") >= limited - 10);
    // Another /24 (127.0.1.0/24) is not held back by the flooder's bucket; TCP never is.
    let other = UdpSocket::bind("127.0.1.1:0").unwrap();
    other
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    other.send_to(&packet, addr).unwrap();
    let mut buf = [0u8; 512];
    let n = other.recv(&mut buf).expect("another network is answered");
    assert!(!Message::parse(&buf[..n]).unwrap().header.tc());
    let tcp = r.dig(&["+tcp", "nas.lan"]);
    assert!(tcp.contains("192.168.1.20"));
}
