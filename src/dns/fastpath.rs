//! A cache of our own encoded local answers, so a repeated query for a local name skips
//! decoding and encoding (most of the cost of an answer).
//!
//! Only the plainest queries take this path: QR=0, opcode QUERY, TC clear, one question of
//! class IN with an uncompressed name, no answer or authority records, and either nothing
//! else or a bare OPT record (version 0, no options); any other query takes the full path in
//! [`super::answer`], which also fills the cache. Cached are only authoritative local answers
//! of at most 512 bytes (so they fit every client's size) with at most one answer record
//! (several are rotated per query); never upstream answers. The cache belongs to one zone
//! serial and is emptied when the zone changes, and holds at most [`MAX_ENTRIES`] answers.
//! On a hit, the client's ID, RD and CD bits and its question bytes (original case) are
//! copied into the cached answer. Pure: no clock, no I/O.

use std::collections::HashMap;

/// Answers kept at most; past it the cache starts over.
pub const MAX_ENTRIES: usize = 10_000;
/// The largest answer kept.
const MAX_ANSWER: usize = 512;

/// Where the question ends and whether the query had EDNS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plain {
    /// Offset just past QTYPE and QCLASS.
    pub question_end: usize,
    /// The query carried an OPT record.
    pub edns: bool,
}

/// Recognises a plain query (see the module docs); `None` sends it down the full path.
pub fn plain(packet: &[u8]) -> Option<Plain> {
    let header = packet.get(..12)?;
    let flags = u16::from_be_bytes([header[2], header[3]]);
    // QR, opcode, TC must be zero.
    if flags & 0xfa00 != 0 {
        return None;
    }
    let counts = [
        u16::from_be_bytes([header[4], header[5]]),
        u16::from_be_bytes([header[6], header[7]]),
        u16::from_be_bytes([header[8], header[9]]),
        u16::from_be_bytes([header[10], header[11]]),
    ];
    if counts[0] != 1 || counts[1] != 0 || counts[2] != 0 || counts[3] > 1 {
        return None;
    }
    let mut at = 12;
    loop {
        let len = usize::from(*packet.get(at)?);
        if len == 0 {
            at += 1;
            break;
        }
        if len > 63 {
            return None;
        }
        at += 1 + len;
        if at - 12 > 254 {
            return None;
        }
    }
    let qtype = u16::from_be_bytes([*packet.get(at)?, *packet.get(at + 1)?]);
    let qclass = u16::from_be_bytes([*packet.get(at + 2)?, *packet.get(at + 3)?]);
    // IN only; ANY, AXFR and IXFR take the full path.
    if qclass != 1 || matches!(qtype, 251..=255) {
        return None;
    }
    let question_end = at + 4;
    let rest = packet.get(question_end..)?;
    match (counts[3], rest) {
        (0, []) => Some(Plain {
            question_end,
            edns: false,
        }),
        // Root name, type OPT, any size, extended RCODE 0 and version 0, any flags, no options.
        (1, [0, 0, 41, _, _, 0, 0, _, _, 0, 0]) => Some(Plain {
            question_end,
            edns: true,
        }),
        _ => None,
    }
}

/// The cache.
#[derive(Debug, Default)]
pub struct AnswerCache {
    serial: u32,
    answers: HashMap<Box<[u8]>, Box<[u8]>>,
    key: Vec<u8>,
}

impl AnswerCache {
    /// Fills `key` with the lowercased question and the EDNS flag.
    fn fill_key(key: &mut Vec<u8>, packet: &[u8], q: Plain) -> Option<()> {
        key.clear();
        key.extend(
            packet
                .get(12..q.question_end)?
                .iter()
                .map(u8::to_ascii_lowercase),
        );
        key.push(u8::from(q.edns));
        Some(())
    }

    fn sync(&mut self, serial: u32) {
        if serial != self.serial {
            self.answers.clear();
            self.serial = serial;
        }
    }

    /// The cached answer to `packet` for a zone at `serial`, made out to this query.
    pub fn answer(&mut self, serial: u32, packet: &[u8], q: Plain) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        self.answer_into(serial, packet, q, &mut out).then_some(out)
    }

    /// Appends the cached answer to `packet` to `out` (no allocation once `out` has room);
    /// false, with `out` unchanged, on a miss.
    pub fn answer_into(&mut self, serial: u32, packet: &[u8], q: Plain, out: &mut Vec<u8>) -> bool {
        self.sync(serial);
        if self.answers.is_empty() || Self::fill_key(&mut self.key, packet, q).is_none() {
            return false;
        }
        let (Some(cached), Some(question)) = (
            self.answers.get(self.key.as_slice()),
            packet.get(..q.question_end),
        ) else {
            return false;
        };
        let start = out.len();
        out.extend_from_slice(cached);
        let Some(reply) = out.get_mut(start..start + q.question_end) else {
            out.truncate(start);
            return false;
        };
        // The client's ID and question bytes (its case); RD (0x01 of byte 2) and CD (0x10 of
        // byte 3) as it set them.
        let flags = [reply[2], reply[3]];
        reply.copy_from_slice(question);
        reply[2] = (flags[0] & !0x01) | (question[2] & 0x01);
        reply[3] = (flags[1] & !0x10) | (question[3] & 0x10);
        reply[4..12].copy_from_slice(&cached[4..12]);
        true
    }

    /// Keeps `reply` (our full-path local answer to `packet`) if it may be reused.
    pub fn store(&mut self, serial: u32, packet: &[u8], q: Plain, reply: &[u8]) {
        self.sync(serial);
        let ancount = reply.get(6..8).map(|b| u16::from_be_bytes([b[0], b[1]]));
        if reply.len() > MAX_ANSWER || ancount.is_none_or(|n| n > 1) {
            return;
        }
        if reply.get(12..q.question_end) != packet.get(12..q.question_end) {
            return;
        }
        if self.answers.len() >= MAX_ENTRIES {
            self.answers.clear();
        }
        if Self::fill_key(&mut self.key, packet, q).is_some() {
            self.answers
                .insert(self.key.as_slice().into(), reply.into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::answer::{handle, Context, Outcome};
    use crate::dns::zone::{Data, Source, Zone};
    use koi_wire::dns::{Class, Edns, Header, Message, Name, Question, RecordType};

    fn query(name: &str, id: u16, rd: bool, edns: bool) -> Vec<u8> {
        let mut m = Message::default();
        m.header.id = id;
        m.header.set(Header::RD, rd);
        m.questions.push(Question::new(
            Name::from_dotted(name).unwrap(),
            RecordType::A,
            Class::IN,
        ));
        if edns {
            m.additionals.push(
                Edns {
                    udp_payload_size: 4096,
                    ..Edns::default()
                }
                .to_record(Vec::new()),
            );
        }
        m.encode(512).unwrap()
    }

    #[test]
    fn a_cached_answer_equals_the_full_path_answer() {
        let mut zone = Zone::new(Name::from_dotted("lan").unwrap());
        zone.edit(Source::Static, |t| {
            t.add(
                &Name::from_dotted("nas.lan").unwrap(),
                Data::A("10.0.0.2".parse().unwrap()),
            )
            .unwrap();
        });
        let ctx = Context {
            tcp: false,
            allowed: true,
            rotate: 0,
        };
        let full = |p: &[u8]| match handle(&zone, p, ctx) {
            Outcome::Reply(b, _) => b,
            o => panic!("{o:?}"),
        };
        let mut cache = AnswerCache::default();
        let first = query("nas.lan", 1, true, true);
        let q = plain(&first).unwrap();
        assert_eq!(cache.answer(zone.serial(), &first, q), None);
        cache.store(zone.serial(), &first, q, &full(&first));
        for (name, id, rd, edns) in [
            ("NAS.Lan", 77, false, true),
            ("nas.lan", 9, true, true),
            ("nope.lan", 3, true, true),
        ] {
            let p = query(name, id, rd, edns);
            let q = plain(&p).unwrap();
            match cache.answer(zone.serial(), &p, q) {
                Some(hit) => assert_eq!(hit, full(&p), "{name}"),
                None => assert_eq!(name, "nope.lan"),
            }
        }
        // Without EDNS is another key; a new serial empties the cache.
        let p = query("nas.lan", 5, true, false);
        assert_eq!(cache.answer(zone.serial(), &p, plain(&p).unwrap()), None);
        assert_eq!(cache.answer(zone.serial() + 1, &first, q), None);
    }

    #[test]
    fn only_plain_queries() {
        assert!(plain(&query("a.lan", 1, true, false)).is_some());
        let mut p = query("a.lan", 1, true, false);
        p[2] |= 0x80;
        assert_eq!(plain(&p), None, "QR=1");
        let mut p = query("a.lan", 1, true, false);
        p.push(0);
        assert_eq!(plain(&p), None, "trailing byte");
        assert_eq!(plain(&[0; 11]), None);
        let mut p = query("a.lan", 1, true, false);
        p[12] = 0xc0;
        assert_eq!(plain(&p), None, "compressed");
    }
}
