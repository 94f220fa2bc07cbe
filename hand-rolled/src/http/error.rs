//! The one error type for every HTTP parser, decoder and writer, and its mapping to the status
//! a server answers with.

use std::fmt;

/// Why a head, body or write was refused.
///
/// Small and `Copy` on purpose: it says what was wrong, never echoes the peer's bytes back.
/// After any of these a server should answer [`Error::status`] and close the connection,
/// because the framing of whatever follows can no longer be trusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The request line is longer than `Limits::max_request_line`.
    RequestLineTooLong,
    /// The head (or a chunked body's trailer section) is larger than its limit.
    HeadTooLarge,
    /// More header (or trailer) fields than the limit allows.
    TooManyHeaders,
    /// A line ends in LF without CR.
    BareLf,
    /// A header line starts with whitespace (obsolete line folding).
    ObsFold,
    /// The request line is not `method SP target SP version` with valid parts.
    BadRequestLine,
    /// The status line is not `version SP 3DIGIT SP reason`.
    BadStatusLine,
    /// The version is not `HTTP/1.0` or `HTTP/1.1`.
    BadVersion,
    /// A header line has no colon, a name that is not a token, or a forbidden byte.
    BadHeader,
    /// Content-Length appears more than once, or as a list.
    DuplicateContentLength,
    /// Content-Length and Transfer-Encoding appear together.
    ContentLengthWithTransferEncoding,
    /// Content-Length is empty, signed, not decimal digits, or over `u64::MAX`.
    BadContentLength,
    /// Transfer-Encoding is anything but a single `chunked`, or appears in HTTP/1.0.
    UnsupportedTransferEncoding,
    /// The chunked framing is malformed (size line, CRLF after data, trailers).
    BadChunk,
    /// A chunk size does not fit in a `u64`.
    ChunkSizeOverflow,
    /// The body is longer than the caller's cap.
    BodyTooLarge,
    /// The connection ended before the body did.
    Truncated,
}

impl Error {
    /// The response status a server should send for this error before closing.
    pub fn status(self) -> u16 {
        match self {
            Self::BodyTooLarge => 413,
            Self::RequestLineTooLong | Self::HeadTooLarge | Self::TooManyHeaders => 431,
            Self::UnsupportedTransferEncoding => 501,
            Self::BareLf
            | Self::ObsFold
            | Self::BadRequestLine
            | Self::BadStatusLine
            | Self::BadVersion
            | Self::BadHeader
            | Self::DuplicateContentLength
            | Self::ContentLengthWithTransferEncoding
            | Self::BadContentLength
            | Self::BadChunk
            | Self::ChunkSizeOverflow
            | Self::Truncated => 400,
        }
    }

    fn message(self) -> &'static str {
        match self {
            Self::RequestLineTooLong => "request line too long",
            Self::HeadTooLarge => "header section too large",
            Self::TooManyHeaders => "too many header fields",
            Self::BareLf => "line ends in LF without CR",
            Self::ObsFold => "obsolete line folding in header section",
            Self::BadRequestLine => "malformed request line",
            Self::BadStatusLine => "malformed status line",
            Self::BadVersion => "unsupported HTTP version",
            Self::BadHeader => "malformed header field",
            Self::DuplicateContentLength => "more than one Content-Length",
            Self::ContentLengthWithTransferEncoding => "both Content-Length and Transfer-Encoding",
            Self::BadContentLength => "malformed Content-Length",
            Self::UnsupportedTransferEncoding => "unsupported Transfer-Encoding",
            Self::BadChunk => "malformed chunked body",
            Self::ChunkSizeOverflow => "chunk size overflows",
            Self::BodyTooLarge => "body too large",
            Self::Truncated => "connection closed before the body ended",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for Error {}
