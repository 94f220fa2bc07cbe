//! One source's records: names to data, and addresses back to names.
//!
//! Invariants: every address held is a LAN address ([`super::is_lan_address`]); a name's data
//! list holds no duplicate; the reverse map points each address at the first name that was
//! given it; `below` counts, for every proper ancestor of a held name, how many held names
//! it has beneath it (so an empty non-terminal is one hash look-up, RFC 8020).
//!
//! Memory (a zone may hold 100,000 static names): a name is stored once, as its lowercased
//! wire form behind an `Arc<[u8]>` that the forward and reverse maps share, and a name with a
//! single record keeps it inline. That is about 150 bytes per name with one address.

use super::addr::is_lan_address;
use koi_wire::dns::Name;
use std::cell::RefCell;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

/// One record's data, without owner, class or TTL (those come from the zone and the source).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Data {
    /// An IPv4 address.
    A(Ipv4Addr),
    /// An IPv6 address.
    Aaaa(Ipv6Addr),
    /// A service location: priority 0, weight 0, this port on this host.
    Srv {
        /// The port.
        port: u16,
        /// The host, a name of the zone.
        target: Name,
    },
    /// TXT strings (DNS-SD metadata of a service instance).
    Txt(Vec<Vec<u8>>),
}

impl Data {
    /// The data of an address record.
    pub fn ip(ip: IpAddr) -> Data {
        match ip {
            IpAddr::V4(v4) => Data::A(v4),
            IpAddr::V6(v6) => Data::Aaaa(v6),
        }
    }

    /// `A`, `AAAA`, `SRV` or `TXT`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Data::A(_) => "A",
            Data::Aaaa(_) => "AAAA",
            Data::Srv { .. } => "SRV",
            Data::Txt(_) => "TXT",
        }
    }

    /// The value in presentation form.
    pub fn value(&self) -> String {
        match self {
            Data::A(a) => a.to_string(),
            Data::Aaaa(a) => a.to_string(),
            Data::Srv { port, target } => format!("0 0 {port} {target}"),
            Data::Txt(strings) => strings
                .iter()
                .map(|s| format!("{:?}", String::from_utf8_lossy(s)))
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

/// Why a record was not added.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddError {
    /// The address is public (or loopback, multicast...): a local name never points there.
    NotLan,
}

/// A name's records: one inline, or several.
#[derive(Clone, Debug)]
enum Records {
    One(Data),
    Many(Vec<Data>),
}

impl Records {
    fn as_slice(&self) -> &[Data] {
        match self {
            Records::One(d) => std::slice::from_ref(d),
            Records::Many(v) => v,
        }
    }

    fn push(&mut self, data: Data) {
        if self.as_slice().contains(&data) {
            return;
        }
        match self {
            Records::One(first) => {
                let first = first.clone();
                *self = Records::Many(vec![first, data]);
            }
            Records::Many(v) => {
                v.push(data);
                v.shrink_to_fit();
            }
        }
    }
}

thread_local! {
    /// Scratch space for look-up keys, so a query allocates none.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on the table key of `name`: its lowercased wire form without the terminator.
pub fn with_key<T>(name: &Name, f: impl FnOnce(&[u8]) -> T) -> T {
    SCRATCH.with(|s| match s.try_borrow_mut() {
        Ok(mut buf) => {
            fill_key(&mut buf, name);
            f(&buf)
        }
        Err(_) => {
            let mut buf = Vec::new();
            fill_key(&mut buf, name);
            f(&buf)
        }
    })
}

fn fill_key(buf: &mut Vec<u8>, name: &Name) {
    buf.clear();
    for label in name.labels() {
        buf.push(label.len() as u8);
        buf.extend(label.iter().map(u8::to_ascii_lowercase));
    }
}

/// The name a key stands for.
pub fn name_of(key: &[u8]) -> Name {
    let mut labels = Vec::new();
    let mut rest = key;
    while let Some((&len, tail)) = rest.split_first() {
        let Some((label, more)) = tail.split_at_checked(usize::from(len)) else {
            break;
        };
        labels.push(label);
        rest = more;
    }
    Name::from_labels(labels).unwrap_or_else(|_| Name::root())
}

/// The records of one source.
#[derive(Clone, Debug, Default)]
pub struct Table {
    names: HashMap<Arc<[u8]>, Records>,
    reverse: HashMap<IpAddr, Arc<[u8]>>,
    /// Ancestor key -> number of names held beneath it.
    below: HashMap<Box<[u8]>, u32>,
}

/// The keys of the proper ancestors of `key` (the key minus its first label, and so on).
fn ancestors(key: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = key;
    std::iter::from_fn(move || {
        let (&len, tail) = rest.split_first()?;
        rest = tail.get(usize::from(len)..)?;
        (!rest.is_empty()).then_some(rest)
    })
}

impl Table {
    /// Adds one record to `name`; an address must be a LAN address.
    pub fn add(&mut self, name: &Name, data: Data) -> Result<(), AddError> {
        let ip = match &data {
            Data::A(a) => Some(IpAddr::V4(*a)),
            Data::Aaaa(a) => Some(IpAddr::V6(*a)),
            _ => None,
        };
        if ip.is_some_and(|ip| !is_lan_address(ip)) {
            return Err(AddError::NotLan);
        }
        let key: Arc<[u8]> = match with_key(name, |k| {
            self.names.get_key_value(k).map(|(k, _)| k.clone())
        }) {
            Some(k) => k,
            None => with_key(name, |k| Arc::from(k)),
        };
        if let Some(ip) = ip {
            self.reverse.entry(ip).or_insert_with(|| key.clone());
        }
        match self.names.get_mut(&key) {
            Some(records) => records.push(data),
            None => {
                for up in ancestors(&key) {
                    *self.below.entry(up.into()).or_insert(0) += 1;
                }
                self.names.insert(key, Records::One(data));
            }
        }
        Ok(())
    }

    /// Removes `name` with all its records; returns whether it was there.
    pub fn remove(&mut self, name: &Name) -> bool {
        let Some((key, records)) = with_key(name, |k| self.names.remove_entry(k)) else {
            return false;
        };
        for up in ancestors(&key) {
            if let Some(n) = self.below.get_mut(up) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.below.remove(up);
                }
            }
        }
        for data in records.as_slice() {
            let ip = match data {
                Data::A(a) => IpAddr::V4(*a),
                Data::Aaaa(a) => IpAddr::V6(*a),
                _ => continue,
            };
            if self.reverse.get(&ip) == Some(&key) {
                self.reverse.remove(&ip);
                // Another name may still hold the address.
                let wanted = Data::ip(ip);
                if let Some(other) = self
                    .names
                    .iter()
                    .find(|(_, d)| d.as_slice().contains(&wanted))
                    .map(|(k, _)| k.clone())
                {
                    self.reverse.insert(ip, other);
                }
            }
        }
        true
    }

    /// The records of `name`.
    pub fn get(&self, name: &Name) -> Option<&[Data]> {
        with_key(name, |k| self.get_key(k))
    }

    /// The records of the name with this key (see [`with_key`]).
    pub fn get_key(&self, key: &[u8]) -> Option<&[Data]> {
        self.names.get(key).map(Records::as_slice)
    }

    /// Whether the name with this key has names beneath it (it may hold no record itself).
    pub fn has_below(&self, key: &[u8]) -> bool {
        self.below.contains_key(key)
    }

    /// The name holding `ip`.
    pub fn reverse(&self, ip: IpAddr) -> Option<Name> {
        self.reverse.get(&ip).map(|k| name_of(k))
    }

    /// Every name's key.
    pub fn keys(&self) -> impl Iterator<Item = &[u8]> {
        self.names.keys().map(|k| &**k)
    }

    /// Every name (lowercased) with its records.
    pub fn iter(&self) -> impl Iterator<Item = (Name, &[Data])> {
        self.names.iter().map(|(k, d)| (name_of(k), d.as_slice()))
    }

    /// The number of names.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether the table has no name.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}
