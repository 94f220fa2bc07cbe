//! Byte classes from RFC 9110/9112 and the CRLF line cursor the head parsers read with.
//!
//! Invariant: nothing here indexes a slice; lines are found with `splitn`, so a buffer that
//! ends anywhere yields "incomplete", never a panic.

use super::Error;

/// `tchar` from RFC 9110 §5.6.2: the bytes of methods and field names.
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A non-empty RFC 9110 token.
pub(crate) fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// `VCHAR`: visible ASCII, no space.
pub(crate) fn is_vchar(b: u8) -> bool {
    (0x21..=0x7e).contains(&b)
}

/// A byte allowed in a field value or reason phrase: HTAB, SP, VCHAR or obs-text.
pub(crate) fn is_field_byte(b: u8) -> bool {
    b == b'\t' || b == b' ' || is_vchar(b) || b >= 0x80
}

/// A request target: non-empty visible ASCII (RFC 3986 characters are a subset).
pub(crate) fn is_target(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_vchar(b))
}

/// Optional whitespace (SP / HTAB) around field values.
pub(crate) fn trim_ows(s: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = s.iter().position(|b| !is_ows(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|b| !is_ows(b)).map_or(start, |i| i + 1);
    s.get(start..end).unwrap_or_default()
}

/// Bytes to text without failing: ASCII stays as is, invalid UTF-8 becomes U+FFFD.
pub(crate) fn text(s: &[u8]) -> String {
    String::from_utf8_lossy(s).into_owned()
}

/// Splits a buffer into CRLF-terminated lines, counting what it has consumed.
pub(crate) struct Lines<'a> {
    rest: &'a [u8],
    consumed: usize,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self {
            rest: buf,
            consumed: 0,
        }
    }

    /// Bytes not yet returned as lines: the start of an incomplete line.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.rest
    }

    /// Bytes consumed so far, CRLFs included.
    pub(crate) fn consumed(&self) -> usize {
        self.consumed
    }

    /// Skips empty lines (CRLF) before a request line, as RFC 9112 §2.2 allows.
    pub(crate) fn skip_empty_lines(&mut self) -> Result<(), Error> {
        while let Some(tail) = self.rest.strip_prefix(b"\r\n") {
            self.rest = tail;
            self.consumed += 2;
        }
        if self.rest.first() == Some(&b'\n') {
            return Err(Error::BareLf);
        }
        Ok(())
    }

    /// The next line without its CRLF; `Ok(None)` if no LF has arrived yet.
    pub(crate) fn next_line(&mut self) -> Result<Option<&'a [u8]>, Error> {
        let mut halves = self.rest.splitn(2, |&b| b == b'\n');
        let (Some(line), Some(tail)) = (halves.next(), halves.next()) else {
            return Ok(None);
        };
        let line = line.strip_suffix(b"\r").ok_or(Error::BareLf)?;
        self.consumed += line.len() + 2;
        self.rest = tail;
        Ok(Some(line))
    }
}
