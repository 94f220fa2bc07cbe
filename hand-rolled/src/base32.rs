//! Base32 (RFC 4648 §6), the encoding authenticator apps use for TOTP secrets.
//!
//! [`encode`] writes the canonical form: upper-case, no `=` padding. [`decode`] is lenient in
//! the ways people type secrets (lower case, spaces between groups, with or without padding)
//! and strict about everything else: an unknown character, an impossible length, padding that
//! does not match the length, or non-zero leftover bits are errors, so every accepted string has
//! exactly one canonical encoding. Work and memory are linear in the input's length.
//!
//! Refused: the "extended hex" alphabet (§7), Crockford's alphabet and its `0`/`O`, `1`/`I`
//! substitutions, and separators other than the ASCII space.

use std::fmt;

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Why a string is not base32.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base32Error {
    /// A byte outside the alphabet (and not a space or trailing `=`), at this byte offset.
    InvalidChar {
        /// Byte offset in the input.
        position: usize,
    },
    /// The number of base32 characters leaves 1, 3 or 6 characters over, which no byte string
    /// encodes to.
    InvalidLength,
    /// `=` padding that is not at the end or does not match the data's length.
    InvalidPadding,
    /// The last character carries bits past the end of the data that are not zero.
    NonCanonical,
}

impl fmt::Display for Base32Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Base32Error::InvalidChar { position } => {
                write!(f, "invalid base32 character at offset {position}")
            }
            Base32Error::InvalidLength => f.write_str("base32 text has an impossible length"),
            Base32Error::InvalidPadding => f.write_str("base32 padding is misplaced or wrong"),
            Base32Error::NonCanonical => f.write_str("base32 text has non-zero trailing bits"),
        }
    }
}

impl std::error::Error for Base32Error {}

/// Encodes `bytes` as upper-case base32 without padding.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut acc: u16 = 0;
    let mut bits: u32 = 0;
    for &b in bytes {
        acc = (acc << 8) | u16::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(symbol(acc >> bits));
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(symbol(acc << (5 - bits)));
    }
    out
}

fn symbol(v: u16) -> char {
    char::from(ALPHABET[usize::from(v & 0x1f)])
}

fn value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a'),
        b'2'..=b'7' => Some(c - b'2' + 26),
        _ => None,
    }
}

/// Decodes base32 text: either case, spaces anywhere ignored, `=` padding optional but exact
/// when present.
pub fn decode(text: &str) -> Result<Vec<u8>, Base32Error> {
    let mut out = Vec::with_capacity(text.len() / 8 * 5 + 5);
    let mut acc: u16 = 0;
    let mut bits: u32 = 0;
    let mut symbols: usize = 0;
    let mut pads: usize = 0;
    for (position, c) in text.bytes().enumerate() {
        if c == b' ' {
            continue;
        }
        if c == b'=' {
            pads += 1;
            continue;
        }
        if pads > 0 {
            // Data after padding.
            return Err(Base32Error::InvalidPadding);
        }
        let v = value(c).ok_or(Base32Error::InvalidChar { position })?;
        symbols += 1;
        acc = (acc << 5) | u16::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    let expected_pads = match symbols % 8 {
        0 => 0,
        2 => 6,
        4 => 4,
        5 => 3,
        7 => 1,
        _ => return Err(Base32Error::InvalidLength),
    };
    if pads != 0 && pads != expected_pads {
        return Err(Base32Error::InvalidPadding);
    }
    if acc != 0 {
        return Err(Base32Error::NonCanonical);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftover_bits_must_be_zero() {
        // "MY" is "f"; "MZ" sets a bit past the end of the data.
        assert_eq!(decode("MY"), Ok(b"f".to_vec()));
        assert_eq!(decode("MZ"), Err(Base32Error::NonCanonical));
    }

    #[test]
    fn padding_must_match_and_come_last() {
        assert_eq!(decode("MY======"), Ok(b"f".to_vec()));
        assert_eq!(decode("MY====="), Err(Base32Error::InvalidPadding));
        assert_eq!(decode("MY=====A"), Err(Base32Error::InvalidPadding));
        assert_eq!(decode("========"), Err(Base32Error::InvalidPadding));
    }
}
