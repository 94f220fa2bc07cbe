//! DNS and mDNS messages (RFC 1035, RFC 6762, RFC 6763, RFC 6891), shared by koi's mDNS
//! responder and its unicast DNS server.
//!
//! This module owns the wire format only: [`Message::parse`] turns a datagram into an owned
//! [`Message`], [`Message::encode`] and [`Message::encode_truncating`] turn one back into bytes
//! under a hard size cap. It does no I/O, reads no clock, and makes no protocol decisions.
//!
//! Invariants:
//! - Parsing never panics, never reads out of bounds (every read goes through a checked cursor),
//!   and allocates in proportion to the packet, never to the counts it claims.
//! - A packet is accepted whole or rejected whole with a small `Copy` [`DecodeError`]: counts
//!   larger than the records present, trailing bytes, RDATA not consumed exactly by its type,
//!   bad compression pointers, reserved label types, names over 255 bytes, a second OPT record.
//!   Callers answer FORMERR (unicast DNS) or stay silent (mDNS).
//! - Decompression terminates: each pointer goes strictly backwards (the first one before the
//!   start of the name being read), at most [`MAX_POINTERS`] per name, and the name stops
//!   growing at 255 bytes.
//! - What parses re-encodes to a message that parses equal (`parse ∘ encode = id` on parsed
//!   messages; the `fuzzing` door checks this), with case preserved and classes kept raw.
//! - Record types and classes are open ([`RecordType`] is `struct RecordType(pub u16)`): an
//!   unknown type is kept as [`RData::Unknown`] bytes and round-trips unchanged.
//! - The writer never passes its cap; see [`Message::encode_truncating`] for TC.
//!
//! Labels are arbitrary bytes (RFC 6763 §4.3 instance names may hold dots, spaces and UTF-8) and
//! compare case-insensitively for ASCII only; [`Name`] displays dots inside labels as `\.`.
//!
//! Not supported, on purpose: DNSSEC validation and the RRSIG/DNSKEY/DS formats (kept as
//! `Unknown`), IDNA/punycode conversion, the master-file format beyond [`Name::from_dotted`],
//! extended label types (RFC 6891 §5 deprecated them), decompression of names inside RDATA
//! of types other than NS, CNAME, PTR, MX, SRV, SOA and NSEC, and messages over 65535 bytes.

mod error;
mod message;
mod name;
mod rdata;
mod reader;
mod types;
mod writer;

pub use error::{DecodeError, EncodeError};
pub use message::{Edns, Header, Message, Question, Record};
pub use name::{Labels, Name, NameError, MAX_LABEL_LEN, MAX_NAME_LEN, MAX_POINTERS};
pub use rdata::RData;
pub use types::{Class, Opcode, Rcode, RecordType, MDNS_CLASS_TOP_BIT};
pub use writer::{Encoded, MAX_MESSAGE_LEN};

/// Fuzz and property-test entry points; not a stable API.
#[doc(hidden)]
pub mod fuzzing {
    use super::{EncodeError, Header, Message, MAX_MESSAGE_LEN};

    /// Parses `data`; for a message, checks that encoding and re-parsing gives it back, that the
    /// re-encoding is byte-stable, and that a truncated encoding parses to a prefix of it with
    /// TC set. Panics only when one of those invariants is broken.
    pub fn dns_message(data: &[u8]) {
        let Ok(msg) = Message::parse(data) else {
            return;
        };
        match msg.encode(MAX_MESSAGE_LEN) {
            Ok(bytes) => {
                let again = match Message::parse(&bytes) {
                    Ok(again) => again,
                    Err(e) => panic!("our own encoding does not parse: {e:?}"),
                };
                assert_eq!(again, msg, "parse(encode(m)) != m");
                assert_eq!(
                    again.encode(MAX_MESSAGE_LEN).as_ref(),
                    Ok(&bytes),
                    "encoding is not stable"
                );
            }
            // Decompression can expand a packet past the largest message: no invariant broken.
            Err(EncodeError::CapExceeded) => {}
            Err(e) => panic!("a parsed message does not encode: {e:?}"),
        }
        check_truncated(&msg, 512);
    }

    fn check_truncated(msg: &Message, cap: usize) {
        let encoded = match msg.encode_truncating(cap) {
            Ok(encoded) => encoded,
            Err(e) => panic!("truncating encode failed: {e:?}"),
        };
        assert!(encoded.bytes.len() <= cap, "writer passed its cap");
        let part = match Message::parse(&encoded.bytes) {
            Ok(part) => part,
            Err(e) => panic!("truncated encoding does not parse: {e:?}"),
        };
        let [qd, an, ns, ar] = encoded.counts.map(usize::from);
        assert_eq!(msg.questions.get(..qd), Some(&part.questions[..]));
        assert_eq!(msg.answers.get(..an), Some(&part.answers[..]));
        assert_eq!(msg.authorities.get(..ns), Some(&part.authorities[..]));
        assert_eq!(msg.additionals.get(..ar), Some(&part.additionals[..]));
        assert_eq!(
            part.header.tc(),
            encoded.truncated || msg.header.has(Header::TC)
        );
        if !encoded.truncated {
            assert_eq!(&part, msg);
        }
    }
}
