//! HTTP/1.1 message heads and bodies (RFC 9112), parsed strictly.
//!
//! This module owns the bytes of an HTTP/1.x exchange: request and status lines, header
//! fields, the rules that decide how a body is framed, and the chunked transfer coding. It does
//! no I/O. A caller reads into a buffer, calls [`parse_request_head`] (or
//! [`parse_response_head`]) until it returns a head and its length, asks the head for its
//! [`BodyKind`], and feeds the bytes after the head to a [`BodyDecoder`]. Whatever the decoder
//! does not consume belongs to the next pipelined message.
//!
//! ```
//! use koi_wire::http::{parse_request_head, write_response_head, BodyDecoder, Limits};
//!
//! let buf = b"POST /v1/echo HTTP/1.1\r\nHost: koi.local\r\nContent-Length: 2\r\n\r\nhiGET /";
//! let (head, n) = parse_request_head(buf, &Limits::default())?.expect("a whole head");
//! let mut body = Vec::new();
//! let mut decoder = BodyDecoder::new(head.body_kind()?, 1 << 20)?;
//! let used = decoder.decode(&buf[n..], &mut body)?;
//! assert!(decoder.is_done());
//! assert_eq!((body.as_slice(), &buf[n + used..]), (&b"hi"[..], &b"GET /"[..]));
//!
//! let mut out = Vec::new();
//! write_response_head(&mut out, 200, &[("Content-Length", "2")])?;
//! assert_eq!(out, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n");
//! # Ok::<(), koi_wire::http::Error>(())
//! ```
//!
//! Invariants:
//! - No input makes a parser or decoder panic. Work and memory are bounded by [`Limits`] for
//!   heads and by the caller's cap for bodies; no number read from the wire sizes an
//!   allocation.
//! - A head parser looks at no more than `max_head` bytes, and returns an error as soon as the
//!   bytes it has prove the head broken or over a limit, so a server can stop reading early.
//! - Every line ends in CRLF. There is no lenient mode: what one strict parser rejects, no
//!   smuggling-prone lenient parser behind or in front of us gets to interpret differently.
//! - Framing is unambiguous: `body_kind` refuses every head two parsers could frame
//!   differently (duplicate Content-Length, Content-Length with Transfer-Encoding, any
//!   transfer coding but a lone `chunked`).
//! - What the writers accept, the parsers accept and read back unchanged (apart from
//!   whitespace around header values, which the parser trims).
//!
//! Refused on purpose:
//! - HTTP/0.9, HTTP/2 and any version but `HTTP/1.0` and `HTTP/1.1`.
//! - obs-fold (header lines continued with leading whitespace), bare LF or bare CR line
//!   endings, whitespace between a field name and its colon.
//! - Transfer codings other than `chunked` (no gzip, no `chunked` twice), and any
//!   Transfer-Encoding in an HTTP/1.0 message.
//! - Empty lines before a status line (they are skipped before a request line only).
//! - Header values and reason phrases are kept as text: bytes that are not UTF-8 (RFC
//!   obs-text) are accepted but replaced by U+FFFD.

mod body;
mod error;
mod framing;
mod head;
mod syntax;
mod write;

#[doc(hidden)]
pub mod fuzzing;

pub use body::BodyDecoder;
pub use error::Error;
pub use head::{parse_request_head, parse_response_head, RequestHead, ResponseHead};
pub use write::{
    reason_phrase, write_chunk, write_last_chunk, write_request_head, write_response_head,
};

/// Bounds on a head that [`parse_request_head`] and [`parse_response_head`] enforce while
/// bytes are still arriving.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most bytes a head may take, from its first byte (including skipped empty lines) to the
    /// end of the empty line that closes it.
    pub max_head: usize,
    /// Most header fields a head may carry.
    pub max_headers: usize,
    /// Longest request line, without its CRLF. Status lines are bounded by `max_head` only.
    pub max_request_line: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_head: 16 * 1024,
            max_headers: 64,
            max_request_line: 8 * 1024,
        }
    }
}

/// The protocol version on a request or status line; nothing else is accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// `HTTP/1.0`: connections close after each exchange unless `keep-alive` is asked for.
    Http10,
    /// `HTTP/1.1`: persistent connections, chunked bodies.
    Http11,
}

impl Version {
    /// The version as it appears on the wire, e.g. `"HTTP/1.1"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http10 => "HTTP/1.0",
            Self::Http11 => "HTTP/1.1",
        }
    }
}

/// One header field, name as received (compare it case-insensitively), value without the
/// whitespace around it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The field name, an RFC 9110 token.
    pub name: String,
    /// The field value, trimmed of leading and trailing spaces and tabs.
    pub value: String,
}

impl Header {
    /// Builds a header from anything string-like, without validating it (writers do that).
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// How the body after a head is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyKind {
    /// No body: the next byte starts the next message.
    Empty,
    /// Exactly this many bytes (`Content-Length`).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Everything until the peer closes the connection (responses only).
    UntilClose,
}
