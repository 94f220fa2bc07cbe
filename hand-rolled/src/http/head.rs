//! Request and response heads: the start line and header fields up to the empty line.
//!
//! Invariants: a parser reads at most `limits.max_head` bytes of its buffer, returns
//! `Ok(None)` only while every complete line so far is valid and no limit is provably broken,
//! and on success reports exactly how many bytes the head took (leading empty lines included)
//! so that the caller can hand the rest to a body decoder or the next parse.

use super::framing::{framing, keep_alive};
use super::syntax::{
    is_field_byte, is_target, is_tchar, is_token, is_vchar, text, trim_ows, Lines,
};
use super::{BodyKind, Error, Header, Limits, Version};

/// A parsed request line and header section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestHead {
    /// The method token, case preserved (methods are case-sensitive).
    pub method: String,
    /// The request target exactly as sent: origin form, absolute form, `*` or authority.
    pub target: String,
    /// The version on the request line.
    pub version: Version,
    /// Header fields in the order received.
    pub headers: Vec<Header>,
}

/// A parsed status line and header section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseHead {
    /// The version on the status line.
    pub version: Version,
    /// The three-digit status code, 100 to 999.
    pub status: u16,
    /// The reason phrase, possibly empty; carries no meaning.
    pub reason: String,
    /// Header fields in the order received.
    pub headers: Vec<Header>,
}

fn find<'h>(headers: &'h [Header], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}

impl RequestHead {
    /// The value of the first field called `name`, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        find(&self.headers, name)
    }

    /// How the request body is framed; `Err` for any ambiguous or unsupported framing, which a
    /// server must answer with [`Error::status`] and then close.
    pub fn body_kind(&self) -> Result<BodyKind, Error> {
        Ok(framing(self.version, &self.headers)?.unwrap_or(BodyKind::Empty))
    }

    /// Whether the connection may carry another request after this one: HTTP/1.1 unless
    /// `Connection: close`, HTTP/1.0 only with `Connection: keep-alive`.
    pub fn keep_alive(&self) -> bool {
        keep_alive(self.version, &self.headers)
    }
}

impl ResponseHead {
    /// The value of the first field called `name`, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        find(&self.headers, name)
    }

    /// How the response body is framed, given the method of the request it answers: nothing
    /// after HEAD, 1xx, 204, 304 or a 2xx to CONNECT; otherwise Content-Length, chunked, or
    /// (with neither) everything until the server closes.
    pub fn body_kind(&self, request_method: &str) -> Result<BodyKind, Error> {
        let no_body = request_method == "HEAD"
            || (100..200).contains(&self.status)
            || self.status == 204
            || self.status == 304
            || (request_method == "CONNECT" && (200..300).contains(&self.status));
        if no_body {
            return Ok(BodyKind::Empty);
        }
        Ok(framing(self.version, &self.headers)?.unwrap_or(BodyKind::UntilClose))
    }

    /// Whether the server left the connection open, by version and `Connection` alone. A body
    /// of kind [`BodyKind::UntilClose`] ends the connection whatever this says.
    pub fn keep_alive(&self) -> bool {
        keep_alive(self.version, &self.headers)
    }
}

/// Parses a request head from the start of `buf`.
///
/// `Ok(None)`: incomplete, read more and call again with the longer buffer.
/// `Ok(Some((head, n)))`: a complete head occupying `buf[..n]`; bytes after `n` belong to the
/// body or the next pipelined request. Empty lines before the request line are skipped and
/// counted in `n`. `Err` as soon as the bytes so far prove the head invalid or over a limit.
pub fn parse_request_head(
    buf: &[u8],
    limits: &Limits,
) -> Result<Option<(RequestHead, usize)>, Error> {
    let window = buf.get(..limits.max_head).unwrap_or(buf);
    let mut lines = Lines::new(window);
    lines.skip_empty_lines()?;
    let Some(line) = lines.next_line()? else {
        check_partial_request_line(lines.rest(), limits)?;
        return incomplete(buf, limits);
    };
    if line.len() > limits.max_request_line {
        return Err(Error::RequestLineTooLong);
    }
    let (method, target, version) = parse_request_line(line)?;
    let Some(headers) = parse_fields(&mut lines, limits)? else {
        return incomplete(buf, limits);
    };
    let head = RequestHead {
        method: text(method),
        target: text(target),
        version,
        headers,
    };
    Ok(Some((head, lines.consumed())))
}

/// Parses a response head from the start of `buf`; results as for [`parse_request_head`],
/// except that no empty lines may precede the status line.
pub fn parse_response_head(
    buf: &[u8],
    limits: &Limits,
) -> Result<Option<(ResponseHead, usize)>, Error> {
    let window = buf.get(..limits.max_head).unwrap_or(buf);
    let mut lines = Lines::new(window);
    let Some(line) = lines.next_line()? else {
        // Reject a peer that is not speaking HTTP as soon as its first bytes show it.
        let partial = lines.rest();
        let n = partial.len().min(5);
        if partial.get(..n) != b"HTTP/".get(..n) {
            return Err(Error::BadStatusLine);
        }
        return incomplete(buf, limits);
    };
    let (version, status, reason) = parse_status_line(line)?;
    let Some(headers) = parse_fields(&mut lines, limits)? else {
        return incomplete(buf, limits);
    };
    let head = ResponseHead {
        version,
        status,
        reason: text(reason),
        headers,
    };
    Ok(Some((head, lines.consumed())))
}

/// No complete head in the window: more bytes may finish it unless the window is full.
fn incomplete<T>(buf: &[u8], limits: &Limits) -> Result<Option<T>, Error> {
    if buf.len() >= limits.max_head {
        Err(Error::HeadTooLarge)
    } else {
        Ok(None)
    }
}

/// Fails early on a request line that cannot become valid: too long already, or holding a
/// byte that [`parse_request_line`] would reject. Valid prefixes always pass.
fn check_partial_request_line(partial: &[u8], limits: &Limits) -> Result<(), Error> {
    if partial.len() > limits.max_request_line.saturating_add(1) {
        return Err(Error::RequestLineTooLong);
    }
    let line = partial.strip_suffix(b"\r").unwrap_or(partial);
    let method_len = line.iter().position(|&b| b == b' ').unwrap_or(line.len());
    let (method, rest) = line.split_at_checked(method_len).unwrap_or((line, &[]));
    let ok = method.iter().all(|&b| is_tchar(b)) && rest.iter().all(|&b| b == b' ' || is_vchar(b));
    if ok {
        Ok(())
    } else {
        Err(Error::BadRequestLine)
    }
}

/// `method SP request-target SP HTTP-version`, single spaces, nothing else.
fn parse_request_line(line: &[u8]) -> Result<(&[u8], &[u8], Version), Error> {
    if !line.iter().all(|&b| b == b' ' || is_vchar(b)) {
        return Err(Error::BadRequestLine);
    }
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Error::BadRequestLine);
    };
    if !is_token(method) || !is_target(target) {
        return Err(Error::BadRequestLine);
    }
    let version = parse_version(version).ok_or(Error::BadVersion)?;
    Ok((method, target, version))
}

fn parse_version(s: &[u8]) -> Option<Version> {
    match s {
        b"HTTP/1.1" => Some(Version::Http11),
        b"HTTP/1.0" => Some(Version::Http10),
        _ => None,
    }
}

/// `HTTP-version SP 3DIGIT SP reason-phrase`; a missing final SP is tolerated when the reason
/// is empty, since it changes no framing.
fn parse_status_line(line: &[u8]) -> Result<(Version, u16, &[u8]), Error> {
    let version_len = line.iter().position(|&b| b == b' ').unwrap_or(line.len());
    let (version, rest) = line
        .split_at_checked(version_len)
        .ok_or(Error::BadStatusLine)?;
    if !version.starts_with(b"HTTP/") {
        return Err(Error::BadStatusLine);
    }
    let version = parse_version(version).ok_or(Error::BadVersion)?;
    let rest = rest.strip_prefix(b" ").ok_or(Error::BadStatusLine)?;
    let (code, rest) = rest.split_at_checked(3).ok_or(Error::BadStatusLine)?;
    let mut status: u16 = 0;
    for &b in code {
        if !b.is_ascii_digit() {
            return Err(Error::BadStatusLine);
        }
        status = status * 10 + u16::from(b - b'0');
    }
    if status < 100 {
        return Err(Error::BadStatusLine);
    }
    let reason = match rest.strip_prefix(b" ") {
        Some(reason) => reason,
        None if rest.is_empty() => rest,
        None => return Err(Error::BadStatusLine),
    };
    if !reason.iter().all(|&b| is_field_byte(b)) {
        return Err(Error::BadStatusLine);
    }
    Ok((version, status, reason))
}

/// Header lines up to and including the empty line; `Ok(None)` if the lines run out first.
fn parse_fields(lines: &mut Lines<'_>, limits: &Limits) -> Result<Option<Vec<Header>>, Error> {
    let mut headers = Vec::new();
    loop {
        let Some(line) = lines.next_line()? else {
            // A started line that is not the closing CRLF would be one field too many.
            let more = lines.rest().first().is_some_and(|&b| b != b'\r');
            if more && headers.len() >= limits.max_headers {
                return Err(Error::TooManyHeaders);
            }
            return Ok(None);
        };
        if line.is_empty() {
            return Ok(Some(headers));
        }
        if headers.len() >= limits.max_headers {
            return Err(Error::TooManyHeaders);
        }
        headers.push(parse_field(line)?);
    }
}

/// `field-name ":" OWS field-value OWS`, with no whitespace before the colon.
fn parse_field(line: &[u8]) -> Result<Header, Error> {
    if line.first().is_some_and(|&b| b == b' ' || b == b'\t') {
        return Err(Error::ObsFold);
    }
    let mut halves = line.splitn(2, |&b| b == b':');
    let (Some(name), Some(value)) = (halves.next(), halves.next()) else {
        return Err(Error::BadHeader);
    };
    let value = trim_ows(value);
    if !is_token(name) || !value.iter().all(|&b| is_field_byte(b)) {
        return Err(Error::BadHeader);
    }
    Ok(Header {
        name: text(name),
        value: text(value),
    })
}
