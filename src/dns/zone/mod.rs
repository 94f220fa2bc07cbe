//! The local zone: the names koi answers for itself, merged from its sources in priority order
//! (static entries, then certmesh members, then the mDNS registry).
//!
//! Owns the in-memory record tables and the look-ups the answer logic needs: a name's records
//! and which source produced them, and the name behind a local address (PTR). A name belongs
//! wholly to the highest-priority source that has it: a static `grafana.lan` hides every
//! automatic record of `grafana.lan`, so the answer for each type comes from one source and
//! NODATA is consistent. It never holds a non-LAN address (see [`is_lan_address`]); tables
//! refuse them on insert. Pure data: no I/O, no clock.

mod addr;
mod table;

pub use addr::{is_lan_address, parse_reverse, reverse_name};
pub use table::{name_of, with_key, Data, Table};

use koi_wire::dns::Name;
use std::fmt;
use std::net::IpAddr;

/// Where a record came from, highest priority first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    /// `koi dns add`.
    Static,
    /// A certmesh member's host name and addresses.
    Certmesh,
    /// The mDNS registry (host names, service aliases, SRV).
    Mdns,
}

impl Source {
    /// Every source, highest priority first.
    pub const ALL: [Source; 3] = [Source::Static, Source::Certmesh, Source::Mdns];

    /// The TTL handed out for this source's records: static names are stable, automatic ones
    /// short so a name that leaves mDNS leaves caches quickly.
    pub fn ttl(self) -> u32 {
        match self {
            Source::Static => 300,
            Source::Certmesh => 60,
            Source::Mdns => 30,
        }
    }

    /// `static`, `certmesh` or `mdns`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Static => "static",
            Source::Certmesh => "certmesh",
            Source::Mdns => "mdns",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The TTL of the SOA in negative answers, and so how long a resolver caches "no such name".
pub const NEGATIVE_TTL: u32 = 30;

/// The local zone: its origin and one table per source.
#[derive(Debug)]
pub struct Zone {
    origin: Name,
    tables: [Table; 3],
    /// Bumped on every change; the SOA serial.
    serial: u32,
}

impl Zone {
    /// An empty zone for `origin` (e.g. `lan`).
    pub fn new(origin: Name) -> Zone {
        Zone {
            origin,
            tables: [Table::default(), Table::default(), Table::default()],
            serial: 1,
        }
    }

    /// The zone's origin.
    pub fn origin(&self) -> &Name {
        &self.origin
    }

    /// The SOA serial.
    pub fn serial(&self) -> u32 {
        self.serial
    }

    /// The table of one source.
    pub fn table(&self, source: Source) -> &Table {
        &self.tables[source as usize]
    }

    /// One source's table for changing (bumps the serial).
    pub fn table_mut(&mut self, source: Source) -> &mut Table {
        self.serial = self.serial.wrapping_add(1).max(1);
        &mut self.tables[source as usize]
    }

    /// Changes one source's table in place.
    pub fn edit(&mut self, source: Source, f: impl FnOnce(&mut Table)) {
        f(&mut self.tables[source as usize]);
        self.serial = self.serial.wrapping_add(1).max(1);
    }

    /// Replaces one source's table; returns the names it shares with higher-priority sources
    /// (hidden by them), so the caller can warn about each conflict.
    pub fn replace(&mut self, source: Source, table: Table) -> Vec<Name> {
        let hidden = Source::ALL
            .iter()
            .filter(|s| **s < source)
            .flat_map(|s| table.keys().filter(|k| self.table(*s).get_key(k).is_some()))
            .map(name_of)
            .collect();
        self.tables[source as usize] = table;
        self.serial = self.serial.wrapping_add(1).max(1);
        hidden
    }

    /// The records of `name` and the source that owns it.
    pub fn lookup(&self, name: &Name) -> Option<(Source, &[Data])> {
        with_key(name, |key| {
            Source::ALL
                .iter()
                .find_map(|s| self.table(*s).get_key(key).map(|d| (*s, d)))
        })
    }

    /// The highest-priority source holding names beneath `name`: `name` exists as an empty
    /// non-terminal when [`Zone::lookup`] finds nothing (RFC 8020: NODATA, not NXDOMAIN).
    pub fn has_below(&self, name: &Name) -> Option<Source> {
        with_key(name, |key| {
            Source::ALL
                .iter()
                .copied()
                .find(|s| self.table(*s).has_below(key))
        })
    }

    /// The name of a local address, for PTR, and its source.
    pub fn reverse(&self, ip: IpAddr) -> Option<(Source, Name)> {
        Source::ALL
            .iter()
            .find_map(|s| self.table(*s).reverse(ip).map(|n| (*s, n)))
    }

    /// Whether `name` is in the zone (the origin or below it).
    pub fn contains(&self, name: &Name) -> bool {
        name.ends_with(&self.origin)
    }

    /// The number of distinct names answered, over all sources.
    pub fn name_count(&self) -> usize {
        let mut n = 0;
        for (i, table) in self.tables.iter().enumerate() {
            n += table
                .keys()
                .filter(|k| !self.tables[..i].iter().any(|t| t.get_key(k).is_some()))
                .count();
        }
        n
    }

    /// Every name with its owning source and records, sorted by name (for `koi dns list`).
    pub fn entries(&self) -> Vec<(Name, Source, Vec<Data>)> {
        let mut out = Vec::new();
        for (i, source) in Source::ALL.iter().enumerate() {
            for (key, data) in self.tables[i]
                .keys()
                .filter_map(|k| self.tables[i].get_key(k).map(|d| (k, d)))
            {
                if !self.tables[..i].iter().any(|t| t.get_key(key).is_some()) {
                    out.push((name_of(key), *source, data.to_vec()));
                }
            }
        }
        out.sort_by_key(|(n, _, _)| n.to_string().to_ascii_lowercase());
        out
    }
}

#[cfg(test)]
mod tests;
