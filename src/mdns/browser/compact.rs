//! Compact forms of names and record data, as the cache and the tracked instances keep them.
//!
//! Owns [`CName`] (a name's length-prefixed labels in one exact allocation, 16 bytes inline
//! against 24 for a [`Name`]) and [`Data`] (the data of the five record types the browser
//! caches in 24 bytes, against 72 bytes for an [`RData`] plus one allocation per TXT string:
//! addresses inline; TXT in wire form, inline up to [`SHORT`] bytes, else one allocation; a
//! PTR to one short label under its own owner name, DNS-SD's instance PTR, as that label
//! inline, else the whole target name). Both compare with their koi-wire counterparts without
//! allocating, ignoring ASCII case in names as [`Name`] does, and convert back losslessly given
//! the record's owner name. It never decides what is cached.

use std::hash::Hasher;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use koi_wire::dns::{Name, RData, RecordType};

use crate::mdns::ServiceType;

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
    pub(crate) fn labels(&self) -> impl Iterator<Item = &[u8]> + Clone + '_ {
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
fn labels(wire: &[u8]) -> impl Iterator<Item = &[u8]> + Clone + '_ {
    let mut rest = wire;
    std::iter::from_fn(move || {
        let (&len, tail) = rest.split_first()?;
        let (chunk, after) = tail.split_at_checked(usize::from(len))?;
        rest = after;
        Some(chunk)
    })
}

/// Bytes a [`Short`] holds inline.
pub(crate) const SHORT: usize = 22;

/// Up to [`SHORT`] bytes, inline (unused bytes are zero).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Short {
    len: u8,
    bytes: [u8; SHORT],
}

impl Short {
    fn of(b: &[u8]) -> Option<Short> {
        let mut bytes = [0; SHORT];
        bytes.get_mut(..b.len())?.copy_from_slice(b);
        Some(Short {
            len: u8::try_from(b.len()).ok()?,
            bytes,
        })
    }

    fn get(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }
}

/// A service instance's name, as a tracked instance keeps it: its first label inline when the
/// rest is its type's name spelled as koi spells it (`_http._tcp.local`), else the whole name.
#[derive(Clone, Debug)]
pub(crate) enum InstanceName {
    Label(Short),
    Full(CName),
}

/// The labels of `ty`'s name, as koi spells it: `_http`, `_tcp`, `local`.
fn type_labels(ty: &ServiceType) -> [Vec<u8>; 3] {
    [
        format!("_{}", ty.service()).into_bytes(),
        format!("_{}", ty.proto()).into_bytes(),
        b"local".to_vec(),
    ]
}

impl InstanceName {
    pub(crate) fn of(name: &Name, ty: &ServiceType) -> InstanceName {
        let mut labels = name.labels();
        let short = labels
            .next()
            .filter(|_| labels.eq(type_labels(ty).iter().map(Vec::as_slice)))
            .and_then(Short::of);
        match short {
            Some(label) => InstanceName::Label(label),
            None => InstanceName::Full(CName::of(name)),
        }
    }

    /// Whether this, an instance of `ty`, is `name` (ASCII case ignored).
    pub(crate) fn is(&self, name: &Name, ty: &ServiceType) -> bool {
        match self {
            InstanceName::Full(n) => n.is(name),
            InstanceName::Label(label) => {
                let mut theirs = name.labels();
                let rest = type_labels(ty);
                theirs
                    .next()
                    .is_some_and(|l| l.eq_ignore_ascii_case(label.get()))
                    && same_labels(rest.iter().map(Vec::as_slice), theirs)
            }
        }
    }

    /// The name of this instance of `ty`.
    pub(crate) fn to_name(&self, ty: &ServiceType) -> Name {
        match self {
            InstanceName::Full(n) => n.to_name(),
            InstanceName::Label(label) => {
                let [a, b, c] = type_labels(ty);
                let all = [label.get(), &a, &b, &c];
                Name::from_labels(all).unwrap_or_else(|_| Name::root())
            }
        }
    }
}

/// The data of a cached A, AAAA, PTR, SRV or TXT record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Data {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Ptr(CName),
    /// A PTR to this label under the record's own owner name, spelled exactly as the owner.
    Child(Short),
    Srv {
        priority: u16,
        weight: u16,
        port: u16,
        target: CName,
    },
    /// The strings in wire form, each prefixed by its length.
    Txt(Box<[u8]>),
    /// The same, when short.
    ShortTxt(Short),
}

/// Labels of two names equal, ignoring ASCII case.
fn same_labels<'a, 'b>(
    a: impl Iterator<Item = &'a [u8]>,
    mut b: impl Iterator<Item = &'b [u8]>,
) -> bool {
    for x in a {
        match b.next() {
            Some(y) if x.eq_ignore_ascii_case(y) => {}
            _ => return false,
        }
    }
    b.next().is_none()
}

impl Data {
    /// The compact form of `rdata` of a record owned by the name `owner`, if it is of a type
    /// the cache keeps.
    pub(crate) fn of<'a>(
        rdata: &RData,
        owner: impl Iterator<Item = &'a [u8]> + Clone,
    ) -> Option<Data> {
        Some(match rdata {
            RData::A(ip) => Data::A(*ip),
            RData::Aaaa(ip) => Data::Aaaa(*ip),
            RData::Ptr(n) => {
                let mut labels = n.labels();
                let first = labels.next();
                let child = first
                    .filter(|_| labels.eq(owner))
                    .and_then(Short::of)
                    .map(Data::Child);
                child.unwrap_or_else(|| Data::Ptr(CName::of(n)))
            }
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
                match Short::of(&wire) {
                    Some(short) => Data::ShortTxt(short),
                    None => Data::Txt(wire.into_boxed_slice()),
                }
            }
            _ => return None,
        })
    }

    pub(crate) fn rtype(&self) -> RecordType {
        match self {
            Data::A(_) => RecordType::A,
            Data::Aaaa(_) => RecordType::AAAA,
            Data::Ptr(_) | Data::Child(_) => RecordType::PTR,
            Data::Srv { .. } => RecordType::SRV,
            Data::Txt(_) | Data::ShortTxt(_) => RecordType::TXT,
        }
    }

    /// Whether this, owned by `owner`, is `rdata` (names compared ignoring ASCII case, as
    /// [`RData`] does).
    pub(crate) fn is<'a>(&self, rdata: &RData, owner: impl Iterator<Item = &'a [u8]>) -> bool {
        match (self, rdata) {
            (Data::A(a), RData::A(b)) => a == b,
            (Data::Aaaa(a), RData::Aaaa(b)) => a == b,
            (Data::Ptr(_) | Data::Child(_), RData::Ptr(b)) => self.points_to(b, owner),
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
            (Data::Txt(_) | Data::ShortTxt(_), RData::Txt(strings)) => {
                let mut mine = labels(self.txt_wire());
                strings.iter().all(|s| mine.next() == Some(s.as_slice())) && mine.next().is_none()
            }
            _ => false,
        }
    }

    /// Whether this is a PTR, owned by `owner`, to `name` (ASCII case ignored).
    pub(crate) fn points_to<'a>(&self, name: &Name, owner: impl Iterator<Item = &'a [u8]>) -> bool {
        match self {
            Data::Ptr(n) => n.is(name),
            Data::Child(label) => {
                let mut theirs = name.labels();
                theirs
                    .next()
                    .is_some_and(|l| l.eq_ignore_ascii_case(label.get()))
                    && same_labels(owner, theirs)
            }
            _ => false,
        }
    }

    /// The target of a PTR owned by `owner`.
    pub(crate) fn ptr_target<'a>(&'a self, owner: impl Iterator<Item = &'a [u8]>) -> Option<Name> {
        match self {
            Data::Ptr(n) => Some(n.to_name()),
            Data::Child(label) => {
                let all = std::iter::once(label.get()).chain(owner);
                Some(Name::from_labels(all).unwrap_or_else(|_| Name::root()))
            }
            _ => None,
        }
    }

    /// Back to koi-wire's form, for a record owned by `owner`.
    pub(crate) fn to_rdata<'a>(&'a self, owner: impl Iterator<Item = &'a [u8]>) -> RData {
        match self {
            Data::A(ip) => RData::A(*ip),
            Data::Aaaa(ip) => RData::Aaaa(*ip),
            Data::Ptr(_) | Data::Child(_) => {
                RData::Ptr(self.ptr_target(owner).unwrap_or_else(Name::root))
            }
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
            Data::Txt(_) | Data::ShortTxt(_) => RData::Txt(self.txt().unwrap_or_default()),
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
            Data::Txt(_) | Data::ShortTxt(_) => {
                Some(labels(self.txt_wire()).map(<[u8]>::to_vec).collect())
            }
            _ => None,
        }
    }

    /// A TXT record's wire form (empty for other types).
    fn txt_wire(&self) -> &[u8] {
        match self {
            Data::Txt(wire) => wire,
            Data::ShortTxt(short) => short.get(),
            _ => &[],
        }
    }

    /// Approximate bytes of the data as received, for a record whose owner name is
    /// `owner_len` bytes long (wire form).
    pub(crate) fn wire_len(&self, owner_len: usize) -> usize {
        match self {
            Data::A(_) => 4,
            Data::Aaaa(_) => 16,
            Data::Ptr(n) => n.wire_len(),
            Data::Child(label) => 1 + label.get().len() + owner_len,
            Data::Srv { target, .. } => 6 + target.wire_len(),
            Data::Txt(_) | Data::ShortTxt(_) => self.txt_wire().len(),
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
        let owner: Name = "_ipp._tcp.local".parse().unwrap();
        let o = || owner.labels();
        for (i, r) in all.iter().enumerate() {
            let d = Data::of(r, o()).unwrap();
            assert_eq!(d.to_rdata(o()), *r);
            assert_eq!(Some(d.rtype()), r.rtype());
            for (j, other) in all.iter().enumerate() {
                assert_eq!(d.is(other, o()), i == j, "{d:?} vs {other:?}");
            }
        }
        assert!(matches!(Data::of(&all[2], o()), Some(Data::Child(_))));
        assert!(matches!(Data::of(&all[6], o()), Some(Data::ShortTxt(_))));
        // Under another owner, or spelled otherwise: the whole target is kept.
        let other: Name = "_http._tcp.local".parse().unwrap();
        assert!(matches!(
            Data::of(&all[2], other.labels()),
            Some(Data::Ptr(_))
        ));
        let upper: Name = "_IPP._tcp.local".parse().unwrap();
        let d = Data::of(&all[2], upper.labels()).unwrap();
        assert!(matches!(d, Data::Ptr(_)));
        assert_eq!(d.to_rdata(upper.labels()), all[2]);
        // A child compares ignoring case, and only under its owner.
        let child = Data::of(&all[2], o()).unwrap();
        let shouted = RData::Ptr("MY PRINTER._IPP._TCP.LOCAL".parse().unwrap());
        assert!(child.is(&shouted, o()) && !child.is(&all[2], other.labels()));
        let long = RData::Txt(vec![vec![b'x'; 40]]);
        let d = Data::of(&long, o()).unwrap();
        assert!(matches!(d, Data::Txt(_)));
        assert_eq!(d.to_rdata(o()), long);
        assert_eq!(d.wire_len(0), 41);
        assert_eq!(child.wire_len(owner.wire_len()), name.wire_len());
        assert!(Data::of(&RData::Txt(vec![vec![0; 256]]), o()).is_none());
        assert!(Data::of(&RData::Unknown(vec![1]), o()).is_none());
        let ipp = ServiceType::parse("_ipp._tcp").unwrap();
        let short = InstanceName::of(&name, &ipp);
        assert!(matches!(short, InstanceName::Label(_)));
        assert_eq!(short.to_name(&ipp), name);
        assert!(short.is(&"MY PRINTER._IPP._tcp.local".parse().unwrap(), &ipp));
        assert!(!short.is(&"my printer._http._tcp.local".parse().unwrap(), &ipp));
        assert!(!short.is(&"my printer._ipp._tcp.local.x".parse().unwrap(), &ipp));
        for odd in [
            "My Printer._IPP._tcp.local",
            "a-label-longer-than-22-bytes._ipp._tcp.local",
        ] {
            let n: Name = odd.parse().unwrap();
            let kept = InstanceName::of(&n, &ipp);
            assert!(matches!(kept, InstanceName::Full(_)), "{odd}");
            assert_eq!(kept.to_name(&ipp).to_string(), n.to_string());
            assert!(kept.is(&n, &ipp));
        }
    }
}
