//! Message framing (RFC 9112 §6): which header decides where a body ends, and whether the
//! connection stays open afterwards.
//!
//! Invariant: any head that a different, lenient parser could frame differently is an error
//! here, never a guess. That is what keeps a proxy in front of us and this parser agreeing on
//! where one request ends and the next begins.

use super::{BodyKind, Error, Header, Version};

/// The body framing the headers declare, or `None` if they declare none (the caller picks
/// `Empty` for requests and `UntilClose` for responses).
pub(crate) fn framing(version: Version, headers: &[Header]) -> Result<Option<BodyKind>, Error> {
    let mut content_length: Option<&str> = None;
    let mut transfer_encoding: Option<&str> = None;
    let mut transfer_encodings = 0usize;
    for h in headers {
        if h.name.eq_ignore_ascii_case("content-length") {
            if content_length.is_some() {
                return Err(Error::DuplicateContentLength);
            }
            content_length = Some(&h.value);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            transfer_encodings += 1;
            transfer_encoding = Some(&h.value);
        }
    }
    if let Some(coding) = transfer_encoding {
        if content_length.is_some() {
            return Err(Error::ContentLengthWithTransferEncoding);
        }
        let chunked = transfer_encodings == 1 && coding.eq_ignore_ascii_case("chunked");
        if version == Version::Http10 || !chunked {
            return Err(Error::UnsupportedTransferEncoding);
        }
        return Ok(Some(BodyKind::Chunked));
    }
    match content_length {
        Some(value) => Ok(Some(BodyKind::Length(parse_content_length(value)?))),
        None => Ok(None),
    }
}

/// `1*DIGIT` into a `u64`. A comma means a list (`5, 5`), which we refuse as a duplicate
/// rather than deduplicate.
pub(crate) fn parse_content_length(value: &str) -> Result<u64, Error> {
    if value.contains(',') {
        return Err(Error::DuplicateContentLength);
    }
    if value.is_empty() {
        return Err(Error::BadContentLength);
    }
    value.bytes().try_fold(0u64, |n, b| {
        if !b.is_ascii_digit() {
            return Err(Error::BadContentLength);
        }
        n.checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(b - b'0')))
            .ok_or(Error::BadContentLength)
    })
}

/// Persistence per RFC 9112 §9.3, from every `Connection` field's comma-separated options.
pub(crate) fn keep_alive(version: Version, headers: &[Header]) -> bool {
    let mut close = false;
    let mut keep = false;
    let options = headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("connection"))
        .flat_map(|h| h.value.split(','))
        .map(|o| o.trim_matches([' ', '\t']));
    for option in options {
        close |= option.eq_ignore_ascii_case("close");
        keep |= option.eq_ignore_ascii_case("keep-alive");
    }
    match version {
        Version::Http11 => !close,
        Version::Http10 => keep && !close,
    }
}
