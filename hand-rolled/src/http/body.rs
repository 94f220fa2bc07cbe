//! Incremental body decoding: Content-Length, chunked, and read-until-close bodies.
//!
//! Invariants:
//! - The decoder keeps a few integers of state and never buffers: data bytes go straight to
//!   the caller's `out`, framing bytes are consumed one at a time, so input may be split
//!   anywhere and decoding gives the same result.
//! - It never consumes a byte past the end of the body (those belong to the next message).
//! - The decoded total never exceeds the cap; a chunk that would exceed it is refused when its
//!   size line is read, before any of its data is accepted.
//! - Chunk size lines (size and extensions) and trailer sections are bounded by fixed
//!   constants; trailers are checked for syntax and discarded.
//! - After an error the decoder is poisoned and repeats that error.

use super::syntax::{is_field_byte, is_tchar};
use super::{BodyKind, Error};

/// Longest chunk size line we accept, size digits and extensions together, without CRLF.
const MAX_CHUNK_LINE: usize = 1024;
/// Most bytes of trailer section (after the last chunk) we are willing to read and discard.
const MAX_TRAILER_BYTES: usize = 16 * 1024;
/// Most trailer fields we are willing to read and discard.
const MAX_TRAILER_FIELDS: usize = 64;

/// Decodes one message body from bytes fed in any split, appending the payload to a `Vec`.
#[derive(Clone, Debug)]
pub struct BodyDecoder {
    state: State,
    cap: u64,
    /// Payload bytes announced by chunk sizes or accepted until close, checked against `cap`.
    total: u64,
    /// Bytes of the current chunk size line, or of the whole trailer section.
    line: usize,
    /// Trailer fields seen.
    fields: usize,
}

#[derive(Clone, Copy, Debug)]
enum State {
    Length { remaining: u64 },
    UntilClose,
    Data { remaining: u64 },
    Framing(Step),
    Done,
    Failed(Error),
}

/// Where a chunked body is between data runs; each state consumes one byte.
#[derive(Clone, Copy, Debug)]
enum Step {
    /// Chunk size hex digits; `digits` is false until the first one.
    Size {
        size: u64,
        digits: bool,
    },
    /// Whitespace after the size, which only a `;` may follow.
    SizeSpace {
        size: u64,
    },
    /// A chunk extension, skipped up to CR.
    Extension {
        size: u64,
    },
    /// After the size line's CR.
    SizeLf {
        size: u64,
    },
    /// After a chunk's data.
    DataCr,
    DataLf,
    /// At the start of a trailer line, or the final CRLF.
    TrailerStart,
    TrailerName,
    TrailerValue,
    TrailerLf,
    /// After the final CR.
    EndLf,
}

/// What one framing byte leads to.
enum Next {
    Step(Step),
    Data(u64),
    Done,
}

impl BodyDecoder {
    /// A decoder for a body of `kind` holding at most `cap` payload bytes; a `Length` over the
    /// cap is refused at once.
    pub fn new(kind: BodyKind, cap: u64) -> Result<Self, Error> {
        let state = match kind {
            BodyKind::Empty | BodyKind::Length(0) => State::Done,
            BodyKind::Length(n) if n > cap => return Err(Error::BodyTooLarge),
            BodyKind::Length(n) => State::Length { remaining: n },
            BodyKind::Chunked => State::Framing(Step::Size {
                size: 0,
                digits: false,
            }),
            BodyKind::UntilClose => State::UntilClose,
        };
        Ok(Self {
            state,
            cap,
            total: 0,
            line: 0,
            fields: 0,
        })
    }

    /// Consumes what it can from `input`, appends decoded body bytes to `out`, and returns how
    /// many bytes of `input` it consumed. Bytes after the end of the body are not consumed.
    /// On `Err`, `out` may hold part of the payload and the decoder stays failed.
    pub fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, Error> {
        match self.run(input, out) {
            Ok(n) => Ok(n),
            Err(e) => {
                self.state = State::Failed(e);
                Err(e)
            }
        }
    }

    /// Whether the whole body, including a chunked body's trailers, has been consumed.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// Tells the decoder the peer closed: ends an until-close body, and is
    /// [`Error::Truncated`] for any other body not yet done.
    pub fn finish_at_eof(&mut self) -> Result<(), Error> {
        match self.state {
            State::Done => Ok(()),
            State::UntilClose => {
                self.state = State::Done;
                Ok(())
            }
            State::Failed(e) => Err(e),
            State::Length { .. } | State::Data { .. } | State::Framing(_) => {
                self.state = State::Failed(Error::Truncated);
                Err(Error::Truncated)
            }
        }
    }

    fn run(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, Error> {
        let mut pos = 0;
        loop {
            let rest = input.get(pos..).unwrap_or_default();
            match self.state {
                State::Done => return Ok(pos),
                State::Failed(e) => return Err(e),
                State::UntilClose => {
                    let len = u64::try_from(rest.len()).unwrap_or(u64::MAX);
                    self.total = self
                        .total
                        .checked_add(len)
                        .filter(|&t| t <= self.cap)
                        .ok_or(Error::BodyTooLarge)?;
                    out.extend_from_slice(rest);
                    return Ok(input.len());
                }
                State::Length { remaining } | State::Data { remaining } => {
                    if rest.is_empty() {
                        return Ok(pos);
                    }
                    let take = usize::try_from(remaining).map_or(rest.len(), |r| r.min(rest.len()));
                    let (data, _) = rest.split_at_checked(take).unwrap_or((rest, &[]));
                    out.extend_from_slice(data);
                    pos += data.len();
                    let remaining = remaining.saturating_sub(data.len() as u64);
                    self.state = match (self.state, remaining) {
                        (State::Length { .. }, 0) => State::Done,
                        (State::Length { .. }, _) => State::Length { remaining },
                        (_, 0) => State::Framing(Step::DataCr),
                        (_, _) => State::Data { remaining },
                    };
                }
                State::Framing(step) => {
                    let Some(&b) = rest.first() else {
                        return Ok(pos);
                    };
                    pos += 1;
                    self.state = match self.step(step, b)? {
                        Next::Step(step) => State::Framing(step),
                        Next::Data(remaining) => State::Data { remaining },
                        Next::Done => State::Done,
                    };
                }
            }
        }
    }

    /// One byte of chunked framing.
    fn step(&mut self, step: Step, b: u8) -> Result<Next, Error> {
        let next = match step {
            Step::Size { size, digits } => {
                self.size_line_byte()?;
                match (hex_digit(b), b) {
                    (Some(d), _) => {
                        let size = size
                            .checked_mul(16)
                            .and_then(|s| s.checked_add(d))
                            .ok_or(Error::ChunkSizeOverflow)?;
                        // Sizes only grow with more digits: refuse before any data arrives.
                        if size > self.cap.saturating_sub(self.total) {
                            return Err(Error::BodyTooLarge);
                        }
                        Step::Size { size, digits: true }
                    }
                    _ if !digits => return Err(Error::BadChunk),
                    (None, b';') => Step::Extension { size },
                    (None, b' ' | b'\t') => Step::SizeSpace { size },
                    (None, b'\r') => Step::SizeLf { size },
                    (None, _) => return Err(Error::BadChunk),
                }
            }
            Step::SizeSpace { size } => {
                self.size_line_byte()?;
                match b {
                    b' ' | b'\t' => Step::SizeSpace { size },
                    b';' => Step::Extension { size },
                    _ => return Err(Error::BadChunk),
                }
            }
            Step::Extension { size } => {
                self.size_line_byte()?;
                match b {
                    b'\r' => Step::SizeLf { size },
                    _ if is_field_byte(b) => Step::Extension { size },
                    _ => return Err(Error::BadChunk),
                }
            }
            Step::SizeLf { size } => {
                expect(b, b'\n')?;
                self.line = 0;
                if size == 0 {
                    Step::TrailerStart
                } else {
                    self.total = self.total.saturating_add(size);
                    return Ok(Next::Data(size));
                }
            }
            Step::DataCr => {
                expect(b, b'\r')?;
                Step::DataLf
            }
            Step::DataLf => {
                expect(b, b'\n')?;
                Step::Size {
                    size: 0,
                    digits: false,
                }
            }
            Step::TrailerStart => {
                self.trailer_byte()?;
                match b {
                    b'\r' => Step::EndLf,
                    _ if is_tchar(b) => {
                        self.fields += 1;
                        if self.fields > MAX_TRAILER_FIELDS {
                            return Err(Error::TooManyHeaders);
                        }
                        Step::TrailerName
                    }
                    _ => return Err(Error::BadChunk),
                }
            }
            Step::TrailerName => {
                self.trailer_byte()?;
                match b {
                    b':' => Step::TrailerValue,
                    _ if is_tchar(b) => Step::TrailerName,
                    _ => return Err(Error::BadChunk),
                }
            }
            Step::TrailerValue => {
                self.trailer_byte()?;
                match b {
                    b'\r' => Step::TrailerLf,
                    _ if is_field_byte(b) => Step::TrailerValue,
                    _ => return Err(Error::BadChunk),
                }
            }
            Step::TrailerLf => {
                self.trailer_byte()?;
                expect(b, b'\n')?;
                Step::TrailerStart
            }
            Step::EndLf => {
                expect(b, b'\n')?;
                return Ok(Next::Done);
            }
        };
        Ok(Next::Step(next))
    }

    fn size_line_byte(&mut self) -> Result<(), Error> {
        self.line += 1;
        if self.line > MAX_CHUNK_LINE {
            return Err(Error::BadChunk);
        }
        Ok(())
    }

    fn trailer_byte(&mut self) -> Result<(), Error> {
        self.line += 1;
        if self.line > MAX_TRAILER_BYTES {
            return Err(Error::HeadTooLarge);
        }
        Ok(())
    }
}

fn expect(b: u8, want: u8) -> Result<(), Error> {
    if b == want {
        Ok(())
    } else {
        Err(Error::BadChunk)
    }
}

/// A hex digit's value; no sign, no `0x`, either case.
fn hex_digit(b: u8) -> Option<u64> {
    char::from(b).to_digit(16).map(u64::from)
}
