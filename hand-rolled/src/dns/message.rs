//! Messages: header, questions, the three record sections, and [`Message::parse`].
//!
//! Invariants of a parsed message: every counted entry was present and well-formed, nothing
//! follows the last one, and there is at most one OPT record. Classes are kept as the raw 16-bit
//! wire value so everything round-trips; the mDNS top bit is read through accessors
//! ([`Question::unicast_response`], [`Record::cache_flush`]). The OPT record's class is the
//! UDP payload size and its TTL holds the extended RCODE, version and DO bit, so accessors never
//! read those as a class or cache-flush bit; use [`Message::edns`]. Decoded messages own their
//! data. Section counts from the wire never size an allocation: entries are pushed as they are
//! read, so memory stays proportional to the packet.

use super::error::DecodeError;
use super::name::Name;
use super::rdata::RData;
use super::reader::Reader;
use super::types::{Class, Opcode, Rcode, RecordType, MDNS_CLASS_TOP_BIT};

/// The fixed header without its section counts, which are derived from the sections on write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Header {
    /// Transaction ID (zero in mDNS multicast responses).
    pub id: u16,
    /// The raw flags word: QR, opcode, AA, TC, RD, RA, Z, AD, CD, RCODE.
    pub flags: u16,
}

impl Header {
    /// The message is a response.
    pub const QR: u16 = 0x8000;
    /// Authoritative answer.
    pub const AA: u16 = 0x0400;
    /// Truncated (mDNS queries: more known answers follow).
    pub const TC: u16 = 0x0200;
    /// Recursion desired.
    pub const RD: u16 = 0x0100;
    /// Recursion available.
    pub const RA: u16 = 0x0080;
    /// Authentic data (RFC 4035).
    pub const AD: u16 = 0x0020;
    /// Checking disabled (RFC 4035).
    pub const CD: u16 = 0x0010;

    /// Whether all bits of `flag` (one of the constants above) are set.
    pub fn has(&self, flag: u16) -> bool {
        self.flags & flag == flag
    }

    /// Sets or clears `flag`.
    pub fn set(&mut self, flag: u16, on: bool) {
        if on {
            self.flags |= flag;
        } else {
            self.flags &= !flag;
        }
    }

    /// Whether this is a response (QR).
    pub fn qr(&self) -> bool {
        self.has(Header::QR)
    }

    /// Whether the answer is authoritative (AA).
    pub fn aa(&self) -> bool {
        self.has(Header::AA)
    }

    /// Whether the message was truncated (TC).
    pub fn tc(&self) -> bool {
        self.has(Header::TC)
    }

    /// Whether recursion is desired (RD).
    pub fn rd(&self) -> bool {
        self.has(Header::RD)
    }

    /// Whether recursion is available (RA).
    pub fn ra(&self) -> bool {
        self.has(Header::RA)
    }

    /// The four-bit opcode.
    pub fn opcode(&self) -> Opcode {
        Opcode(((self.flags >> 11) & 0xf) as u8)
    }

    /// Sets the opcode (its low four bits).
    pub fn set_opcode(&mut self, opcode: Opcode) {
        self.flags = (self.flags & !0x7800) | (u16::from(opcode.0 & 0xf) << 11);
    }

    /// The four header bits of the RCODE; see [`Message::rcode`] for the EDNS-extended value.
    pub fn rcode(&self) -> Rcode {
        Rcode(self.flags & 0xf)
    }

    /// Sets the four header bits of the RCODE (the low four bits of `rcode`).
    pub fn set_rcode(&mut self, rcode: Rcode) {
        self.flags = (self.flags & !0xf) | (rcode.0 & 0xf);
    }
}

/// An entry of the question section.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Question {
    /// The name asked about.
    pub name: Name,
    /// The type asked for (may be [`RecordType::ANY`]).
    pub qtype: RecordType,
    /// The raw class field, including the mDNS QU bit.
    pub qclass: u16,
}

impl Question {
    /// A question with the QU bit clear.
    pub fn new(name: Name, qtype: RecordType, class: Class) -> Question {
        Question {
            name,
            qtype,
            qclass: class.0 & !MDNS_CLASS_TOP_BIT,
        }
    }

    /// The class without the QU bit.
    pub fn class(&self) -> Class {
        Class(self.qclass & !MDNS_CLASS_TOP_BIT)
    }

    /// The mDNS QU bit: the querier asks for a unicast response (RFC 6762 §5.4).
    pub fn unicast_response(&self) -> bool {
        self.qclass & MDNS_CLASS_TOP_BIT != 0
    }

    /// Sets or clears the QU bit.
    pub fn set_unicast_response(&mut self, on: bool) {
        set_top_bit(&mut self.qclass, on);
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Question, DecodeError> {
        Ok(Question {
            name: Name::read(r)?,
            qtype: RecordType(r.u16()?),
            qclass: r.u16()?,
        })
    }
}

/// A resource record of the answer, authority or additional section.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Record {
    /// The owner name.
    pub name: Name,
    /// The type; must agree with `rdata` (checked on write).
    pub rtype: RecordType,
    /// The raw class field: class plus the mDNS cache-flush bit, or for OPT the UDP payload size.
    pub rclass: u16,
    /// Time to live in seconds; for OPT, extended RCODE, version and flags.
    pub ttl: u32,
    /// The record data.
    pub rdata: RData,
}

impl Record {
    /// A record with the cache-flush bit clear; `rtype` must match `rdata` unless it is
    /// [`RData::Unknown`].
    pub fn new(name: Name, rtype: RecordType, class: Class, ttl: u32, rdata: RData) -> Record {
        Record {
            name,
            rtype,
            rclass: class.0 & !MDNS_CLASS_TOP_BIT,
            ttl,
            rdata,
        }
    }

    /// Whether this is the EDNS0 OPT pseudo-record.
    pub fn is_opt(&self) -> bool {
        self.rtype == RecordType::OPT
    }

    /// The class without the cache-flush bit; for OPT, the raw field (the UDP payload size).
    pub fn class(&self) -> Class {
        if self.is_opt() {
            Class(self.rclass)
        } else {
            Class(self.rclass & !MDNS_CLASS_TOP_BIT)
        }
    }

    /// The mDNS cache-flush bit: this record replaces all cached ones of its name, type and
    /// class (RFC 6762 §10.2). Always false for OPT.
    pub fn cache_flush(&self) -> bool {
        !self.is_opt() && self.rclass & MDNS_CLASS_TOP_BIT != 0
    }

    /// Sets or clears the cache-flush bit; does nothing to OPT.
    pub fn set_cache_flush(&mut self, on: bool) {
        if !self.is_opt() {
            set_top_bit(&mut self.rclass, on);
        }
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Record, DecodeError> {
        let name = Name::read(r)?;
        let rtype = RecordType(r.u16()?);
        let rclass = r.u16()?;
        let ttl = r.u32()?;
        let rdlength = r.u16()?;
        let mut rdata = r.sub(usize::from(rdlength))?;
        Ok(Record {
            name,
            rtype,
            rclass,
            ttl,
            rdata: RData::read(rtype, &mut rdata)?,
        })
    }
}

fn set_top_bit(field: &mut u16, on: bool) {
    if on {
        *field |= MDNS_CLASS_TOP_BIT;
    } else {
        *field &= !MDNS_CLASS_TOP_BIT;
    }
}

/// The EDNS0 parameters carried in an OPT record's class and TTL (RFC 6891 §6.1.3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Edns {
    /// The largest UDP payload the sender can reassemble.
    pub udp_payload_size: u16,
    /// The upper eight bits of the twelve-bit RCODE.
    pub extended_rcode: u8,
    /// The EDNS version (0).
    pub version: u8,
    /// The flags word; [`Edns::DO`] is its top bit.
    pub flags: u16,
}

impl Edns {
    /// DNSSEC OK.
    pub const DO: u16 = 0x8000;

    /// Reads the parameters of an OPT record, or `None` if `record` is not one.
    pub fn from_record(record: &Record) -> Option<Edns> {
        if !record.is_opt() {
            return None;
        }
        let [extended_rcode, version, hi, lo] = record.ttl.to_be_bytes();
        Some(Edns {
            udp_payload_size: record.rclass,
            extended_rcode,
            version,
            flags: u16::from_be_bytes([hi, lo]),
        })
    }

    /// Whether the sender wants DNSSEC records.
    pub fn dnssec_ok(&self) -> bool {
        self.flags & Edns::DO != 0
    }

    /// The OPT record (owner root) carrying these parameters and `options`.
    pub fn to_record(&self, options: Vec<(u16, Vec<u8>)>) -> Record {
        let [hi, lo] = self.flags.to_be_bytes();
        Record {
            name: Name::root(),
            rtype: RecordType::OPT,
            rclass: self.udp_payload_size,
            ttl: u32::from_be_bytes([self.extended_rcode, self.version, hi, lo]),
            rdata: RData::Opt(options),
        }
    }
}

/// A whole DNS or mDNS message.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Message {
    /// ID and flags.
    pub header: Header,
    /// The question section.
    pub questions: Vec<Question>,
    /// The answer section.
    pub answers: Vec<Record>,
    /// The authority section (in mDNS probes, the proposed records).
    pub authorities: Vec<Record>,
    /// The additional section, where the OPT record lives.
    pub additionals: Vec<Record>,
}

impl Message {
    /// Decodes a whole datagram; any malformation rejects all of it.
    pub fn parse(data: &[u8]) -> Result<Message, DecodeError> {
        let mut r = Reader::new(data);
        let header = Header {
            id: r.u16()?,
            flags: r.u16()?,
        };
        let counts = [r.u16()?, r.u16()?, r.u16()?, r.u16()?];
        let [qd, an, ns, ar] = counts;
        let msg = Message {
            header,
            questions: read_entries(&mut r, qd, Question::read)?,
            answers: read_entries(&mut r, an, Record::read)?,
            authorities: read_entries(&mut r, ns, Record::read)?,
            additionals: read_entries(&mut r, ar, Record::read)?,
        };
        r.expect_empty(DecodeError::TrailingBytes)?;
        if msg.records().filter(|rec| rec.is_opt()).count() > 1 {
            return Err(DecodeError::DuplicateOpt);
        }
        Ok(msg)
    }

    /// All records of the answer, authority and additional sections, in order.
    pub fn records(&self) -> impl Iterator<Item = &Record> {
        self.answers
            .iter()
            .chain(&self.authorities)
            .chain(&self.additionals)
    }

    /// The OPT record of the additional section, if any.
    pub fn opt(&self) -> Option<&Record> {
        self.additionals.iter().find(|rec| rec.is_opt())
    }

    /// The EDNS0 parameters, if the message has an OPT record in its additional section.
    pub fn edns(&self) -> Option<Edns> {
        self.opt().and_then(Edns::from_record)
    }

    /// The full RCODE: the header's four bits, extended by the OPT record's eight if present.
    pub fn rcode(&self) -> Rcode {
        let ext = self.edns().map_or(0, |e| u16::from(e.extended_rcode));
        Rcode((ext << 4) | self.header.rcode().0)
    }
}

/// Reads `count` entries, growing the vector only as entries actually decode.
fn read_entries<T>(
    r: &mut Reader<'_>,
    count: u16,
    read: fn(&mut Reader<'_>) -> Result<T, DecodeError>,
) -> Result<Vec<T>, DecodeError> {
    let mut entries = Vec::new();
    for _ in 0..count {
        entries.push(read(r)?);
    }
    Ok(entries)
}
