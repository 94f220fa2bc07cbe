//! The codec's error values: small, `Copy`, and each mapped to what a caller answers with.
//!
//! A [`DecodeError`] from a query means FORMERR for a unicast DNS server and silence for an mDNS
//! responder (RFC 6762 §18: malformed packets are ignored). An [`EncodeError`] is always a bug or
//! a limit in the caller's own data, never the peer's.

use core::fmt;

/// Why a packet was rejected; the whole packet is dropped, never partially used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DecodeError {
    /// The packet ended inside a field: a short header, section counts larger than the records
    /// present, RDLENGTH past the end, a name without its terminator, a lone pointer byte.
    Truncated,
    /// Bytes remain after the last record the header counts.
    TrailingBytes,
    /// RDATA does not match its type: too short, leftover bytes, a TXT or HINFO string that
    /// overruns RDLENGTH, a malformed NSEC bitmap or OPT option.
    BadRdata,
    /// A compression pointer that is not strictly before the start of the current name (to
    /// itself, forward, past the end, in a cycle), or more pointers than a name can need.
    BadPointer,
    /// A label type other than a length or a pointer (0x40 or 0x80 in the top bits; this is
    /// what a "label longer than 63 bytes" is on the wire).
    ReservedLabelType,
    /// A name longer than 255 bytes after decompression.
    NameTooLong,
    /// More than one OPT record (RFC 6891 §6.1.1).
    DuplicateOpt,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DecodeError::Truncated => "DNS message truncated",
            DecodeError::TrailingBytes => "bytes after the last DNS record",
            DecodeError::BadRdata => "malformed DNS record data",
            DecodeError::BadPointer => "invalid DNS compression pointer",
            DecodeError::ReservedLabelType => "reserved DNS label type",
            DecodeError::NameTooLong => "DNS name longer than 255 bytes",
            DecodeError::DuplicateOpt => "more than one OPT record",
        })
    }
}

impl std::error::Error for DecodeError {}

/// Why a message could not be written; nothing is written past the cap in any case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EncodeError {
    /// The message does not fit in the cap the caller gave (and truncation was not asked for,
    /// or not even the header fits).
    CapExceeded,
    /// A length-prefixed field is longer than its prefix can say: a TXT or HINFO string over
    /// 255 bytes, RDATA or an OPT option over 65535 bytes.
    FieldTooLong,
    /// A section holds more than 65535 entries.
    TooManyEntries,
    /// A record's `rtype` disagrees with its `rdata` variant (including `Unknown` data under a
    /// type this codec decodes), so it would not read back as written.
    TypeMismatch,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EncodeError::CapExceeded => "DNS message exceeds the size cap",
            EncodeError::FieldTooLong => "DNS field too long for its length prefix",
            EncodeError::TooManyEntries => "more than 65535 entries in a DNS section",
            EncodeError::TypeMismatch => "record type does not match its data",
        })
    }
}

impl std::error::Error for EncodeError {}
