//! Compact forms of names and record data, as the cache and the tracked instances keep them.
//!
//! Owns [`CName`] (a name's length-prefixed labels in one exact allocation, 16 bytes inline
//! against 24 for a [`Name`]) and [`Data`] (the data of the five record types the browser
//! caches in 24 bytes: addresses inline, TXT as one allocation in wire form, against 72 bytes
//! for an [`RData`] plus one allocation per TXT string). Both compare with their koi-wire
//! counterparts without allocating, ignoring ASCII case in names as [`Name`] does, and convert
//! back losslessly. It never decides what is cached.

use std::hash::Hasher;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use koi_wire::dns::{Name, RData, RecordType};

/// A name: its labels, each prefixed by its length, without the root terminator (the wire form
/// a [`Name`] keeps), in an allocation of exactly that size.
#[derive(Clone, Debug, Default)]
pub(crate) struct CName(Box<[u8]>);

impl CName {
    pub(crate) fn of(name: &Name) -> CName {
        let mut wire = Vec::with_capacity(name.wire_len().saturating_sub(1));
        for label in name.labels() {
            wire.push(u8::try_from(label.len()).unwrap_or(u8::MAX));
            wire.extend_from_slice(label);
        }
        CName(wire.into_boxed_slice())
    }

    /// The labels, most specific first.
    pub(crate) fn labels(&self) -> impl Iterator<Item = &[u8]> + '_ {
        labels(&self.0)
    }

    /// The name as koi-wire's [`Name`] (the labels came from one, so they are valid).
    pub(crate) fn to_name(&self) -> Name {
        Name::from_labels(self.labels()).unwrap_or_else(|_| Name::root())
    }

    /// Whether this is `name`, ignoring ASCII case.
    pub(crate) fn is(&self, name: &Name) -> bool {
        let mut rest: &[u8] = &self.0;
        for label in name.labels() {
            let Some((&len, tail)) = rest.split_first() else {
                return false;
            };
            let Some((mine, after)) = tail.split_at_checked(usize::from(len)) else {
                return false;
            };
            if !mine.eq_ignore_ascii_case(label) {
                return false;
            }
            rest = after;
        }
        rest.is_empty()
    }

    /// The uncompressed wire length with the terminator, as [`Name::wire_len`].
    pub(crate) fn wire_len(&self) -> usize {
        self.0.len() + 1
    }
}

impl PartialEq for CName {
    fn eq(&self, other: &CName) -> bool {
        // Length bytes are at most 63, below b'A', so they compare exactly.
        self.0.eq_ignore_ascii_case(&other.0)
    }
}

impl Eq for CName {}

/// Feeds a name's labels to `h`, ASCII case folded, so that a [`Name`] and its [`CName`]
/// hash alike.
pub(crate) fn hash_labels<'a>(h: &mut impl Hasher, labels: impl Iterator<Item = &'a [u8]>) {
    for label in labels {
        h.write_u8(u8::try_from(label.len()).unwrap_or(u8::MAX));
        for b in label {
            h.write_u8(b.to_ascii_lowercase());
        }
    }
    h.write_u8(0);
}

/// Length-prefixed chunks of `wire` (labels of a name, or TXT strings).
fn labels(wire: &[u8]) -> impl Iterator<Item = &[u8]> + '_ {
    let mut rest = wire;
    std::iter::from_fn(move || {
        let (&len, tail) = rest.split_first()?;
        let (chunk, after) = tail.split_at_checked(usize::from(len))?;
        rest = after;
        Some(chunk)
    })
}

/// The data of a cached A, AAAA, PTR, SRV or TXT record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Data {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Ptr(CName),
    Srv {
        priority: u16,
        weight: u16,
        port: u16,
        target: CName,
    },
    /// The strings in wire form, each prefixed by its length.
    Txt(Box<[u8]>),
}

impl Data {
    /// The compact form of `rdata`, if it is of a type the cache keeps.
    pub(crate) fn of(rdata: &RData) -> Option<Data> {
        Some(match rdata {
            RData::A(ip) => Data::A(*ip),
            RData::Aaaa(ip) => Data::Aaaa(*ip),
            RData::Ptr(n) => Data::Ptr(CName::of(n)),
            RData::Srv {
                priority,
                weight,
                port,
                target,
            } => Data::Srv {
                priority: *priority,
                weight: *weight,
                port: *port,
                target: CName::of(target),
            },
            RData::Txt(strings) => {
                let mut wire = Vec::with_capacity(strings.iter().map(|s| s.len() + 1).sum());
                for s in strings {
                    wire.push(u8::try_from(s.len()).ok()?);
                    wire.extend_from_slice(s);
                }
                Data::Txt(wire.into_boxed_slice())
            }
            _ => return None,
        })
    }

    pub(crate) fn rtype(&self) -> RecordType {
        match self {
            Data::A(_) => RecordType::A,
            Data::Aaaa(_) => RecordType::AAAA,
            Data::Ptr(_) => RecordType::PTR,
            Data::Srv { .. } => RecordType::SRV,
            Data::Txt(_) => RecordType::TXT,
        }
    }

    /// Whether this is `rdata` (names compared ignoring ASCII case, as [`RData`] does).
    pub(crate) fn is(&self, rdata: &RData) -> bool {
        match (self, rdata) {
            (Data::A(a), RData::A(b)) => a == b,
            (Data::Aaaa(a), RData::Aaaa(b)) => a == b,
            (Data::Ptr(a), RData::Ptr(b)) => a.is(b),
            (
                Data::Srv {
                    priority,
                    weight,
                    port,
                    target,
                },
                RData::Srv {
                    priority: p,
                    weight: w,
                    port: o,
                    target: t,
                },
            ) => (priority, weight, port) == (p, w, o) && target.is(t),
            (Data::Txt(wire), RData::Txt(strings)) => {
                let mut mine = labels(wire);
                strings.iter().all(|s| mine.next() == Some(s.as_slice())) && mine.next().is_none()
            }
            _ => false,
        }
    }

    /// Back to koi-wire's form.
    pub(crate) fn to_rdata(&self) -> RData {
        match self {
            Data::A(ip) => RData::A(*ip),
            Data::Aaaa(ip) => RData::Aaaa(*ip),
            Data::Ptr(n) => RData::Ptr(n.to_name()),
            Data::Srv {
                priority,
                weight,
                port,
                target,
            } => RData::Srv {
                priority: *priority,
                weight: *weight,
                port: *port,
                target: target.to_name(),
            },
            Data::Txt(_) => RData::Txt(self.txt().unwrap_or_default()),
        }
    }

    /// The address of an A or AAAA record.
    pub(crate) fn ip(&self) -> Option<IpAddr> {
        match self {
            Data::A(ip) => Some(IpAddr::V4(*ip)),
            Data::Aaaa(ip) => Some(IpAddr::V6(*ip)),
            _ => None,
        }
    }

    /// The strings of a TXT record.
    pub(crate) fn txt(&self) -> Option<Vec<Vec<u8>>> {
        match self {
            Data::Txt(wire) => Some(labels(wire).map(<[u8]>::to_vec).collect()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_forms_are_small_and_round_trip() {
        assert_eq!(std::mem::size_of::<CName>(), 16);
        assert_eq!(std::mem::size_of::<Data>(), 24);
        let name: Name = "My Printer._ipp._tcp.local".parse().unwrap();
        let c = CName::of(&name);
        assert!(c.is(&"my printer._IPP._tcp.local".parse().unwrap()));
        assert!(!c.is(&"my printer._ipp._tcp".parse().unwrap()));
        assert!(!c.is(&"x.my printer._ipp._tcp.local".parse().unwrap()));
        assert_eq!(c.to_name(), name);
        assert_eq!(c.wire_len(), name.wire_len());
        let all = [
            RData::A(Ipv4Addr::new(10, 0, 0, 1)),
            RData::Aaaa("fe80::1".parse().unwrap()),
            RData::Ptr(name.clone()),
            RData::Srv {
                priority: 1,
                weight: 2,
                port: 631,
                target: "stone.local".parse().unwrap(),
            },
            RData::Txt(vec![]),
            RData::Txt(vec![vec![]]),
            RData::Txt(vec![b"a=1".to_vec(), vec![], b"b".to_vec()]),
        ];
        for (i, r) in all.iter().enumerate() {
            let d = Data::of(r).unwrap();
            assert_eq!(d.to_rdata(), *r);
            assert_eq!(Some(d.rtype()), r.rtype());
            for (j, other) in all.iter().enumerate() {
                assert_eq!(d.is(other), i == j, "{d:?} vs {other:?}");
            }
        }
        assert!(Data::of(&RData::Txt(vec![vec![0; 256]])).is_none());
        assert!(Data::of(&RData::Unknown(vec![1])).is_none());
    }
}
