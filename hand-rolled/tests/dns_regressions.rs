//! Named regression tests: hostile or broken packets, each answered with an `Err` (which callers
//! turn into silence or FORMERR), never a panic, in bounded time and memory. Every packet also
//! goes through the fuzz door, which must not panic either.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use koi_wire::dns::{DecodeError, Message, MAX_POINTERS};

/// A 12-byte header: id 0, flags 0, then the four section counts.
fn header(qd: u16, an: u16, ns: u16, ar: u16) -> Vec<u8> {
    let mut h = vec![0, 0, 0, 0];
    for count in [qd, an, ns, ar] {
        h.extend_from_slice(&count.to_be_bytes());
    }
    h
}

/// Fixed part of a record: type, class IN, TTL 120, RDLENGTH.
fn rr(rtype: u16, rdlength: u16) -> Vec<u8> {
    let mut v = rtype.to_be_bytes().to_vec();
    v.extend_from_slice(&[0, 1, 0, 0, 0, 120]);
    v.extend_from_slice(&rdlength.to_be_bytes());
    v
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

const QTAIL: &[u8] = &[0, 1, 0, 1]; // type A, class IN

fn rejects(what: &str, packet: &[u8], expected: DecodeError) {
    let start = Instant::now();
    assert_eq!(Message::parse(packet), Err(expected), "{what}");
    koi_wire::fuzzing::dns::dns_message(packet);
    assert!(start.elapsed() < Duration::from_secs(1), "{what}: too slow");
}

#[test]
fn empty_datagram() {
    rejects("empty", &[], DecodeError::Truncated);
}

#[test]
fn header_under_12_bytes() {
    let full = header(0, 0, 0, 0);
    for len in 1..12 {
        rejects(
            &format!("{len} bytes"),
            &full[..len],
            DecodeError::Truncated,
        );
    }
    assert!(Message::parse(&full).is_ok());
}

#[test]
fn section_counts_larger_than_the_records_present() {
    let one_question = cat(&[b"\x01a\x00", QTAIL]);
    for (what, counts) in [
        ("qdcount 2, one question", header(2, 0, 0, 0)),
        ("ancount 1, no answer", header(1, 1, 0, 0)),
        ("nscount 1, no authority", header(1, 0, 1, 0)),
        ("arcount 1, no additional", header(1, 0, 0, 1)),
    ] {
        rejects(
            what,
            &cat(&[&counts, &one_question]),
            DecodeError::Truncated,
        );
    }
}

#[test]
fn section_counts_of_65535_with_no_records() {
    rejects(
        "all counts 65535",
        &header(u16::MAX, u16::MAX, u16::MAX, u16::MAX),
        DecodeError::Truncated,
    );
    // (dns_alloc.rs measures that this allocates next to nothing.)
}

#[test]
fn trailing_garbage_after_the_last_counted_record() {
    let packet = cat(&[&header(1, 0, 0, 0), b"\x01a\x00", QTAIL, b"\x00"]);
    rejects("one stray byte", &packet, DecodeError::TrailingBytes);
    let packet = cat(&[&header(0, 0, 0, 0), b"\x01a\x00", QTAIL]);
    rejects("an uncounted question", &packet, DecodeError::TrailingBytes);
}

#[test]
fn compression_pointer_to_itself() {
    rejects(
        "question name at 12 = C0 0C",
        &cat(&[&header(1, 0, 0, 0), b"\xc0\x0c", QTAIL]),
        DecodeError::BadPointer,
    );
    // A pointer after a label, pointing at the start of its own name.
    rejects(
        "a + pointer to 12",
        &cat(&[&header(1, 0, 0, 0), b"\x01a\xc0\x0c", QTAIL]),
        DecodeError::BadPointer,
    );
}

#[test]
fn compression_pointers_in_a_cycle() {
    // Name 1 (offset 12) is "a"; name 2 (offset 19) points to 21, which points back to 19.
    let packet = cat(&[
        &header(2, 0, 0, 0),
        b"\x01a\x00",
        QTAIL,
        b"\xc0\x15\xc0\x13",
        QTAIL,
    ]);
    rejects("19 -> 21 -> 19", &packet, DecodeError::BadPointer);
    // Two names pointing at each other.
    let packet = cat(&[&header(2, 0, 0, 0), b"\xc0\x10", QTAIL, b"\xc0\x0c", QTAIL]);
    rejects("12 -> 16 -> 12", &packet, DecodeError::BadPointer);
}

#[test]
fn compression_pointer_forward() {
    // Question 1 points at question 2's perfectly good name.
    let packet = cat(&[&header(2, 0, 0, 0), b"\xc0\x12", QTAIL, b"\x01a\x00", QTAIL]);
    rejects("12 -> 18", &packet, DecodeError::BadPointer);
}

#[test]
fn compression_pointer_past_the_end() {
    rejects(
        "C0 FF",
        &cat(&[&header(1, 0, 0, 0), b"\xc0\xff", QTAIL]),
        DecodeError::BadPointer,
    );
    rejects(
        "FF FF",
        &cat(&[&header(1, 0, 0, 0), b"\xff\xff", QTAIL]),
        DecodeError::BadPointer,
    );
    // In RDATA: a PTR whose target points beyond the packet.
    let packet = cat(&[&header(0, 1, 0, 0), b"\x00", &rr(12, 2), b"\xc0\x40"]);
    rejects("PTR target C0 40", &packet, DecodeError::BadPointer);
}

#[test]
fn compression_pointer_truncated() {
    rejects(
        "lone C0 at the end",
        &cat(&[&header(1, 0, 0, 0), b"\xc0"]),
        DecodeError::Truncated,
    );
    rejects(
        "label then lone C0",
        &cat(&[&header(1, 0, 0, 0), b"\x01a\xc0"]),
        DecodeError::Truncated,
    );
}

#[test]
fn reserved_label_types() {
    for first in [0x40u8, 0x80, 0x7f, 0xbf] {
        let packet = cat(&[&header(1, 0, 0, 0), &[first, b'a', 0], QTAIL]);
        rejects(
            &format!("label type {first:#04x}"),
            &packet,
            DecodeError::ReservedLabelType,
        );
    }
}

#[test]
fn label_over_63_bytes() {
    // On the wire a length of 64 is the reserved 0x40 label type.
    let mut name = vec![64];
    name.extend_from_slice(&[b'x'; 64]);
    name.push(0);
    rejects(
        "64-byte label",
        &cat(&[&header(1, 0, 0, 0), &name, QTAIL]),
        DecodeError::ReservedLabelType,
    );
    // The writer refuses it by construction: see dns_codec.rs writer_refuses_what_would_not_read_back.
}

#[test]
fn name_over_255_bytes_after_expansion() {
    // Four 63-byte labels in place: 4 * 64 + 1 = 257 bytes.
    let mut name = Vec::new();
    for _ in 0..4 {
        name.push(63);
        name.extend_from_slice(&[b'x'; 63]);
    }
    name.push(0);
    rejects(
        "4 x 63 in place",
        &cat(&[&header(1, 0, 0, 0), &name, QTAIL]),
        DecodeError::NameTooLong,
    );
}

#[test]
fn compression_bomb_builds_a_long_name_from_pointers() {
    // Question i's name is "a" followed by a pointer to question i-1's name: each adds 2 bytes,
    // so question 127 would expand past 255 bytes. 1000 of them must fail fast.
    let mut packet = header(1000, 0, 0, 0);
    packet.extend_from_slice(b"\x01a\x00");
    packet.extend_from_slice(QTAIL);
    let mut prev = 12u16;
    for _ in 1..1000 {
        let here = packet.len() as u16;
        packet.extend_from_slice(b"\x01a");
        packet.extend_from_slice(&(0xc000 | prev).to_be_bytes());
        packet.extend_from_slice(QTAIL);
        prev = here;
    }
    rejects(
        "chain of 1000 one-label names",
        &packet,
        DecodeError::NameTooLong,
    );

    // The same with big labels: 63-byte label + pointer, four deep.
    let mut packet = header(4, 0, 0, 0);
    let mut prev: Option<u16> = None;
    for _ in 0..4 {
        let here = packet.len() as u16;
        packet.push(63);
        packet.extend_from_slice(&[b'y'; 63]);
        match prev {
            None => packet.push(0),
            Some(p) => packet.extend_from_slice(&(0xc000u16 | p).to_be_bytes()),
        }
        packet.extend_from_slice(QTAIL);
        prev = Some(here);
    }
    rejects(
        "four 63-byte labels via pointers",
        &packet,
        DecodeError::NameTooLong,
    );
}

#[test]
fn chains_of_bare_pointers_are_bounded() {
    // Name 0 is the root; name i is only a pointer to name i-1. Legal but useless: after
    // MAX_POINTERS hops the name is rejected, so work per name stays bounded.
    let n = MAX_POINTERS + 2;
    let mut packet = header(n as u16, 0, 0, 0);
    packet.push(0);
    packet.extend_from_slice(QTAIL);
    let mut prev = 12u16;
    for _ in 1..n {
        let here = packet.len() as u16;
        packet.extend_from_slice(&(0xc000 | prev).to_be_bytes());
        packet.extend_from_slice(QTAIL);
        prev = here;
    }
    rejects("pointer chain", &packet, DecodeError::BadPointer);
    // Without the last question, the longest chain is exactly MAX_POINTERS hops: accepted.
    let mut ok = packet[..packet.len() - 6].to_vec();
    ok[4..6].copy_from_slice(&((n - 1) as u16).to_be_bytes());
    assert!(Message::parse(&ok).is_ok());
}

#[test]
fn missing_terminator() {
    rejects(
        "name runs to the end",
        &cat(&[&header(1, 0, 0, 0), b"\x03abc"]),
        DecodeError::Truncated,
    );
    rejects(
        "label longer than the packet",
        &cat(&[&header(1, 0, 0, 0), b"\x05ab"]),
        DecodeError::Truncated,
    );
}

#[test]
fn rdlength_past_the_end() {
    let packet = cat(&[&header(0, 1, 0, 0), b"\x00", &rr(1, 8), &[10, 0, 0, 1]]);
    rejects(
        "A with RDLENGTH 8, 4 bytes present",
        &packet,
        DecodeError::Truncated,
    );
    let packet = cat(&[&header(0, 1, 0, 0), b"\x00", &rr(0xff00, 0xffff)]);
    rejects(
        "unknown type, RDLENGTH 65535, nothing present",
        &packet,
        DecodeError::Truncated,
    );
}

#[test]
fn wrong_rdlength_for_a_and_aaaa() {
    for (rtype, len) in [
        (1u16, 0u16),
        (1, 3),
        (1, 5),
        (1, 16),
        (28, 4),
        (28, 15),
        (28, 17),
    ] {
        let packet = cat(&[
            &header(0, 1, 0, 0),
            b"\x00",
            &rr(rtype, len),
            &vec![7; usize::from(len)],
        ]);
        rejects(
            &format!("type {rtype} RDLENGTH {len}"),
            &packet,
            DecodeError::BadRdata,
        );
    }
}

#[test]
fn hinfo_with_rdlength_0_at_the_very_end() {
    // The 23-byte packet that panics mdns-sd: header (ancount 1), root name, HINFO IN, TTL,
    // RDLENGTH 0, and nothing after.
    let packet = cat(&[&header(0, 1, 0, 0), b"\x00", &rr(13, 0)]);
    assert_eq!(packet.len(), 23);
    rejects("HINFO RDLENGTH 0", &packet, DecodeError::BadRdata);
    // With only the CPU string there is still no OS string.
    let packet = cat(&[&header(0, 1, 0, 0), b"\x00", &rr(13, 2), b"\x01x"]);
    rejects("HINFO without OS", &packet, DecodeError::BadRdata);
}

#[test]
fn txt_string_overruns_rdlength() {
    // RDLENGTH 3, but the string says 5 bytes; the packet has more bytes after, which belong
    // to the next record and must not be borrowed.
    let packet = cat(&[
        &header(0, 2, 0, 0),
        b"\x00",
        &rr(16, 3),
        b"\x05ab",
        b"\x00",
        &rr(1, 4),
        &[10, 0, 0, 1],
    ]);
    rejects("TXT 5 in 3", &packet, DecodeError::BadRdata);
}

#[test]
fn rdata_leftovers_are_an_error() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "PTR with a byte after the name",
            cat(&[&rr(12, 3), b"\x00\x00\x00"]),
        ),
        (
            "SRV with a byte after the target",
            cat(&[&rr(33, 8), &[0, 0, 0, 0, 0, 80, 0, 9]]),
        ),
        (
            "HINFO with a third string",
            cat(&[&rr(13, 3), b"\x00\x00\x00"]),
        ),
        ("SOA one byte short", cat(&[&rr(6, 21), &[0, 0], &[0; 19]])),
        (
            "OPT option longer than RDATA",
            cat(&[&rr(41, 5), &[0, 8, 0, 4, 1]]),
        ),
        (
            "NSEC windows out of order",
            cat(&[&rr(47, 7), &[0, 1, 1, 0x80, 0, 1, 0x40]]),
        ),
        ("NSEC bitmap of 0 bytes", cat(&[&rr(47, 3), &[0, 0, 0]])),
        (
            "NSEC bitmap of 33 bytes",
            cat(&[&rr(47, 36), &[0, 0, 33], &[0xff; 33]]),
        ),
    ];
    for (what, rec) in cases {
        rejects(
            what,
            &cat(&[&header(0, 1, 0, 0), b"\x00", &rec]),
            DecodeError::BadRdata,
        );
    }
}

#[test]
fn duplicate_opt_record() {
    let opt = cat(&[b"\x00", &rr(41, 0)]);
    let packet = cat(&[&header(0, 0, 0, 2), &opt, &opt]);
    rejects("two OPT in additional", &packet, DecodeError::DuplicateOpt);
    let packet = cat(&[&header(0, 1, 0, 1), &opt, &opt]);
    rejects(
        "OPT in answer and additional",
        &packet,
        DecodeError::DuplicateOpt,
    );
    assert!(Message::parse(&cat(&[&header(0, 0, 0, 1), &opt])).is_ok());
}

#[test]
fn one_odd_record_type_does_not_reject_the_packet() {
    let packet = cat(&[
        &header(0, 1, 0, 0),
        b"\x00",
        &rr(0xff00, 3),
        b"\xc0\xff\x00",
    ]);
    assert!(Message::parse(&packet).is_ok());
}
