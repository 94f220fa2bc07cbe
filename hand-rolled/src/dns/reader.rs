//! The read cursor every decoder in this module goes through.
//!
//! A [`Reader`] is a window `[pos, end)` over the whole message. Every read is checked and
//! returns [`DecodeError::Truncated`] instead of indexing out of bounds. A length-prefixed field
//! gets a [`Reader::sub`] window that ends where the field ends, so its decoder cannot read past
//! it, while name decompression can still follow pointers into the whole message through
//! [`Reader::message`].
//!
//! Invariant: `pos <= end <= msg.len()`.

use super::error::DecodeError;

/// A bounded cursor over a DNS message.
#[derive(Clone, Debug)]
pub(crate) struct Reader<'a> {
    msg: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> Reader<'a> {
    /// A reader over the whole message.
    pub(crate) fn new(msg: &'a [u8]) -> Self {
        Reader {
            msg,
            pos: 0,
            end: msg.len(),
        }
    }

    /// The whole message, for following compression pointers.
    pub(crate) fn message(&self) -> &'a [u8] {
        self.msg
    }

    /// The absolute offset of the next byte in the message.
    pub(crate) fn offset(&self) -> usize {
        self.pos
    }

    /// The unread bytes of this window.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.msg.get(self.pos..self.end).unwrap_or(&[])
    }

    /// Whether the window has been read to its end.
    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.end
    }

    /// Consumes the next `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let (head, _) = self
            .rest()
            .split_at_checked(n)
            .ok_or(DecodeError::Truncated)?;
        self.pos += n;
        Ok(head)
    }

    /// Consumes everything left in the window.
    pub(crate) fn take_rest(&mut self) -> &'a [u8] {
        let rest = self.rest();
        self.pos = self.end;
        rest
    }

    /// Consumes exactly `N` bytes as an array.
    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        self.take(N)?.try_into().map_err(|_| DecodeError::Truncated)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(u8::from_be_bytes(self.array()?))
    }

    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    /// Consumes `n` bytes and returns a reader limited to them (for RDLENGTH-bounded RDATA).
    pub(crate) fn sub(&mut self, n: usize) -> Result<Reader<'a>, DecodeError> {
        let start = self.pos;
        self.take(n)?;
        Ok(Reader {
            msg: self.msg,
            pos: start,
            end: start + n,
        })
    }

    /// Fails with `err` unless the window has been read to its end.
    pub(crate) fn expect_empty(&self, err: DecodeError) -> Result<(), DecodeError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(err)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_fail_instead_of_overrunning() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u16(), Ok(0x0102));
        assert_eq!(r.u16(), Err(DecodeError::Truncated));
        assert_eq!(r.u8(), Ok(3));
        assert_eq!(r.u8(), Err(DecodeError::Truncated));
        assert!(r.is_empty());
    }

    #[test]
    fn sub_reader_is_bounded_and_advances_parent() {
        let msg = [0, 1, 2, 3, 4, 5];
        let mut r = Reader::new(&msg);
        r.take(1).ok();
        let mut s = r.sub(2).unwrap();
        assert_eq!(r.offset(), 3);
        assert_eq!(s.offset(), 1);
        assert_eq!(s.take(3), Err(DecodeError::Truncated));
        assert_eq!(s.u16(), Ok(0x0102));
        assert_eq!(s.expect_empty(DecodeError::BadRdata), Ok(()));
        assert_eq!(s.message().len(), 6);
        assert_eq!(r.sub(4).map(|_| ()), Err(DecodeError::Truncated));
        assert_eq!(r.take_rest(), &[3, 4, 5]);
    }
}
