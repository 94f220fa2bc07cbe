//! The strings, addresses and TXT of one discovered service or host, packed into one exact
//! allocation.
//!
//! Owns [`Packed`]: a byte buffer written once by [`PackWriter`] and read back field by field
//! with [`PackReader`]. The registry holds thousands of services; as separate `String`s and
//! `Vec`s each one cost six small allocations, and the allocator's header and rounding on
//! each made up a third of its resident memory. Lengths are LEB128 (one byte below 128), an
//! address is a family byte and its octets. Everything in it was written by this module, so a
//! reader that meets something else (it cannot happen) yields empty fields, never a panic.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

/// Fields written by [`PackWriter`], in one allocation of exactly their size.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct Packed(Box<[u8]>);

impl Packed {
    /// A reader at the first field.
    pub(crate) fn reader(&self) -> PackReader<'_> {
        PackReader(&self.0)
    }
}

/// The same in a shared allocation: clones share it.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct SharedPacked(Arc<[u8]>);

impl SharedPacked {
    /// A reader at the first field.
    pub(crate) fn reader(&self) -> PackReader<'_> {
        PackReader(&self.0)
    }
}

/// Appends fields; [`PackWriter::finish`] makes the exact allocation.
#[derive(Default)]
pub(crate) struct PackWriter(Vec<u8>);

impl PackWriter {
    fn varint(&mut self, n: usize) {
        let mut n = n;
        while n >= 0x80 {
            self.0.push((n & 0x7f) as u8 | 0x80);
            n >>= 7;
        }
        self.0.push(n as u8);
    }

    /// Bytes of a size the reader knows ([`PackReader::array`]).
    pub(crate) fn raw(&mut self, b: &[u8]) -> &mut Self {
        self.0.extend_from_slice(b);
        self
    }

    /// A length-prefixed byte string.
    pub(crate) fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.varint(b.len());
        self.0.extend_from_slice(b);
        self
    }

    /// A count, then each address as its family (4 or 6) and octets.
    pub(crate) fn addrs(&mut self, addrs: impl ExactSizeIterator<Item = IpAddr>) -> &mut Self {
        self.varint(addrs.len());
        for a in addrs {
            match a {
                IpAddr::V4(v4) => {
                    self.0.push(4);
                    self.0.extend_from_slice(&v4.octets());
                }
                IpAddr::V6(v6) => {
                    self.0.push(6);
                    self.0.extend_from_slice(&v6.octets());
                }
            }
        }
        self
    }

    /// A count, then each string length-prefixed.
    pub(crate) fn strings<T: AsRef<[u8]>>(
        &mut self,
        strings: impl ExactSizeIterator<Item = T>,
    ) -> &mut Self {
        self.varint(strings.len());
        for s in strings {
            self.bytes(s.as_ref());
        }
        self
    }

    /// The buffer, allocated at its exact size.
    pub(crate) fn finish(&mut self) -> Packed {
        Packed(std::mem::take(&mut self.0).into_boxed_slice())
    }

    /// The buffer, in a shared allocation of its exact size (and the counts).
    pub(crate) fn finish_shared(&mut self) -> SharedPacked {
        SharedPacked(Arc::from(std::mem::take(&mut self.0)))
    }
}

/// Reads fields back in the order they were written.
#[derive(Clone, Copy)]
pub(crate) struct PackReader<'a>(&'a [u8]);

impl<'a> PackReader<'a> {
    fn varint(&mut self) -> usize {
        let mut n = 0usize;
        for shift in (0..usize::BITS).step_by(7) {
            let Some((&b, rest)) = self.0.split_first() else {
                return 0;
            };
            self.0 = rest;
            n |= usize::from(b & 0x7f).checked_shl(shift).unwrap_or(0);
            if b & 0x80 == 0 {
                return n;
            }
        }
        0
    }

    /// The next `N` bytes written by [`PackWriter::raw`] (zeros past the end).
    pub(crate) fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0; N];
        if let Some((b, rest)) = self.0.split_at_checked(N) {
            out.copy_from_slice(b);
            self.0 = rest;
        } else {
            self.0 = &[];
        }
        out
    }

    /// The next byte string.
    pub(crate) fn bytes(&mut self) -> &'a [u8] {
        let n = self.varint();
        match self.0.split_at_checked(n) {
            Some((b, rest)) => {
                self.0 = rest;
                b
            }
            None => {
                self.0 = &[];
                &[]
            }
        }
    }

    /// The next byte string, as text (it was written from a `&str`).
    pub(crate) fn str(&mut self) -> &'a str {
        std::str::from_utf8(self.bytes()).unwrap_or("")
    }

    /// The next addresses.
    pub(crate) fn addrs(&mut self) -> Addrs<'a> {
        let n = self.varint();
        let all = *self;
        for _ in 0..n {
            self.addr();
        }
        Addrs { r: all, left: n }
    }

    fn addr(&mut self) -> Option<IpAddr> {
        let (&family, rest) = self.0.split_first()?;
        let size = if family == 4 { 4 } else { 16 };
        let (octets, rest) = rest.split_at_checked(size)?;
        self.0 = rest;
        if let Ok(v4) = <[u8; 4]>::try_from(octets) {
            return Some(IpAddr::V4(Ipv4Addr::from(v4)));
        }
        <[u8; 16]>::try_from(octets)
            .ok()
            .map(|v6| IpAddr::V6(Ipv6Addr::from(v6)))
    }

    /// The next strings.
    pub(crate) fn strings(&mut self) -> Strings<'a> {
        let n = self.varint();
        let all = *self;
        for _ in 0..n {
            self.bytes();
        }
        Strings { r: all, left: n }
    }
}

/// Addresses read from a [`Packed`].
#[derive(Clone)]
pub(crate) struct Addrs<'a> {
    r: PackReader<'a>,
    left: usize,
}

impl Iterator for Addrs<'_> {
    type Item = IpAddr;

    fn next(&mut self) -> Option<IpAddr> {
        self.left = self.left.checked_sub(1)?;
        self.r.addr()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.left))
    }
}

/// Strings read from a [`Packed`].
#[derive(Clone)]
pub(crate) struct Strings<'a> {
    r: PackReader<'a>,
    left: usize,
}

impl ExactSizeIterator for Strings<'_> {}

impl<'a> Iterator for Strings<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        self.left = self.left.checked_sub(1)?;
        Some(self.r.bytes())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_come_back_as_written() {
        let long = "x".repeat(300);
        let addrs: Vec<IpAddr> = vec![
            "fe80::1".parse().unwrap(),
            "10.0.0.1".parse().unwrap(),
            "10.0.0.1".parse().unwrap(),
        ];
        let txt: Vec<Vec<u8>> = vec![b"a=1".to_vec(), vec![], vec![7; 200]];
        let p = PackWriter::default()
            .raw(&[1, 2])
            .bytes("Living Room TV".as_bytes())
            .bytes(long.as_bytes())
            .addrs(addrs.iter().copied())
            .strings(txt.iter().map(Vec::as_slice))
            .finish();
        let mut r = p.reader();
        assert_eq!(r.array::<2>(), [1, 2]);
        assert_eq!(r.str(), "Living Room TV");
        assert_eq!(r.str(), long);
        assert_eq!(r.addrs().collect::<Vec<_>>(), addrs);
        assert_eq!(r.strings().collect::<Vec<_>>(), txt);
        assert_eq!(r.str(), "", "past the end: empty");
        assert_eq!(r.array::<4>(), [0; 4]);
        let empty = Packed::default();
        let mut r = empty.reader();
        assert_eq!(
            (r.str(), r.addrs().count(), r.strings().count()),
            ("", 0, 0)
        );
    }
}
