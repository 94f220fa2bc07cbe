//! The pure query handler: bytes of one query in, what to do about it out.
//!
//! Owns every protocol decision of the server: silence for responses (QR=1) and runts, FORMERR
//! for undecodable queries and QDCOUNT ≠ 1, NOTIMP for opcodes other than QUERY, BADVERS for
//! EDNS versions above 0, REFUSED for clients outside the served subnets (no open recursion),
//! for zone transfers and for classes other than IN; authoritative answers for the local zone
//! (NODATA and NXDOMAIN kept apart, each with the SOA; an empty non-terminal is NODATA), PTR for local addresses, a minimal
//! answer to ANY (RFC 8482), and "forward this" for everything else. UDP answers are capped
//! at the client's EDNS size, never above 1232 bytes (512 without EDNS); one that does not fit
//! goes out empty with TC set.
//!
//! It never reads a clock, never touches a socket, and never panics on input (fuzzed through
//! [`crate::dns::fuzzing`]).

use super::zone::{parse_reverse, Data, Source, Zone, NEGATIVE_TTL};
use koi_wire::dns::{Class, Edns, Header, Message, Name, Opcode, RData, Rcode, Record, RecordType};

/// The largest UDP answer we send (the DNS flag day 2020 value).
pub const MAX_UDP: u16 = 1232;
/// AXFR and IXFR question types.
const AXFR: RecordType = RecordType(252);
const IXFR: RecordType = RecordType(251);

/// What the shell knows about a query besides its bytes.
#[derive(Clone, Copy, Debug)]
pub struct Context {
    /// Over TCP (no size cap, no truncation).
    pub tcp: bool,
    /// The client is inside a subnet we serve.
    pub allowed: bool,
    /// Rotates round-robin answers (any changing number, e.g. a query counter).
    pub rotate: usize,
}

/// Why an answer was given, for the statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Answered from the local zone (or a reverse name of it, or ANY).
    Local(Option<Source>),
    /// REFUSED (outside our subnets, zone transfer, other class).
    Refused,
    /// FORMERR, NOTIMP or BADVERS.
    Error,
}

/// What to do with a query.
#[derive(Debug)]
pub enum Outcome {
    /// Say nothing (a response, or not even a header).
    Drop,
    /// Send these bytes back.
    Reply(Vec<u8>, Kind),
    /// Ask the upstream; answer within `cap` bytes (UDP) once it replies.
    Forward(Box<Message>, usize),
}

/// Handles one query.
pub fn handle(zone: &Zone, packet: &[u8], ctx: Context) -> Outcome {
    let Some(header) = peek_header(packet) else {
        return Outcome::Drop;
    };
    if header.qr() {
        return Outcome::Drop;
    }
    let query = match Message::parse(packet) {
        Ok(q) => q,
        Err(_) => return error_reply(header, None, Rcode::FORMERR, ctx),
    };
    let edns = query.edns();
    if header.opcode() != Opcode::QUERY {
        return error_reply(header, one_question(&query), Rcode::NOTIMP, ctx).with_edns(edns);
    }
    let [question] = query.questions.as_slice() else {
        return error_reply(header, None, Rcode::FORMERR, ctx).with_edns(edns);
    };
    let cap = reply_cap(edns, ctx.tcp);
    let mut reply = reply_to(&query, edns);
    if edns.is_some_and(|e| e.version != 0) {
        return finish(reply, Rcode::BADVERS, cap, Kind::Error);
    }
    if !ctx.allowed || question.class() != Class::IN || matches!(question.qtype, AXFR | IXFR) {
        return finish(reply, Rcode::REFUSED, cap, Kind::Refused);
    }
    reply.header.set(Header::RA, true);
    if zone.contains(&question.name) {
        reply.header.set(Header::AA, true);
        let (rcode, source) = local(zone, question, &mut reply, ctx.rotate);
        return finish(reply, rcode, cap, Kind::Local(source));
    }
    if question.qtype == RecordType::PTR {
        if let Some((source, name)) = parse_reverse(&question.name).and_then(|ip| zone.reverse(ip))
        {
            reply.header.set(Header::AA, true);
            reply
                .answers
                .push(record(&question.name, source.ttl(), RData::Ptr(name)));
            return finish(reply, Rcode::NOERROR, cap, Kind::Local(Some(source)));
        }
    }
    if question.qtype == RecordType::ANY {
        // RFC 8482 §4.2: one synthesized HINFO instead of everything the upstream knows.
        reply.answers.push(record(
            &question.name,
            3789,
            RData::Hinfo {
                cpu: b"RFC8482".to_vec(),
                os: Vec::new(),
            },
        ));
        return finish(reply, Rcode::NOERROR, cap, Kind::Local(None));
    }
    Outcome::Forward(Box::new(query), cap)
}

/// A TC-only reply to `packet` (the rate limiter's slip), or `None` if it is not a query we
/// would answer at all.
pub fn truncated(packet: &[u8]) -> Option<Vec<u8>> {
    let header = peek_header(packet)?;
    if header.qr() {
        return None;
    }
    let query = Message::parse(packet).ok()?;
    let mut reply = reply_to(&query, query.edns());
    reply.header.set(Header::TC, true);
    reply.encode(usize::from(MAX_UDP)).ok()
}

/// The header of `packet`, if it has one.
fn peek_header(packet: &[u8]) -> Option<Header> {
    let id = u16::from_be_bytes([*packet.first()?, *packet.get(1)?]);
    let flags = u16::from_be_bytes([*packet.get(2)?, *packet.get(3)?]);
    (packet.len() >= 12).then_some(Header { id, flags })
}

fn one_question(query: &Message) -> Option<&koi_wire::dns::Question> {
    match query.questions.as_slice() {
        [q] => Some(q),
        _ => None,
    }
}

/// The UDP size cap: the client's EDNS size clamped to 512..=1232, 512 without EDNS; TCP has
/// the whole 64 KiB.
pub fn reply_cap(edns: Option<Edns>, tcp: bool) -> usize {
    if tcp {
        return usize::from(u16::MAX);
    }
    usize::from(edns.map_or(512, |e| e.udp_payload_size.clamp(512, MAX_UDP)))
}

/// An empty reply: same ID, opcode, RD and CD, the question, and an OPT if the query had one.
pub fn reply_to(query: &Message, edns: Option<Edns>) -> Message {
    let mut header = Header {
        id: query.header.id,
        flags: Header::QR,
    };
    header.set_opcode(query.header.opcode());
    header.set(Header::RD, query.header.rd());
    header.set(Header::CD, query.header.has(Header::CD));
    let mut reply = Message {
        header,
        questions: query.questions.clone(),
        ..Message::default()
    };
    if edns.is_some() {
        reply.additionals.push(our_opt(0));
    }
    reply
}

fn our_opt(extended_rcode: u8) -> Record {
    Edns {
        udp_payload_size: MAX_UDP,
        extended_rcode,
        version: 0,
        flags: 0,
    }
    .to_record(Vec::new())
}

fn error_reply(
    header: Header,
    question: Option<&koi_wire::dns::Question>,
    rcode: Rcode,
    ctx: Context,
) -> Outcome {
    let mut h = Header {
        id: header.id,
        flags: Header::QR,
    };
    h.set_opcode(header.opcode());
    h.set(Header::RD, header.rd());
    let reply = Message {
        header: h,
        questions: question.into_iter().cloned().collect(),
        ..Message::default()
    };
    finish(reply, rcode, reply_cap(None, ctx.tcp), Kind::Error)
}

impl Outcome {
    /// Adds our OPT to an error reply if the query had EDNS.
    fn with_edns(self, edns: Option<Edns>) -> Outcome {
        let Outcome::Reply(bytes, kind) = self else {
            return self;
        };
        if edns.is_none() {
            return Outcome::Reply(bytes, kind);
        }
        match Message::parse(&bytes) {
            Ok(mut m) => {
                m.additionals.push(our_opt(0));
                match m.encode(usize::from(MAX_UDP)) {
                    Ok(b) => Outcome::Reply(b, kind),
                    Err(_) => Outcome::Reply(bytes, kind),
                }
            }
            Err(_) => Outcome::Reply(bytes, kind),
        }
    }
}

/// Sets the RCODE (extended bits into the OPT), encodes within `cap`, and past it sends the
/// header, question and OPT with TC set.
fn finish(mut reply: Message, rcode: Rcode, cap: usize, kind: Kind) -> Outcome {
    reply.header.set_rcode(rcode);
    let ext = u8::try_from(rcode.0 >> 4).unwrap_or(0);
    if ext != 0 {
        if let Some(opt) = reply.additionals.iter_mut().find(|r| r.is_opt()) {
            *opt = our_opt(ext);
        }
    }
    match encode_capped(&reply, cap) {
        Some(bytes) => Outcome::Reply(bytes, kind),
        None => Outcome::Drop,
    }
}

/// Encodes `reply` whole if it fits in `cap`; otherwise only its header, question and OPT,
/// with TC set, so the client retries over TCP.
pub fn encode_capped(reply: &Message, cap: usize) -> Option<Vec<u8>> {
    if let Ok(bytes) = reply.encode(cap) {
        return Some(bytes);
    }
    let mut short = Message {
        header: reply.header,
        questions: reply.questions.clone(),
        additionals: reply
            .additionals
            .iter()
            .filter(|r| r.is_opt())
            .cloned()
            .collect(),
        ..Message::default()
    };
    short.header.set(Header::TC, true);
    short.encode(cap).ok()
}

fn record(name: &Name, ttl: u32, rdata: RData) -> Record {
    let rtype = rdata.rtype().unwrap_or(RecordType(0));
    Record::new(name.clone(), rtype, Class::IN, ttl, rdata)
}

/// Answers a question inside the zone; returns the RCODE and the source that owned the name.
fn local(
    zone: &Zone,
    question: &koi_wire::dns::Question,
    reply: &mut Message,
    rotate: usize,
) -> (Rcode, Option<Source>) {
    let name = &question.name;
    let qtype = question.qtype;
    if *name == *zone.origin() {
        if matches!(qtype, RecordType::SOA | RecordType::ANY) {
            reply.answers.push(soa(zone, NEGATIVE_TTL));
        } else {
            reply.authorities.push(soa(zone, NEGATIVE_TTL));
        }
        return (Rcode::NOERROR, None);
    }
    let Some((source, data)) = zone.lookup(name) else {
        reply.authorities.push(soa(zone, NEGATIVE_TTL));
        // An empty non-terminal (`_tcp.lan` above `_grafana._tcp.lan`) exists: NODATA.
        return match zone.has_below(name) {
            Some(source) => (Rcode::NOERROR, Some(source)),
            None => (Rcode::NXDOMAIN, None),
        };
    };
    let ttl = source.ttl();
    let wanted: Vec<&Data> = if qtype == RecordType::ANY {
        // RFC 8482: one RRset, the first type the name has.
        let first = data.first().map(Data::type_name);
        data.iter()
            .filter(|d| Some(d.type_name()) == first)
            .collect()
    } else {
        data.iter().filter(|d| matches_type(d, qtype)).collect()
    };
    if wanted.is_empty() {
        reply.authorities.push(soa(zone, NEGATIVE_TTL));
        return (Rcode::NOERROR, Some(source));
    }
    let n = wanted.len();
    for i in 0..n {
        let d = wanted[(i + rotate) % n];
        reply.answers.push(record(name, ttl, to_rdata(d)));
        if let Data::Srv { target, .. } = d {
            add_addresses(zone, target, reply);
        }
    }
    (Rcode::NOERROR, Some(source))
}

/// Adds the addresses of an SRV target to the additional section (before any OPT).
fn add_addresses(zone: &Zone, target: &Name, reply: &mut Message) {
    let Some((source, data)) = zone.lookup(target) else {
        return;
    };
    let at = reply
        .additionals
        .iter()
        .position(Record::is_opt)
        .unwrap_or(reply.additionals.len());
    let mut extra: Vec<Record> = data
        .iter()
        .filter(|d| matches!(d, Data::A(_) | Data::Aaaa(_)))
        .map(|d| record(target, source.ttl(), to_rdata(d)))
        .filter(|r| !reply.additionals.contains(r))
        .collect();
    let tail = reply.additionals.split_off(at);
    reply.additionals.append(&mut extra);
    reply.additionals.extend(tail);
}

fn matches_type(d: &Data, qtype: RecordType) -> bool {
    matches!(
        (d, qtype),
        (Data::A(_), RecordType::A)
            | (Data::Aaaa(_), RecordType::AAAA)
            | (Data::Srv { .. }, RecordType::SRV)
            | (Data::Txt(_), RecordType::TXT)
    )
}

fn to_rdata(d: &Data) -> RData {
    match d {
        Data::A(a) => RData::A(*a),
        Data::Aaaa(a) => RData::Aaaa(*a),
        Data::Srv { port, target } => RData::Srv {
            priority: 0,
            weight: 0,
            port: *port,
            target: target.clone(),
        },
        Data::Txt(t) => RData::Txt(t.clone()),
    }
}

/// The zone's SOA record.
pub fn soa(zone: &Zone, ttl: u32) -> Record {
    let origin = zone.origin();
    let mname = origin
        .prepend_label("koi")
        .unwrap_or_else(|_| origin.clone());
    let rname = origin
        .prepend_label("hostmaster")
        .unwrap_or_else(|_| origin.clone());
    record(
        origin,
        ttl,
        RData::Soa {
            mname,
            rname,
            serial: zone.serial(),
            refresh: 3600,
            retry: 600,
            expire: 86400,
            minimum: NEGATIVE_TTL,
        },
    )
}

#[cfg(test)]
mod tests;
