//! Encoding: a capped byte writer with name compression, and [`Message::encode`].
//!
//! Invariants: the output never exceeds its cap (at most [`MAX_MESSAGE_LEN`]); a write that
//! would pass it fails with [`EncodeError::CapExceeded`] and writes nothing. Compression
//! pointers only point at the start of a suffix of a name written earlier in the same message
//! (never into the current name), at offsets below 0x4000, and match suffixes byte for byte, so
//! case is preserved. In truncating and prefix modes the message ends at the last question or
//! record that fits whole and the section counts say what is present; truncating mode also sets
//! TC (RFC 1035 §4.1.1; in mDNS a query with TC says more known answers follow, RFC 6762 §7.2),
//! prefix mode leaves the flags alone (split mDNS responses keep TC clear, RFC 6762 §18.5).

use std::collections::HashMap;

use super::error::EncodeError;
use super::message::{Header, Message, Question, Record};
use super::name::Name;
use super::rdata::RData;

/// The largest DNS message (the TCP length prefix is 16 bits); larger caps are clamped to it.
pub const MAX_MESSAGE_LEN: usize = 65535;

/// Compression pointers hold 14 bits of offset.
const MAX_POINTER_TARGET: usize = 0x3fff;

/// A message encoded by [`Message::encode_truncating`] or [`Message::encode_prefix`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encoded {
    /// The wire bytes, at most the cap.
    pub bytes: Vec<u8>,
    /// Whether entries were left out (with `encode_truncating`, TC is then set in `bytes`).
    pub truncated: bool,
    /// How many questions, answers, authority and additional records were written.
    pub counts: [u16; 4],
}

/// A byte buffer that refuses to grow past its cap and remembers where names were written.
pub(crate) struct Writer {
    buf: Vec<u8>,
    cap: usize,
    /// Exact wire bytes of a name suffix (without terminator) → offset where it was written.
    names: HashMap<Vec<u8>, u16>,
}

impl Writer {
    pub(crate) fn new(cap: usize) -> Writer {
        let cap = cap.min(MAX_MESSAGE_LEN);
        Writer {
            buf: Vec::with_capacity(cap.min(512)),
            cap,
            names: HashMap::new(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn put(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        if bytes.len() > self.cap.saturating_sub(self.buf.len()) {
            return Err(EncodeError::CapExceeded);
        }
        self.buf.extend_from_slice(bytes);
        Ok(())
    }

    pub(crate) fn u8(&mut self, v: u8) -> Result<(), EncodeError> {
        self.put(&[v])
    }

    pub(crate) fn u16(&mut self, v: u16) -> Result<(), EncodeError> {
        self.put(&v.to_be_bytes())
    }

    pub(crate) fn u32(&mut self, v: u32) -> Result<(), EncodeError> {
        self.put(&v.to_be_bytes())
    }

    /// Writes a `<character-string>` (length byte + bytes); over 255 bytes is refused.
    pub(crate) fn character_string(&mut self, s: &[u8]) -> Result<(), EncodeError> {
        self.u8(u8::try_from(s.len()).map_err(|_| EncodeError::FieldTooLong)?)?;
        self.put(s)
    }

    /// Writes `f`'s output behind a 16-bit length that is filled in afterwards.
    pub(crate) fn u16_prefixed(
        &mut self,
        f: impl FnOnce(&mut Writer) -> Result<(), EncodeError>,
    ) -> Result<(), EncodeError> {
        let at = self.buf.len();
        self.u16(0)?;
        f(self)?;
        let len = u16::try_from(self.buf.len() - at - 2).map_err(|_| EncodeError::FieldTooLong)?;
        self.patch_u16(at, len);
        Ok(())
    }

    /// Overwrites two bytes already written at `at`.
    fn patch_u16(&mut self, at: usize, v: u16) {
        if let Some(slot) = self.buf.get_mut(at..at + 2) {
            slot.copy_from_slice(&v.to_be_bytes());
        }
    }

    /// Writes a name, replacing its longest suffix already in the message by a pointer when
    /// `compress` is set; its own suffixes become pointer targets for later names either way.
    pub(crate) fn name(&mut self, name: &Name, compress: bool) -> Result<(), EncodeError> {
        let mut rest = name.wire();
        while let Some((&len, tail)) = rest.split_first() {
            if compress {
                if let Some(&target) = self.names.get(rest) {
                    return self.u16(0xc000 | target);
                }
            }
            let here = self.buf.len();
            if here <= MAX_POINTER_TARGET {
                if let Ok(here) = u16::try_from(here) {
                    self.names.entry(rest.to_vec()).or_insert(here);
                }
            }
            let (label, next) = tail
                .split_at_checked(usize::from(len))
                .unwrap_or((tail, &[]));
            self.u8(len)?;
            self.put(label)?;
            rest = next;
        }
        self.u8(0)
    }

    /// Drops everything from `len` on, including compression targets there.
    fn rollback(&mut self, len: usize) {
        self.buf.truncate(len);
        self.names.retain(|_, target| usize::from(*target) < len);
    }
}

impl Question {
    fn write(&self, w: &mut Writer) -> Result<(), EncodeError> {
        w.name(&self.name, true)?;
        w.u16(self.qtype.0)?;
        w.u16(self.qclass)
    }
}

impl Record {
    fn write(&self, w: &mut Writer) -> Result<(), EncodeError> {
        let consistent = match self.rdata.rtype() {
            Some(t) => t == self.rtype,
            None => !RData::is_typed(self.rtype),
        };
        if !consistent {
            return Err(EncodeError::TypeMismatch);
        }
        w.name(&self.name, true)?;
        w.u16(self.rtype.0)?;
        w.u16(self.rclass)?;
        w.u32(self.ttl)?;
        w.u16_prefixed(|w| self.rdata.write(w))
    }
}

impl Message {
    /// Encodes the message with name compression into at most `cap` bytes (clamped to
    /// [`MAX_MESSAGE_LEN`]); a message that does not fit is [`EncodeError::CapExceeded`].
    pub fn encode(&self, cap: usize) -> Result<Vec<u8>, EncodeError> {
        encode(self, cap, Fit::Whole).map(|e| e.bytes)
    }

    /// Encodes as much of the message as fits in `cap` bytes: entries are written in order up
    /// to the last one that fits whole, and TC is set if any were left out (a DNS server's
    /// truncated UDP answer; an mDNS query whose known answers continue, RFC 6762 §7.2). Fails
    /// only if the header itself does not fit or an entry cannot be encoded at all.
    pub fn encode_truncating(&self, cap: usize) -> Result<Encoded, EncodeError> {
        encode(self, cap, Fit::Truncate)
    }

    /// Like [`Message::encode_truncating`] but leaves the flags as given: for an mDNS response
    /// too big for one packet, which is split and must keep TC clear (RFC 6762 §18.5); send the
    /// entries past [`Encoded::counts`] in the next packet.
    pub fn encode_prefix(&self, cap: usize) -> Result<Encoded, EncodeError> {
        encode(self, cap, Fit::Prefix)
    }
}

/// What to do when the next entry does not fit.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fit {
    /// Fail with `CapExceeded`.
    Whole,
    /// Stop there and set TC.
    Truncate,
    /// Stop there.
    Prefix,
}

fn encode(msg: &Message, cap: usize, fit: Fit) -> Result<Encoded, EncodeError> {
    for len in [
        msg.questions.len(),
        msg.answers.len(),
        msg.authorities.len(),
        msg.additionals.len(),
    ] {
        u16::try_from(len).map_err(|_| EncodeError::TooManyEntries)?;
    }
    let mut w = Writer::new(cap);
    w.u16(msg.header.id)?;
    w.u16(msg.header.flags)?;
    w.put(&[0; 8])?;
    let mut out = Sections {
        w,
        truncate: fit != Fit::Whole,
        truncated: false,
    };
    let counts = [
        out.write_all(&msg.questions, Question::write)?,
        out.write_all(&msg.answers, Record::write)?,
        out.write_all(&msg.authorities, Record::write)?,
        out.write_all(&msg.additionals, Record::write)?,
    ];
    let Sections {
        mut w, truncated, ..
    } = out;
    let mut flags = msg.header.flags;
    if truncated && fit == Fit::Truncate {
        flags |= Header::TC;
    }
    w.patch_u16(2, flags);
    for (i, count) in counts.iter().enumerate() {
        w.patch_u16(4 + 2 * i, *count);
    }
    Ok(Encoded {
        bytes: w.buf,
        truncated,
        counts,
    })
}

/// The entry loop shared by the four sections; once one entry does not fit, nothing follows.
struct Sections {
    w: Writer,
    truncate: bool,
    truncated: bool,
}

impl Sections {
    fn write_all<T>(
        &mut self,
        entries: &[T],
        write: fn(&T, &mut Writer) -> Result<(), EncodeError>,
    ) -> Result<u16, EncodeError> {
        let mut count = 0u16;
        for entry in entries {
            if self.truncated {
                break;
            }
            let mark = self.w.len();
            match write(entry, &mut self.w) {
                Ok(()) => count = count.checked_add(1).ok_or(EncodeError::TooManyEntries)?,
                Err(EncodeError::CapExceeded) if self.truncate => {
                    self.w.rollback(mark);
                    self.truncated = true;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(count)
    }
}
