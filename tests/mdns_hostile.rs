//! Hostile datagrams through the whole mDNS pipeline (ingress filter, parser, responder and
//! browser, routed as the shell routes them; `koi::mdns::fuzzing::Harness`): each one named
//! for the attack it is, each answered with silence, none panicking, memory bounded.
//!
//! "Silence" is checked against a twin: two identical, deterministic pipelines that have probed
//! and announced; one is fed the packet, the other only waits as long, and both must send
//! exactly the same datagrams (so the browser's own continuous queries, which run on their
//! schedule either way, do not hide an answer), and the fed one no response at all. Every
//! malformed packet is first shown to be a flawed copy of a packet that *is* answered.
//! Memory is counted per thread by a counting global allocator.
#![cfg(feature = "mdns")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use koi::mdns::fuzzing::{Harness, Outcome, ADDR_V4, ADDR_V6, HOST, STEP};
use koi::mdns::ingress::DropReason;
use koi::mdns::{Destination, Transmit, MDNS_V4, MDNS_V6};
use koi_wire::dns::{DecodeError, Message};

// ---------------------------------------------------------------------------------------------
// This thread's live heap bytes and their peak.

use koi::base::counting_alloc::{live, peak, reset_peak, CountingAlloc};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

// ---------------------------------------------------------------------------------------------
// Packets, byte by byte.

const QR_AA: u16 = 0x8400;
const A: u16 = 1;
const PTR: u16 = 12;
const HINFO: u16 = 13;
const TXT: u16 = 16;
const AAAA: u16 = 28;
const SRV: u16 = 33;
const OPT: u16 = 41;
const IN: u16 = 1;

fn header(flags: u16, qd: u16, an: u16, ns: u16, ar: u16) -> Vec<u8> {
    let mut b = Vec::new();
    for v in [0, flags, qd, an, ns, ar] {
        b.extend(v.to_be_bytes());
    }
    b
}

/// `labels` in wire form, terminated.
fn name(labels: &[&str]) -> Vec<u8> {
    let mut b = Vec::new();
    for l in labels {
        b.push(l.len() as u8);
        b.extend(l.as_bytes());
    }
    b.push(0);
    b
}

fn question(b: &mut Vec<u8>, name: &[u8], qtype: u16) {
    b.extend(name);
    b.extend(qtype.to_be_bytes());
    b.extend(IN.to_be_bytes());
}

fn record(b: &mut Vec<u8>, name: &[u8], rtype: u16, class: u16, ttl: u32, rdata: &[u8]) {
    b.extend(name);
    b.extend(rtype.to_be_bytes());
    b.extend(class.to_be_bytes());
    b.extend(ttl.to_be_bytes());
    b.extend((rdata.len() as u16).to_be_bytes());
    b.extend(rdata);
}

fn http_tcp() -> Vec<u8> {
    name(&["_http", "_tcp", "local"])
}

/// A QM query for `_http._tcp.local` PTR: the harness answers it (a shared record).
fn ptr_query() -> Vec<u8> {
    let mut b = header(0, 1, 0, 0, 0);
    question(&mut b, &http_tcp(), PTR);
    b
}

/// A QM query for our host's A record, with the record as a (known) answer of `rdata`.
fn a_query_with_known_answer(rtype: u16, rdata: &[u8]) -> Vec<u8> {
    let host = name(&[HOST, "local"]);
    let mut b = header(0, 1, 1, 0, 0);
    question(&mut b, &host, rtype);
    record(&mut b, &host, rtype, IN, 120, rdata);
    b
}

// ---------------------------------------------------------------------------------------------
// Sources and the twin check.

fn on_link() -> SocketAddr {
    (Ipv4Addr::new(10, 0, 0, 9), 5353).into()
}

fn group() -> IpAddr {
    IpAddr::V4(MDNS_V4)
}

fn is_response(t: &Transmit) -> bool {
    Message::parse(&t.bytes).is_ok_and(|m| m.header.qr())
}

/// Feeds `bytes` to a settled pipeline and checks it answered nothing, relative to a twin
/// that only waited; returns what the pipeline made of the packet.
fn silent(what: &str, src: SocketAddr, dst: IpAddr, bytes: &[u8]) -> Outcome {
    let mut fed = Harness::settled();
    let mut twin = Harness::settled();
    let cache_before = fed.cache_len();
    let base = reset_peak();
    let sent = fed.feed(src, dst, bytes);
    let grew = peak() - base;
    eprintln!("{what}: heap peak +{grew} bytes");
    let waited = twin.run(STEP);
    assert_eq!(sent, waited, "{what}: sent something the twin did not");
    assert!(!sent.iter().any(is_response), "{what}: a response went out");
    assert_eq!(fed.renames(), 0, "{what}: renamed");
    assert_eq!(fed.host_name(), HOST, "{what}");
    assert_eq!(fed.cache_len(), cache_before, "{what}: cached something");
    assert!(grew < 64 << 10, "{what}: {grew} bytes at peak");
    fed.last_outcome().expect("an outcome")
}

/// Feeds `bytes` from an on-link source to the group and expects silence and `outcome`.
fn rejected(what: &str, bytes: &[u8], outcome: Outcome) {
    let got = silent(what, on_link(), group(), bytes);
    assert_eq!(got, outcome, "{what}");
}

fn malformed(what: &str, bytes: &[u8], error: DecodeError) {
    rejected(what, bytes, Outcome::Malformed(error));
}

/// The responses sent for `bytes` (from an on-link source to the group) by a settled pipeline.
fn answers(bytes: &[u8]) -> Vec<Transmit> {
    let mut h = Harness::settled();
    let sent = h.feed(on_link(), group(), bytes);
    sent.into_iter().filter(is_response).collect()
}

// ---------------------------------------------------------------------------------------------
// Controls: the unflawed packets are answered, so silence below means something.

#[test]
fn control_ptr_query_is_answered() {
    let sent = answers(&ptr_query());
    assert_eq!(sent.len(), 1, "{sent:?}");
    let m = Message::parse(&sent[0].bytes).unwrap();
    assert!(m.answers.iter().any(|r| r.rtype.0 == PTR));
}

#[test]
fn control_a_query_with_a_stale_known_answer_is_answered() {
    // The known answer has a different address, so it suppresses nothing.
    let sent = answers(&a_query_with_known_answer(A, &[10, 0, 0, 77]));
    assert_eq!(sent.len(), 1, "{sent:?}");
}

// ---------------------------------------------------------------------------------------------
// Framing.

#[test]
fn empty_datagram() {
    rejected("empty", &[], Outcome::Dropped(DropReason::Runt));
}

#[test]
fn header_under_12_bytes() {
    let q = ptr_query();
    for n in 1..12 {
        rejected("short header", &q[..n], Outcome::Dropped(DropReason::Runt));
    }
}

#[test]
fn header_only_counts_nothing_is_harmless() {
    rejected(
        "bare header",
        &header(0, 0, 0, 0, 0),
        Outcome::Handled { own: false },
    );
}

#[test]
fn section_counts_larger_than_the_records_present() {
    let mut q = ptr_query();
    q[5] = 2; // two questions, one present
    malformed("qdcount 2", &q, DecodeError::Truncated);
    let mut q = ptr_query();
    q[7] = 1; // one answer, none present
    malformed("ancount 1", &q, DecodeError::Truncated);
    let mut q = ptr_query();
    q[10] = 0xff;
    q[11] = 0xff; // 65535 additionals
    malformed("arcount 65535", &q, DecodeError::Truncated);
}

#[test]
fn trailing_garbage() {
    let mut q = ptr_query();
    q.extend(b"\xde\xad\xbe\xef");
    malformed("trailing garbage", &q, DecodeError::TrailingBytes);
    let mut q = ptr_query();
    q.push(0);
    malformed("one trailing zero", &q, DecodeError::TrailingBytes);
}

// ---------------------------------------------------------------------------------------------
// Names.

#[test]
fn compression_pointer_to_itself() {
    let mut b = header(0, 1, 0, 0, 0);
    b.extend([0xc0, 12]);
    b.extend(PTR.to_be_bytes());
    b.extend(IN.to_be_bytes());
    malformed("pointer to itself", &b, DecodeError::BadPointer);
    // The same after a label: the pointer aims at the start of its own name.
    let mut b = header(0, 1, 0, 0, 0);
    b.extend([5]);
    b.extend(b"_http");
    b.extend([0xc0, 12]);
    b.extend(PTR.to_be_bytes());
    b.extend(IN.to_be_bytes());
    malformed("label then pointer to itself", &b, DecodeError::BadPointer);
}

#[test]
fn compression_pointers_in_a_cycle() {
    // 12: pointer to 14; 14: pointer to 12 (read as the question's type).
    let mut b = header(0, 1, 0, 0, 0);
    b.extend([0xc0, 14, 0xc0, 12, 0, 1]);
    malformed("two-pointer cycle", &b, DecodeError::BadPointer);
    // A second question pointing into the first, which points back at the second.
    let mut b = header(0, 2, 0, 0, 0);
    b.extend([1, b'a', 0xc0, 18]); // 12..16, pointer to 18
    b.extend(PTR.to_be_bytes()); // 16..18
    b.extend([0xc0, 12]); // 18: back to 12 (never reached: 12 points forward)
    b.extend(IN.to_be_bytes());
    b.extend(PTR.to_be_bytes());
    b.extend(IN.to_be_bytes());
    malformed("cycle across questions", &b, DecodeError::BadPointer);
}

#[test]
fn compression_pointer_forward() {
    // The question's name points at a valid name further on (in the answer).
    let mut b = header(0, 1, 1, 0, 0);
    b.extend([0xc0, 18]);
    b.extend(PTR.to_be_bytes());
    b.extend(IN.to_be_bytes());
    assert_eq!(b.len(), 18);
    let target = name(&[HOST, "local"]);
    record(&mut b, &target, A, IN, 120, &[10, 0, 0, 9]);
    malformed("forward pointer", &b, DecodeError::BadPointer);
}

#[test]
fn compression_pointer_past_the_end() {
    let mut b = header(0, 1, 0, 0, 0);
    b.extend([0xc0, 0xff]);
    b.extend(PTR.to_be_bytes());
    b.extend(IN.to_be_bytes());
    malformed("pointer past the end", &b, DecodeError::BadPointer);
    let mut b = header(0, 1, 0, 0, 0);
    b.extend([0xff, 0xff]);
    b.extend(PTR.to_be_bytes());
    b.extend(IN.to_be_bytes());
    malformed("pointer 0x3fff", &b, DecodeError::BadPointer);
}

#[test]
fn compression_pointer_truncated() {
    let mut b = header(0, 1, 0, 0, 0);
    b.push(0xc0);
    malformed("lone pointer byte", &b, DecodeError::Truncated);
}

#[test]
fn reserved_label_types() {
    for kind in [0x40u8, 0x80] {
        let mut b = header(0, 1, 0, 0, 0);
        b.extend([kind | 5]);
        b.extend(b"_http\x04_tcp\x05local\x00");
        b.extend(PTR.to_be_bytes());
        b.extend(IN.to_be_bytes());
        malformed(
            &format!("label type {kind:#x}"),
            &b,
            DecodeError::ReservedLabelType,
        );
    }
}

#[test]
fn label_over_63_bytes() {
    let mut b = header(0, 1, 0, 0, 0);
    b.push(64);
    b.extend([b'a'; 64]);
    b.extend(b"\x05local\x00");
    b.extend(PTR.to_be_bytes());
    b.extend(IN.to_be_bytes());
    malformed("64-byte label", &b, DecodeError::ReservedLabelType);
}

#[test]
fn name_over_255_bytes_after_expansion() {
    // Four questions: each a 63-byte label in front of the previous one (64, 128, 192, 256).
    let mut b = header(0, 4, 0, 0, 0);
    let mut prev: Option<usize> = None;
    for i in 0..4u8 {
        let start = b.len();
        b.push(63);
        b.extend([b'a' + i; 63]);
        match prev {
            Some(p) => b.extend([0xc0 | (p >> 8) as u8, p as u8]),
            None => b.push(0),
        }
        b.extend(PTR.to_be_bytes());
        b.extend(IN.to_be_bytes());
        prev = Some(start);
    }
    malformed("256-byte name", &b, DecodeError::NameTooLong);
}

/// One 250-byte name, then as many questions as fit in `size` bytes, each a 2-byte pointer to
/// it: valid, for names nobody has, and about 40 times its size once expanded.
fn compression_bomb(size: usize) -> Vec<u8> {
    let mut b = header(0, 0, 0, 0, 0);
    let mut long = Vec::new();
    for i in 0..4u8 {
        long.push(61);
        long.extend([b'a' + i; 61]);
    }
    long.push(0);
    let target = b.len();
    question(&mut b, &long, PTR);
    let mut n = 1u16;
    while b.len() + 6 <= size {
        b.extend([0xc0, target as u8]);
        b.extend(PTR.to_be_bytes());
        b.extend(IN.to_be_bytes());
        n += 1;
    }
    b[4..6].copy_from_slice(&n.to_be_bytes());
    b
}

#[test]
fn compression_bomb_of_many_names_costs_bounded_memory() {
    // 1440 bytes (what koi sends at most) and 9000 (the largest datagram the shell reads).
    for (size, limit) in [(1440, 64 << 10), (9000, 512 << 10)] {
        let b = compression_bomb(size);
        let mut fed = Harness::settled();
        let mut twin = Harness::settled();
        let base = reset_peak();
        let started = std::time::Instant::now();
        fed.deliver(on_link(), group(), &b);
        let took = started.elapsed();
        let grew = peak() - base;
        let sent = fed.run(STEP);
        eprintln!("compression bomb of {size} bytes: heap peak +{grew} bytes, {took:?}");
        assert_eq!(fed.last_outcome(), Some(Outcome::Handled { own: false }));
        assert_eq!(sent, twin.run(STEP), "{size}: answered");
        assert!(grew < limit, "{size}: heap peak +{grew} bytes");
    }
}

#[test]
fn missing_terminator() {
    let mut b = header(0, 1, 0, 0, 0);
    b.extend(b"\x05_http\x04_tcp\x05local");
    malformed("name runs off the end", &b, DecodeError::Truncated);
}

// ---------------------------------------------------------------------------------------------
// Records.

#[test]
fn rdlength_past_the_end() {
    let mut b = a_query_with_known_answer(A, &[10, 0, 0, 77]);
    let at = b.len() - 6;
    b[at..at + 2].copy_from_slice(&100u16.to_be_bytes());
    malformed("RDLENGTH 100 of 4", &b, DecodeError::Truncated);
}

#[test]
fn wrong_rdlength_for_a_and_aaaa() {
    for (rtype, len) in [(A, 3), (A, 5), (A, 0), (AAAA, 15), (AAAA, 17), (AAAA, 4)] {
        let rdata = vec![7u8; len];
        let b = a_query_with_known_answer(rtype, &rdata);
        malformed(
            &format!("type {rtype} with {len} bytes"),
            &b,
            DecodeError::BadRdata,
        );
        // And in a response, where it would have been cached.
        let mut r = header(QR_AA, 0, 1, 0, 0);
        record(&mut r, &name(&["rival", "local"]), rtype, IN, 120, &rdata);
        malformed(
            &format!("response type {rtype} with {len} bytes"),
            &r,
            DecodeError::BadRdata,
        );
    }
}

#[test]
fn hinfo_with_rdlength_0_at_the_very_end() {
    // The 23-byte packet that panics mdns-sd: root name, HINFO, IN, TTL, RDLENGTH 0.
    let mut b = header(QR_AA, 0, 1, 0, 0);
    record(&mut b, &[0], HINFO, IN, 120, &[]);
    assert_eq!(b.len(), 23);
    malformed("HINFO RDLENGTH 0", &b, DecodeError::BadRdata);
    let mut q = header(0, 1, 1, 0, 0);
    question(&mut q, &[0], HINFO);
    record(&mut q, &[0], HINFO, IN, 120, &[]);
    malformed(
        "HINFO RDLENGTH 0 as a known answer",
        &q,
        DecodeError::BadRdata,
    );
}

#[test]
fn txt_overrun() {
    // A TXT string of 10 bytes in 5 bytes of RDATA, as a known answer and in a response.
    let inst = name(&["grafana", "_http", "_tcp", "local"]);
    let mut q = header(0, 1, 1, 0, 0);
    question(&mut q, &inst, TXT);
    record(&mut q, &inst, TXT, IN, 4500, b"\x0apath");
    malformed("TXT overrun, query", &q, DecodeError::BadRdata);
    let mut r = header(QR_AA, 0, 1, 0, 0);
    record(
        &mut r,
        &name(&["rival", "_http", "_tcp", "local"]),
        TXT,
        IN,
        4500,
        b"\x0apath",
    );
    malformed("TXT overrun, response", &r, DecodeError::BadRdata);
}

#[test]
fn srv_with_short_rdata() {
    let mut r = header(QR_AA, 0, 1, 0, 0);
    record(
        &mut r,
        &name(&["rival", "_http", "_tcp", "local"]),
        SRV,
        IN,
        120,
        &[0, 0, 0, 0, 0x0b],
    );
    malformed("SRV of 5 bytes", &r, DecodeError::BadRdata);
}

#[test]
fn duplicate_opt_record() {
    let mut b = ptr_query();
    b[11] = 2;
    for _ in 0..2 {
        record(&mut b, &[0], OPT, 1440, 0, &[]);
    }
    malformed("two OPT records", &b, DecodeError::DuplicateOpt);
}

// ---------------------------------------------------------------------------------------------
// Sources.

#[test]
fn query_from_an_off_link_source() {
    let q = ptr_query();
    let off: SocketAddr = (Ipv4Addr::new(192, 168, 99, 9), 5353).into();
    let got = silent("off-link multicast", off, group(), &q);
    assert_eq!(got, Outcome::Dropped(DropReason::OffLink));
    let got = silent("off-link unicast", off, IpAddr::V4(ADDR_V4), &q);
    assert_eq!(got, Outcome::Dropped(DropReason::OffLinkUnicast));
    let legacy: SocketAddr = (Ipv4Addr::new(8, 8, 8, 8), 40000).into();
    let got = silent("off-link legacy unicast", legacy, IpAddr::V4(ADDR_V4), &q);
    assert_eq!(got, Outcome::Dropped(DropReason::OffLinkUnicast));
    let global: SocketAddr = (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 9), 5353).into();
    let got = silent("off-link IPv6", global, IpAddr::V6(MDNS_V6), &q);
    assert_eq!(got, Outcome::Dropped(DropReason::OffLink));
    // Just inside the subnet, the same query is answered.
    assert_eq!(answers(&q).len(), 1);
}

#[test]
fn nonsense_sources() {
    let q = ptr_query();
    for src in [
        "10.0.0.9:0",
        "0.0.0.0:5353",
        "224.0.0.251:5353",
        "255.255.255.255:5353",
    ] {
        let got = silent(src, src.parse().unwrap(), group(), &q);
        assert_eq!(got, Outcome::Dropped(DropReason::BadSource), "{src}");
    }
}

#[test]
fn our_own_packets_looped_back() {
    // Everything the pipeline sends while probing, announcing and browsing comes straight
    // back from our own address (multicast loop), 10 ms later, for 20 s. A twin hears nothing.
    let mut h = Harness::new();
    let mut twin = Harness::new();
    let tick = std::time::Duration::from_millis(10);
    let (mut looped, mut alone) = (Vec::new(), Vec::new());
    for _ in 0..2_000 {
        let out = h.run(tick);
        for t in &out {
            let src: SocketAddr = match t.dest.link().family {
                koi::mdns::Family::V4 => (ADDR_V4, 5353).into(),
                koi::mdns::Family::V6 => (ADDR_V6, 5353).into(),
            };
            let dst = match t.dest {
                Destination::Multicast(link) => link.group().ip(),
                Destination::Unicast { to, .. } => to.ip(),
            };
            let outcome = h.deliver(src, dst, &t.bytes);
            assert_eq!(outcome, Outcome::Handled { own: true });
        }
        looped.extend(out);
        alone.extend(twin.run(tick));
    }
    let count = |v: &[Transmit], f: fn(&Transmit) -> bool| v.iter().filter(|t| f(t)).count();
    let probes = |t: &Transmit| !is_response(t) && has_authority(t);
    let queries = |t: &Transmit| !is_response(t) && !has_authority(t);
    eprintln!(
        "looped back: {} datagrams ({} probes, {} queries, {} responses); alone: {} ({}, {}, {})",
        looped.len(),
        count(&looped, probes),
        count(&looped, queries),
        count(&looped, is_response),
        alone.len(),
        count(&alone, probes),
        count(&alone, queries),
        count(&alone, is_response),
    );
    assert_eq!(h.renames(), 0, "{:?}", h.responder_events());
    assert_eq!(h.host_name(), HOST);
    // No conflict: the same probes as alone, no second round.
    assert_eq!(count(&looped, probes), count(&alone, probes));
    assert_eq!(count(&looped, queries), count(&alone, queries));
    // No storm: beyond what it sends alone, only answers to our own browser's queries, at
    // most one per query.
    let extra = count(&looped, is_response) - count(&alone, is_response);
    assert!(
        extra <= count(&alone, queries),
        "{extra} extra responses for {} queries",
        count(&alone, queries)
    );
}

fn has_authority(t: &Transmit) -> bool {
    Message::parse(&t.bytes).is_ok_and(|m| !m.authorities.is_empty())
}

// ---------------------------------------------------------------------------------------------
// Floods.

/// A response announcing service `i`: PTR, SRV, TXT and A, all under fresh names.
fn service_response(i: u32) -> Vec<u8> {
    let inst = format!("svc-{i}");
    let host = format!("host-{i}");
    let inst_name = name(&[&inst, "_http", "_tcp", "local"]);
    let host_name = name(&[&host, "local"]);
    let mut b = header(QR_AA, 0, 4, 0, 0);
    record(&mut b, &http_tcp(), PTR, IN, 4500, &inst_name);
    let mut srv = vec![0, 0, 0, 0, 0x1f, 0x90];
    srv.extend(&host_name);
    record(&mut b, &inst_name, SRV, IN | 0x8000, 120, &srv);
    record(&mut b, &inst_name, TXT, IN | 0x8000, 4500, b"\x06path=/");
    let ip = [10, 0, (i >> 8) as u8 | 0x80, i as u8];
    record(&mut b, &host_name, A, IN | 0x8000, 120, &ip);
    b
}

#[test]
fn ten_thousand_names_flood_the_cache_which_stays_bounded() {
    let mut h = Harness::settled();
    let cap = h.cache_cap();
    let src: SocketAddr = (Ipv4Addr::new(10, 0, 0, 9), 5353).into();
    let base = reset_peak();
    let mut at_half = 0;
    let mut answered = 0;
    let mut sent = 0;
    for i in 0..20_000u32 {
        let outcome = h.deliver(src, group(), &service_response(i));
        assert_eq!(outcome, Outcome::Handled { own: false });
        // 5 ms apart: 20,000 services in 100 s, well within every TTL.
        let out = h.run(std::time::Duration::from_millis(5));
        answered += out.iter().filter(|t| is_response(t)).count();
        sent += out.len();
        assert!(h.cache_len() <= cap, "{} records cached", h.cache_len());
        if i == 9_999 {
            at_half = live() - base;
        }
    }
    let at_end = live() - base;
    let at_peak = peak() - base;
    eprintln!(
        "flood: cache {} of {cap} records, {} resolved, {} found; heap +{} KiB after 10,000, \
         +{} KiB after 20,000, peak +{} KiB; {sent} datagrams sent",
        h.cache_len(),
        h.services_resolved(),
        h.found(),
        at_half >> 10,
        at_end >> 10,
        at_peak >> 10,
    );
    assert!(h.cache_len() >= cap * 9 / 10, "the cache should be full");
    assert_eq!(answered, 0, "responses are never answered");
    // Bounded: the default limits hold ~4 MiB when full; the byte budget allows 16 MiB.
    assert!(at_peak < 32 << 20, "peak heap growth {at_peak} bytes");
    // And flat: the second 10,000 cost (almost) nothing more than the first.
    assert!(
        at_end <= at_half + at_half / 10,
        "heap grew from {at_half} to {at_end} bytes"
    );
    // Queries for what is missing are bounded too (nothing is missing here).
    assert!(sent < 2_000, "{sent} datagrams for 20,000 services");
}

/// A response announcing service `i` of type `_bench{i % 10}._tcp` as a real responder does:
/// the type enumeration PTR, PTR, SRV, TXT and A.
fn typed_service_response(i: u32) -> Vec<u8> {
    let ty = format!("_bench{}", i % 10);
    let type_name = name(&[&ty, "_tcp", "local"]);
    let inst_name = name(&[&format!("bench-{i}"), &ty, "_tcp", "local"]);
    let host_name = name(&[&format!("bench-{i}"), "local"]);
    let mut b = header(QR_AA, 0, 5, 0, 0);
    record(
        &mut b,
        &name(&["_services", "_dns-sd", "_udp", "local"]),
        PTR,
        IN,
        4500,
        &type_name,
    );
    record(&mut b, &type_name, PTR, IN, 4500, &inst_name);
    let mut srv = vec![0, 0, 0, 0, 0x1f, 0x40];
    srv.extend(&host_name);
    record(&mut b, &inst_name, SRV, IN | 0x8000, 120, &srv);
    record(&mut b, &inst_name, TXT, IN | 0x8000, 4500, b"\x06n=1234");
    let ip = [10, 0, (i >> 8) as u8 | 0x80, i as u8];
    record(&mut b, &host_name, A, IN | 0x8000, 120, &ip);
    b
}

#[test]
fn heap_per_1000_resolved_services_stays_within_budget() {
    // The project's goal (tests/bench/mdns.sh measures the whole agent against it) is 1 MiB of
    // RSS per 1,000 cached services. Here the mDNS state alone, counted on its own heap: the
    // browser (cache, tracked instances) and the registry it feeds (services and their hosts),
    // each service on its own host as in the bench. Today 691 KiB per 1,000 (VmRSS about
    // 870 KiB: the allocator's header and rounding on the ~7 small allocations a service has
    // left); the bound holds that with 5 % to spare.
    let mut h = Harness::settled();
    let src: SocketAddr = (Ipv4Addr::new(10, 0, 0, 9), 5353).into();
    let mut per_1000 = Vec::new();
    let mut rss = Vec::new();
    let mut base = (live(), vm_rss());
    for i in 0..2_000u32 {
        h.deliver(src, group(), &typed_service_response(i));
        h.run(std::time::Duration::from_millis(5));
        if i % 1_000 == 999 {
            h.run(std::time::Duration::from_secs(2));
            per_1000.push(live() - base.0);
            rss.push(vm_rss() - base.1);
            base = (live(), vm_rss());
        }
    }
    let (live_entries, _) = h.registry().counts();
    eprintln!(
        "mDNS heap per 1000 services: {:?} KiB (VmRSS {:?} KiB); {} resolved, {} in the registry, {} records cached",
        per_1000.iter().map(|b| b >> 10).collect::<Vec<_>>(),
        rss,
        h.services_resolved(),
        live_entries,
        h.cache_len()
    );
    assert!(h.services_resolved() >= 2_000, "{}", h.services_resolved());
    assert!(live_entries >= 2_000, "{live_entries}");
    for b in per_1000 {
        assert!(b <= 725 << 10, "{} KiB per 1000 services", b >> 10);
    }
}

/// This process's resident set in KiB (0 if unknown).
fn vm_rss() -> isize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
