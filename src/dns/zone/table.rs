//! One source's records: names to data, and addresses back to names.
//!
//! Invariants: every address held is a LAN address ([`super::is_lan_address`]); a name's data
//! list holds no duplicate; the reverse map points each address at the first name that was
//! given it. Memory is one hash entry per name plus one per address.

use super::addr::is_lan_address;
use koi_wire::dns::Name;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

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

/// The records of one source.
#[derive(Clone, Debug, Default)]
pub struct Table {
    names: HashMap<Name, Vec<Data>>,
    reverse: HashMap<IpAddr, Name>,
}

impl Table {
    /// Adds one record to `name`; an address must be a LAN address.
    pub fn add(&mut self, name: &Name, data: Data) -> Result<(), AddError> {
        let ip = match &data {
            Data::A(a) => Some(IpAddr::V4(*a)),
            Data::Aaaa(a) => Some(IpAddr::V6(*a)),
            _ => None,
        };
        if let Some(ip) = ip {
            if !is_lan_address(ip) {
                return Err(AddError::NotLan);
            }
            self.reverse.entry(ip).or_insert_with(|| name.clone());
        }
        let list = match self.names.get_mut(name) {
            Some(list) => list,
            None => self.names.entry(name.clone()).or_default(),
        };
        if !list.contains(&data) {
            list.push(data);
            list.shrink_to_fit();
        }
        Ok(())
    }

    /// Removes `name` with all its records; returns whether it was there.
    pub fn remove(&mut self, name: &Name) -> bool {
        let Some(list) = self.names.remove(name) else {
            return false;
        };
        for data in list {
            let ip = match data {
                Data::A(a) => IpAddr::V4(a),
                Data::Aaaa(a) => IpAddr::V6(a),
                _ => continue,
            };
            if self.reverse.get(&ip) == Some(name) {
                self.reverse.remove(&ip);
                // Another name may still hold the address.
                if let Some(other) = self
                    .names
                    .iter()
                    .find(|(_, d)| d.contains(&Data::ip(ip)))
                    .map(|(n, _)| n.clone())
                {
                    self.reverse.insert(ip, other);
                }
            }
        }
        true
    }

    /// The records of `name`.
    pub fn get(&self, name: &Name) -> Option<&[Data]> {
        self.names.get(name).map(Vec::as_slice)
    }

    /// The name holding `ip`.
    pub fn reverse(&self, ip: IpAddr) -> Option<&Name> {
        self.reverse.get(&ip)
    }

    /// Every name.
    pub fn names(&self) -> impl Iterator<Item = &Name> {
        self.names.keys()
    }

    /// Every name with its records.
    pub fn iter(&self) -> impl Iterator<Item = (&Name, &[Data])> {
        self.names.iter().map(|(n, d)| (n, d.as_slice()))
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
