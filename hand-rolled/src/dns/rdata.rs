//! Record data: one typed variant per record type this codec understands, raw bytes otherwise.
//!
//! Invariants: RDATA is decoded from a reader limited to RDLENGTH and must be consumed exactly
//! (leftovers, or a field that runs past RDLENGTH, are [`DecodeError::BadRdata`]); only
//! [`RData::Unknown`] keeps raw bytes, and those round-trip unchanged. Names inside RDATA may be
//! compressed on read (pointers reach into the whole message) for every typed variant.
//!
//! On write, names are compressed only where RFC 1035 §3.3 and RFC 6762 §18.14 allow it: NS,
//! CNAME, PTR, MX, SOA and the SRV target (RFC 2782 forbade the latter, but RFC 6762 and
//! RFC 3597 §4 have receivers decompress it, and Bonjour, Avahi and python-zeroconf all do). The
//! NSEC next name is written uncompressed (RFC 4034 §4.1.1). Types kept as `Unknown` that hold
//! compressed names (MINFO, RP, NAPTR, ...) keep their pointer bytes verbatim; such pointers are
//! meaningless outside the original packet, which we accept for types mDNS and koi do not use.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::error::{DecodeError, EncodeError};
use super::name::Name;
use super::reader::Reader;
use super::types::RecordType;
use super::writer::Writer;

/// The data of one resource record.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RData {
    /// An IPv4 address (exactly 4 bytes).
    A(Ipv4Addr),
    /// An IPv6 address (exactly 16 bytes).
    Aaaa(Ipv6Addr),
    /// An authoritative name server.
    Ns(Name),
    /// The canonical name this owner is an alias for.
    Cname(Name),
    /// A pointer; in DNS-SD, from a service type to an instance name.
    Ptr(Name),
    /// A mail exchange.
    Mx {
        /// Lower is preferred.
        preference: u16,
        /// The mail host.
        exchange: Name,
    },
    /// A service location (RFC 2782).
    Srv {
        /// Lower is tried first.
        priority: u16,
        /// Relative weight among equal priorities.
        weight: u16,
        /// The TCP or UDP port.
        port: u16,
        /// The host offering the service.
        target: Name,
    },
    /// Character strings of at most 255 bytes each; DNS-SD `key=value` pairs. An empty list is
    /// zero-length RDATA (accepted on read although RFC 6763 §6.1 asks writers for one empty
    /// string instead).
    Txt(Vec<Vec<u8>>),
    /// Host information: two character strings.
    Hinfo {
        /// The CPU type.
        cpu: Vec<u8>,
        /// The operating system.
        os: Vec<u8>,
    },
    /// Start of authority.
    Soa {
        /// The primary name server.
        mname: Name,
        /// The responsible mailbox, as a name.
        rname: Name,
        /// Zone serial number.
        serial: u32,
        /// Seconds between secondary refreshes.
        refresh: u32,
        /// Seconds between failed refresh retries.
        retry: u32,
        /// Seconds until a secondary stops answering.
        expire: u32,
        /// Negative-caching TTL (RFC 2308).
        minimum: u32,
    },
    /// Next secure record; mDNS uses it to assert which types exist (RFC 6762 §6.1). `types` is
    /// sorted and without duplicates when decoded; the writer sorts and deduplicates.
    Nsec {
        /// The next owner name (in mDNS, the record's own name).
        next: Name,
        /// The types present at the owner name.
        types: Vec<RecordType>,
    },
    /// EDNS0 options as `(code, data)`; the OPT record's class and TTL carry the rest
    /// (see [`super::Edns`]).
    Opt(Vec<(u16, Vec<u8>)>),
    /// Any other type, as raw RDATA.
    Unknown(Vec<u8>),
}

impl RData {
    /// The record type this data belongs to, or `None` for [`RData::Unknown`].
    pub fn rtype(&self) -> Option<RecordType> {
        Some(match self {
            RData::A(_) => RecordType::A,
            RData::Aaaa(_) => RecordType::AAAA,
            RData::Ns(_) => RecordType::NS,
            RData::Cname(_) => RecordType::CNAME,
            RData::Ptr(_) => RecordType::PTR,
            RData::Mx { .. } => RecordType::MX,
            RData::Srv { .. } => RecordType::SRV,
            RData::Txt(_) => RecordType::TXT,
            RData::Hinfo { .. } => RecordType::HINFO,
            RData::Soa { .. } => RecordType::SOA,
            RData::Nsec { .. } => RecordType::NSEC,
            RData::Opt(_) => RecordType::OPT,
            RData::Unknown(_) => return None,
        })
    }

    /// Whether `rtype` decodes to a typed variant (and so may not carry [`RData::Unknown`]).
    pub fn is_typed(rtype: RecordType) -> bool {
        matches!(
            rtype,
            RecordType::A
                | RecordType::AAAA
                | RecordType::NS
                | RecordType::CNAME
                | RecordType::PTR
                | RecordType::MX
                | RecordType::SRV
                | RecordType::TXT
                | RecordType::HINFO
                | RecordType::SOA
                | RecordType::NSEC
                | RecordType::OPT
        )
    }

    /// Decodes RDATA of `rtype` from `r`, a reader limited to RDLENGTH, consuming all of it.
    pub(crate) fn read(rtype: RecordType, r: &mut Reader<'_>) -> Result<RData, DecodeError> {
        let rdata = Self::read_fields(rtype, r).map_err(|e| match e {
            DecodeError::Truncated => DecodeError::BadRdata,
            other => other,
        })?;
        r.expect_empty(DecodeError::BadRdata)?;
        Ok(rdata)
    }

    fn read_fields(rtype: RecordType, r: &mut Reader<'_>) -> Result<RData, DecodeError> {
        Ok(match rtype {
            RecordType::A => RData::A(Ipv4Addr::from(r.array::<4>()?)),
            RecordType::AAAA => RData::Aaaa(Ipv6Addr::from(r.array::<16>()?)),
            RecordType::NS => RData::Ns(Name::read(r)?),
            RecordType::CNAME => RData::Cname(Name::read(r)?),
            RecordType::PTR => RData::Ptr(Name::read(r)?),
            RecordType::MX => RData::Mx {
                preference: r.u16()?,
                exchange: Name::read(r)?,
            },
            RecordType::SRV => RData::Srv {
                priority: r.u16()?,
                weight: r.u16()?,
                port: r.u16()?,
                target: Name::read(r)?,
            },
            RecordType::TXT => {
                let mut strings = Vec::new();
                while !r.is_empty() {
                    strings.push(read_character_string(r)?);
                }
                RData::Txt(strings)
            }
            RecordType::HINFO => RData::Hinfo {
                cpu: read_character_string(r)?,
                os: read_character_string(r)?,
            },
            RecordType::SOA => RData::Soa {
                mname: Name::read(r)?,
                rname: Name::read(r)?,
                serial: r.u32()?,
                refresh: r.u32()?,
                retry: r.u32()?,
                expire: r.u32()?,
                minimum: r.u32()?,
            },
            RecordType::NSEC => RData::Nsec {
                next: Name::read(r)?,
                types: read_type_bitmap(r)?,
            },
            RecordType::OPT => {
                let mut options = Vec::new();
                while !r.is_empty() {
                    let code = r.u16()?;
                    let len = r.u16()?;
                    options.push((code, r.take(usize::from(len))?.to_vec()));
                }
                RData::Opt(options)
            }
            _ => RData::Unknown(r.take_rest().to_vec()),
        })
    }

    /// Writes the RDATA (without RDLENGTH, which the caller back-patches).
    pub(crate) fn write(&self, w: &mut Writer) -> Result<(), EncodeError> {
        match self {
            RData::A(ip) => w.put(&ip.octets()),
            RData::Aaaa(ip) => w.put(&ip.octets()),
            RData::Ns(name) | RData::Cname(name) | RData::Ptr(name) => w.name(name, true),
            RData::Mx {
                preference,
                exchange,
            } => {
                w.u16(*preference)?;
                w.name(exchange, true)
            }
            RData::Srv {
                priority,
                weight,
                port,
                target,
            } => {
                w.u16(*priority)?;
                w.u16(*weight)?;
                w.u16(*port)?;
                w.name(target, true)
            }
            RData::Txt(strings) => strings.iter().try_for_each(|s| w.character_string(s)),
            RData::Hinfo { cpu, os } => {
                w.character_string(cpu)?;
                w.character_string(os)
            }
            RData::Soa {
                mname,
                rname,
                serial,
                refresh,
                retry,
                expire,
                minimum,
            } => {
                w.name(mname, true)?;
                w.name(rname, true)?;
                [serial, refresh, retry, expire, minimum]
                    .into_iter()
                    .try_for_each(|v| w.u32(*v))
            }
            RData::Nsec { next, types } => {
                w.name(next, false)?;
                write_type_bitmap(w, types)
            }
            RData::Opt(options) => options.iter().try_for_each(|(code, data)| {
                w.u16(*code)?;
                w.u16(u16::try_from(data.len()).map_err(|_| EncodeError::FieldTooLong)?)?;
                w.put(data)
            }),
            RData::Unknown(bytes) => w.put(bytes),
        }
    }
}

/// A `<character-string>`: one length byte, then that many bytes.
fn read_character_string(r: &mut Reader<'_>) -> Result<Vec<u8>, DecodeError> {
    let len = r.u8()?;
    Ok(r.take(usize::from(len))?.to_vec())
}

/// The RFC 4034 §4.1.2 type bitmap: windows in increasing order, each 1..=32 bitmap bytes.
fn read_type_bitmap(r: &mut Reader<'_>) -> Result<Vec<RecordType>, DecodeError> {
    let mut types = Vec::new();
    let mut last_window = None;
    while !r.is_empty() {
        let window = r.u8()?;
        let len = r.u8()?;
        if last_window.is_some_and(|last| window <= last) || len == 0 || len > 32 {
            return Err(DecodeError::BadRdata);
        }
        last_window = Some(window);
        for (i, byte) in (0u16..).zip(r.take(usize::from(len))?) {
            for bit in 0..8u16 {
                if byte & (0x80 >> bit) != 0 {
                    types.push(RecordType((u16::from(window) << 8) | (i * 8 + bit)));
                }
            }
        }
    }
    Ok(types)
}

fn write_type_bitmap(w: &mut Writer, types: &[RecordType]) -> Result<(), EncodeError> {
    let mut sorted: Vec<u16> = types.iter().map(|t| t.0).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut rest = &sorted[..];
    while let Some(&first) = rest.first() {
        let [window, _] = first.to_be_bytes();
        let in_window = rest
            .iter()
            .take_while(|t| t.to_be_bytes()[0] == window)
            .count();
        let (these, next) = rest.split_at(in_window);
        let mut bitmap = [0u8; 32];
        let mut len = 0;
        for &t in these {
            let [_, low] = t.to_be_bytes();
            let low = usize::from(low);
            if let Some(byte) = bitmap.get_mut(low / 8) {
                *byte |= 0x80 >> (low % 8);
            }
            len = low / 8 + 1;
        }
        w.u8(window)?;
        w.u8(u8::try_from(len).map_err(|_| EncodeError::FieldTooLong)?)?;
        w.put(bitmap.get(..len).unwrap_or_default())?;
        rest = next;
    }
    Ok(())
}
