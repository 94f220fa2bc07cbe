//! DER (ITU-T X.690, distinguished encoding rules): the read-only subset koi needs to look
//! inside X.509 certificates and PKCS#10 certificate requests (see [`x509`]).
//!
//! What it owns: a bounded cursor over tag-length-value items, where every read can fail and a
//! constructed item gets a sub-reader that ends where the item ends.
//!
//! What it refuses, by design: the high-tag-number form (tag byte `0x1f` in the low bits),
//! indefinite lengths (that is BER, not DER), non-minimal lengths, lengths over 4 bytes, and
//! trailing bytes after the outermost item. It never allocates while reading and never recurses,
//! so work is linear in the input and memory constant.

#[doc(hidden)]
pub mod fuzzing;
pub mod x509;

use std::fmt;

/// Why some bytes are not the DER we expected. Messages never echo input bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DerError {
    /// The input ends inside an item.
    Truncated,
    /// A length that is indefinite, non-minimal or longer than 4 bytes.
    BadLength,
    /// A tag in the high-tag-number form.
    BadTag,
    /// An item other than the one the structure requires here.
    Unexpected {
        /// The tag the structure requires.
        want: u8,
        /// The tag found.
        got: u8,
    },
    /// Bytes left over after an item or structure that must end there.
    Trailing,
    /// A value that is malformed for its type (a time, a bit string, an OID).
    BadValue(&'static str),
}

impl fmt::Display for DerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DerError::Truncated => f.write_str("DER item truncated"),
            DerError::BadLength => f.write_str("DER length not in minimal definite form"),
            DerError::BadTag => f.write_str("DER tag in high-tag-number form"),
            DerError::Unexpected { want, got } => {
                write!(f, "DER tag {got:#04x} where {want:#04x} was expected")
            }
            DerError::Trailing => f.write_str("bytes left over after a DER item"),
            DerError::BadValue(what) => write!(f, "malformed DER {what}"),
        }
    }
}

impl std::error::Error for DerError {}

/// Universal tags koi reads (constructed bit included where it applies).
pub mod tag {
    /// BOOLEAN.
    pub const BOOLEAN: u8 = 0x01;
    /// INTEGER.
    pub const INTEGER: u8 = 0x02;
    /// BIT STRING.
    pub const BIT_STRING: u8 = 0x03;
    /// OCTET STRING.
    pub const OCTET_STRING: u8 = 0x04;
    /// NULL.
    pub const NULL: u8 = 0x05;
    /// OBJECT IDENTIFIER.
    pub const OID: u8 = 0x06;
    /// UTF8String.
    pub const UTF8_STRING: u8 = 0x0c;
    /// PrintableString.
    pub const PRINTABLE_STRING: u8 = 0x13;
    /// IA5String.
    pub const IA5_STRING: u8 = 0x16;
    /// UTCTime.
    pub const UTC_TIME: u8 = 0x17;
    /// GeneralizedTime.
    pub const GENERALIZED_TIME: u8 = 0x18;
    /// SEQUENCE (constructed).
    pub const SEQUENCE: u8 = 0x30;
    /// SET (constructed).
    pub const SET: u8 = 0x31;
    /// `[n]` context-specific, constructed (EXPLICIT tagging).
    pub const fn explicit(n: u8) -> u8 {
        0xa0 | n
    }
    /// `[n]` context-specific, primitive (IMPLICIT tagging of a primitive type).
    pub const fn implicit(n: u8) -> u8 {
        0x80 | n
    }
}

/// One tag-length-value item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The tag byte.
    pub tag: u8,
    /// The value (contents) bytes.
    pub value: &'a [u8],
    /// The whole item: tag, length and value (what a signature covers).
    pub raw: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// A reader over this item's contents.
    pub fn contents(&self) -> Der<'a> {
        Der::new(self.value)
    }
}

/// A cursor over a run of DER items. Invariant: `rest` is the unread input.
#[derive(Clone, Debug)]
pub struct Der<'a> {
    rest: &'a [u8],
}

impl<'a> Der<'a> {
    /// A reader over `input`.
    pub fn new(input: &'a [u8]) -> Der<'a> {
        Der { rest: input }
    }

    /// Whether everything has been read.
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The next item's tag, without consuming it.
    pub fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// Reads the next item, whatever its tag.
    pub fn read(&mut self) -> Result<Tlv<'a>, DerError> {
        let (&tag, after_tag) = self.rest.split_first().ok_or(DerError::Truncated)?;
        if tag & 0x1f == 0x1f {
            return Err(DerError::BadTag);
        }
        let (len, header) = read_length(after_tag)?;
        let total = header
            .checked_add(1)
            .and_then(|h| h.checked_add(len))
            .ok_or(DerError::BadLength)?;
        let (raw, rest) = self
            .rest
            .split_at_checked(total)
            .ok_or(DerError::Truncated)?;
        self.rest = rest;
        Ok(Tlv {
            tag,
            value: raw.get(1 + header..).ok_or(DerError::Truncated)?,
            raw,
        })
    }

    /// Reads the next item, which must have tag `want`.
    pub fn expect(&mut self, want: u8) -> Result<Tlv<'a>, DerError> {
        let got = self.peek_tag().ok_or(DerError::Truncated)?;
        if got != want {
            return Err(DerError::Unexpected { want, got });
        }
        self.read()
    }

    /// Reads the next item if its tag is `want`; otherwise reads nothing.
    pub fn optional(&mut self, want: u8) -> Result<Option<Tlv<'a>>, DerError> {
        match self.peek_tag() {
            Some(t) if t == want => self.read().map(Some),
            _ => Ok(None),
        }
    }

    /// A sub-reader over the contents of the next item, which must have tag `want`.
    pub fn enter(&mut self, want: u8) -> Result<Der<'a>, DerError> {
        self.expect(want).map(|t| t.contents())
    }

    /// Succeeds only if everything has been read.
    pub fn finish(&self) -> Result<(), DerError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(DerError::Trailing)
        }
    }
}

/// Decodes a length after the tag byte: (length, bytes the length took).
fn read_length(input: &[u8]) -> Result<(usize, usize), DerError> {
    let (&first, rest) = input.split_first().ok_or(DerError::Truncated)?;
    if first < 0x80 {
        return Ok((usize::from(first), 1));
    }
    let n = usize::from(first & 0x7f);
    if n == 0 || n > 4 {
        return Err(DerError::BadLength); // indefinite (BER) or absurdly long
    }
    let bytes = rest.get(..n).ok_or(DerError::Truncated)?;
    if bytes.first() == Some(&0) {
        return Err(DerError::BadLength); // a leading zero byte is not minimal
    }
    let len = bytes
        .iter()
        .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
    if len < 0x80 {
        return Err(DerError::BadLength); // fits the short form
    }
    Ok((len, 1 + n))
}

/// Parses the whole of `input` as exactly one item with tag `want`.
pub fn single(input: &[u8], want: u8) -> Result<Tlv<'_>, DerError> {
    let mut d = Der::new(input);
    let tlv = d.expect(want)?;
    d.finish()?;
    Ok(tlv)
}

/// The bits of a BIT STRING whose bit count is a multiple of 8 (keys, signatures).
pub fn bit_string_bytes(value: &[u8]) -> Result<&[u8], DerError> {
    match value.split_first() {
        Some((0, bits)) => Ok(bits),
        _ => Err(DerError::BadValue("bit string")),
    }
}

/// The arcs of an OBJECT IDENTIFIER's contents (at most 32 arcs, each below 2^63).
pub fn oid_arcs(value: &[u8]) -> Result<Vec<u64>, DerError> {
    const BAD: DerError = DerError::BadValue("object identifier");
    if value.is_empty() || value.last().is_some_and(|b| b & 0x80 != 0) {
        return Err(BAD);
    }
    let mut arcs = Vec::new();
    let mut acc: u64 = 0;
    let mut fresh = true;
    for &b in value {
        if fresh && b == 0x80 {
            return Err(BAD); // a leading 0x80 is not minimal
        }
        if acc > (u64::MAX >> 8) {
            return Err(BAD);
        }
        acc = (acc << 7) | u64::from(b & 0x7f);
        fresh = b & 0x80 == 0;
        if fresh {
            if arcs.is_empty() {
                let first = (acc / 40).min(2);
                arcs.push(first);
                arcs.push(acc - first * 40);
            } else {
                arcs.push(acc);
            }
            if arcs.len() > 32 {
                return Err(BAD);
            }
            acc = 0;
        }
    }
    Ok(arcs)
}

/// A UTCTime or GeneralizedTime in the only DER form (`...Z`, whole seconds), as Unix seconds.
pub fn time(tlv: &Tlv<'_>) -> Result<i64, DerError> {
    const BAD: DerError = DerError::BadValue("time");
    let v = tlv.value;
    let (year, rest) = match (tlv.tag, v.len()) {
        (tag::UTC_TIME, 13) => {
            let yy = digits(v.get(..2).ok_or(BAD)?)?;
            (
                if yy >= 50 { 1900 + yy } else { 2000 + yy },
                v.get(2..).ok_or(BAD)?,
            )
        }
        (tag::GENERALIZED_TIME, 15) => (digits(v.get(..4).ok_or(BAD)?)?, v.get(4..).ok_or(BAD)?),
        _ => return Err(BAD),
    };
    if rest.last() != Some(&b'Z') {
        return Err(BAD);
    }
    let field = |i: usize| rest.get(i..i + 2).ok_or(BAD).and_then(digits);
    let (month, day) = (field(0)?, field(2)?);
    let (hour, min, sec) = (field(4)?, field(6)?, field(8)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 59 {
        return Err(BAD);
    }
    let days = days_from_civil(year, month, day);
    Ok(days * 86_400 + hour * 3_600 + min * 60 + sec)
}

/// ASCII decimal digits as a number.
fn digits(bytes: &[u8]) -> Result<i64, DerError> {
    bytes.iter().try_fold(0i64, |acc, &b| {
        if b.is_ascii_digit() {
            Ok(acc * 10 + i64::from(b - b'0'))
        } else {
            Err(DerError::BadValue("time"))
        }
    })
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests;
